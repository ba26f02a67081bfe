// The agents stage backed by a model, through Design: the content agents
// (arch-001, db-001, code-001) ask the model for their files and stream its
// answer as progress; an unusable answer is repaired once; an unavailable
// provider falls back to the builtin agent with an llmFallback naming the
// task (or fails it when strict); tokens and cost per task and in the
// summary. Then the real OpenAI-compatible provider against the local fake
// HTTP server: the exact request, streaming, a step modification cancelling
// the request mid-stream, and the key in no event.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

#include <boost/json.hpp>

#include "engine/llm_stage_fixture.hpp"
#include "agents/llm_agent.hpp"
#include "engine/design.hpp"
#include "llm/config.hpp"
#include "llm/fake_http_server.hpp"
#include "llm/http_transport.hpp"
#include "test_data.hpp"

namespace ymy::engine {
namespace {

namespace js = boost::json;
using namespace std::chrono_literals;

constexpr const char* kRequest =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
constexpr const char* kKey = "sk-test-AGENTKEY-0a1b2c3d4e5f";

std::string taskOf(const llm::ChatRequest& request) {
  const auto& user = request.messages.at(1).content;
  const auto colon = user.find(':');
  return user.rfind("Task ", 0) == 0 && colon != std::string::npos ? user.substr(5, colon - 5) : "";
}

std::string answerFor(const std::string& taskId, const std::string& path) {
  return js::serialize(js::object{
      {"summary", "Model wrote " + taskId},
      {"files", js::array{js::object{{"path", path}, {"content", "# " + taskId + "\nWritten by the model.\n"}}}}});
}

// Answers each request for the task its user message names, with a file
// under that task's id, streamed in 16-character pieces; 100 prompt and 50
// completion tokens a call. Tasks in `unavailable` get kIo;
// tasks in `unsafeFirst` get an unsafe path on their first call.
class TaskFilesProvider final : public llm::LlmProvider {
 public:
  std::set<std::string> unavailable, unsafeFirst;

  Result<llm::ChatResult> complete(const llm::ChatRequest& request) override {
    const std::string id = taskOf(request);
    {
      std::lock_guard lock(mutex_);
      requests_[id].push_back(request.messages);
    }
    if (unavailable.count(id)) return fail(ErrorCode::kIo, "openai: unavailable: connection refused");
    const bool unsafe = unsafeFirst.count(id) && request.messages.size() == 2;
    llm::ChatResult r;
    r.text = answerFor(id, unsafe ? "../" + id + ".md" : id + "/NOTES.md");
    for (std::size_t at = 0; at < r.text.size(); at += 16) {
      if (request.onDelta) request.onDelta(llm::Delta{std::string_view(r.text).substr(at, 16), 1});
    }
    auto parsed = llm::parseAnswer(request, name(), r.text);
    if (!parsed) return tl::unexpected(parsed.error());
    r.parsed = std::move(*parsed);
    r.usage = {100, 50};
    r.model = request.model;
    return r;
  }
  std::string_view name() const override { return "openai"; }

  std::map<std::string, std::vector<std::vector<llm::ChatMessage>>> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::vector<llm::ChatMessage>>> requests_;
};

class LlmAgentsTest : public test::LlmStageFixture {
 protected:

  agents::LlmAgentStage stage(llm::LlmProvider& provider, bool strict = false) {
    auto s = stageFor<agents::LlmAgentStage>(provider, strict);
    s.progressChars = 32;
    return s;
  }

  std::unique_ptr<Design> run(const agents::LlmAgentStage& s, DesignOptions options = {}) {
    options.llmAgents = s;
    return runDesign(kRequest, options);
  }

  std::vector<Event> events(std::string_view type, const std::string& taskId = "") {
    std::lock_guard lock(sink_.mutex);
    std::vector<Event> out;
    for (const auto& e : sink_.events) {
      if (e.type == type && (taskId.empty() || e.fields.at("taskId").as_string() == taskId)) out.push_back(e);
    }
    return out;
  }

  // The OpenAI-compatible provider against `server`, its key from the
  // environment, for the architecture agent only (one request a run).
  agents::LlmAgentStage httpStage(llm::testing::FakeHttpServer& server) {
    ::setenv("YMY_LLM_AGENTS_TEST_KEY", kKey, 1);
    llm::ProviderConfig config;
    config.kind = llm::ProviderKind::kOpenAi;
    config.url = server.url();
    config.model = "gpt-4o-mini";
    config.apiKeyEnv = "YMY_LLM_AGENTS_TEST_KEY";
    config.retry.maxAttempts = 1;
    auto provider = llm::makeProvider(config, transport_, clock_);
    EXPECT_TRUE(provider) << provider.error().message;
    ::unsetenv("YMY_LLM_AGENTS_TEST_KEY");
    httpProvider_ = std::move(*provider);
    agents::LlmAgentStage s;
    s.provider = httpProvider_.get();
    s.config = config;
    s.prices = prices_;
    s.agents = {"arch-001"};
    return s;
  }

  llm::CurlTransport transport_;
  std::unique_ptr<llm::LlmProvider> httpProvider_;
};

const std::set<std::string> kContentAgents{"arch-001", "db-001", "code-001"};

TEST_F(LlmAgentsTest, ContentAgentsWriteTheModelsFilesAndStreamItsAnswer) {
  TaskFilesProvider provider;
  auto design = run(stage(provider));
  ASSERT_TRUE(design);
  const auto& summary = design->execution().summary();
  ASSERT_TRUE(summary.success);
  const Plan& plan = design->planned().plan;
  int modelTasks = 0;
  const auto requests = provider.requests();
  for (const auto& task : plan.tasks) {
    auto completed = events("taskCompleted", task.id);
    ASSERT_EQ(completed.size(), 1u) << task.id;
    const auto& fields = completed[0].fields;
    if (!kContentAgents.count(task.agent)) {
      EXPECT_FALSE(fields.contains("llm")) << task.id;
      EXPECT_EQ(requests.count(task.id), 0u) << task.id;
      continue;
    }
    ++modelTasks;
    EXPECT_EQ(fields.at("result"), js::value("Model wrote " + task.id));
    EXPECT_EQ(fields.at("filesGenerated"), 1);
    const auto& llm = fields.at("llm").as_object();
    EXPECT_EQ(llm.at("promptTokens"), 100);
    EXPECT_EQ(llm.at("completionTokens"), 50);
    // gpt-4o-mini: 0.15 and 0.60 USD per million tokens.
    EXPECT_NEAR(llm.at("costUsd").to_number<double>(), 100 * 0.15e-6 + 50 * 0.60e-6, 1e-12);
    // Streamed: progress naming the file being written, one iteration.
    bool named = false;
    for (const auto& p : events("taskProgress", task.id)) {
      named = named || std::string(p.fields.at("progress").as_string()).find("Writing " + task.id + "/NOTES.md") !=
                           std::string::npos;
    }
    EXPECT_TRUE(named) << task.id;
    ASSERT_FALSE(events("iterationStarted", task.id).empty()) << task.id;
    EXPECT_EQ(events("iterationStarted", task.id)[0].fields.at("focus"), "model_answer");
    EXPECT_EQ(events("iterationProgress", task.id).back().fields.at("filesGenerated"), 1);

    // The request: the agent's role, the task's prompt, the request, the
    // frame, and the completed ancestors' summaries (the model's own).
    ASSERT_EQ(requests.at(task.id).size(), 1u);
    const auto& messages = requests.at(task.id)[0];
    EXPECT_NE(messages[0].content.find("You are " + task.agent), std::string::npos);
    EXPECT_NE(messages[1].content.find("Prompt: " + task.prompt), std::string::npos);
    EXPECT_NE(messages[1].content.find(kRequest), std::string::npos);
    EXPECT_NE(messages[1].content.find("Intent frame: {\"intent\":\"BUILD_FROM_SCRATCH\""), std::string::npos);
    for (const auto& dep : task.dependencies) {
      EXPECT_NE(messages[1].content.find("- " + dep + " "), std::string::npos) << task.id << " lacks " << dep;
    }
  }
  EXPECT_GE(modelTasks, 3);
  // The product has the model's files; the canvas is still the catalog's.
  std::set<std::string> paths;
  for (const auto& f : design->execution().assembly().files) paths.insert(f.path);
  EXPECT_TRUE(paths.count(plan.tasks.front().id + "/NOTES.md"));
  EXPECT_FALSE(design->execution().assembly().canvas.nodes.empty());
  // The summary: the agents stage's calls, tokens and cost.
  ASSERT_EQ(summary.llm.size(), 1u);
  EXPECT_EQ(summary.llm[0].stage, "agents");
  EXPECT_EQ(summary.llm[0].calls, modelTasks);
  EXPECT_EQ(summary.llm[0].promptTokens, 100 * modelTasks);
  EXPECT_NEAR(*summary.llm[0].costUsd, modelTasks * (100 * 0.15e-6 + 50 * 0.60e-6), 1e-12);
  EXPECT_TRUE(events("llmFallback").empty());
}

TEST_F(LlmAgentsTest, AnUnsafePathIsRepairedOnceAndBothCallsArePaid) {
  TaskFilesProvider provider;
  auto s = stage(provider);
  auto design = Design::prepare(*engine_, kRequest, std::nullopt, {}, {}, clock_, sink_);
  ASSERT_TRUE(design);
  const std::string first = (*design)->planned().plan.tasks.front().id;
  provider.unsafeFirst = {first};
  sink_.events.clear();
  auto ran = run(s);
  ASSERT_TRUE(ran && ran->execution().summary().success);
  const auto calls = provider.requests().at(first);
  ASSERT_EQ(calls.size(), 2u);
  ASSERT_EQ(calls[1].size(), 4u);
  EXPECT_NE(calls[1][3].content.find("$.files[0].path: \"../" + first + ".md\" is not a safe relative path"),
            std::string::npos)
      << calls[1][3].content;
  const auto completed = events("taskCompleted", first);
  ASSERT_EQ(completed.size(), 1u);
  const auto& llm = completed[0].fields.at("llm").as_object();
  EXPECT_EQ(llm.at("calls"), 2);
  EXPECT_EQ(llm.at("promptTokens"), 200);
  EXPECT_EQ(events("iterationStarted", first).back().fields.at("focus"), "repair");
}

TEST_F(LlmAgentsTest, AnUnavailableProviderFallsBackToTheBuiltinAgentForThatTask) {
  TaskFilesProvider provider;
  auto probe = Design::prepare(*engine_, kRequest, std::nullopt, {}, {}, clock_, sink_);
  ASSERT_TRUE(probe);
  const Task firstTask = (*probe)->planned().plan.tasks.front();
  provider.unavailable = {firstTask.id};
  auto design = run(stage(provider));
  ASSERT_TRUE(design && design->execution().summary().success);
  const auto fallbacks = events("llmFallback");
  ASSERT_EQ(fallbacks.size(), 1u);
  const auto& f = fallbacks[0].fields;
  EXPECT_EQ(f.at("taskId"), js::value(firstTask.id));
  EXPECT_EQ(f.at("stage"), "agents");
  EXPECT_EQ(f.at("failure"), "unavailable");
  // The builtin agent's result, without tokens (no call was answered).
  const auto completed = events("taskCompleted", firstTask.id).at(0);
  EXPECT_NE(completed.fields.at("result"), js::value("Model wrote " + firstTask.id));
  EXPECT_GT(completed.fields.at("filesGenerated").to_number<std::int64_t>(), 0);
  EXPECT_EQ(f.at("reason"), "openai: unavailable: connection refused");
}

TEST_F(LlmAgentsTest, StrictModeFailsTheTaskSayingWhy) {
  TaskFilesProvider provider;
  auto probe = Design::prepare(*engine_, kRequest, std::nullopt, {}, {}, clock_, sink_);
  ASSERT_TRUE(probe);
  const std::string first = (*probe)->planned().plan.tasks.front().id;
  provider.unavailable = {first};
  auto design = run(stage(provider, /*strict=*/true));
  ASSERT_TRUE(design);
  EXPECT_FALSE(design->execution().summary().success);
  const auto failed = events("taskFailed", first);
  ASSERT_EQ(failed.size(), 1u);
  const std::string error(failed[0].fields.at("error").as_string());
  EXPECT_NE(error.find("strict mode (--llm-strict) forbids falling back to builtin"), std::string::npos) << error;
  EXPECT_NE(error.find("connection refused"), std::string::npos) << error;
  EXPECT_TRUE(events("llmFallback").empty());
}

TEST_F(LlmAgentsTest, AnswerProblemsNameWhere) {
  EXPECT_EQ(agents::agentAnswerProblems(js::parse(R"({"summary": "", "files": []})")),
            (std::vector<std::string>{"$.summary: must not be empty", "$.files: no files given"}));
  EXPECT_EQ(agents::agentAnswerProblems(js::parse(
                R"({"summary": "s", "files": [{"path": "a/b.json", "content": "{x"}, {"path": "a/b.json", "content": "\u0001"}]})")),
            (std::vector<std::string>{"$.files[0].content: a/b.json is not valid JSON (syntax error)",
                                      "$.files[1].path: \"a/b.json\" appears more than once",
                                      "$.files[1].content: a/b.json contains control characters",
                                      "$.files[1].content: a/b.json is not valid JSON (syntax error)"}));
  EXPECT_TRUE(agents::agentAnswerProblems(js::parse(answerFor("t", "t/a.md"))).empty());
}

// The real provider over HTTP: the first content task's request is held
// mid-stream until a step modification of that task cancels it; the task
// re-runs with the new prompt and the second request is answered.
TEST_F(LlmAgentsTest, AStepModificationCancelsTheRequestMidStream) {
  llm::testing::FakeHttpServer server;
  auto s = httpStage(server);
  s.progressChars = 1;

  auto sse = [](const std::string& content, bool usage) {
    std::string text;
    for (std::size_t at = 0; at < content.size(); at += 24) {
      js::object chunk{{"id", "c1"},
                       {"object", "chat.completion.chunk"},
                       {"model", "gpt-4o-mini-2024-07-18"},
                       {"choices", js::array{js::object{{"index", 0},
                                                        {"delta", {{"content", content.substr(at, 24)}}},
                                                        {"finish_reason", nullptr}}}}};
      text += "data: " + js::serialize(chunk) + "\n\n";
    }
    if (usage) {
      js::object last{{"id", "c1"},
                      {"object", "chat.completion.chunk"},
                      {"model", "gpt-4o-mini-2024-07-18"},
                      {"choices", js::array{js::object{{"index", 0}, {"delta", js::object{}}, {"finish_reason", "stop"}}}},
                      {"usage", {{"prompt_tokens", 700}, {"completion_tokens", 90}, {"total_tokens", 790}}}};
      text += "data: " + js::serialize(last) + "\n\ndata: [DONE]\n\n";
    }
    return llm::testing::ScriptedResponse::sse(text);
  };
  DesignOptions options;
  options.modification.cooldown = 0ms;
  options.llmAgents = s;
  auto prepared = Design::prepare(*engine_, kRequest, std::nullopt, {}, options, clock_, sink_);
  ASSERT_TRUE(prepared) << prepared.error().message;
  auto& design = **prepared;
  const Task arch = design.planned().plan.tasks.front();
  ASSERT_EQ(arch.agent, "arch-001");
  auto held = sse(answerFor(arch.id, "docs/architecture.md"), false);
  held.chunks.resize(2);  // two pieces, then the connection stays open
  held.hold = true;
  server.enqueue(held);
  server.enqueue(sse(answerFor(arch.id, "docs/architecture-v2.md"), true));

  design.start();
  server.waitForRequests(1);
  // Both pieces have arrived once their progress is published.
  ASSERT_TRUE(sink_.waitFor([&](const std::vector<Event>& seen) {
    return std::count_if(seen.begin(), seen.end(), [&](const Event& e) {
             return e.type == "taskProgress" && e.fields.at("taskId").as_string() == arch.id;
           }) >= 2;
  }));
  const auto modifiedAt = std::chrono::steady_clock::now();
  auto report = design.modify(arch.id, arch.prompt + " Add a recommendation engine.");
  ASSERT_TRUE(report) << report.error().message;
  server.waitForRequests(2);
  const auto rerequested = std::chrono::steady_clock::now() - modifiedAt;
  design.wait();
  server.release();
  // The in-flight request was aborted within curl's poll slice, not left to time out.
  EXPECT_LT(rerequested, 1500ms);
  std::printf("modification to the re-run's request: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(rerequested).count()));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto body = js::parse(requests[1].body);
  EXPECT_EQ(body.at("model"), "gpt-4o-mini");
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_NE(std::string(body.at("messages").at(1).at("content").as_string()).find("Add a recommendation engine."),
            std::string::npos);
  EXPECT_EQ(body.at("response_format").at("json_schema").at("name"), "task_files");
  EXPECT_EQ(requests[1].headers.at("authorization"), std::string("Bearer ") + kKey);

  const auto completed = events("taskCompleted", arch.id);
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].fields.at("generation"), 1);
  EXPECT_EQ(completed[0].fields.at("result"), js::value("Model wrote " + arch.id));
  EXPECT_EQ(completed[0].fields.at("llm").at("promptTokens"), 700);
  EXPECT_EQ(completed[0].fields.at("llm").at("model"), "gpt-4o-mini-2024-07-18");
  EXPECT_TRUE(design.execution().summary().success);
  for (const auto& e : sink_.events) {
    EXPECT_EQ(js::serialize(e.fields).find(kKey), std::string::npos) << e.type << " carries the key";
  }
}

// A 500 whose body echoes the key: the task falls back to the builtin agent,
// and the key is in no event.
TEST_F(LlmAgentsTest, ThroughTheOpenAiProviderTheKeyNeverReachesAnEvent) {
  llm::testing::FakeHttpServer server;
  auto s = httpStage(server);
  server.enqueue(llm::testing::ScriptedResponse::json(
      500, std::string("{\"error\":{\"message\":\"upstream failed for key ") + kKey + "\",\"type\":\"server_error\"}}"));
  auto design = run(s);
  ASSERT_TRUE(design && design->execution().summary().success);
  const auto fallbacks = events("llmFallback");
  ASSERT_EQ(fallbacks.size(), 1u);
  EXPECT_EQ(fallbacks[0].fields.at("taskId"), js::value(design->planned().plan.tasks.front().id));
  EXPECT_EQ(fallbacks[0].fields.at("failure"), "unavailable");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + kKey);
  for (const auto& e : sink_.events) {
    EXPECT_EQ(js::serialize(e.fields).find(kKey), std::string::npos) << e.type << " carries the key";
  }
}

}  // namespace
}  // namespace ymy::engine
