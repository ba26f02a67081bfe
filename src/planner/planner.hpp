#pragma once
// Planning: intent frame + context -> a validated plan of tasks.
//
// The router sends requests with complexity < threshold (0.7) down the STATIC
// path, where a pattern template shapes the plan for the intent; the rest go
// down the DYNAMIC path, which composes a DAG from the catalog (the spec's
// Example 1 shape for builds). Both paths end in the same plan validation.

#include <string>
#include <string_view>
#include <vector>

#include "context/context.hpp"
#include "model/catalog.hpp"
#include "model/error.hpp"
#include "model/intent_frame.hpp"
#include "model/plan.hpp"

namespace ymy::planner {

inline constexpr double kDefaultStaticThreshold = 0.7;

Route chooseRoute(const IntentFrame& frame, double staticThreshold = kDefaultStaticThreshold);

struct PlanRequest {
  const IntentFrame& frame;
  const context::Context& context;
  const Catalog& catalog;
  std::string_view requestText;  // quoted in the prompts of modify/optimize/analyze tasks
  double staticThreshold = kDefaultStaticThreshold;
};

struct PlanOutcome {
  Route route = Route::kDynamic;
  std::string approach;  // the template ("High-RPS Service Scaling") or "dynamic-dag"
  Plan plan;
};

// Fails only when the produced plan does not validate, which is a bug worth
// reporting rather than hiding.
Result<PlanOutcome> makePlan(const PlanRequest& request);

// The stack the generated code targets: the user's preferences where given,
// else Node.js + Express, React and PostgreSQL.
struct Stack {
  std::string backend = "Node.js + Express";
  std::string frontend = "React";
  std::string database = "PostgreSQL";
  std::string describe() const;  // "Node.js + Express, React, PostgreSQL"
};
Stack stackFor(const std::vector<std::string>& preferences);

// Fills isolation and canRunInParallel from the dependency graph:
// INDEPENDENT when a task has no dependencies, FINAL for tasks already marked
// so, DEPENDENT otherwise; canRunInParallel when some other task is neither
// its ancestor nor its descendant, so the two can overlap.
void deriveParallelism(Plan& plan);

}  // namespace ymy::planner
