#include "engine/design.hpp"

#include <cmath>

#include "capacity/capacity.hpp"
#include "llm/config.hpp"
#include "planner/validation.hpp"

namespace ymy::engine {

namespace {

// After a stage's model gave nothing: the llmFallback event's fields, or the
// error that ends the design. A bad answer twice is not the provider's fault,
// so shouldFallBack() does not apply to it; strict still means "no builtin".
Result<boost::json::object> fallBackOrFail(llm::Stage stage, const llm::ProviderConfig& config,
                                           const std::optional<Error>& reported, bool providerFailed,
                                           std::string_view what) {
  const Error error = reported ? *reported : Error(ErrorCode::kInternal, "the model gave no answer");
  const bool fallBack = providerFailed ? llm::shouldFallBack(error, config.strict) : !config.strict;
  if (!fallBack) return tl::unexpected(llm::noFallbackError(stage, config, error, what));
  return llm::fallbackFields(stage, config, error);
}

}  // namespace

Result<std::unique_ptr<Design>> Design::prepare(const Engine& engine, std::string request,
                                                std::optional<Canvas> canvas, std::vector<std::string> preferences,
                                                DesignOptions options, Clock& clock, executor::EventSink& sink) {
  std::unique_ptr<Design> d(new Design());
  auto analysis = engine.analyze(request, canvas ? &*canvas : nullptr, preferences);
  if (!analysis) return tl::unexpected(analysis.error());
  d->analysis_ = std::move(*analysis);
  if (options.llmIntent.provider) {
    if (auto used = d->analyzeWithLlm(engine, request, options.llmIntent); !used) return tl::unexpected(used.error());
  }
  auto planned = engine.plan(d->analysis_, request, options.staticThreshold);
  if (!planned) return tl::unexpected(planned.error());
  d->planned_ = std::move(*planned);
  if (options.llmPlan.provider && d->planned_.route == Route::kDynamic) {
    if (auto used = d->planWithLlm(engine, request, options.llmPlan); !used) return tl::unexpected(used.error());
  }
  d->analyseScaling(engine, canvas);
  d->options_ = options;
  d->clock_ = &clock;
  d->sink_.inner = &sink;

  d->engine_ = &engine;
  d->input_.request = std::move(request);
  d->input_.frame = d->analysis_.frame;
  d->input_.frame.estimatedTasks = static_cast<int>(d->planned_.plan.tasks.size());
  if (canvas) d->input_.baseCanvas = std::move(*canvas);
  d->input_.preferences = d->analysis_.context.userPreferences;
  return d;
}

std::unique_ptr<Design> Design::resume(const Engine& engine, ResumeState state, DesignOptions options, Clock& clock,
                                       executor::EventSink& sink) {
  std::unique_ptr<Design> d(new Design());
  d->resumed_ = true;
  d->analysis_.frame = state.frame;
  d->analysis_.context.userPreferences = state.preferences;
  d->planned_.route = state.route;
  d->planned_.approach = state.approach;
  d->planned_.plan = state.plan;
  d->options_ = options;
  d->clock_ = &clock;
  d->sink_.inner = &sink;
  executor::ExecutionInput input;
  input.request = std::move(state.request);
  input.frame = std::move(state.frame);
  input.frame.estimatedTasks = static_cast<int>(state.plan.tasks.size());
  input.baseCanvas = std::move(state.baseCanvas);
  input.preferences = std::move(state.preferences);
  executor::ExecutorOptions exec;
  exec.executionId = options.executionId;
  exec.firstSeq = state.lastSeq + 1;
  exec.maxParallel = options.parallel;
  exec.simulateLatency = options.simulateLatency;
  exec.observer = options.observer;
  exec.completed = std::move(state.completed);
  exec.resumed = true;
  exec.modification = options.modification;
  exec.history = std::move(state.history);
  exec.llmUsage = std::move(state.llmUsage);
  d->execution_ = std::make_unique<executor::Execution>(std::move(state.plan), std::move(input), d->agentsFor(engine),
                                                        d->assembler_, clock, d->sink_, std::move(exec));
  return d;
}

const executor::AgentRegistry& Design::agentsFor(const Engine& engine) {
  if (!options_.llmAgents.provider) return engine.agents();
  modelAgents_ = std::make_unique<executor::AgentRegistry>(agents::withModelAgents(engine.agents(), options_.llmAgents));
  return *modelAgents_;
}

void Design::setCache(std::string tier, std::optional<boost::json::object> similarSolution) {
  cacheTier_ = std::move(tier);
  similarSolution_ = std::move(similarSolution);
}

void Design::start() {
  if (resumed_) {
    execution_->start();
    return;
  }
  std::uint64_t seq = 1;
  auto publish = [&](const char* type, boost::json::object fields) {
    Event e;
    e.type = type;
    e.executionId = options_.executionId;
    e.seq = seq++;
    e.ts = clock_->epochMillis();
    e.fields = std::move(fields);
    if (!cacheTier_.empty()) e.fields["cache"] = cacheTier_;
    sink_.publish(e);
  };
  // The cache check comes first, as in the spec's Example 2.
  if (similarSolution_) publish("similarSolutionFound", std::move(*similarSolution_));
  const auto& f = analysis_.frame;
  auto frame = toJson(f).as_object();
  if (intentProvenance_.fallback) publish("llmFallback", *intentProvenance_.fallback);
  boost::json::object analyzed{{"intent", frame["intent"]},
                               {"complexity", frame["complexity"]},
                               {"confidence", frame["confidence"]},
                               {"target", f.target},
                               {"components", frame["components"]},
                               {"params", frame["params"]}};
  if (options_.llmIntent.provider) analyzed["analyzer"] = intentProvenance_.analyzer;  // builtin runs: unchanged
  if (const auto& u = intentProvenance_.usage) analyzed["llm"] = toJson(*u);
  publish("intentAnalyzed", std::move(analyzed));
  publish("contextExtracted", {{"isEmpty", analysis_.context.empty},
                               {"components", analysis_.context.components.size()},
                               {"userPreferences", boost::json::array(analysis_.context.userPreferences.begin(),
                                                                      analysis_.context.userPreferences.end())}});
  // The component analysis comes before the plan, as in the spec's Example 2.
  for (const auto& [type, fields] : preludeEvents_) {
    if (type == "bottlenecksIdentified") publish(type.c_str(), fields);
  }
  if (provenance_.fallback) publish("llmFallback", *provenance_.fallback);
  boost::json::object plan{{"taskCount", planned_.plan.tasks.size()},
                           {"route", routeName(planned_.route)},
                           {"approach", planned_.approach},
                           {"planner", provenance_.planner},
                           {"criticalPath", planner::criticalPathSeconds(planned_.plan)},
                           {"tasks", toJson(planned_.plan)}};
  if (provenance_.fromModel) plan["repaired"] = provenance_.repaired;
  if (const auto& u = provenance_.usage) plan["llm"] = toJson(*u);
  publish("planGenerated", std::move(plan));
  for (const auto& [type, fields] : preludeEvents_) {
    if (type != "bottlenecksIdentified") publish(type.c_str(), fields);
  }
  executor::ExecutorOptions exec;
  exec.executionId = options_.executionId;
  exec.firstSeq = seq;
  exec.maxParallel = options_.parallel;
  exec.simulateLatency = options_.simulateLatency;
  exec.observer = options_.observer;
  exec.modification = options_.modification;
  if (intentProvenance_.usage) exec.llmUsage.push_back(*intentProvenance_.usage);
  if (provenance_.usage) exec.llmUsage.push_back(*provenance_.usage);
  execution_ = std::make_unique<executor::Execution>(planned_.plan, std::move(input_), agentsFor(*engine_), assembler_,
                                                     *clock_, sink_, std::move(exec));
  execution_->start();
}

Result<void> Design::planWithLlm(const Engine& engine, std::string_view request, const LlmPlanStage& stage) {
  const auto kind = llm::providerKindName(stage.config.kind);
  auto r = planWithModel(stage, engine, analysis_, request);
  if (r.calls > 0) {
    provenance_.usage = LlmStageUsage{llm::stageName(llm::Stage::kPlan), kind, r.model, r.calls,
                                      r.usage.promptTokens, r.usage.completionTokens, r.costUsd};
  }
  if (r.plan) {
    planned_.plan = std::move(*r.plan);
    planned_.approach = "llm-dag";
    provenance_.planner = kind;
    provenance_.fromModel = true;
    provenance_.repaired = r.status == llm::RepairOutcome::Status::kRepaired;
    return {};
  }
  auto fallback = fallBackOrFail(llm::Stage::kPlan, stage.config, r.error, r.providerFailed, "plan");
  if (!fallback) return tl::unexpected(fallback.error());
  provenance_.fallback = std::move(*fallback);
  return {};
}

Result<void> Design::analyzeWithLlm(const Engine& engine, std::string_view request, const LlmIntentStage& stage) {
  const auto kind = llm::providerKindName(stage.config.kind);
  auto r = analyzeWithModel(stage, engine, analysis_, request);
  if (r.calls > 0) {
    intentProvenance_.usage = LlmStageUsage{llm::stageName(llm::Stage::kIntent), kind, r.model, r.calls,
                                            r.usage.promptTokens, r.usage.completionTokens, r.costUsd};
  }
  if (r.frame) {
    analysis_.frame = std::move(*r.frame);
    intentProvenance_.analyzer = kind;
    return {};
  }
  auto fallback = fallBackOrFail(llm::Stage::kIntent, stage.config, r.error, r.providerFailed, "intent");
  if (!fallback) return tl::unexpected(fallback.error());
  intentProvenance_.fallback = std::move(*fallback);
  return {};
}

void Design::analyseScaling(const Engine& engine, const std::optional<Canvas>& canvas) {
  const auto& frame = analysis_.frame;
  if (planned_.route != Route::kStatic || frame.intent != Intent::kScaleComponent) return;
  const double targetRps = frame.params.rps ? *frame.params.rps : 0;
  boost::json::object variables{{"target", frame.target}};
  if (targetRps > 0) variables["target_rps"] = targetRps;
  const CanvasNode* node = canvas ? canvas->findNode(frame.target) : nullptr;
  if (node) {
    auto current = engine.capacity().analyse(*node, &*canvas);
    if (current) {
      boost::json::array bottlenecks;
      for (const auto& b : current->bottlenecks) bottlenecks.push_back(capacity::toJson(b));
      preludeEvents_.emplace_back("bottlenecksIdentified",
                                  boost::json::object{{"component", node->id},
                                                      {"count", bottlenecks.size()},
                                                      {"bottlenecks", std::move(bottlenecks)},
                                                      {"currentCapacity", std::llround(current->currentCapacityRps)},
                                                      {"instances", current->instances}});
      variables["current_capacity"] = std::llround(current->currentCapacityRps);
      if (targetRps > 0 && current->currentCapacityRps > 0) {
        variables["scaling_factor"] =
            std::to_string(static_cast<long long>(std::ceil(targetRps / current->currentCapacityRps))) + "x";
      }
    }
  }
  preludeEvents_.emplace_back("scalingPlanGenerated", boost::json::object{{"approach", "horizontal_scaling"},
                                                                          {"template", planned_.approach},
                                                                          {"variables", std::move(variables)}});
}

}  // namespace ymy::engine
