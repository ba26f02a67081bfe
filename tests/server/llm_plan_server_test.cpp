// The plan stage's model through ExecutionManager with the memory store and
// the in-process bus: the model's plan is stored, the summary carries its
// tokens, and the API key (from the environment) reaches neither an event in
// the log nor the stored execution.

#include <gtest/gtest.h>

#include <cstdlib>

#include <boost/json.hpp>

#include "bus/event_bus.hpp"
#include "llm/config.hpp"
#include "llm/fake_http_server.hpp"
#include "llm/http_transport.hpp"
#include "server/execution_manager.hpp"
#include "store/store.hpp"
#include "test_data.hpp"

namespace ymy::server {
namespace {

namespace js = boost::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "sk-test-SERVERKEY-0a1b2c3d4e5f";
constexpr const char* kRequest =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

std::string answerWithPlan() {
  auto task = [](const char* id, const char* agent, js::array deps) {
    return js::object{{"id", id},           {"name", std::string("Model ") + id},
                      {"description", "d"}, {"type", "CODE_GENERATION"},
                      {"dependencies", std::move(deps)}, {"estimatedTime", 10},
                      {"isolation", "DEPENDENT"}, {"agent", agent},
                      {"prompt", std::string("Write ") + id}, {"canRunInParallel", false}};
  };
  js::object plan{{"tasks", js::array{task("m1", "arch-001", {}), task("m2", "code-001", {"m1"})}}};
  js::object answer{
      {"model", "gpt-4o-mini"},
      {"choices", js::array{js::object{{"index", 0},
                                       {"message", {{"role", "assistant"}, {"content", js::serialize(plan)}}},
                                       {"finish_reason", "stop"}}}},
      {"usage", {{"prompt_tokens", 700}, {"completion_tokens", 100}}}};
  return js::serialize(answer);
}

TEST(LlmPlanServer, TheKeyReachesNeitherTheEventLogNorTheStore) {
  auto engine = engine::Engine::load(test::dataDir());
  ASSERT_TRUE(engine) << engine.error().message;
  auto store = store::makeMemoryStore();
  bus::EventBus bus(*store);
  SystemClock clock;

  llm::testing::FakeHttpServer server;
  ::setenv("YMY_LLM_SERVER_TEST_KEY", kKey, 1);
  llm::CurlTransport transport;
  llm::ProviderConfig config;
  config.kind = llm::ProviderKind::kOpenAi;
  config.url = server.url();
  config.model = "gpt-4o-mini";
  config.apiKeyEnv = "YMY_LLM_SERVER_TEST_KEY";
  config.retry.maxAttempts = 1;
  auto provider = llm::makeProvider(config, transport, clock);
  ::unsetenv("YMY_LLM_SERVER_TEST_KEY");
  ASSERT_TRUE(provider) << provider.error().message;
  engine::LlmPlanStage stage;
  stage.provider = provider->get();
  stage.config = config;

  ExecutionManager manager(**engine, *store, bus, clock, {}, nullptr, stage);
  // First the provider fails with the key in its answer, then it gives a plan.
  server.enqueue(llm::testing::ScriptedResponse::json(
      500, std::string("{\"error\":{\"message\":\"failed for ") + kKey + "\",\"type\":\"server_error\"}}"));
  server.enqueue(llm::testing::ScriptedResponse::json(200, answerWithPlan()));

  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    DesignRequest r;
    r.request = kRequest;
    auto started = manager.start(r);
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_TRUE(manager.waitUntilSettled(started->executionId, 60s));
    ids.push_back(started->executionId);
  }

  auto eventsOf = [&](const std::string& id) {
    auto events = store->eventsAfter(id, 0, 10'000);
    EXPECT_TRUE(events) << events.error().message;
    return events ? *events : std::vector<Event>{};
  };
  auto find = [](const std::vector<Event>& events, std::string_view type) -> const Event* {
    for (const auto& e : events) {
      if (e.type == type) return &e;
    }
    return nullptr;
  };
  const auto fellBack = eventsOf(ids[0]);
  ASSERT_NE(find(fellBack, "llmFallback"), nullptr);
  // The provider's message made it into the reason, with the key redacted.
  EXPECT_NE(std::string(find(fellBack, "llmFallback")->fields.at("reason").as_string()).find("failed for [REDACTED]"),
            std::string::npos)
      << js::serialize(find(fellBack, "llmFallback")->fields);
  EXPECT_EQ(find(fellBack, "planGenerated")->fields.at("planner"), "builtin");
  const auto modelRun = eventsOf(ids[1]);
  EXPECT_EQ(find(modelRun, "llmFallback"), nullptr);
  ASSERT_NE(find(modelRun, "planGenerated"), nullptr);
  EXPECT_EQ(find(modelRun, "planGenerated")->fields.at("planner"), "openai");
  ASSERT_NE(find(modelRun, "executionSummary"), nullptr);
  EXPECT_EQ(find(modelRun, "executionSummary")->fields.at("llm").at("promptTokens"), 700);

  for (const auto& id : ids) {
    for (const auto& e : eventsOf(id)) {
      EXPECT_EQ(js::serialize(e.fields).find(kKey), std::string::npos) << e.type << " carries the key";
    }
    auto record = store->getExecution(id);
    ASSERT_TRUE(record) << record.error().message;
    const std::string stored = js::serialize(record->options) + js::serialize(record->intent) +
                               js::serialize(toJson(record->plan)) + js::serialize(record->summary);
    EXPECT_EQ(stored.find(kKey), std::string::npos);
  }
  auto stored = store->getExecution(ids[1]);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->plan.tasks.size(), 2u);
  EXPECT_EQ(stored->plan.tasks[0].id, "m1");
}

}  // namespace
}  // namespace ymy::server
