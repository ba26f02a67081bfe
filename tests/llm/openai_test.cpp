// OpenAiProvider through CurlTransport against the local fake server and the
// recorded fixtures: the exact request, answers, streaming, errors.

#include "llm/openai.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "llm/config.hpp"
#include "llm/http_transport.hpp"
#include "llm/llm_test_support.hpp"

namespace ymy::llm {
namespace {

using namespace std::chrono_literals;
using testing::fixture;
using testing::kTestKey;
using testing::planRequest;
using testing::ScriptedResponse;
namespace js = boost::json;

class OpenAiTest : public ::testing::Test {
 protected:
  OpenAiProvider provider(std::string key = kTestKey) {
    return OpenAiProvider(OpenAiOptions{server.url(), std::move(key), 5000ms, "openai"}, transport, clock);
  }
  testing::FakeHttpServer server;
  CurlTransport transport;
  ManualClock clock;
};

TEST_F(OpenAiTest, SendsTheExactRequestAndParsesTheAnswer) {
  server.enqueue(ScriptedResponse::json(200, fixture("openai/response_plan.json")));
  auto p = provider();
  auto r = p.complete(planRequest());
  ASSERT_TRUE(r) << r.error().message;

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].headers.at("authorization"), std::string("Bearer ") + kTestKey);
  EXPECT_EQ(requests[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(requests[0].headers.count("expect"), 0u);
  EXPECT_EQ(js::parse(requests[0].body), js::parse(fixture("openai/request_plan.json")));

  EXPECT_EQ(r->model, "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(r->finishReason, "stop");
  EXPECT_EQ(r->usage, (Usage{412, 87}));
  ASSERT_TRUE(r->parsed);
  EXPECT_EQ(r->parsed->at("tasks").as_array().size(), 3u);
  EXPECT_EQ(r->parsed->at("tasks").at(2).at("dependencies").at(0), "t2");
  EXPECT_EQ(r->attempts, 1);
}

TEST_F(OpenAiTest, EndpointAcceptsABaseWithOrWithoutV1) {
  EXPECT_EQ(OpenAiProvider::endpoint("http://localhost:8080"), "http://localhost:8080/v1/chat/completions");
  EXPECT_EQ(OpenAiProvider::endpoint("http://localhost:11434/v1/"), "http://localhost:11434/v1/chat/completions");
}

TEST_F(OpenAiTest, NoKeyNoAuthorizationHeader) {
  server.enqueue(ScriptedResponse::json(200, fixture("openai/response_plan.json")));
  auto p = provider("");
  ASSERT_TRUE(p.complete(planRequest()));
  EXPECT_EQ(server.requests().at(0).headers.count("authorization"), 0u);
}

TEST_F(OpenAiTest, StreamsDeltasInOrderWithUsage) {
  server.enqueue(ScriptedResponse::sse(fixture("openai/stream_plan.sse")));
  auto p = provider();
  auto request = planRequest();
  std::vector<std::string> deltas;
  request.onDelta = [&](const Delta& d) {
    EXPECT_EQ(d.attempt, 1);
    deltas.emplace_back(d.text);
  };
  auto r = p.complete(request);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(js::parse(server.requests().at(0).body), js::parse(fixture("openai/request_plan_stream.json")));
  EXPECT_EQ(server.requests().at(0).headers.at("accept"), "text/event-stream");
  EXPECT_EQ(deltas, (std::vector<std::string>{"{\"tasks\":[{\"id\":\"t1\",", "\"name\":\"Design architecture\",",
                                              "\"agent\":\"arch-001\",\"dependencies\":[]}]}"}));
  EXPECT_EQ(r->text, deltas[0] + deltas[1] + deltas[2]);
  EXPECT_EQ(r->usage, (Usage{405, 31}));
  EXPECT_EQ(r->finishReason, "stop");
  ASSERT_TRUE(r->parsed);
  EXPECT_EQ(r->parsed->at("tasks").at(0).at("agent"), "arch-001");
}

TEST_F(OpenAiTest, RateLimitedNamesStatusAndMessageAndKeepsRetryAfter) {
  auto response = ScriptedResponse::json(429, fixture("openai/error_429.json"));
  response.headers.emplace_back("Retry-After", "7");
  server.enqueue(response);
  auto p = provider();
  FailureDetail detail;
  auto request = planRequest();
  request.failureDetail = &detail;
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTooSoon);
  EXPECT_EQ(classify(r.error()), Failure::kRateLimited);
  EXPECT_EQ(r.error().message,
            "openai: HTTP 429: Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): "
            "Limit 500, Used 500, Requested 1. Please try again in 7s. (retry after 7000 ms)");
  EXPECT_EQ(detail.httpStatus, 429);
  EXPECT_EQ(detail.retryAfter, std::chrono::seconds(7));
}

TEST_F(OpenAiTest, ServerErrorIsUnavailable) {
  server.enqueue(ScriptedResponse::json(500, fixture("openai/error_500.json")));
  auto p = provider();
  auto r = p.complete(planRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message,
            "openai: HTTP 500: The server had an error while processing your request. Sorry about that!");
}

TEST_F(OpenAiTest, BadRequestIsNotUnavailable) {
  server.enqueue(ScriptedResponse::json(400, fixture("openai/error_400.json")));
  auto p = provider();
  auto r = p.complete(planRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(classify(r.error()), Failure::kBadRequest);
  EXPECT_NE(r.error().message.find("openai: HTTP 400: Invalid schema for response_format 'plan'"), std::string::npos);
  EXPECT_FALSE(shouldFallBack(r.error(), false));
}

TEST_F(OpenAiTest, AKeyEchoedByTheProviderNeverReachesTheError) {
  server.enqueue(ScriptedResponse::json(401, fixture("openai/error_401.json")));
  auto p = provider();
  auto r = p.complete(planRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(r.error().message.find(kTestKey), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("Incorrect API key provided: [REDACTED]"), std::string::npos) << r.error().message;
}

TEST_F(OpenAiTest, TruncatedStreamIsUnavailable) {
  auto response = ScriptedResponse::sse(fixture("openai/stream_truncated.sse"));
  response.cut = true;
  server.enqueue(response);
  auto p = provider();
  auto request = planRequest();
  std::string seen;
  request.onDelta = [&](const Delta& d) { seen += d.text; };
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo) << r.error().message;
  EXPECT_EQ(r.error().message.rfind("openai: ", 0), 0u) << r.error().message;
  EXPECT_EQ(seen, "{\"tasks\":[{\"id\":\"t1\",");
}

TEST_F(OpenAiTest, StreamClosedCleanlyBeforeDoneIsTruncated) {
  server.enqueue(ScriptedResponse::sse(fixture("openai/stream_truncated.sse")));  // ends, no [DONE]
  auto p = provider();
  auto request = planRequest();
  request.onDelta = [](const Delta&) {};
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("the stream ended before [DONE]"), std::string::npos) << r.error().message;
}

TEST_F(OpenAiTest, InvalidJsonAnswerIsABadAnswerWithTheText) {
  server.enqueue(ScriptedResponse::json(200, fixture("openai/response_invalid_json.json")));
  auto p = provider();
  FailureDetail detail;
  auto request = planRequest();
  request.failureDetail = &detail;
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(r.error().message.find("openai: the answer is not valid JSON"), std::string::npos);
  EXPECT_NE(r.error().message.find("cut at max_tokens"), std::string::npos);
  EXPECT_EQ(detail.answerText.rfind("Sure! Here is the plan:", 0), 0u);
}

TEST_F(OpenAiTest, SchemaMismatchNamesThePaths) {
  std::string body = fixture("openai/response_plan.json");
  const std::string from = R"(\"agent\":\"db-001\")";
  body.replace(body.find(from), from.size(), R"(\"agent\":\"dba\")");
  server.enqueue(ScriptedResponse::json(200, body));
  auto p = provider();
  auto r = p.complete(planRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  EXPECT_NE(r.error().message.find("$.tasks[1].agent: \"dba\" is not one of"), std::string::npos)
      << r.error().message;
}

TEST_F(OpenAiTest, CancellationMidStreamReturnsPromptly) {
  auto response = ScriptedResponse::sse(fixture("openai/stream_plan.sse"));
  response.chunks.resize(3);  // two deltas, then the server holds the connection open
  response.hold = true;
  server.enqueue(response);
  auto p = provider();
  CancellationSource source;
  const CancellationToken token = source.token();
  auto request = planRequest();
  request.cancel = &token;
  std::vector<std::string> deltas;
  request.onDelta = [&](const Delta& d) { deltas.emplace_back(d.text); };

  std::thread canceller([&] {
    while (true) {
      std::this_thread::sleep_for(5ms);
      if (server.requests().size() == 1) break;
    }
    std::this_thread::sleep_for(100ms);  // let both deltas arrive; the stream then idles
    source.cancel("the user stopped the run");
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = p.complete(request);
  const auto cancelledAt = std::chrono::steady_clock::now();
  canceller.join();
  server.release();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_EQ(classify(r.error()), Failure::kCancelled);
  EXPECT_EQ(r.error().message, "openai: cancelled");
  EXPECT_EQ(deltas.size(), 2u);
  // The stream idled after 100 ms; complete() returned within the poll slice of cancel().
  EXPECT_LT(cancelledAt - start, 1500ms);
  EXPECT_FALSE(shouldFallBack(r.error(), false));
}

TEST_F(OpenAiTest, CancellingFromTheDeltaCallbackStopsTheStream) {
  server.enqueue(ScriptedResponse::sse(fixture("openai/stream_plan.sse")));
  auto p = provider();
  CancellationSource source;
  const CancellationToken token = source.token();
  auto request = planRequest();
  request.cancel = &token;
  int deltas = 0;
  request.onDelta = [&](const Delta&) {
    if (++deltas == 1) source.cancel("enough");
  };
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_LE(deltas, 2);
}

TEST_F(OpenAiTest, TimeoutIsUnavailable) {
  auto response = ScriptedResponse::sse(fixture("openai/stream_plan.sse"));
  response.chunks.resize(1);
  response.hold = true;
  server.enqueue(response);
  OpenAiProvider p(OpenAiOptions{server.url(), kTestKey, 300ms, "openai"}, transport, clock);
  auto request = planRequest();
  request.onDelta = [](const Delta&) {};
  auto r = p.complete(request);
  server.release();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("timed out after 300 ms"), std::string::npos) << r.error().message;
}

TEST_F(OpenAiTest, DeadlineOnTheClockCapsTheTransferAndAPassedOneFailsAtOnce) {
  auto p = provider();
  auto request = planRequest();
  request.deadline = clock.now();
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "openai: the deadline has passed");
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(OpenAiTest, ConnectionRefusedIsUnavailable) {
  std::string url;
  {
    testing::FakeHttpServer closed;
    url = closed.url();
  }
  OpenAiProvider p(OpenAiOptions{url, kTestKey, 2000ms, "openai"}, transport, clock);
  auto r = p.complete(planRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message.rfind("openai: POST " + url + "/v1/chat/completions: ", 0), 0u) << r.error().message;
  EXPECT_EQ(r.error().message.find(kTestKey), std::string::npos);
}

TEST_F(OpenAiTest, BadRequestsAreRefusedBeforeSending) {
  auto p = provider();
  ChatRequest r;
  EXPECT_EQ(p.complete(r).error().message, "openai: no model given");
  r.model = "m";
  EXPECT_EQ(p.complete(r).error().message, "openai: no messages given");
  r.messages = {{"robot", "hi"}};
  EXPECT_EQ(p.complete(r).error().message, "openai: messages[0].role: unknown role \"robot\"");
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace ymy::llm
