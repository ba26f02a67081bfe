#pragma once
// The intent stage backed by a model: the request (and a compact description
// of the canvas) goes to the intent stage's LlmProvider with the spec's
// prompt ("Analyze this request and classify intent ... Return JSON with
// intent, complexity, components") and a JSON schema for the IntentFrame;
// the answer is checked (a known intent, complexity in [0,1], components
// from the catalog, params not negative) with one repair round naming the
// problems. The builtin analyzer still runs first: the canvas context, the
// exclusions and features the catalog does not know, and the fallback.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "engine/engine.hpp"
#include "engine/llm_planner.hpp"
#include "llm/plan_repair.hpp"

namespace ymy::engine {

// The same three things as the plan stage's: provider, config, prices.
using LlmIntentStage = LlmPlanStage;

// {"intent", "complexity", "target", "components", "params": {"rps",
// "latencyMs", "users", "connections", "availability"}}, all required (0 for
// a number the request does not state), `components` an enum of catalog ids.
boost::json::value intentAnswerSchema(const Catalog& catalog);

// The spec's prompt, with the request and the canvas's components.
llm::ChatRequest makeIntentRequest(std::string_view request, const Analysis& builtin, const std::string& model,
                                   const Catalog& catalog);

// Problems with an answer, each naming its field; empty when usable.
std::vector<std::string> intentAnswerProblems(const boost::json::value& answer, const Catalog& catalog);

struct LlmIntentResult {
  llm::RepairOutcome::Status status = llm::RepairOutcome::Status::kFallback;
  std::optional<IntentFrame> frame;  // unless kFallback: the builtin frame with the model's fields
  llm::Usage usage;
  std::string model;
  std::optional<double> costUsd;
  int calls = 0;
  std::optional<Error> error;   // kFallback: why
  bool providerFailed = false;  // the error came from the provider, not the answer
};

// Asks the stage's provider; `builtin` is the builtin analysis of the same
// request (the answer's frame starts from it). Never throws; never publishes.
LlmIntentResult analyzeWithModel(const LlmIntentStage& stage, const Engine& engine, const Analysis& builtin,
                                 std::string_view request);

}  // namespace ymy::engine
