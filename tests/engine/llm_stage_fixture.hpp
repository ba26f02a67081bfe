#pragma once
// What the model-stage tests (intent, plan, agents) share: the engine and the
// price table, loaded once per suite; a clock and a recording sink; a stage
// aimed at a provider; a design of a request run to its end.

#include <gtest/gtest.h>

#include <memory>
#include <string_view>

#include "agents/agent_test_support.hpp"
#include "engine/design.hpp"
#include "llm/config.hpp"
#include "test_data.hpp"

namespace ymy::test {

class LlmStageFixture : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto engine = engine::Engine::load(dataDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = engine->release();
    auto prices = llm::PriceTable::load(dataDir() / "llm" / "models.json");
    ASSERT_TRUE(prices) << prices.error().message;
    prices_ = new llm::PriceTable(std::move(*prices));
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete prices_;
  }

  // LlmIntentStage, LlmPlanStage or agents::LlmAgentStage: `provider` as an
  // OpenAI-compatible gpt-4o-mini, priced from data/llm/models.json.
  template <class Stage>
  static Stage stageFor(llm::LlmProvider& provider, bool strict) {
    Stage s;
    s.provider = &provider;
    s.config.kind = llm::ProviderKind::kOpenAi;
    s.config.model = "gpt-4o-mini";
    s.config.strict = strict;
    s.prices = prices_;
    return s;
  }

  // Prepares and runs `request` with `options` to its end; null (and a
  // failure) when it cannot start.
  std::unique_ptr<engine::Design> runDesign(std::string_view request, const engine::DesignOptions& options) {
    auto design = engine::Design::prepare(*engine_, std::string(request), std::nullopt, {}, options, clock_, sink_);
    EXPECT_TRUE(design) << design.error().message;
    if (!design) return nullptr;
    (*design)->start();
    (*design)->wait();
    return std::move(*design);
  }

  // Runs it, expects success, and returns the events up to and including the
  // first of `lastType`.
  std::vector<Event> runUntil(std::string_view request, const engine::DesignOptions& options, std::string_view lastType) {
    auto design = runDesign(request, options);
    if (!design) return {};
    EXPECT_TRUE(design->execution().summary().success);
    std::vector<Event> out;
    for (const auto& e : sink_.events) {
      out.push_back(e);
      if (e.type == lastType) break;
    }
    return out;
  }

  static inline engine::Engine* engine_ = nullptr;
  static inline llm::PriceTable* prices_ = nullptr;
  SystemClock clock_;
  RecordingSink sink_;
};

}  // namespace ymy::test
