#pragma once
// The executor's side of the agent boundary: what an agent is given for one
// run of one task (TaskContext) and what it returns (TaskResult). Agents live
// in src/agents; tests use fakes.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "model/canvas.hpp"
#include "model/cancellation.hpp"
#include "model/error.hpp"
#include "model/generated_file.hpp"
#include "model/intent_frame.hpp"
#include "model/plan.hpp"
#include "model/summary.hpp"

namespace ymy::executor {

// What the whole run is about; agents read it, nobody writes it.
struct ExecutionInput {
  std::string request;
  IntentFrame frame;
  Canvas baseCanvas;
  std::vector<std::string> preferences;  // stack names
};

struct TaskResult {
  std::string summary;               // one line for taskCompleted ("Architecture designed with 4 microservices")
  std::vector<GeneratedFile> files;
  Canvas canvasUpdate;               // nodes and edges to add or replace, by id
  std::vector<std::string> removeNodes;  // node ids to delete with their edges
  boost::json::object output;        // structured output dependents read (architecture, schema, ...)
  // Set when a model was asked for this run (stage "agents"): its calls,
  // tokens and cost, including calls whose answer was rejected or that ended
  // in a fallback to the builtin agent. Unset for builtin runs.
  std::optional<LlmStageUsage> llm;
};

// Given to an agent for one run of one task. Valid during Agent::run only.
// Progress from a run that has been superseded (cancelled, or restarted with a
// new generation) is dropped, never published.
class TaskContext {
 public:
  virtual ~TaskContext() = default;

  virtual const Task& task() const = 0;
  virtual int generation() const = 0;
  virtual const ExecutionInput& input() const = 0;
  // Completed ancestors of this task (transitive dependencies), in plan order.
  virtual std::vector<std::pair<const Task*, const TaskResult*>> ancestors() const = 0;

  virtual void progress(std::string text) = 0;
  virtual void iterationStarted(int iteration, std::string focus) = 0;
  virtual void iterationProgress(int iteration, std::string text, int filesGenerated) = 0;
  // A domain event of the run (bottlenecksIdentified, configurationGenerated,
  // ...), published like progress: only while this run is current.
  virtual void emit(std::string type, boost::json::object fields) = 0;

  // Simulated agent latency: waits fraction x estimatedTime x simulateLatency
  // seconds on the execution's clock. Returns false when the run was cancelled.
  virtual bool simulateWork(double fraction) = 0;
  virtual bool cancelled() const = 0;
  // The token behind cancelled(), for work that can be aborted from outside
  // (a model request in flight). Null when the context cannot be cancelled.
  // Valid during Agent::run only.
  virtual const CancellationToken* cancellation() const { return nullptr; }
  // Runs CPU-heavy work (rendering, parsing) on one of a fixed number of CPU
  // slots, one per core across all executions, while agents that only wait
  // (on a model, on simulated latency) are not limited.
  virtual void cpuBound(const std::function<void()>& work) = 0;
};

// A context that publishes nothing and never waits: what Agent::flow sees,
// and a base for test contexts. Subclasses give the task, input and ancestors.
class QuietContext : public TaskContext {
 public:
  int generation() const override { return 0; }
  void progress(std::string) override {}
  void iterationStarted(int, std::string) override {}
  void iterationProgress(int, std::string, int) override {}
  void emit(std::string, boost::json::object) override {}
  bool simulateWork(double) override { return true; }
  bool cancelled() const override { return false; }
  void cpuBound(const std::function<void()>& work) override { work(); }
};

// What flows between tasks, for impact analysis when a step is modified: the
// items a task's result defines and the items it is built from, as strings
// such as "table:product-catalog-service/recommendations" or
// "api:auth-service/POST /auth/login". A consumed item matches itself, and
// one ending in ':' or '/' matches everything under it ("table:auth-service/"
// covers all of that service's tables; "service:cart" does not cover
// "service:cart-v2").
struct TaskFlow {
  bool known = false;               // false: the agent cannot tell, so dependents count as impacted
  std::set<std::string> produces;   // what the result defines
  std::set<std::string> consumes;   // built from these: a change means regenerating (IMPACT)
  std::set<std::string> uses;       // integrates with these: a change touches it (MINOR IMPACT)
};

class Agent {
 public:
  virtual ~Agent() = default;
  virtual std::string_view id() const = 0;
  // An error fails the task (and skips its dependents); exceptions are caught
  // by the executor and treated the same way.
  virtual Result<TaskResult> run(TaskContext& context) = 0;
  // The flow of the context's task (with its current prompt) given its
  // completed ancestors, without running it: cheap, no events, no waiting.
  virtual TaskFlow flow(const TaskContext& context) const {
    (void)context;
    return {};
  }
  // USD a run of the context's task spends before it completes (a model
  // request's prompt, priced): what redoing a running task wastes, for the
  // impact analysis. Cheap, no events. nullopt for agents without a model
  // (the executor then uses its ModificationPolicy estimate).
  virtual std::optional<double> inFlightCostUsd(const TaskContext& context) const {
    (void)context;
    return std::nullopt;
  }
};

class AgentRegistry {
 public:
  void add(std::unique_ptr<Agent> agent) {
    auto id = std::string(agent->id());
    agents_[id] = std::move(agent);
  }
  Agent* find(std::string_view id) const {
    auto it = agents_.find(std::string(id));
    return it == agents_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> ids() const {  // sorted
    std::vector<std::string> out;
    for (const auto& [id, agent] : agents_) out.push_back(id);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::unordered_map<std::string, std::unique_ptr<Agent>> agents_;
};

}  // namespace ymy::executor
