// The intent stage backed by a model, through Design: the model's frame is
// used when valid, repaired once when not (complexity outside [0,1],
// components not in the catalog), and the builtin analyzer's frame (with an
// llmFallback before intentAnalyzed) takes over when the model cannot give
// one, unless strict.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "engine/llm_stage_fixture.hpp"
#include "engine/design.hpp"
#include "engine/llm_intent.hpp"
#include "llm/config.hpp"
#include "test_data.hpp"

namespace ymy::engine {
namespace {

namespace js = boost::json;
using llm::ScriptedProvider;

constexpr const char* kRequest =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

std::string frame(double complexity, js::array components, double rps = 0) {
  return js::serialize(js::object{
      {"intent", "BUILD_FROM_SCRATCH"},
      {"complexity", complexity},
      {"target", "e-commerce-platform"},
      {"components", std::move(components)},
      {"params", {{"rps", rps}, {"latencyMs", 0}, {"users", 0}, {"connections", 0}, {"availability", 0}}}});
}

class LlmIntentTest : public test::LlmStageFixture {
 protected:

  LlmIntentStage stage(llm::LlmProvider& provider, bool strict = false) {
    return stageFor<LlmIntentStage>(provider, strict);
  }

  Result<std::unique_ptr<Design>> prepare(const LlmIntentStage& s) {
    DesignOptions options;
    options.llmIntent = s;
    return Design::prepare(*engine_, kRequest, std::nullopt, {}, options, clock_, sink_);
  }

  // Runs and returns the events up to and including intentAnalyzed.
  std::vector<Event> run(const LlmIntentStage& s) {
    DesignOptions options;
    options.llmIntent = s;
    return runUntil(kRequest, options, "intentAnalyzed");
  }

  const Event* find(std::string_view type) const {
    for (const auto& e : sink_.events) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }

};

TEST_F(LlmIntentTest, TheModelsFrameIsUsed) {
  ScriptedProvider provider("openai");
  provider.pushText(frame(0.85, {"auth", "catalog", "cart", "payment", "search"}, 5000), {300, 60});
  auto events = run(stage(provider));
  ASSERT_FALSE(events.empty());
  const auto& analyzed = events.back();
  ASSERT_EQ(analyzed.type, "intentAnalyzed");
  EXPECT_EQ(analyzed.fields.at("analyzer"), "openai");
  EXPECT_EQ(analyzed.fields.at("complexity").to_number<double>(), 0.85);
  EXPECT_EQ(analyzed.fields.at("components"), (js::array{"auth", "catalog", "cart", "payment", "search"}));
  EXPECT_EQ(analyzed.fields.at("params").at("rps").to_number<double>(), 5000);
  EXPECT_EQ(analyzed.fields.at("llm").at("promptTokens"), 300);
  EXPECT_NEAR(analyzed.fields.at("llm").at("costUsd").to_number<double>(), 300 * 0.15e-6 + 60 * 0.60e-6, 1e-12);
  EXPECT_EQ(find("llmFallback"), nullptr);
  // The summary lists the intent stage.
  EXPECT_EQ(find("executionSummary")->fields.at("llm").at("stages").at(0).at("stage"), "intent");
  // The spec's prompt, the request, the catalog's ids; the schema's intent enum.
  const auto requests = provider.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_NE(requests[0].messages[0].content.find("Analyze this request and classify intent"), std::string::npos);
  EXPECT_NE(requests[0].messages[1].content.find(std::string("Request: '") + kRequest + "'"), std::string::npos);
  EXPECT_NE(requests[0].messages[1].content.find("Canvas: empty"), std::string::npos);
  ASSERT_TRUE(requests[0].schema);
  EXPECT_EQ(requests[0].schema->at("properties").at("intent").at("enum").as_array().size(), kAllIntents.size());
}

TEST_F(LlmIntentTest, AComplexityOutsideTheRangeIsRepairedOnce) {
  ScriptedProvider provider("openai");
  provider.pushText(frame(1.5, {"auth"}), {100, 10});
  provider.pushText(frame(0.9, {"auth", "catalog"}), {150, 10});
  run(stage(provider));
  const Event* analyzed = find("intentAnalyzed");
  ASSERT_NE(analyzed, nullptr);
  EXPECT_EQ(analyzed->fields.at("analyzer"), "openai");
  EXPECT_EQ(analyzed->fields.at("llm").at("calls"), 2);
  EXPECT_EQ(analyzed->fields.at("llm").at("promptTokens"), 250);
  const auto requests = provider.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[1].messages.back().content.find("$.complexity: 1.5 is outside [0, 1]"), std::string::npos)
      << requests[1].messages.back().content;
}

TEST_F(LlmIntentTest, UnknownComponentsAreProblems) {
  const auto problems =
      intentAnswerProblems(js::parse(frame(0.9, {"auth", "blockchain"})), engine_->catalog());
  EXPECT_EQ(problems, (std::vector<std::string>{"$.components[1]: \"blockchain\" is not a catalog component"}));
  EXPECT_EQ(intentAnswerProblems(js::parse(R"({"intent":"PAINT","complexity":-1,"target":"","components":[],"params":{}})"),
                                 engine_->catalog()),
            (std::vector<std::string>{"$.intent: \"PAINT\" is not one of the intents",
                                      "$.complexity: -1 is outside [0, 1]", "$.target: a non-empty string is required"}));
}

TEST_F(LlmIntentTest, AnInvalidFrameTwiceFallsBackToTheBuiltinAnalyzer) {
  ScriptedProvider provider("openai");
  provider.pushText(frame(2, {"auth"}));
  provider.pushText(frame(3, {"auth"}));
  auto events = run(stage(provider));
  const Event* fallback = find("llmFallback");
  ASSERT_NE(fallback, nullptr);
  EXPECT_EQ(fallback->fields.at("stage"), "intent");
  EXPECT_NE(std::string(fallback->fields.at("reason").as_string()).find("outside [0, 1]"), std::string::npos);
  const Event* analyzed = find("intentAnalyzed");
  ASSERT_NE(analyzed, nullptr);
  EXPECT_LT(fallback->seq, analyzed->seq);
  EXPECT_EQ(analyzed->fields.at("analyzer"), "builtin");
  EXPECT_EQ(analyzed->fields.at("components"), (js::array{"auth", "catalog", "cart", "payment"}));
}

TEST_F(LlmIntentTest, StrictModeFailsWithAClearError) {
  ScriptedProvider provider("openai");
  provider.pushError(ErrorCode::kIo, "openai unavailable: connection refused");
  auto design = prepare(stage(provider, /*strict=*/true));
  ASSERT_FALSE(design);
  EXPECT_NE(design.error().message.find("the intent stage's provider (openai) gave no usable intent and strict mode"),
            std::string::npos)
      << design.error().message;
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(LlmIntentTest, WithoutAProviderIntentAnalyzedIsUnchanged) {
  auto design = Design::prepare(*engine_, kRequest, std::nullopt, {}, {}, clock_, sink_);
  ASSERT_TRUE(design);
  (*design)->start();
  (*design)->wait();
  const Event* analyzed = find("intentAnalyzed");
  ASSERT_NE(analyzed, nullptr);
  EXPECT_FALSE(analyzed->fields.contains("analyzer"));
  EXPECT_FALSE(analyzed->fields.contains("llm"));
}

}  // namespace
}  // namespace ymy::engine
