#pragma once
// One design run: analyse, plan, then execute with live events.
//   intentAnalyzed, contextExtracted, planGenerated  (seq 1..3)
//   executionStarted ... executionSummary            (from the executor)

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agents/llm_agent.hpp"
#include "engine/assembler.hpp"
#include "engine/engine.hpp"
#include "engine/llm_intent.hpp"
#include "engine/llm_planner.hpp"
#include "executor/executor.hpp"

namespace ymy::engine {

struct DesignOptions {
  std::string executionId = "exec_1";
  double simulateLatency = 0;
  std::size_t parallel = 0;
  double staticThreshold = planner::kDefaultStaticThreshold;
  executor::TaskObserver* observer = nullptr;  // told of each finished task before its event
  executor::ModificationPolicy modification;
  // The plan stage's model. When it has a provider and the route is DYNAMIC,
  // the plan comes from the model (see llm_planner.hpp). When the model
  // cannot give a valid plan (provider unavailable, or still invalid after
  // one repair) the builtin plan is used and an llmFallback event precedes
  // planGenerated, unless config.strict: then prepare() fails saying why.
  // A bad request or a cancelled call always fails.
  LlmPlanStage llmPlan{};
  // The intent stage's model. When it has a provider, the frame comes from
  // the model (see llm_intent.hpp), after the builtin analysis; when the
  // model gives no usable frame, the builtin one is used and an llmFallback
  // event precedes intentAnalyzed, unless config.strict: then prepare() fails.
  LlmIntentStage llmIntent{};
  // The agents stage's model: when it has a provider, the content agents
  // (llmAgents.agents) ask it for their files (see agents/llm_agent.hpp);
  // otherwise every agent is builtin (today's behaviour).
  agents::LlmAgentStage llmAgents{};
};

// What the intent stage's model did, for intentAnalyzed (and the summary).
struct IntentProvenance {
  std::string analyzer = "builtin";  // "builtin", "openai", "gemini"
  std::optional<boost::json::object> fallback;  // llmFallback's fields
  std::optional<LlmStageUsage> usage;           // set whenever the model was asked
};

// What the plan stage's model did, for planGenerated (and the summary).
struct PlanProvenance {
  std::string planner = "builtin";  // "builtin", "openai", "gemini"
  bool fromModel = false;
  bool repaired = false;
  std::optional<boost::json::object> fallback;  // llmFallback's fields
  // Set whenever the model was asked; also in the execution's summary.
  std::optional<LlmStageUsage> usage;
};

// What a design needs to continue after a restart: its stored plan and
// inputs, the tasks that had completed, and where the event log stopped.
struct ResumeState {
  std::string request;
  IntentFrame frame;
  Route route = Route::kDynamic;
  std::string approach;
  Plan plan;
  Canvas baseCanvas;
  std::vector<std::string> preferences;
  std::uint64_t lastSeq = 0;
  std::map<std::string, executor::TaskResult> completed;
  executor::ModificationHistory history;
  std::vector<LlmStageUsage> llmUsage;  // the model calls made before the run (intent and plan stages)
};

class Design {
 public:
  // Analyses and plans; fails on bad input or an invalid plan. Nothing is
  // published and nothing runs until start(); execution() exists from start().
  static Result<std::unique_ptr<Design>> prepare(const Engine& engine, std::string request,
                                                 std::optional<Canvas> canvas, std::vector<std::string> preferences,
                                                 DesignOptions options, Clock& clock, executor::EventSink& sink);

  // Continues a stored design: no new analysis or plan, completed tasks are
  // not run again, and events continue after state.lastSeq.
  static std::unique_ptr<Design> resume(const Engine& engine, ResumeState state, DesignOptions options, Clock& clock,
                                        executor::EventSink& sink);

  // Before start(): the cache tier that answered ("MISS", "L3"), marked on
  // every event published before the run, and for an L3 template the
  // similarSolutionFound event's fields, published first.
  void setCache(std::string tier, std::optional<boost::json::object> similarSolution = std::nullopt);

  void start();
  void wait() { execution_->wait(); }
  void cancel(std::string reason) { execution_->cancel(std::move(reason)); }
  void suspend(std::string reason) { execution_->suspend(std::move(reason)); }
  // Step modification; see executor::Execution.
  Result<executor::ImpactReport> previewModification(const std::string& taskId, const std::string& prompt) {
    return execution_->previewModification(taskId, prompt);
  }
  Result<executor::ImpactReport> modify(const std::string& taskId, const std::string& prompt) {
    return execution_->modify(taskId, prompt);
  }

  const Analysis& analysis() const { return analysis_; }
  const planner::PlanOutcome& planned() const { return planned_; }
  const PlanProvenance& provenance() const { return provenance_; }
  const IntentProvenance& intentProvenance() const { return intentProvenance_; }
  const executor::Execution& execution() const { return *execution_; }
  // Whether a model stage fell back to builtin in this run (an llmFallback
  // was published): its answer is then not the configured model's.
  bool fellBack() const {
    return provenance_.fallback.has_value() || intentProvenance_.fallback.has_value() || sink_.fellBack();
  }

 private:
  Design() = default;

  // The static path's component analysis and template variables, published
  // before the run (bottlenecksIdentified, scalingPlanGenerated).
  void analyseScaling(const Engine& engine, const std::optional<Canvas>& canvas);
  // The DYNAMIC plan from the stage's model, or the fallback decision.
  Result<void> planWithLlm(const Engine& engine, std::string_view request, const LlmPlanStage& stage);
  // The frame from the intent stage's model, or the fallback decision.
  Result<void> analyzeWithLlm(const Engine& engine, std::string_view request, const LlmIntentStage& stage);

  Analysis analysis_;
  planner::PlanOutcome planned_;
  PlanProvenance provenance_;
  IntentProvenance intentProvenance_;
  std::vector<std::pair<std::string, boost::json::object>> preludeEvents_;  // after planGenerated
  DesignOptions options_;
  const Engine* engine_ = nullptr;
  executor::ExecutionInput input_;  // until start() hands it to the execution
  std::string cacheTier_;
  std::optional<boost::json::object> similarSolution_;
  bool resumed_ = false;
  // Forwards every event to the caller's sink, noting llmFallback.
  class WatchingSink final : public executor::EventSink {
   public:
    void publish(const Event& event) override {
      if (event.type == "llmFallback") fellBack_ = true;
      inner->publish(event);
    }
    bool fellBack() const { return fellBack_.load(); }
    executor::EventSink* inner = nullptr;

   private:
    std::atomic<bool> fellBack_{false};
  };
  Clock* clock_ = nullptr;
  WatchingSink sink_;
  DesignAssembler assembler_;
  // The agents the execution runs: the engine's, or (agents stage on a model)
  // these, which wrap them. Declared before execution_, which refers to them.
  std::unique_ptr<executor::AgentRegistry> modelAgents_;
  const executor::AgentRegistry& agentsFor(const Engine& engine);
  std::unique_ptr<executor::Execution> execution_;
};

}  // namespace ymy::engine
