// GCRA with a ManualClock (exact burst, exact retry-after, remaining counting
// down, reset, bounded memory), and the Redis limiter against a real
// redis-server: shared between instances, NOSCRIPT, Redis killed, hung, and
// back again.

#include "auth/rate_limiter.hpp"

#include <signal.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "auth/redis_limiter.hpp"
#include "model/clock.hpp"
#include "support/redis_server.hpp"

namespace ymy::auth {
namespace {

using namespace std::chrono_literals;
using std::chrono::nanoseconds;

// 60 a minute (one a second), 10 at once.
const Limit kPerMinute{60, 1min, 10};

TEST(Gcra, ExactlyTheBurstIsAllowedThenOneAnInterval) {
  ManualClock clock;
  InProcessLimiter limiter(clock);
  for (int i = 0; i < 10; ++i) {
    const auto d = limiter.decide("user-1", kPerMinute);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 10);
    EXPECT_EQ(d.remaining, 9 - i);
    EXPECT_EQ(d.retryAfter, nanoseconds::zero());
    EXPECT_EQ(d.resetAfter, std::chrono::seconds(i + 1));
  }
  auto denied = limiter.decide("user-1", kPerMinute);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.retryAfter, 1s);
  EXPECT_EQ(denied.resetAfter, 10s);
  EXPECT_EQ(denied.retryAfterSeconds(), 1);

  clock.advance(999ms);
  denied = limiter.decide("user-1", kPerMinute);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retryAfter, 1ms);  // exactly what is left
  EXPECT_EQ(denied.retryAfterSeconds(), 1);
  clock.advance(1ms);
  auto allowed = limiter.decide("user-1", kPerMinute);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.remaining, 0);
  EXPECT_FALSE(limiter.decide("user-1", kPerMinute).allowed);
}

TEST(Gcra, AnIdleKeyIsBackToAFullBurstAfterResetAfter) {
  ManualClock clock;
  InProcessLimiter limiter(clock);
  Decision last;
  for (int i = 0; i < 4; ++i) last = limiter.decide("k", kPerMinute);
  EXPECT_EQ(last.remaining, 6);
  EXPECT_EQ(last.resetAfter, 4s);
  clock.advance(2s);  // half way: two requests' worth has drained
  EXPECT_EQ(limiter.decide("k", kPerMinute).remaining, 7);
  clock.advance(3s);
  EXPECT_EQ(limiter.decide("k", kPerMinute).remaining, 9);
  clock.advance(1h);
  int allowed = 0;
  while (limiter.decide("k", kPerMinute).allowed) ++allowed;
  EXPECT_EQ(allowed, 10);  // idle time does not bank more than the burst
}

TEST(Gcra, RetryAfterIsExactForAnIntervalThatIsNotWhole) {
  ManualClock clock;
  InProcessLimiter limiter(clock);
  const Limit sevenPerSecond{7, 1s, 1};
  EXPECT_EQ(sevenPerSecond.interval(), nanoseconds(142'857'143));  // rounded up: never faster than asked
  EXPECT_TRUE(limiter.decide("k", sevenPerSecond).allowed);
  const auto denied = limiter.decide("k", sevenPerSecond);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.retryAfter, nanoseconds(142'857'143));
  clock.advance(nanoseconds(142'857'142));
  EXPECT_FALSE(limiter.decide("k", sevenPerSecond).allowed);
  clock.advance(1ns);
  EXPECT_TRUE(limiter.decide("k", sevenPerSecond).allowed);
}

TEST(Gcra, KeysAreIndependent) {
  ManualClock clock;
  InProcessLimiter limiter(clock);
  const Limit one{1, 1min, 1};
  EXPECT_TRUE(limiter.decide("a", one).allowed);
  EXPECT_FALSE(limiter.decide("a", one).allowed);
  EXPECT_TRUE(limiter.decide("b", one).allowed);
  const auto s = limiter.stats();
  EXPECT_EQ(s.keys, 2u);
  EXPECT_EQ(s.allowed, 2u);
  EXPECT_EQ(s.denied, 1u);
}

TEST(Gcra, AnInvalidLimitDenies) {
  ManualClock clock;
  InProcessLimiter limiter(clock);
  EXPECT_EQ(validateLimit({0, 1min, 1}).error().message, "rate limit: rate must be positive");
  EXPECT_EQ(validateLimit({1, 0s, 1}).error().message, "rate limit: period must be positive");
  EXPECT_EQ(validateLimit({1, 1min, 0}).error().message, "rate limit: burst must be positive");
  const auto d = limiter.decide("k", {0, 1min, 1});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retryAfter, 1min);
}

TEST(Gcra, MemoryIsBoundedByDroppingFullKeys) {
  ManualClock clock;
  InProcessLimiter limiter(clock, {.shards = 1, .maxKeys = 4});
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(limiter.decide("k" + std::to_string(i), kPerMinute).allowed);
  // All four are live (their TAT is 1 s ahead): a fifth is decided but not kept.
  EXPECT_TRUE(limiter.decide("k4", kPerMinute).allowed);
  auto s = limiter.stats();
  EXPECT_EQ(s.keys, 4u);
  EXPECT_EQ(s.untracked, 1u);
  EXPECT_EQ(s.evicted, 0u);
  // Tracked keys stay limited meanwhile.
  for (int i = 0; i < 9; ++i) limiter.decide("k0", kPerMinute);
  EXPECT_FALSE(limiter.decide("k0", kPerMinute).allowed);
  // Once the others' TATs pass, they are dropped to make room. k0's (10 s ahead) is not.
  clock.advance(2s);
  EXPECT_TRUE(limiter.decide("k5", kPerMinute).allowed);
  s = limiter.stats();
  EXPECT_EQ(s.evicted, 3u);
  EXPECT_EQ(s.keys, 2u);
  EXPECT_TRUE(limiter.decide("k0", kPerMinute).allowed);  // two seconds' worth drained, no more
  EXPECT_TRUE(limiter.decide("k0", kPerMinute).allowed);
  EXPECT_FALSE(limiter.decide("k0", kPerMinute).allowed);
}

TEST(Gcra, ConcurrentCallersGetExactlyTheBurst) {
  ManualClock clock;
  InProcessLimiter limiter(clock);
  const Limit limit{1, 1h, 1000};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) allowed += limiter.decide("shared", limit).allowed ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

// ---------------------------------------------------------------------------
// Redis

class RedisLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string problem = server_.start();
    ASSERT_TRUE(problem.empty()) << problem;
  }

  RedisLimiterOptions options() const {
    RedisLimiterOptions o;
    o.port = server_.port();
    o.keyPrefix = "test:rl:";
    o.instanceCount = 2;
    // Generous: these tests are about decisions, not the budget (the tests of
    // a hung Redis set their own), and a sanitizer build on a loaded machine
    // can take more than the default 5 ms.
    o.commandTimeout = std::chrono::milliseconds(500);
    o.connectTimeout = std::chrono::milliseconds(1000);
    return o;
  }
  std::unique_ptr<RedisLimiter> make(RedisLimiterOptions o) {
    auto l = RedisLimiter::create(std::move(o), clock_);
    EXPECT_TRUE(l) << l.error().message;
    return std::move(*l);
  }

  ManualClock clock_;  // the reconnection schedule; decisions use Redis's clock
  test::RedisServer server_;
};

TEST_F(RedisLimiterTest, ExactlyTheBurstThroughRedisWithRetryAfter) {
  auto limiter = make(options());
  for (int i = 0; i < 10; ++i) {
    const auto d = limiter->decide("user-1", kPerMinute);
    ASSERT_TRUE(d.allowed) << i << " " << limiter->stats().lastError;
    EXPECT_EQ(d.limit, 10);
    EXPECT_EQ(d.remaining, 9 - i);
  }
  const auto denied = limiter->decide("user-1", kPerMinute);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  // Redis's clock moved by the time the calls took (well under 100 ms).
  EXPECT_GT(denied.retryAfter, 900ms);
  EXPECT_LE(denied.retryAfter, 1s);
  EXPECT_GT(denied.resetAfter, 9900ms);
  EXPECT_LE(denied.resetAfter, 10s);
  const auto s = limiter->stats();
  EXPECT_EQ(s.redisDecisions, 11u);
  EXPECT_EQ(s.fallbackDecisions, 0u);
  EXPECT_TRUE(s.connected);
  // The key carries the TAT (µs) and expires when the burst is full again.
  test::RawClient raw(server_.port());
  const auto pttl = std::stoll(raw.command({"PTTL", "test:rl:user-1"}));
  EXPECT_GT(pttl, 9000);
  EXPECT_LE(pttl, 10000);
  EXPECT_EQ(raw.command({"GET", "test:rl:user-1"}).size(), 16u);  // a microsecond timestamp, all digits
}

TEST_F(RedisLimiterTest, InstancesShareOneLimit) {
  auto a = make(options());
  auto b = make(options());
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += (i % 2 == 0 ? a : b)->decide("shared", kPerMinute).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 10);
  EXPECT_FALSE(a->decide("shared", kPerMinute).allowed);
  EXPECT_FALSE(b->decide("shared", kPerMinute).allowed);
}

TEST_F(RedisLimiterTest, AFlushedScriptIsSentAgainWithEval) {
  auto limiter = make(options());
  ASSERT_TRUE(limiter->decide("k", kPerMinute).allowed);
  test::RawClient raw(server_.port());
  ASSERT_EQ(raw.command({"SCRIPT", "FLUSH"}), "OK");
  const auto d = limiter->decide("k", kPerMinute);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 8);
  const auto s = limiter->stats();
  EXPECT_EQ(s.noscript, 1u);
  EXPECT_EQ(s.redisDecisions, 2u);
  EXPECT_EQ(s.fallbackDecisions, 0u);
}

TEST_F(RedisLimiterTest, KilledRedisFallsBackToASharedLimitAndComesBack) {
  auto limiter = make(options());
  ASSERT_TRUE(limiter->decide("user-1", kPerMinute).allowed);
  server_.signal(SIGKILL);

  // In-process with the limit divided by the 2 instances: a burst of 5.
  int allowed = 0;
  for (int i = 0; i < 8; ++i) allowed += limiter->decide("user-1", kPerMinute).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 5);
  auto s = limiter->stats();
  EXPECT_EQ(s.fallbackDecisions, 8u);
  EXPECT_EQ(s.errors, 1u);       // the first call found the connection closed
  EXPECT_EQ(s.unavailable, 7u);  // the rest did not try: no reconnect is due on the clock yet
  EXPECT_FALSE(s.connected);
  EXPECT_FALSE(s.lastError.empty());

  // Due, but Redis is still down: one failed attempt, and the backoff doubles.
  clock_.advance(100ms);
  limiter->decide("user-2", kPerMinute);
  EXPECT_EQ(limiter->stats().connectFailures, 1u);
  clock_.advance(100ms);  // not yet: the next attempt is 200 ms after the failure
  limiter->decide("user-2", kPerMinute);
  EXPECT_EQ(limiter->stats().connectFailures, 1u);

  // Back, on the same port: the next due attempt reconnects and Redis decides again.
  ASSERT_EQ(server_.start(), "");
  clock_.advance(100ms);
  const auto d = limiter->decide("user-1", kPerMinute);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 9);  // a fresh Redis: the in-process state does not carry over
  s = limiter->stats();
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.redisDecisions, 2u);
  EXPECT_EQ(s.connects, 2u);
}

TEST_F(RedisLimiterTest, AHungRedisCostsOneTimeoutThenFallsBackAtOnce) {
  auto o = options();
  o.commandTimeout = 5ms;
  auto limiter = make(o);
  ASSERT_TRUE(limiter->decide("k", kPerMinute).allowed);
  server_.signal(SIGSTOP);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(limiter->decide("k", kPerMinute).allowed);  // in-process
  const auto first = std::chrono::steady_clock::now() - start;
  EXPECT_GE(first, 5ms);
  EXPECT_LT(first, 500ms);
  start = std::chrono::steady_clock::now();
  limiter->decide("k", kPerMinute);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5ms);  // marked down: no waiting
  const auto s = limiter->stats();
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.fallbackDecisions, 2u);
  server_.signal(SIGCONT);
}

TEST(RedisLimiterNoServer, NoRedisAtAllIsOnlyFallbackDecisions) {
  ManualClock clock;
  RedisLimiterOptions o;
  o.port = test::freeLoopbackPort();  // nothing listens there
  o.instanceCount = 3;
  auto limiter = RedisLimiter::create(o, clock);
  ASSERT_TRUE(limiter);
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += (*limiter)->decide("k", {30, 1min, 9}).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 3);  // burst 9 / 3 instances
  const auto s = (*limiter)->stats();
  EXPECT_EQ(s.fallbackDecisions, 10u);
  EXPECT_EQ(s.connectFailures, 1u);
  EXPECT_FALSE(s.connected);
  EXPECT_NE(s.lastError.find("connect"), std::string::npos) << s.lastError;
}

TEST(RedisLimiterOptionsTest, CreateRejectsBadOptions) {
  ManualClock clock;
  auto error = [&](auto change) {
    RedisLimiterOptions o;
    change(o);
    auto l = RedisLimiter::create(o, clock);
    return l ? std::string() : l.error().message;
  };
  EXPECT_EQ(error([](auto& o) { o.host.clear(); }), "redis limiter: host is empty");
  EXPECT_EQ(error([](auto& o) { o.poolSize = 0; }), "redis limiter: poolSize must be at least 1");
  EXPECT_EQ(error([](auto& o) { o.instanceCount = 0; }), "redis limiter: instanceCount must be at least 1");
  EXPECT_NE(error([](auto& o) { o.minReconnectInterval = 10s; }).find("minReconnectInterval"), std::string::npos);
  EXPECT_EQ(error([](auto&) {}), "");
}

}  // namespace
}  // namespace ymy::auth
