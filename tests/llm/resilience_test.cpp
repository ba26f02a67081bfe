// Retries, backoff, Retry-After and the circuit breaker, on a ManualClock:
// every wait is asserted exactly, nothing sleeps for real.

#include "llm/resilience.hpp"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "llm/config.hpp"
#include "llm/llm_test_support.hpp"
#include "llm/openai.hpp"

namespace ymy::llm {
namespace {

using namespace std::chrono_literals;
using testing::fixture;
using testing::kTestKey;
using testing::ScriptedResponse;

ChatRequest simpleRequest() {
  ChatRequest r;
  r.model = "m";
  r.messages = {{"user", "hi"}};
  return r;
}

// A fixed sequence of uniform draws.
std::function<double()> draws(std::vector<double> values) {
  auto shared = std::make_shared<std::vector<double>>(std::move(values));
  auto next = std::make_shared<std::size_t>(0);
  return [shared, next] { return (*shared)[(*next)++ % shared->size()]; };
}

// Runs complete() on a thread; the test drives the clock and checks each wait.
struct Call {
  Call(LlmProvider& p, ChatRequest r) : request(std::move(r)) {
    future = std::async(std::launch::async, [&p, this] { return p.complete(request); });
  }
  ChatRequest request;
  std::future<Result<ChatResult>> future;
};

// Waits for the one sleeper and returns how long it sleeps for.
Clock::Duration nextWait(ManualClock& clock, std::future<Result<ChatResult>>& f) {
  clock.waitUntil([&] { return clock.sleepers() == 1 || f.wait_for(0s) == std::future_status::ready; });
  if (clock.sleepers() != 1) return Clock::Duration::max();
  return *clock.nextDeadline() - clock.now();
}

TEST(RetryAfter, SecondsAndHttpDates) {
  const std::int64_t now = 1'700'000'000'000;  // Tue, 14 Nov 2023 22:13:20 GMT
  EXPECT_EQ(parseRetryAfter("7", now), std::chrono::seconds(7));
  EXPECT_EQ(parseRetryAfter(" 0 ", now), std::chrono::seconds(0));
  EXPECT_EQ(parseRetryAfter("Tue, 14 Nov 2023 22:13:30 GMT", now), std::chrono::seconds(10));
  EXPECT_EQ(parseRetryAfter("Tuesday, 14-Nov-23 22:13:25 GMT", now), std::chrono::seconds(5));
  EXPECT_EQ(parseRetryAfter("Tue Nov 14 22:14:20 2023", now), std::chrono::seconds(60));
  EXPECT_EQ(parseRetryAfter("Mon, 13 Nov 2023 22:13:30 GMT", now), Clock::Duration::zero());  // in the past
  EXPECT_EQ(parseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(parseRetryAfter("-3", now), std::nullopt);
  EXPECT_EQ(parseRetryAfter("", now), std::nullopt);
}

TEST(Backoff, ExponentialCappedAndFullJitter) {
  RetryPolicy policy{6, 100ms, 1000ms, false, 60s};
  Backoff exact(policy, 1);
  EXPECT_EQ(exact.delayAfter(1), 100ms);
  EXPECT_EQ(exact.delayAfter(2), 200ms);
  EXPECT_EQ(exact.delayAfter(3), 400ms);
  EXPECT_EQ(exact.delayAfter(4), 800ms);
  EXPECT_EQ(exact.delayAfter(5), 1000ms);

  policy.jitter = true;
  Backoff jittered(policy, draws({0.5, 0.25, 0.999, 0.0}));
  EXPECT_EQ(jittered.delayAfter(1), 50ms);
  EXPECT_EQ(jittered.delayAfter(2), 50ms);
  EXPECT_EQ(jittered.delayAfter(3), 400ms);  // 399.6 rounds to 400
  EXPECT_EQ(jittered.delayAfter(4), 0ms);
}

TEST(Backoff, TheSameSeedGivesTheSameDelaysWithinTheCap) {
  RetryPolicy policy{10, 100ms, 5000ms, true, 60s};
  Backoff a(policy, 42), b(policy, 42), c(policy, 43);
  bool differs = false;
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const auto x = a.delayAfter(attempt);
    EXPECT_EQ(x, b.delayAfter(attempt));
    differs = differs || x != c.delayAfter(attempt);
    EXPECT_GE(x, 0ms);
    EXPECT_LE(x, std::min<std::chrono::milliseconds>(5000ms, 100ms * (1 << (attempt - 1))));
  }
  EXPECT_TRUE(differs);
}

TEST(CircuitBreaker, ClosedOpenHalfOpenClosed) {
  ManualClock clock;
  std::vector<std::string> log;
  CircuitBreaker breaker({3, 30s}, clock, [&](std::string_view line) { log.emplace_back(line); }, "openai");
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kClosed);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.allow());
    breaker.recordFailure();
  }
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kClosed);
  breaker.recordSuccess();  // a success resets the count
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(breaker.allow());
    breaker.recordFailure();
  }
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker.allow());
  EXPECT_EQ(breaker.reopensAt(), clock.now() + 30s);
  clock.advance(29'999ms);
  EXPECT_FALSE(breaker.allow());
  clock.advance(1ms);
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(breaker.allow());   // the probe
  EXPECT_FALSE(breaker.allow());  // one at a time
  breaker.recordFailure();        // the probe failed: open again, a new cool-down
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kOpen);
  clock.advance(30s);
  EXPECT_TRUE(breaker.allow());
  breaker.recordSuccess();
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(log, (std::vector<std::string>{
                     "openai: circuit closed -> open: 3 consecutive failures",
                     "openai: circuit open -> half-open: cool-down over, one probe goes through",
                     "openai: circuit half-open -> open: the probe failed",
                     "openai: circuit open -> half-open: cool-down over, one probe goes through",
                     "openai: circuit half-open -> closed: the probe succeeded",
                 }));
}

class ResilientTest : public ::testing::Test {
 protected:
  ResilientProvider make(RetryPolicy retry, CircuitBreaker::Options breaker = {}) {
    auto inner = std::make_unique<ScriptedProvider>("openai");
    scripted = inner.get();
    ResilientProvider::Options o;
    o.retry = retry;
    o.breaker = breaker;
    o.uniform = draws({0.5, 0.25, 0.75});
    o.log = [this](std::string_view line) { log.emplace_back(line); };
    o.secret = kTestKey;
    return ResilientProvider(std::move(inner), std::move(o), clock);
  }
  ManualClock clock;
  ScriptedProvider* scripted = nullptr;
  std::vector<std::string> log;
};

TEST_F(ResilientTest, RetriesWithExactJitteredDelaysThenSucceeds) {
  auto p = make({4, 1000ms, 8000ms, true, 60s});
  scripted->pushError(ErrorCode::kIo, "openai: HTTP 503: overloaded", 503);
  scripted->pushError(ErrorCode::kIo, "openai: POST /v1/chat/completions: timed out after 5000 ms");
  scripted->pushText("{\"ok\":true}", {10, 2});
  Call call(p, simpleRequest());
  EXPECT_EQ(nextWait(clock, call.future), 500ms);  // 1000 ms x 0.5
  clock.advance(500ms);
  EXPECT_EQ(nextWait(clock, call.future), 500ms);  // 2000 ms x 0.25
  clock.advance(500ms);
  auto r = call.future.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->usage, (Usage{10, 2}));
  EXPECT_EQ(scripted->requests().size(), 3u);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "openai: attempt 1 failed (openai: HTTP 503: overloaded); retrying in 0.5 s");
  EXPECT_EQ(p.breaker().state(), CircuitBreaker::State::kClosed);
}

TEST_F(ResilientTest, HonoursRetryAfterInsteadOfTheBackoff) {
  auto p = make({3, 100ms, 1000ms, true, 60s});
  scripted->pushError(ErrorCode::kTooSoon, "openai: HTTP 429: slow down", 429, 7s);
  scripted->pushText("{}");
  Call call(p, simpleRequest());
  EXPECT_EQ(nextWait(clock, call.future), 7s);
  clock.advance(7s);
  auto r = call.future.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->attempts, 2);
}

TEST_F(ResilientTest, ATooLongRetryAfterIsUnavailableAtOnce) {
  auto p = make({3, 100ms, 1000ms, true, 30s});
  scripted->pushError(ErrorCode::kTooSoon, "openai: HTTP 429: quota", 429, 3600s);
  auto r = p.complete(simpleRequest());
  ASSERT_FALSE(r);
  EXPECT_EQ(classify(r.error()), Failure::kUnavailable);
  EXPECT_EQ(r.error().message,
            "openai unavailable: it asks to retry after 3600 s, longer than 30 s; last error: openai: HTTP 429: quota");
  EXPECT_TRUE(shouldFallBack(r.error(), false));
  EXPECT_FALSE(shouldFallBack(r.error(), true));
}

TEST_F(ResilientTest, NeverRetriesBadRequestsRejectedKeysOrBadAnswers) {
  auto p = make({4, 100ms, 1000ms, true, 60s});
  scripted->pushError(ErrorCode::kInvalidArgument, "openai: HTTP 400: bad schema", 400);
  scripted->pushError(ErrorCode::kUnauthenticated, "openai: HTTP 401: bad key", 401);
  scripted->pushError(ErrorCode::kForbidden, "openai: HTTP 403: no", 403);
  scripted->pushError(ErrorCode::kInvalidArgument, "openai: HTTP 404: no such model", 404);
  scripted->pushText("not json");
  auto request = simpleRequest();
  request.schema = boost::json::parse(R"({"type":"object"})");
  for (ErrorCode code : {ErrorCode::kInvalidArgument, ErrorCode::kUnauthenticated, ErrorCode::kForbidden,
                         ErrorCode::kInvalidArgument, ErrorCode::kUnprocessable}) {
    auto r = p.complete(request);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, code) << r.error().message;
  }
  EXPECT_EQ(scripted->requests().size(), 5u);
  EXPECT_EQ(clock.now(), Clock::TimePoint{});
  EXPECT_EQ(p.breaker().consecutiveFailures(), 0);
}

TEST_F(ResilientTest, RetriesExhaustedIsUnavailableAndFallsBack) {
  auto p = make({3, 1000ms, 8000ms, false, 60s}, {10, 30s});
  for (int i = 0; i < 3; ++i) scripted->pushError(ErrorCode::kIo, "openai: HTTP 500: oops", 500);
  Call call(p, simpleRequest());
  EXPECT_EQ(nextWait(clock, call.future), 1000ms);
  clock.advance(1000ms);
  EXPECT_EQ(nextWait(clock, call.future), 2000ms);
  clock.advance(2000ms);
  auto r = call.future.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message, "openai unavailable: 3 attempts failed; last error: openai: HTTP 500: oops");
  EXPECT_TRUE(shouldFallBack(r.error(), false));
  EXPECT_EQ(p.breaker().consecutiveFailures(), 3);
}

TEST_F(ResilientTest, TheCircuitOpensThenLetsAProbeThrough) {
  auto p = make({1, 100ms, 1000ms, false, 60s}, {2, 30s});
  scripted->pushError(ErrorCode::kIo, "openai: connection refused");
  scripted->pushError(ErrorCode::kIo, "openai: connection refused");
  EXPECT_FALSE(p.complete(simpleRequest()));
  EXPECT_FALSE(p.complete(simpleRequest()));
  EXPECT_EQ(p.breaker().state(), CircuitBreaker::State::kOpen);
  clock.advance(10s);
  auto r = p.complete(simpleRequest());  // not even tried
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "openai unavailable: circuit open after 2 consecutive failures; next try in 20 s");
  EXPECT_EQ(scripted->requests().size(), 2u);
  clock.advance(20s);
  scripted->pushText("{}");
  ASSERT_TRUE(p.complete(simpleRequest()));
  EXPECT_EQ(p.breaker().state(), CircuitBreaker::State::kClosed);
}

TEST_F(ResilientTest, CancelledWhileWaitingToRetry) {
  auto p = make({4, 1000ms, 8000ms, false, 60s});
  scripted->pushError(ErrorCode::kIo, "openai: HTTP 502: bad gateway", 502);
  CancellationSource source;
  const CancellationToken token = source.token();
  auto request = simpleRequest();
  request.cancel = &token;
  Call call(p, request);
  EXPECT_EQ(nextWait(clock, call.future), 1000ms);
  source.cancel("user");
  auto r = call.future.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "openai: cancelled");
  EXPECT_EQ(scripted->requests().size(), 1u);
}

TEST_F(ResilientTest, DoesNotWaitPastTheDeadline) {
  auto p = make({4, 1000ms, 8000ms, false, 60s});
  scripted->pushError(ErrorCode::kTooSoon, "openai: HTTP 429: later", 429, 5s);
  auto request = simpleRequest();
  request.deadline = clock.now() + 4s;
  auto r = p.complete(request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "openai unavailable: the next attempt (in 5 s) would pass the deadline; last error: openai: HTTP 429: later");
}

TEST_F(ResilientTest, EachAttemptStreamsWithItsNumber) {
  // The first attempt streams a piece, then fails; the second streams in full.
  struct Flaky final : LlmProvider {
    int calls = 0;
    Result<ChatResult> complete(const ChatRequest& r) override {
      if (++calls == 1) {
        r.onDelta(Delta{"{\"a\"", 1});
        return fail(ErrorCode::kIo, "flaky: the stream ended before [DONE]");
      }
      r.onDelta(Delta{"{\"a\":1}", 1});
      return ChatResult{"{\"a\":1}", std::nullopt, {}, "stop", "m", 1};
    }
    std::string_view name() const override { return "flaky"; }
  };
  ResilientProvider::Options o;
  o.retry = {3, 100ms, 1000ms, false, 60s};
  ResilientProvider resilient(std::make_unique<Flaky>(), o, clock);
  std::vector<std::pair<int, std::string>> seen;
  auto request = simpleRequest();
  request.onDelta = [&](const Delta& d) { seen.emplace_back(d.attempt, std::string(d.text)); };
  Call call(resilient, request);
  EXPECT_EQ(nextWait(clock, call.future), 100ms);
  clock.advance(100ms);
  ASSERT_TRUE(call.future.get());
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{{1, "{\"a\""}, {2, "{\"a\":1}"}}));
}

// The whole path: CurlTransport, the fake server's recorded 429 and 500, the
// ManualClock's exact waits, and a log that never shows the key.
TEST(ResilientOverHttp, RetryAfterThenBackoffThenSuccess) {
  testing::FakeHttpServer server;
  auto r429 = ScriptedResponse::json(429, fixture("openai/error_429.json"));
  r429.headers.emplace_back("Retry-After", "7");
  server.enqueue(r429);
  server.enqueue(ScriptedResponse::json(500, fixture("openai/error_500.json")));
  server.enqueue(ScriptedResponse::json(200, fixture("openai/response_plan.json")));
  CurlTransport transport;
  ManualClock clock;
  std::vector<std::string> log;
  ProviderConfig config;
  config.kind = ProviderKind::kOpenAi;
  config.url = server.url();
  config.model = "gpt-4o-mini";
  config.retry = {4, 1000ms, 8000ms, false, 60s};
  auto provider = makeProvider(config, transport, clock,
                               [](const std::string& name) -> std::optional<std::string> {
                                 if (name == "OPENAI_API_KEY") return std::string(kTestKey);
                                 return std::nullopt;
                               },
                               [&](std::string_view line) { log.emplace_back(line); });
  ASSERT_TRUE(provider) << provider.error().message;
  Call call(**provider, testing::planRequest());
  EXPECT_EQ(nextWait(clock, call.future), 7s);  // Retry-After: 7
  clock.advance(7s);
  EXPECT_EQ(nextWait(clock, call.future), 2000ms);  // the backoff after attempt 2
  clock.advance(2000ms);
  auto r = call.future.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->usage, (Usage{412, 87}));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& req : requests) {
    EXPECT_EQ(req.headers.at("authorization"), std::string("Bearer ") + kTestKey);
    EXPECT_EQ(req.body, requests[0].body);  // a retry sends the same request
  }
  ASSERT_EQ(log.size(), 2u);
  EXPECT_NE(log[0].find("HTTP 429"), std::string::npos);
  for (const auto& line : log) EXPECT_EQ(line.find(kTestKey), std::string::npos) << line;
}

}  // namespace
}  // namespace ymy::llm
