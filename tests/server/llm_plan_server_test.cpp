// The plan and agents stages' model through ExecutionManager with the memory
// store and the in-process bus: the model's plan is stored, the summary
// carries its tokens, and the API key (from the environment) reaches neither
// an event in the log nor the stored execution or tasks. A run in which a
// stage fell back is not cached; a resumed run keeps the tokens spent before
// the restart.

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include <boost/json.hpp>

#include "bus/event_bus.hpp"
#include "cache/design_cache.hpp"
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


// An SSE answer for an agent task: one file under the task's id.
llm::testing::ScriptedResponse agentAnswer(const std::string& id, std::int64_t promptTokens) {
  const std::string files = js::serialize(js::object{
      {"summary", "Model wrote " + id},
      {"files", js::array{js::object{{"path", id + "/NOTES.md"}, {"content", "# " + id + "\n"}}}}});
  js::object chunk{{"model", "gpt-4o-mini"},
                   {"choices", js::array{js::object{{"index", 0}, {"delta", {{"content", files}}}, {"finish_reason", "stop"}}}},
                   {"usage", {{"prompt_tokens", promptTokens}, {"completion_tokens", 10}}}};
  return llm::testing::ScriptedResponse::sse("data: " + js::serialize(chunk) + "\n\ndata: [DONE]\n\n");
}

class LlmAgentsServer : public testing::Test {
 protected:
  void SetUp() override {
    auto engine = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = std::move(*engine);
    ::setenv("YMY_LLM_SERVER_TEST_KEY", kKey, 1);
    config_.kind = llm::ProviderKind::kOpenAi;
    config_.url = server_.url();
    config_.model = "gpt-4o-mini";
    config_.apiKeyEnv = "YMY_LLM_SERVER_TEST_KEY";
    config_.retry.maxAttempts = 1;
    auto provider = llm::makeProvider(config_, transport_, clock_);
    ::unsetenv("YMY_LLM_SERVER_TEST_KEY");
    ASSERT_TRUE(provider) << provider.error().message;
    provider_ = std::move(*provider);
    auto prices = llm::PriceTable::load(test::dataDir() / "llm" / "models.json");
    ASSERT_TRUE(prices) << prices.error().message;
    prices_ = std::move(*prices);
    plan_.provider = provider_.get();
    plan_.config = config_;
    plan_.prices = &*prices_;
    agents_.provider = provider_.get();
    agents_.config = config_;
    agents_.prices = &*prices_;
  }

  std::unique_ptr<ExecutionManager> manager(cache::DesignCache* cache = nullptr) {
    return std::make_unique<ExecutionManager>(*engine_, *store_, bus_, clock_, executor::ModificationPolicy{}, cache,
                                              plan_, agents_);
  }

  std::vector<Event> eventsOf(const std::string& id) {
    auto events = store_->eventsAfter(id, 0, 10'000);
    EXPECT_TRUE(events) << events.error().message;
    return events ? *events : std::vector<Event>{};
  }

  llm::testing::FakeHttpServer server_;
  llm::CurlTransport transport_;
  SystemClock clock_;
  llm::ProviderConfig config_;
  std::unique_ptr<llm::LlmProvider> provider_;
  std::optional<llm::PriceTable> prices_;
  engine::LlmPlanStage plan_;
  agents::LlmAgentStage agents_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  bus::EventBus bus_{*store_};
};

TEST_F(LlmAgentsServer, AFallbackIsNotCachedAndTheKeyIsInNoStoredTask) {
  cache::DesignCacheOptions o;
  o.engineVersion = engine_->version();
  o.l3.applyInBackground = false;
  auto cache = cache::DesignCache::create(engine_->catalog(), o, clock_);
  ASSERT_TRUE(cache) << cache.error().message;
  auto m = manager(cache->get());
  auto run = [&] {
    DesignRequest r;
    r.request = kRequest;
    auto started = m->start(r);
    EXPECT_TRUE(started) << started.error().message;
    if (!started) return StartedExecution{};
    EXPECT_TRUE(m->waitUntilSettled(started->executionId, 60s));
    (*cache)->flush();
    return *started;
  };
  // Run 1: the plan from the model; m1's files fail with the key in the answer; m2's come.
  server_.enqueue(llm::testing::ScriptedResponse::json(200, answerWithPlan()));
  server_.enqueue(llm::testing::ScriptedResponse::json(
      500, std::string("{\"error\":{\"message\":\"failed for ") + kKey + "\",\"type\":\"server_error\"}}"));
  server_.enqueue(agentAnswer("m2", 400));
  const auto first = run();
  EXPECT_EQ(first.cache, "MISS");
  const auto events = eventsOf(first.executionId);
  int fallbacks = 0;
  for (const auto& e : events) {
    EXPECT_EQ(js::serialize(e.fields).find(kKey), std::string::npos) << e.type << " carries the key";
    if (e.type == "llmFallback") {
      ++fallbacks;
      EXPECT_EQ(e.fields.at("taskId"), "m1");
      EXPECT_EQ(e.fields.at("stage"), "agents");
    }
  }
  EXPECT_EQ(fallbacks, 1);
  auto tasks = store_->tasks(first.executionId);
  ASSERT_TRUE(tasks) << tasks.error().message;
  ASSERT_EQ(tasks->size(), 2u);
  for (const auto& t : *tasks) {
    std::string stored = t.result + t.error + js::serialize(t.output) + js::serialize(t.canvasPatch);
    for (const auto& f : t.files) stored += f.path + f.content;
    EXPECT_EQ(stored.find(kKey), std::string::npos) << t.taskId;
    EXPECT_EQ(t.status, "completed");
    if (t.taskId == "m2") {
      EXPECT_EQ(t.result, "Model wrote m2");
      EXPECT_EQ(t.output.at("llmUsage").at("promptTokens"), 400);
    }
  }
  auto record = store_->getExecution(first.executionId);
  ASSERT_TRUE(record);
  EXPECT_EQ(js::serialize(record->summary).find(kKey), std::string::npos);
  // The plan's 700 and m2's 400 prompt tokens (m1's call got no answer).
  EXPECT_EQ(record->summary.at("llm").at("promptTokens"), 1100);

  // Run 2 asks the model again (run 1 fell back, so it was not cached) and is cached;
  // run 3 is answered from the cache without a request.
  server_.enqueue(llm::testing::ScriptedResponse::json(200, answerWithPlan()));
  server_.enqueue(agentAnswer("m1", 300));
  server_.enqueue(agentAnswer("m2", 400));
  EXPECT_EQ(run().cache, "MISS");
  EXPECT_EQ(server_.requests().size(), 6u);
  EXPECT_EQ(run().cache, "L1");
  EXPECT_EQ(server_.requests().size(), 6u);
}

TEST_F(LlmAgentsServer, AResumedRunKeepsTheTokensSpentBeforeTheRestart) {
  server_.enqueue(llm::testing::ScriptedResponse::json(200, answerWithPlan()));
  server_.enqueue(agentAnswer("m1", 300));
  auto held = agentAnswer("m2", 400);
  held.chunks.resize(0);  // m2's request gets no answer until the shutdown cancels it
  held.chunked = true;
  held.hold = true;
  server_.enqueue(held);
  std::string id;
  {
    auto m = manager();
    DesignRequest r;
    r.request = kRequest;
    auto started = m->start(r);
    ASSERT_TRUE(started) << started.error().message;
    id = started->executionId;
    server_.waitForRequests(3);
    m->shutdown("restart");
  }
  server_.release();
  server_.enqueue(agentAnswer("m2", 400));
  auto m = manager();
  auto resumed = m->resumeUnfinished();
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(*resumed, 1u);
  ASSERT_TRUE(m->waitUntilSettled(id, 60s));
  EXPECT_EQ(server_.requests().size(), 4u);  // m1 was not asked again
  auto record = store_->getExecution(id);
  ASSERT_TRUE(record);
  const auto& llm = record->summary.at("llm");
  // The plan's 700 (from before the restart), m1's 300 (stored with its task) and m2's 400.
  EXPECT_EQ(llm.at("promptTokens"), 1400) << js::serialize(llm);
  ASSERT_EQ(llm.at("stages").as_array().size(), 2u);
  EXPECT_EQ(llm.at("stages").at(0).at("stage"), "plan");
  EXPECT_EQ(llm.at("stages").at(1).at("stage"), "agents");
  EXPECT_EQ(llm.at("stages").at(1).at("calls"), 2);
}


// The plan stage's calls have an overall deadline, and a shutdown cancels
// them: a POST never waits on a model longer than either. (Separate tests: a
// released fake server cuts every later held answer at once.)
TEST_F(LlmAgentsServer, ThePlanCallHasADeadline) {
  llm::testing::ScriptedResponse held = llm::testing::ScriptedResponse::json(200, "{");
  held.chunks = {};
  held.chunked = true;
  held.hold = true;
  plan_.clock = &clock_;
  plan_.config.deadline = 300ms;
  agents_ = {};
  {
    server_.enqueue(held);
    auto m = manager();
    DesignRequest r;
    r.request = kRequest;
    const auto start = std::chrono::steady_clock::now();
    auto started = m->start(r);
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_TRUE(m->waitUntilSettled(started->executionId, 60s));
    // Not the transport's 120 s timeout: the deadline, then the builtin plan.
    EXPECT_LT(waited, 5s);
    bool fellBack = false;
    for (const auto& e : eventsOf(started->executionId)) {
      if (e.type == "llmFallback") {
        fellBack = true;
        EXPECT_EQ(e.fields.at("stage"), "plan");
        EXPECT_EQ(e.fields.at("failure"), "unavailable");
      }
    }
    EXPECT_TRUE(fellBack);
  }
  server_.release();
}

TEST_F(LlmAgentsServer, AShutdownCancelsThePlanCall) {
  llm::testing::ScriptedResponse held = llm::testing::ScriptedResponse::json(200, "{");
  held.chunks = {};
  held.chunked = true;
  held.hold = true;
  plan_.clock = &clock_;
  plan_.config.deadline = 60s;
  agents_ = {};
  server_.enqueue(held);
  auto m = manager();
  std::optional<Result<StartedExecution>> result;
  std::thread post([&] {
    DesignRequest r;
    r.request = kRequest;
    result = m->start(r);
  });
  server_.waitForRequests(1);
  const auto stoppedAt = std::chrono::steady_clock::now();
  m->shutdown("server stopping");
  post.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stoppedAt, 5s);
  ASSERT_TRUE(result);
  ASSERT_FALSE(*result);
  EXPECT_NE(result->error().message.find("cancelled"), std::string::npos) << result->error().message;
  server_.release();
}

}  // namespace
}  // namespace ymy::server
