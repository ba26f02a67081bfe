// One repair round: a plan with a cycle is sent back with the exact problem,
// and the caller learns whether to fall back.

#include "llm/plan_repair.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <set>

#include "llm/llm_test_support.hpp"
#include "llm/openai.hpp"
#include "llm/resilience.hpp"

namespace ymy::llm {
namespace {

using namespace std::chrono_literals;
using testing::fixture;
using testing::ScriptedResponse;
namespace js = boost::json;

// The plan checks the caller brings: known dependencies and no cycle.
std::vector<std::string> validatePlan(const js::value& plan) {
  std::vector<std::string> problems;
  std::map<std::string, std::vector<std::string>> deps;
  const auto& tasks = plan.at("tasks").as_array();
  for (const auto& t : tasks) {
    auto& d = deps[std::string(t.at("id").as_string())];
    for (const auto& x : t.at("dependencies").as_array()) d.emplace_back(x.as_string());
  }
  for (const auto& [id, d] : deps)
    for (const auto& x : d)
      if (!deps.count(x)) problems.push_back("tasks." + id + ".dependencies: unknown task \"" + x + "\"");
  std::map<std::string, int> state;
  std::vector<std::string> path;
  std::function<bool(const std::string&)> visit = [&](const std::string& id) {
    if (state[id] == 2) return false;
    if (state[id] == 1) {
      std::string cycle;
      auto from = std::find(path.begin(), path.end(), id);
      for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
      problems.push_back("dependency cycle: " + cycle + id);
      return true;
    }
    state[id] = 1;
    path.push_back(id);
    for (const auto& x : deps[id])
      if (deps.count(x) && visit(x)) return true;
    path.pop_back();
    state[id] = 2;
    return false;
  };
  for (const auto& [id, d] : deps)
    if (visit(id)) break;
  return problems;
}

std::string contentOf(const std::string& responseFixture) {
  return std::string(js::parse(fixture(responseFixture)).at("choices").at(0).at("message").at("content").as_string());
}

TEST(Repair, ACyclicPlanIsSentBackWithTheExactProblemAndRepaired) {
  testing::FakeHttpServer server;
  server.enqueue(ScriptedResponse::json(200, fixture("openai/response_plan_cycle.json")));
  server.enqueue(ScriptedResponse::json(200, fixture("openai/response_plan.json")));
  CurlTransport transport;
  ManualClock clock;
  OpenAiProvider provider(OpenAiOptions{server.url(), testing::kTestKey, 5000ms, "openai"}, transport, clock);

  auto outcome = completeWithRepair(provider, testing::planRequest(), validatePlan);
  EXPECT_EQ(outcome.status, RepairOutcome::Status::kRepaired);
  EXPECT_EQ(outcome.calls, 2);
  EXPECT_EQ(outcome.firstProblems, (std::vector<std::string>{"dependency cycle: t1 -> t3 -> t2 -> t1"}));
  ASSERT_TRUE(outcome.result);
  EXPECT_EQ(outcome.result->parsed->at("tasks").at(0).at("dependencies").as_array().size(), 0u);
  EXPECT_EQ(outcome.usage, (Usage{824, 175}));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const js::value second = js::parse(requests[1].body);
  js::value expected = js::parse(fixture("openai/request_plan.json"));
  auto& messages = expected.at("messages").as_array();
  messages.push_back(js::object{{"role", "assistant"}, {"content", contentOf("openai/response_plan_cycle.json")}});
  messages.push_back(js::object{
      {"role", "user"},
      {"content",
       "Your previous answer cannot be used. It has these problems:\n- dependency cycle: t1 -> t3 -> t2 -> t1\n"
       "Answer again with the complete corrected JSON only, fixing every problem listed."}});
  EXPECT_EQ(second, expected);
}

TEST(Repair, FirstTryNeedsNoRepair) {
  ScriptedProvider p;
  p.pushText(contentOf("openai/response_plan.json"), {10, 5});
  auto outcome = completeWithRepair(p, testing::planRequest(), validatePlan);
  EXPECT_EQ(outcome.status, RepairOutcome::Status::kFirstTry);
  EXPECT_EQ(outcome.calls, 1);
  EXPECT_EQ(p.requests().size(), 1u);
}

TEST(Repair, InvalidJsonTwiceFallsBack) {
  ScriptedProvider p("openai");
  p.pushText("Sure! {\"tasks\": [");
  p.pushText("{\"tasks\": [{\"id\": \"t1\"}]}");
  auto outcome = completeWithRepair(p, testing::planRequest(), validatePlan);
  EXPECT_EQ(outcome.status, RepairOutcome::Status::kFallback);
  EXPECT_EQ(outcome.calls, 2);
  ASSERT_EQ(outcome.firstProblems.size(), 1u);
  EXPECT_EQ(outcome.firstProblems[0].rfind("the answer is not valid JSON", 0), 0u) << outcome.firstProblems[0];
  EXPECT_EQ(outcome.lastProblems,
            (std::vector<std::string>{"$.tasks[0].name: required field is missing",
                                      "$.tasks[0].agent: required field is missing",
                                      "$.tasks[0].dependencies: required field is missing"}));
  EXPECT_FALSE(outcome.error);
  const auto second = p.requests().at(1);
  ASSERT_EQ(second.messages.size(), 4u);
  EXPECT_EQ(second.messages[2], (ChatMessage{"assistant", "Sure! {\"tasks\": ["}));
  EXPECT_EQ(second.messages[3].content.rfind("Your previous answer cannot be used.", 0), 0u);
}

TEST(Repair, ARejectedAnswersTokensAreCounted) {
  // Not JSON, then not the schema: both answers were paid for.
  ScriptedProvider p("openai");
  p.pushText("Sure! {\"tasks\": [", {100, 20});
  p.pushText("{\"tasks\": [{\"id\": \"t1\"}]}", {130, 25});
  auto outcome = completeWithRepair(p, testing::planRequest(), validatePlan);
  EXPECT_EQ(outcome.status, RepairOutcome::Status::kFallback);
  EXPECT_EQ(outcome.usage, (Usage{230, 45}));
}

// The same through the OpenAI-compatible provider: the first answer misses
// the schema, its usage still counts.
TEST(Repair, ARejectedAnswersTokensAreCountedOverHttp) {
  testing::FakeHttpServer server;
  CurlTransport transport;
  ManualClock clock;
  OpenAiProvider provider(OpenAiOptions{server.url(), testing::kTestKey, 5000ms, "openai"}, transport, clock);
  auto answer = [](const std::string& content, int prompt) {
    return js::serialize(js::object{
        {"model", "gpt-4o-mini"},
        {"choices", js::array{js::object{{"index", 0},
                                         {"message", {{"role", "assistant"}, {"content", content}}},
                                         {"finish_reason", "stop"}}}},
        {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", 7}}}});
  };
  server.enqueue(ScriptedResponse::json(200, answer("{\"tasks\": [{\"id\": \"t1\"}]}", 400)));
  server.enqueue(ScriptedResponse::json(200, answer(contentOf("openai/response_plan.json"), 500)));
  auto outcome = completeWithRepair(provider, testing::planRequest(), validatePlan);
  EXPECT_EQ(outcome.status, RepairOutcome::Status::kRepaired);
  EXPECT_EQ(outcome.usage, (Usage{900, 14}));
}

TEST(Repair, AnUnavailableProviderEndsItAtOnceAndFallsBack) {
  ScriptedProvider p("openai");
  p.pushError(ErrorCode::kIo, "openai unavailable: 4 attempts failed");
  auto outcome = completeWithRepair(p, testing::planRequest(), validatePlan);
  EXPECT_EQ(outcome.status, RepairOutcome::Status::kFallback);
  EXPECT_EQ(outcome.calls, 1);
  ASSERT_TRUE(outcome.error);
  EXPECT_TRUE(shouldFallBack(*outcome.error, false));
  EXPECT_EQ(std::string(repairStatusName(outcome.status)), "fallback");
}

}  // namespace
}  // namespace ymy::llm
