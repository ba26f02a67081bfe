#pragma once
// The plan stage backed by a model: the request, the intent frame and a
// compact description of the canvas go to an LlmProvider with a JSON schema
// for {"tasks": [Task, ...]}; the answer goes through the same plan
// validation as builtin plans (planner::planProblems) plus a check that every
// agent is registered; an invalid answer gets one repair round naming the
// exact problems (llm::completeWithRepair). The caller decides what a
// fallback means (the builtin plan, or a failure in strict mode).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/engine.hpp"
#include "llm/config.hpp"
#include "llm/plan_repair.hpp"
#include "llm/provider.hpp"
#include "model/plan.hpp"

namespace ymy::engine {

// The plan stage's provider, given to Design::prepare through DesignOptions.
// Everything pointed to must outlive the designs that use it; the provider
// is shared (its circuit breaker persists across designs).
struct LlmPlanStage {
  llm::LlmProvider* provider = nullptr;  // null: the builtin planner (today's behaviour)
  llm::ProviderConfig config{};          // kind and model for the request and events; strict; deadline
  const llm::PriceTable* prices = nullptr;  // null or model not listed: no cost reported
  // The provider's clock: with it, the stage's calls for one design end by
  // config.deadline from their start. Null: the transport's timeouts only.
  Clock* clock = nullptr;
  // Not owned; may be null. Cancelling it aborts the stage's calls in flight
  // (a server shutting down).
  const CancellationToken* cancel = nullptr;

  // The request's deadline and cancellation, set from the above.
  void bound(llm::ChatRequest& request) const {
    if (clock) request.deadline = clock->now() + config.deadline;
    request.cancel = cancel;
  }
};

// The agents a model may name: the known ones the registry has.
std::vector<std::string> plannableAgents(const executor::AgentRegistry& agents);

// The JSON schema of the answer: {"tasks": [...]} with exactly the spec's
// task fields (all required, nothing else: OpenAI's strict mode), the
// type/isolation enums and `agents` as the agent enum.
boost::json::value planAnswerSchema(const std::vector<std::string>& agents);

// The request: a system prompt (the task fields, agents, rules), then the
// user's request, the intent frame and the canvas context.
llm::ChatRequest makePlanRequest(const Analysis& analysis, std::string_view request, const std::string& model,
                                 const std::vector<std::string>& agents);

// Problems with an answer, each naming where: the shape ("tasks[2].type:
// ..."), planner::planProblems, unregistered agents. Empty when usable.
std::vector<std::string> modelPlanProblems(const boost::json::value& answer, const executor::AgentRegistry& agents);

struct LlmPlanResult {
  llm::RepairOutcome::Status status = llm::RepairOutcome::Status::kFallback;
  std::optional<Plan> plan;  // validated, isolation derived from the graph; unless kFallback
  llm::Usage usage;          // summed over the calls
  std::string model;         // as the provider reported it (else the configured one)
  std::optional<double> costUsd;
  int calls = 0;
  // kFallback: why. `error` is the provider's error when it ended the call
  // (use llm::shouldFallBack on it), else a kUnprocessable error naming the
  // problems still left after the repair.
  std::optional<Error> error;
  bool providerFailed = false;  // the error came from the provider, not the answer
};

// Asks the stage's provider for a plan. Never throws; never publishes.
LlmPlanResult planWithModel(const LlmPlanStage& stage, const Engine& engine, const Analysis& analysis,
                            std::string_view request);

}  // namespace ymy::engine
