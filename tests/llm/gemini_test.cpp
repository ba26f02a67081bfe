// GeminiProvider through CurlTransport against the local fake server.

#include "llm/gemini.hpp"

#include <gtest/gtest.h>

#include "llm/config.hpp"
#include "llm/http_transport.hpp"
#include "llm/llm_test_support.hpp"

namespace ymy::llm {
namespace {

using namespace std::chrono_literals;
using testing::fixture;
using testing::kTestKey;
using testing::ScriptedResponse;
namespace js = boost::json;

ChatRequest geminiPlanRequest() {
  auto r = testing::planRequest();
  r.model = "gemini-2.5-flash";
  return r;
}

class GeminiTest : public ::testing::Test {
 protected:
  GeminiProvider provider() {
    return GeminiProvider(GeminiOptions{server.url(), kTestKey, 5000ms, "gemini"}, transport, clock);
  }
  testing::FakeHttpServer server;
  CurlTransport transport;
  ManualClock clock;
};

TEST_F(GeminiTest, SendsTheExactRequestWithTheKeyInAHeaderOnly) {
  server.enqueue(ScriptedResponse::json(200, fixture("gemini/response_plan.json")));
  auto p = provider();
  auto r = p.complete(geminiPlanRequest());
  ASSERT_TRUE(r) << r.error().message;
  const auto req = server.requests().at(0);
  EXPECT_EQ(req.target, "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(req.headers.at("x-goog-api-key"), kTestKey);
  EXPECT_EQ(req.headers.count("authorization"), 0u);
  EXPECT_EQ(req.target.find(kTestKey), std::string::npos);
  EXPECT_EQ(js::parse(req.body), js::parse(fixture("gemini/request_plan.json")));

  EXPECT_EQ(r->model, "gemini-2.5-flash");
  EXPECT_EQ(r->finishReason, "STOP");
  EXPECT_EQ(r->usage, (Usage{398, 61}));
  ASSERT_TRUE(r->parsed);
  EXPECT_EQ(r->parsed->at("tasks").as_array().size(), 2u);
}

TEST_F(GeminiTest, SchemaConversionAndRoles) {
  const js::value schema = js::parse(R"({"type":"object","additionalProperties":false,
      "properties":{"b":{"type":["string","null"],"description":"d"},"a":{"type":"array","items":{"type":"integer"}}},
      "required":["a"]})");
  EXPECT_EQ(toGeminiSchema(schema), js::parse(R"({"type":"OBJECT","required":["a"],
      "properties":{"b":{"type":"STRING","nullable":true,"description":"d"},"a":{"type":"ARRAY","items":{"type":"INTEGER"}}},
      "propertyOrdering":["b","a"]})"));

  ChatRequest r;
  r.model = "m";
  r.messages = {{"system", "s1"}, {"system", "s2"}, {"user", "u"}, {"assistant", "a"}, {"user", "again"}};
  EXPECT_EQ(js::value(GeminiProvider::requestBody(r)), js::parse(R"({
      "systemInstruction":{"parts":[{"text":"s1\n\ns2"}]},
      "contents":[{"role":"user","parts":[{"text":"u"}]},{"role":"model","parts":[{"text":"a"}]},
                  {"role":"user","parts":[{"text":"again"}]}]})"));
  EXPECT_EQ(GeminiProvider::endpoint("https://example.test/", "models/gemini-2.5-pro", true),
            "https://example.test/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse");
}

TEST_F(GeminiTest, StreamsOverSseWithUsageMetadata) {
  server.enqueue(ScriptedResponse::sse(fixture("gemini/stream_plan.sse")));
  auto p = provider();
  auto request = geminiPlanRequest();
  std::vector<std::string> deltas;
  request.onDelta = [&](const Delta& d) { deltas.emplace_back(d.text); };
  auto r = p.complete(request);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.requests().at(0).target, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  EXPECT_EQ(js::parse(server.requests().at(0).body), js::parse(fixture("gemini/request_plan.json")));
  ASSERT_EQ(deltas.size(), 3u);
  EXPECT_EQ(deltas[0], "{\"tasks\": [{\"id\": \"t1\", ");
  EXPECT_EQ(deltas[2], "\"dependencies\": []}]}");
  EXPECT_EQ(r->usage, (Usage{398, 29}));
  EXPECT_EQ(r->finishReason, "STOP");
  EXPECT_EQ(r->parsed->at("tasks").at(0).at("name"), "Design architecture");
}

TEST_F(GeminiTest, TruncatedStreamIsUnavailable) {
  auto response = ScriptedResponse::sse(fixture("gemini/stream_truncated.sse"));
  server.enqueue(response);
  response.cut = true;
  server.enqueue(response);
  auto p = provider();
  auto request = geminiPlanRequest();
  request.onDelta = [](const Delta&) {};
  for (int i = 0; i < 2; ++i) {  // closed cleanly without a finishReason, then cut
    auto r = p.complete(request);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kIo) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("gemini: ", 0), 0u);
  }
}

TEST_F(GeminiTest, RateLimitWithAnHttpDateRetryAfter) {
  auto response = ScriptedResponse::json(429, fixture("gemini/error_429.json"));
  // ManualClock's epoch is 1,700,000,000,000 ms = Tue, 14 Nov 2023 22:13:20 GMT.
  response.headers.emplace_back("Retry-After", "Tue, 14 Nov 2023 22:13:32 GMT");
  server.enqueue(response);
  auto p = provider();
  FailureDetail detail;
  auto request = geminiPlanRequest();
  request.failureDetail = &detail;
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTooSoon);
  EXPECT_EQ(r.error().message,
            "gemini: HTTP 429: Resource has been exhausted (e.g. check quota). (retry after 12000 ms)");
  EXPECT_EQ(detail.retryAfter, std::chrono::seconds(12));
}

TEST_F(GeminiTest, ServerErrorAndBadKey) {
  server.enqueue(ScriptedResponse::json(500, fixture("gemini/error_500.json")));
  server.enqueue(ScriptedResponse::json(400, fixture("gemini/error_400_key.json")));
  auto p = provider();
  auto r = p.complete(geminiPlanRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message.rfind("gemini: HTTP 500: An internal error has occurred.", 0), 0u);
  r = p.complete(geminiPlanRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().message, "gemini: HTTP 400: API key not valid. Please pass a valid API key.");
}

TEST_F(GeminiTest, InvalidJsonAnswer) {
  server.enqueue(ScriptedResponse::json(200, fixture("gemini/response_invalid_json.json")));
  auto p = provider();
  FailureDetail detail;
  auto request = geminiPlanRequest();
  request.failureDetail = &detail;
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(detail.answerText, "```json\n{\"tasks\": [}\n```");
}

TEST_F(GeminiTest, CancellationMidStream) {
  auto response = ScriptedResponse::sse(fixture("gemini/stream_plan.sse"));
  response.chunks.resize(1);
  response.hold = true;
  server.enqueue(response);
  auto p = provider();
  CancellationSource source;
  const CancellationToken token = source.token();
  auto request = geminiPlanRequest();
  request.cancel = &token;
  request.onDelta = [&](const Delta&) { source.cancel("stop"); };
  const auto start = std::chrono::steady_clock::now();
  auto r = p.complete(request);
  const auto took = std::chrono::steady_clock::now() - start;
  server.release();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "gemini: cancelled");
  EXPECT_LT(took, 1500ms);
}

}  // namespace
}  // namespace ymy::llm
