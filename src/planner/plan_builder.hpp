#pragma once
// Internal to the planner: assembles tasks with sequential ids (task_1, ...)
// and the helpers both planning paths use to word prompts.

#include <string>
#include <string_view>
#include <vector>

#include "context/context.hpp"
#include "model/catalog.hpp"
#include "model/intent_frame.hpp"
#include "model/plan.hpp"
#include "planner/planner.hpp"

namespace ymy::planner::detail {

class PlanBuilder {
 public:
  // Returns the new task's id.
  std::string add(std::string name, std::string description, TaskType type, std::string_view agent,
                  int estimatedTime, std::string prompt, std::vector<std::string> dependencies = {},
                  bool final = false);
  Plan finish();

 private:
  Plan plan_;
  std::vector<bool> final_;
};

// "a, b, and c"
std::string joinList(const std::vector<std::string>& items);
// "e-commerce-platform" -> "e-commerce platform"; "auth-service" -> "auth service"
std::string humanize(std::string_view id);
// " Sized for 10,000,000 users and 5,000 RPS." or ""
std::string scaleClause(const Params& params);
std::string formatCount(double value);

// What a canvas node looks like today, for prompts ("instances: 1, database:
// MySQL single instance, session_store: Memory").
std::string describeConfig(const context::CanvasComponent& component);

struct TargetInfo {
  std::string nodeId;                // canvas node or catalog node id
  std::string label;                 // what prompts call it
  const Component* component = nullptr;  // catalog entry, when known
  const context::CanvasComponent* onCanvas = nullptr;
};
TargetInfo resolveTarget(const PlanRequest& request, std::string_view componentId);

PlanOutcome dynamicPlan(const PlanRequest& request);
// True when the request adds services or features the dynamic DAG composes.
bool hasServiceWork(const PlanRequest& request);
PlanOutcome staticPlan(const PlanRequest& request);

}  // namespace ymy::planner::detail
