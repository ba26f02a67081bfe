// The plan stage backed by a model, through Design: the model's plan is used
// when valid, repaired once when not, and the builtin plan (with an
// llmFallback event) takes over when the model cannot give one, unless
// strict. The provider is llm::ScriptedProvider, or the real OpenAI-compatible
// provider against the local fake HTTP server.

#include "engine/design.hpp"
#include "engine/llm_planner.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include <boost/json.hpp>

#include "engine/llm_stage_fixture.hpp"
#include "llm/config.hpp"
#include "llm/fake_http_server.hpp"
#include "llm/http_transport.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::engine {
namespace {

namespace js = boost::json;
using llm::ScriptedProvider;

constexpr const char* kRequest =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
constexpr const char* kKey = "sk-test-PLANKEY-9f8e7d6c5b4a";

js::object task(const std::string& id, const std::string& agent, std::vector<std::string> deps,
                const std::string& type = "CODE_GENERATION") {
  return {{"id", id},
          {"name", "Model task " + id},
          {"description", "Does " + id},
          {"type", type},
          {"dependencies", js::array(deps.begin(), deps.end())},
          {"estimatedTime", 30},
          {"isolation", deps.empty() ? "INDEPENDENT" : "DEPENDENT"},
          {"agent", agent},
          {"prompt", "Do the work of " + id},
          {"canRunInParallel", false}};
}

// m1 -> m2, m1 -> m3, {m2, m3} -> m4; with `cycle`, m2 also depends on m4.
std::string modelPlan(bool cycle = false) {
  std::vector<std::string> m2deps{"m1"};
  if (cycle) m2deps.push_back("m4");
  js::array tasks{task("m1", "arch-001", {}, "ARCHITECTURE"), task("m2", "db-001", m2deps),
                  task("m3", "code-001", {"m1"}), task("m4", "test-001", {"m2", "m3"}, "TESTING")};
  return js::serialize(js::object{{"tasks", std::move(tasks)}});
}

class LlmPlanTest : public test::LlmStageFixture {
 protected:

  LlmPlanStage stage(llm::LlmProvider& provider, bool strict = false) {
    return stageFor<LlmPlanStage>(provider, strict);
  }

  Result<std::unique_ptr<Design>> prepare(const LlmPlanStage& s) {
    DesignOptions options;
    options.llmPlan = s;
    return Design::prepare(*engine_, kRequest, std::nullopt, {}, options, clock_, sink_);
  }

  // Prepares, runs and returns the events up to and including planGenerated.
  std::vector<Event> run(const LlmPlanStage& s) {
    DesignOptions options;
    options.llmPlan = s;
    return runUntil(kRequest, options, "planGenerated");
  }

  static const Event* find(const std::vector<Event>& events, std::string_view type) {
    for (const auto& e : events) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }

  static std::vector<std::string> taskIds(const Event& planGenerated) {
    std::vector<std::string> ids;
    for (const auto& t : planGenerated.fields.at("tasks").as_array()) ids.emplace_back(t.at("id").as_string());
    return ids;
  }

};

TEST_F(LlmPlanTest, AValidModelPlanIsUsed) {
  ScriptedProvider provider("openai");
  provider.pushText(modelPlan(), {1000, 500});
  auto events = run(stage(provider));
  const Event* plan = find(events, "planGenerated");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(find(events, "llmFallback"), nullptr);
  EXPECT_EQ(plan->fields.at("planner"), "openai");
  EXPECT_EQ(plan->fields.at("repaired"), false);
  EXPECT_EQ(plan->fields.at("route"), "DYNAMIC");
  EXPECT_EQ(taskIds(*plan), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  const auto& usage = plan->fields.at("llm").as_object();
  EXPECT_EQ(usage.at("promptTokens"), 1000);
  EXPECT_EQ(usage.at("completionTokens"), 500);
  // gpt-4o-mini: 0.15 and 0.60 USD per million tokens.
  EXPECT_NEAR(usage.at("costUsd").to_number<double>(), 1000 * 0.15e-6 + 500 * 0.60e-6, 1e-12);
  // The summary carries the same usage.
  const Event* summary = find(sink_.events, "executionSummary");
  ASSERT_NE(summary, nullptr);
  const auto& llm = summary->fields.at("llm").as_object();
  EXPECT_EQ(llm.at("promptTokens"), 1000);
  EXPECT_EQ(llm.at("completionTokens"), 500);
  EXPECT_NEAR(llm.at("costUsd").to_number<double>(), 1000 * 0.15e-6 + 500 * 0.60e-6, 1e-12);
  EXPECT_EQ(llm.at("stages").at(0).at("stage"), "plan");

  // The request: system prompt, then the request, the intent frame and the canvas; the schema's agents.
  const auto requests = provider.requests();
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_EQ(requests[0].messages.size(), 2u);
  EXPECT_EQ(requests[0].messages[0].role, "system");
  EXPECT_NE(requests[0].messages[1].content.find(kRequest), std::string::npos);
  EXPECT_NE(requests[0].messages[1].content.find("Intent frame: {\"intent\":\"BUILD_FROM_SCRATCH\""),
            std::string::npos);
  EXPECT_NE(requests[0].messages[1].content.find("The canvas is empty."), std::string::npos);
  ASSERT_TRUE(requests[0].schema);
  const auto& agents =
      requests[0].schema->at("properties").at("tasks").at("items").at("properties").at("agent").at("enum");
  EXPECT_NE(std::find(agents.as_array().begin(), agents.as_array().end(), js::value("arch-001")),
            agents.as_array().end());
}

TEST_F(LlmPlanTest, BuiltinWithoutAProviderSaysSo) {
  auto design = Design::prepare(*engine_, kRequest, std::nullopt, {}, {}, clock_, sink_);
  ASSERT_TRUE(design) << design.error().message;
  (*design)->start();
  (*design)->wait();
  const Event* plan = find(sink_.events, "planGenerated");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->fields.at("planner"), "builtin");
  EXPECT_FALSE(plan->fields.contains("repaired"));
  EXPECT_FALSE(plan->fields.contains("llm"));
  EXPECT_FALSE(find(sink_.events, "executionSummary")->fields.contains("llm"));
}

TEST_F(LlmPlanTest, APlanWithACycleIsRepairedByOneFollowUpNamingTheCycle) {
  ScriptedProvider provider("openai");
  provider.pushText(modelPlan(/*cycle=*/true), {100, 50});
  provider.pushText(modelPlan(), {200, 60});
  auto events = run(stage(provider));
  const Event* plan = find(events, "planGenerated");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(find(events, "llmFallback"), nullptr);
  EXPECT_EQ(plan->fields.at("planner"), "openai");
  EXPECT_EQ(plan->fields.at("repaired"), true);
  EXPECT_EQ(taskIds(*plan), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(plan->fields.at("llm").at("promptTokens"), 300);
  EXPECT_EQ(plan->fields.at("llm").at("calls"), 2);

  const auto requests = provider.requests();
  ASSERT_EQ(requests.size(), 2u);
  ASSERT_EQ(requests[1].messages.size(), 4u);
  EXPECT_EQ(requests[1].messages[2].role, "assistant");
  const auto& followUp = requests[1].messages[3].content;
  EXPECT_NE(followUp.find("dependency cycle: m2 -> m4 -> m2"), std::string::npos) << followUp;
}

TEST_F(LlmPlanTest, AnInvalidPlanTwiceFallsBackToBuiltinWithAnEvent) {
  ScriptedProvider provider("openai");
  provider.pushText(modelPlan(true));
  provider.pushText(modelPlan(true));
  auto events = run(stage(provider));
  const Event* fallback = find(events, "llmFallback");
  const Event* plan = find(events, "planGenerated");
  ASSERT_NE(fallback, nullptr);
  ASSERT_NE(plan, nullptr);
  EXPECT_LT(fallback->seq, plan->seq);
  EXPECT_EQ(fallback->fields.at("stage"), "plan");
  EXPECT_EQ(fallback->fields.at("provider"), "openai");
  EXPECT_NE(std::string(fallback->fields.at("reason").as_string()).find("dependency cycle"), std::string::npos);
  EXPECT_EQ(plan->fields.at("planner"), "builtin");
  EXPECT_FALSE(plan->fields.contains("repaired"));
  EXPECT_NE(taskIds(*plan).front(), "m1");
  EXPECT_EQ(provider.requests().size(), 2u);
}

TEST_F(LlmPlanTest, AnEmptyPlanOrUnknownFieldsAreProblemsToRepair) {
  EXPECT_EQ(modelPlanProblems(js::parse(R"({"tasks": []})"), engine_->agents()),
            (std::vector<std::string>{"plan has no tasks"}));
  EXPECT_EQ(modelPlanProblems(js::parse(R"({"plan": []})"), engine_->agents()),
            (std::vector<std::string>{"$.tasks: required field is missing"}));
  EXPECT_TRUE(modelPlanProblems(js::parse(modelPlan()), engine_->agents()).empty());
  // Every known agent is registered, so the schema offers them all.
  EXPECT_EQ(plannableAgents(engine_->agents()).size(), knownAgents().size());
}

TEST_F(LlmPlanTest, AnUnavailableProviderFallsBack) {
  ScriptedProvider provider("openai");
  provider.pushError(ErrorCode::kIo, "openai unavailable: connection refused");
  auto events = run(stage(provider));
  const Event* fallback = find(events, "llmFallback");
  ASSERT_NE(fallback, nullptr);
  EXPECT_EQ(fallback->fields.at("failure"), "unavailable");
  EXPECT_EQ(find(events, "planGenerated")->fields.at("planner"), "builtin");
}

TEST_F(LlmPlanTest, StrictModeFailsWithAClearError) {
  ScriptedProvider provider("openai");
  provider.pushError(ErrorCode::kIo, "openai unavailable: connection refused");
  auto design = prepare(stage(provider, /*strict=*/true));
  ASSERT_FALSE(design);
  EXPECT_EQ(design.error().code, ErrorCode::kIo);
  EXPECT_NE(design.error().message.find("strict mode (--llm-strict) forbids falling back to builtin"), std::string::npos) << design.error().message;
  EXPECT_NE(design.error().message.find("connection refused"), std::string::npos) << design.error().message;
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(LlmPlanTest, TheStaticRouteDoesNotAskTheModel) {
  ScriptedProvider provider("openai");
  DesignOptions options;
  options.llmPlan = stage(provider);
  auto canvas = loadCanvasFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json");
  ASSERT_TRUE(canvas) << canvas.error().message;
  auto design = Design::prepare(*engine_, "Fix the auth service in my design and make it scalable to 5000 RPS",
                                *canvas, {}, options, clock_, sink_);
  ASSERT_TRUE(design) << design.error().message;
  EXPECT_EQ((*design)->planned().route, Route::kStatic);
  EXPECT_TRUE(provider.requests().empty());
}

// The real OpenAI-compatible provider (libcurl) against the local fake server:
// a 500 whose body echoes the key, then the model's plan on a second design.
// The key, taken from the environment, never reaches an event.
TEST_F(LlmPlanTest, ThroughTheOpenAiProviderTheKeyNeverReachesAnEvent) {
  llm::testing::FakeHttpServer server;
  ::setenv("YMY_LLM_PLAN_TEST_KEY", kKey, 1);
  llm::CurlTransport transport;
  llm::ProviderConfig config;
  config.kind = llm::ProviderKind::kOpenAi;
  config.url = server.url();
  config.model = "gpt-4o-mini";
  config.apiKeyEnv = "YMY_LLM_PLAN_TEST_KEY";
  config.retry.maxAttempts = 1;
  auto provider = llm::makeProvider(config, transport, clock_);
  ASSERT_TRUE(provider) << provider.error().message;
  LlmPlanStage s;
  s.provider = provider->get();
  s.config = config;
  s.prices = prices_;

  server.enqueue(llm::testing::ScriptedResponse::json(
      500, std::string("{\"error\":{\"message\":\"upstream failed for key ") + kKey + "\",\"type\":\"server_error\"}}"));
  auto first = run(s);
  ASSERT_NE(find(first, "llmFallback"), nullptr);

  js::object answer{
      {"id", "chatcmpl-1"},
      {"object", "chat.completion"},
      {"model", "gpt-4o-mini-2024-07-18"},
      {"choices", js::array{js::object{{"index", 0},
                                       {"message", {{"role", "assistant"}, {"content", modelPlan()}}},
                                       {"finish_reason", "stop"}}}},
      {"usage", {{"prompt_tokens", 900}, {"completion_tokens", 300}, {"total_tokens", 1200}}}};
  server.enqueue(llm::testing::ScriptedResponse::json(200, js::serialize(answer)));
  const std::vector<Event> firstEvents = sink_.events;
  sink_.events.clear();
  auto second = run(s);
  const Event* plan = find(second, "planGenerated");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(plan->fields.at("planner"), "openai");
  EXPECT_EQ(taskIds(*plan), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(plan->fields.at("llm").at("model"), "gpt-4o-mini-2024-07-18");
  EXPECT_TRUE(plan->fields.at("llm").as_object().contains("costUsd"));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + kKey);
  for (const std::vector<Event>* events : {&firstEvents, static_cast<const std::vector<Event>*>(&sink_.events)}) {
    for (const auto& e : *events) {
      EXPECT_EQ(js::serialize(e.fields).find(kKey), std::string::npos) << e.type << " carries the key";
    }
  }
  ::unsetenv("YMY_LLM_PLAN_TEST_KEY");
}

}  // namespace
}  // namespace ymy::engine
