// Configuration, prices, the factory, and redaction: the key never appears in
// an error, a log line or a configuration description.

#include "llm/config.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "llm/llm_test_support.hpp"

namespace ymy::llm {
namespace {

using namespace std::chrono_literals;
using testing::kTestKey;
namespace js = boost::json;

EnvReader envWith(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Redact, RemovesTheKeyFromAnyString) {
  const std::string key = kTestKey;
  for (const std::string& text : {
           key,
           "prefix" + key + "suffix",
           key + key,
           "Authorization: Bearer " + key,
           "{\"error\":{\"message\":\"Incorrect API key provided: " + key + ".\"}}",
           "a " + key + " b " + key.substr(0, 10) + " c " + key,
           "\n" + key + "\n",
       }) {
    const std::string out = redact(text, key);
    EXPECT_EQ(out.find(key), std::string::npos) << out;
    EXPECT_NE(out.find("[REDACTED]"), std::string::npos) << out;
  }
  EXPECT_EQ(redact("nothing secret here", key), "nothing secret here");
  EXPECT_EQ(redact("x", ""), "x");
  EXPECT_EQ(redact("ab", "ab"), "[REDACTED]");  // short keys too
}

TEST(Redact, RemovesHeaderAndParameterValuesWithoutKnowingTheKey) {
  EXPECT_EQ(redact("Authorization: Bearer abc.def-123", ""), "Authorization: Bearer [REDACTED]");
  EXPECT_EQ(redact("x-goog-api-key: AIzaSyFAKE_123", ""), "x-goog-api-key: [REDACTED]");
  EXPECT_EQ(redact("GET /v1beta/models?key=AIzaSyFAKE&alt=sse", ""), "GET /v1beta/models?key=[REDACTED]&alt=sse");
  EXPECT_EQ(redact("{\"api_key\": \"sk-1\"}", ""), "{\"api_key\": \"[REDACTED]\"}");
  EXPECT_EQ(redact("the api-key header", ""), "the api-key header");
  EXPECT_EQ(redact("Authorization: Basic dXNlcjpwYXNz", ""), "Authorization: Basic [REDACTED]");
  EXPECT_EQ(redact("authorization: rawtoken123", ""), "authorization: [REDACTED]");
}

TEST(Config, ProviderKinds) {
  EXPECT_EQ(*parseProviderKind("openai"), ProviderKind::kOpenAi);
  EXPECT_EQ(*parseProviderKind("gemini"), ProviderKind::kGemini);
  EXPECT_EQ(*parseProviderKind("builtin"), ProviderKind::kBuiltin);
  EXPECT_EQ(parseProviderKind("claude").error().message,
            "unknown LLM provider \"claude\" (expected builtin, openai or gemini)");
}

TEST(Config, PerStageFromJsonWithDefaults) {
  auto c = LlmConfig::fromJson(js::parse(R"({
      "default": {"provider": "openai", "model": "gpt-4o-mini"},
      "plan": {"model": "gpt-4o", "strict": true, "maxAttempts": 2},
      "agents": {"provider": "gemini", "model": "gemini-2.5-flash", "apiKeyEnv": "MY_GEMINI_KEY"}})"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->intent.kind, ProviderKind::kOpenAi);
  EXPECT_EQ(c->intent.model, "gpt-4o-mini");
  EXPECT_EQ(c->plan.model, "gpt-4o");
  EXPECT_TRUE(c->plan.strict);
  EXPECT_EQ(c->plan.retry.maxAttempts, 2);
  EXPECT_EQ(c->agents.kind, ProviderKind::kGemini);
  EXPECT_EQ(c->agents.effectiveKeyEnv(), "MY_GEMINI_KEY");
  EXPECT_EQ(c->intent.effectiveKeyEnv(), "OPENAI_API_KEY");
  EXPECT_EQ(c->forStage(Stage::kAgents).effectiveUrl(), kGeminiDefaultUrl);
  EXPECT_EQ(js::value(c->plan.describe()), js::parse(R"({"provider":"openai","url":"https://api.openai.com",
      "model":"gpt-4o","apiKeyEnv":"OPENAI_API_KEY","strict":true})"));

  EXPECT_EQ(LlmConfig::fromJson(js::parse(R"({"plan": {"provider": "claude"}})")).error().message,
            "llm.plan.provider: unknown LLM provider \"claude\" (expected builtin, openai or gemini)");
  EXPECT_EQ(LlmConfig::fromJson(js::parse(R"({"plan": {"modle": "x"}})")).error().message,
            "llm.plan: unknown field \"modle\"");
  EXPECT_EQ(LlmConfig::fromJson(js::parse(R"({"default": {"timeoutMs": 0}})")).error().message,
            "llm.default.timeoutMs: must be positive");
}

TEST(Config, MakeProviderNeedsAModelAndAKeyAndNamesTheVariable) {
  CurlTransport transport;
  ManualClock clock;
  ProviderConfig c;
  auto builtin = makeProvider(c, transport, clock, envWith({}));
  ASSERT_TRUE(builtin);
  EXPECT_EQ(*builtin, nullptr);

  c.kind = ProviderKind::kGemini;
  EXPECT_EQ(makeProvider(c, transport, clock, envWith({})).error().message, "gemini needs a model (--llm-model)");
  c.model = "gemini-2.5-flash";
  auto missing = makeProvider(c, transport, clock, envWith({}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(missing.error().message,
            "gemini needs an API key: set GEMINI_API_KEY (or name another variable in apiKeyEnv)");
  c.apiKeyEnv = "TEAM_KEY";
  EXPECT_EQ(makeProvider(c, transport, clock, envWith({{"TEAM_KEY", ""}})).error().message,
            "gemini needs an API key: set TEAM_KEY (or name another variable in apiKeyEnv)");
  auto made = makeProvider(c, transport, clock, envWith({{"TEAM_KEY", kTestKey}}));
  ASSERT_TRUE(made);
  EXPECT_EQ((*made)->name(), "gemini");

  // A local server (llama.cpp, vLLM, Ollama) needs no key.
  ProviderConfig local;
  local.kind = ProviderKind::kOpenAi;
  local.url = "http://127.0.0.1:8080";
  local.model = "qwen2.5-7b-instruct";
  EXPECT_TRUE(makeProvider(local, transport, clock, envWith({})));
}

TEST(Config, TheKeyIsNeverInDescriptionsErrorsOrLogs) {
  testing::FakeHttpServer server;
  for (int i = 0; i < 2; ++i)
    server.enqueue(testing::ScriptedResponse::json(401, testing::fixture("openai/error_401.json")));
  for (int i = 0; i < 3; ++i)
    server.enqueue(testing::ScriptedResponse::json(500, testing::fixture("openai/error_500.json")));
  CurlTransport transport;
  ManualClock clock;
  ProviderConfig c;
  c.kind = ProviderKind::kOpenAi;
  c.url = server.url();
  c.model = "gpt-4o-mini";
  c.retry = {1, 10ms, 10ms, false, 1s};
  c.breaker = {2, 30s};
  std::vector<std::string> log;
  auto p = makeProvider(c, transport, clock, envWith({{"OPENAI_API_KEY", kTestKey}}),
                        [&](std::string_view line) { log.emplace_back(line); });
  ASSERT_TRUE(p);
  std::vector<std::string> seen{js::serialize(c.describe())};
  for (int i = 0; i < 5; ++i) {
    auto r = (*p)->complete(testing::planRequest());
    ASSERT_FALSE(r);
    seen.push_back(r.error().message);
  }
  seen.insert(seen.end(), log.begin(), log.end());
  EXPECT_NE(log.size(), 0u);  // the breaker opened
  for (const auto& text : seen) EXPECT_EQ(text.find(kTestKey), std::string::npos) << text;
  // ...while every request that reached the server carried it.
  for (const auto& r : server.requests()) EXPECT_NE(r.raw.find(kTestKey), std::string::npos);
}

TEST(Config, FallbackFieldsSayWhy) {
  ProviderConfig c;
  c.kind = ProviderKind::kOpenAi;
  c.model = "gpt-4o-mini";
  const Error e{ErrorCode::kIo, "openai unavailable: 4 attempts failed; last error: openai: HTTP 503: overloaded"};
  EXPECT_TRUE(shouldFallBack(e, false));
  EXPECT_EQ(js::value(fallbackFields(Stage::kPlan, c, e)), js::parse(R"({"stage":"plan","provider":"openai",
      "model":"gpt-4o-mini","failure":"unavailable",
      "reason":"openai unavailable: 4 attempts failed; last error: openai: HTTP 503: overloaded"})"));
}

TEST(Prices, LoadsTheShippedTableAndPricesUsage) {
  auto table = PriceTable::load(std::string(YOUMEYOU_SOURCE_DATA_DIR) + "/llm/models.json");
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_GE(table->size(), 4u);
  for (const char* model : {"gpt-4o-mini", "gpt-4o", "gemini-2.5-flash", "gemini-2.5-pro"})
    EXPECT_TRUE(table->find(model)) << model;
  // A dated snapshot is priced as its family; the longest prefix wins.
  EXPECT_EQ(table->find("gpt-4o-mini-2024-07-18")->promptPerMillion, table->find("gpt-4o-mini")->promptPerMillion);
  EXPECT_FALSE(table->find("gpt-4"));
  EXPECT_FALSE(table->costUsd("llama-3.1-8b", {1, 1}));

  auto custom = PriceTable::fromJson(js::parse(
      R"({"models":{"m":{"promptPerMillion":2.0,"completionPerMillion":8.0}}})"));
  ASSERT_TRUE(custom);
  EXPECT_DOUBLE_EQ(*custom->costUsd("m", {500'000, 250'000}), 3.0);
  EXPECT_EQ(PriceTable::fromJson(js::parse(R"({"models":{"m":{"promptPerMillion":-1,"completionPerMillion":1}}})"))
                .error()
                .message,
            "models.json.models.m.promptPerMillion: must not be negative");
}

}  // namespace
}  // namespace ymy::llm

namespace ymy::llm {
namespace {

// The README's example: a cheap model classifies, a strong one plans,
// another provider writes the files; every stage has the default deadline
// the file sets.
TEST(LlmConfigReadme, PerStageProvidersAndModels) {
  auto config = LlmConfig::fromJson(boost::json::parse(
      R"({"default": {"provider": "openai", "model": "gpt-4o", "deadlineMs": 90000},
          "intent":  {"model": "gpt-4o-mini"},
          "agents":  {"provider": "gemini", "model": "gemini-2.5-flash"}})"));
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->intent.kind, ProviderKind::kOpenAi);
  EXPECT_EQ(config->intent.model, "gpt-4o-mini");
  EXPECT_EQ(config->plan.model, "gpt-4o");
  EXPECT_EQ(config->agents.kind, ProviderKind::kGemini);
  EXPECT_EQ(config->agents.effectiveKeyEnv(), "GEMINI_API_KEY");
  EXPECT_EQ(config->plan.deadline, std::chrono::milliseconds(90'000));
  auto bad = LlmConfig::fromJson(boost::json::parse(R"({"plan": {"deadlineMs": 0}})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("llm.plan.deadlineMs"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace ymy::llm
