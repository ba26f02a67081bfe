// The cache's first two tiers: the in-process LRU (L1), timed with a
// ManualClock, and the Redis tier (L2) against a real redis-server that each
// test starts on a free loopback port in a temporary directory, kills,
// pauses and restarts.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include "cache/lru.hpp"
#include "cache/redis_tier.hpp"
#include "model/clock.hpp"
#include "support/redis_server.hpp"

extern char** environ;

namespace ymy::cache {
namespace {

using namespace std::chrono_literals;
using Value = LruCache::Value;
using test::RawClient;
using test::RedisServer;
using test::freeLoopbackPort;

Value text(std::string s) { return std::make_shared<const std::string>(std::move(s)); }

std::unique_ptr<LruCache> makeLru(const LruOptions& options, const Clock& clock) {
  auto cache = LruCache::create(options, clock);
  EXPECT_TRUE(cache.has_value()) << cache.error().message;
  return std::move(*cache);
}

// ---------------------------------------------------------------------------
// L1

TEST(LruCache, HitSharesTheStoredValue) {
  ManualClock clock;
  auto cache = makeLru({}, clock);
  const auto value = text("{\"answer\":42}");
  ASSERT_TRUE(cache->put("k1", value));
  EXPECT_EQ(cache->get("k1"), value);  // the same object, not a copy
  EXPECT_EQ(cache->get("k2"), nullptr);
  const auto s = cache->stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.inserts, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, LruCache::chargeOf("k1", *value));
}

TEST(LruCache, EvictsTheLeastRecentlyUsedWhenBytesRunOut) {
  ManualClock clock;
  const std::string v(100, 'x');
  const std::size_t charge = LruCache::chargeOf("a", v);
  auto cache = makeLru({.capacityBytes = 3 * charge, .shards = 1}, clock);
  cache->put("a", text(v));
  cache->put("b", text(v));
  cache->put("c", text(v));
  ASSERT_NE(cache->get("a"), nullptr);  // a is now the most recent; b the least
  cache->put("d", text(v));
  EXPECT_EQ(cache->get("b"), nullptr);
  EXPECT_NE(cache->get("a"), nullptr);
  EXPECT_NE(cache->get("c"), nullptr);
  EXPECT_NE(cache->get("d"), nullptr);
  auto s = cache->stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, 3 * charge);

  // One large value pushes out as many entries as it needs.
  const std::string big(2 * charge - LruCache::kEntryOverheadBytes - 1, 'y');
  cache->put("e", text(big));
  s = cache->stats();
  EXPECT_LE(s.bytes, s.capacityBytes);
  EXPECT_EQ(s.evictions, 3u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_NE(cache->get("e"), nullptr);
  EXPECT_NE(cache->get("d"), nullptr);  // the most recent before e
}

TEST(LruCache, ReplacingAKeyRechargesItsBytes) {
  ManualClock clock;
  auto cache = makeLru({.shards = 1}, clock);
  cache->put("k", text(std::string(1000, 'a')));
  cache->put("k", text("short"));
  const auto s = cache->stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, LruCache::chargeOf("k", "short"));
  EXPECT_EQ(*cache->get("k"), "short");
}

TEST(LruCache, RefusesWhatCannotBeStored) {
  ManualClock clock;
  auto cache = makeLru({.capacityBytes = 1000, .shards = 1}, clock);
  ASSERT_TRUE(cache->put("k", text("kept")));
  EXPECT_FALSE(cache->put("k", text(std::string(1000, 'z'))));  // larger than the whole budget
  EXPECT_FALSE(cache->put("n", nullptr));
  EXPECT_FALSE(cache->put("t", text("v"), 0ms));
  EXPECT_EQ(*cache->get("k"), "kept");  // a refused put leaves the old entry alone
  EXPECT_EQ(cache->stats().rejected, 3u);
}

TEST(LruCache, EntriesExpireOnTheInjectedClock) {
  ManualClock clock;
  auto cache = makeLru({.defaultTtl = 1s}, clock);
  cache->put("short", text("s"), 100ms);
  cache->put("default", text("d"));
  clock.advance(99ms);
  EXPECT_NE(cache->get("short"), nullptr);
  clock.advance(1ms);
  EXPECT_EQ(cache->get("short"), nullptr);  // expiresAt <= now
  EXPECT_NE(cache->get("default"), nullptr);
  clock.advance(900ms);
  EXPECT_EQ(cache->get("default"), nullptr);
  const auto s = cache->stats();
  EXPECT_EQ(s.expired, 2u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
}

TEST(LruCache, ExpiredEntriesPushedOutCountAsExpiredNotEvicted) {
  ManualClock clock;
  const std::size_t charge = LruCache::chargeOf("a", "v");
  auto cache = makeLru({.capacityBytes = 2 * charge, .shards = 1}, clock);
  cache->put("a", text("v"), 10ms);
  cache->put("b", text("v"), 1h);
  clock.advance(20ms);
  cache->put("c", text("v"), 1h);  // a is cold and expired
  const auto s = cache->stats();
  EXPECT_EQ(s.expired, 1u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.entries, 2u);
}

TEST(LruCache, EraseAndClear) {
  ManualClock clock;
  auto cache = makeLru({}, clock);
  for (int i = 0; i < 100; ++i) cache->put("key-" + std::to_string(i), text("value"));
  EXPECT_TRUE(cache->erase("key-7"));
  EXPECT_FALSE(cache->erase("key-7"));
  EXPECT_EQ(cache->get("key-7"), nullptr);
  EXPECT_EQ(cache->stats().entries, 99u);
  cache->clear();
  const auto s = cache->stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.inserts, 100u);  // counters survive clear()
  EXPECT_EQ(cache->get("key-8"), nullptr);
}

TEST(LruCache, CreateRejectsBadOptions) {
  ManualClock clock;
  auto zero = LruCache::create({.capacityBytes = 0}, clock);
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().message.find("capacityBytes"), std::string::npos);
  auto tiny = LruCache::create({.capacityBytes = 1000, .shards = 16}, clock);
  ASSERT_FALSE(tiny.has_value());
  EXPECT_NE(tiny.error().message.find("too small"), std::string::npos);
  EXPECT_FALSE(LruCache::create({.shards = 0}, clock).has_value());
  EXPECT_FALSE(LruCache::create({.defaultTtl = 0ms}, clock).has_value());
  // Shards round up to a power of two.
  auto five = LruCache::create({.capacityBytes = 8000, .shards = 5}, clock);
  ASSERT_TRUE(five.has_value());
  EXPECT_EQ((*five)->stats().capacityBytes, 8000u);
}

TEST(LruCache, ConcurrentReadersAndWritersKeepItConsistent) {
  ManualClock clock;
  // Small enough that writers evict all the time.
  auto cache = makeLru({.capacityBytes = 64 * 1024, .shards = 4}, clock);
  constexpr int kThreads = 4, kOps = 50'000, kKeys = 2'000;
  std::atomic<std::uint64_t> gets{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::uint64_t x = 0x9e3779b97f4a7c15ull * (t + 1);
      for (int i = 0; i < kOps; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const std::string key = "key-" + std::to_string((x >> 20) % kKeys);
        if (x % 4 == 0) {
          cache->put(key, text("value of " + key));
        } else if (x % 97 == 1) {
          cache->erase(key);
        } else {
          ++gets;
          if (auto v = cache->get(key); v && *v != "value of " + key) ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = cache->stats();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(s.hits + s.misses, gets.load());
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 0u);
  EXPECT_LE(s.bytes, s.capacityBytes);
  EXPECT_GT(s.entries, 0u);
}

// ---------------------------------------------------------------------------
// A real redis-server

std::chrono::microseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

class RedisTierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string problem = server_.start();
    ASSERT_TRUE(problem.empty()) << problem;
  }

  RedisTierOptions options() const {
    RedisTierOptions o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = server_.port();
    o.keyPrefix = "test:";
    return o;
  }

  std::unique_ptr<RedisTier> connect(RedisTierOptions o) {
    auto tier = RedisTier::create(std::move(o), clock_);
    EXPECT_TRUE(tier.has_value()) << tier.error().message;
    if (!tier) return nullptr;
    (*tier)->waitIdle();  // the first connection is made in the background
    return std::move(*tier);
  }

  ManualClock clock_;
  RedisServer server_;
};

TEST_F(RedisTierTest, GetAndSetThroughRedis) {
  auto tier = connect(options());
  ASSERT_TRUE(tier);
  ASSERT_TRUE(tier->stats().connected) << tier->stats().lastError;
  EXPECT_EQ(tier->get("absent"), nullptr);

  // Keys are hashes: any bytes.
  const std::string key("\x01\x02\0key\xff", 7);
  ASSERT_TRUE(tier->put(key, text("{\"plan\":[]}"), 60s));
  tier->waitIdle();
  auto value = tier->get(key);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, "{\"plan\":[]}");

  RawClient raw(server_.port());
  EXPECT_EQ(raw.command({"GET", "test:" + key}), "{\"plan\":[]}");  // prefix + key

  const auto s = tier->stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.putsQueued, 1u);
  EXPECT_EQ(s.putsWritten, 1u);
  EXPECT_EQ(s.errors + s.timeouts + s.unavailable + s.busy, 0u);
  EXPECT_EQ(s.connects, 1u);
}

TEST_F(RedisTierTest, TtlIsSetWithPxAndRedisExpiresTheKey) {
  auto tier = connect(options());
  ASSERT_TRUE(tier);
  tier->put("long", text("v"), 200'000ms);
  tier->put("short", text("v"), 50ms);
  tier->waitIdle();
  RawClient raw(server_.port());
  const long pttl = std::stol(raw.command({"PTTL", "test:long"}));
  EXPECT_GT(pttl, 190'000);
  EXPECT_LE(pttl, 200'000);
  // Redis's own clock expires it: real time has to pass.
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(tier->get("short"), nullptr);
  EXPECT_NE(tier->get("long"), nullptr);
}

// Correctness of a large bulk reply only; how long it takes is measured by
// bench/cache_tiers_bench (BM_CacheL2Get/1048576), not asserted here.
TEST_F(RedisTierTest, OneMegabyteValueRoundTripsIntact) {
  auto o = options();
  o.commandTimeout = 2s;  // a loaded test machine must not turn a slow GET into a miss
  auto tier = connect(o);
  ASSERT_TRUE(tier);
  std::string big(1u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  big.replace(1000, 4, "\r\n\r\n");  // protocol-looking bytes inside a bulk string
  ASSERT_TRUE(tier->put("big", text(big), 60s));
  tier->waitIdle();
  EXPECT_EQ(tier->stats().putsWritten, 1u) << tier->stats().lastError;
  for (int i = 0; i < 3; ++i) {
    auto value = tier->get("big");
    ASSERT_NE(value, nullptr) << tier->stats().lastError;
    EXPECT_EQ(*value, big);
  }
}

TEST_F(RedisTierTest, KilledRedisIsAFastCountedMissAndReconnectsWhenBack) {
  auto tier = connect(options());
  ASSERT_TRUE(tier);
  tier->put("k", text("before"), 60s);
  tier->waitIdle();
  ASSERT_NE(tier->get("k"), nullptr);

  server_.signal(SIGKILL);

  // Every get is a miss, well inside the command budget, without throwing.
  std::chrono::microseconds slowest{0};
  for (int i = 0; i < 50; ++i) {
    const auto start = std::chrono::steady_clock::now();
    RedisTier::Value v;
    EXPECT_NO_THROW(v = tier->get("k"));
    slowest = std::max(slowest, since(start));
    EXPECT_EQ(v, nullptr);
  }
  auto s = tier->stats();
  std::cout << "after SIGKILL: slowest of 50 gets " << slowest.count() << " us; errors " << s.errors << ", unavailable "
            << s.unavailable << "; last error: " << s.lastError << "\n";
  EXPECT_LT(slowest, tier->options().commandTimeout);
  EXPECT_EQ(s.errors, 1u);        // the first get found the connection dead...
  EXPECT_EQ(s.unavailable, 49u);  // ...and the rest did not even try
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(s.misses, 50u);
  EXPECT_EQ(s.connectFailures, 0u);  // no reconnection before minReconnectInterval

  // Puts while down are accepted, then fail in the worker, off the caller's path.
  EXPECT_TRUE(tier->put("k", text("lost"), 60s));
  tier->waitIdle();
  EXPECT_EQ(tier->stats().putsFailed, 1u);

  // After the interval the next get asks for a reconnection; Redis is still dead.
  clock_.advance(tier->options().minReconnectInterval);
  EXPECT_EQ(tier->get("k"), nullptr);
  tier->waitIdle();
  s = tier->stats();
  EXPECT_EQ(s.connectFailures, 1u);
  EXPECT_FALSE(s.connected);
  EXPECT_NE(s.lastError.find("connect"), std::string::npos) << s.lastError;

  // Redis comes back on the same port (empty: no persistence).
  const std::string problem = server_.start();
  ASSERT_TRUE(problem.empty()) << problem;
  EXPECT_EQ(tier->get("k"), nullptr);  // the retry time has not come yet
  tier->waitIdle();
  EXPECT_FALSE(tier->stats().connected);
  clock_.advance(tier->options().maxReconnectInterval);
  EXPECT_EQ(tier->get("k"), nullptr);  // triggers the reconnection
  tier->waitIdle();
  s = tier->stats();
  ASSERT_TRUE(s.connected) << s.lastError;
  EXPECT_EQ(s.connects, 2u);

  EXPECT_EQ(tier->get("k"), nullptr);  // a real miss: the new Redis is empty
  tier->put("k", text("after"), 60s);
  tier->waitIdle();
  auto v = tier->get("k");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "after");
}

TEST_F(RedisTierTest, AHungRedisIsATimeoutThenAnImmediateMiss) {
  auto tier = connect(options());
  ASSERT_TRUE(tier);
  tier->put("k", text("v"), 60s);
  tier->waitIdle();
  ASSERT_NE(tier->get("k"), nullptr);

  server_.signal(SIGSTOP);  // accepts bytes, answers nothing
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(tier->get("k"), nullptr);
  const auto timedOut = since(start);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(tier->get("k"), nullptr);
  const auto afterwards = since(start);
  std::cout << "Redis stopped: first get " << timedOut.count() << " us (timeout), next " << afterwards.count()
            << " us\n";
  EXPECT_GE(timedOut, tier->options().commandTimeout);
  EXPECT_LT(timedOut, tier->options().commandTimeout + 100ms);  // generous for a loaded CI machine
  EXPECT_LT(afterwards, tier->options().commandTimeout);  // no second timeout; stats say it did not even try
  auto s = tier->stats();
  EXPECT_EQ(s.timeouts, 1u);
  EXPECT_EQ(s.unavailable, 1u);

  // A reconnection while it is still stopped: connect succeeds (the kernel
  // accepts), PING does not answer, so the tier stays down.
  clock_.advance(tier->options().minReconnectInterval);
  tier->get("k");
  tier->waitIdle();
  EXPECT_FALSE(tier->stats().connected);
  EXPECT_EQ(tier->stats().connectFailures, 1u);
  EXPECT_NE(tier->stats().lastError.find("PING"), std::string::npos) << tier->stats().lastError;

  server_.signal(SIGCONT);
  clock_.advance(tier->options().maxReconnectInterval);
  tier->get("k");
  tier->waitIdle();
  ASSERT_TRUE(tier->stats().connected) << tier->stats().lastError;
  auto v = tier->get("k");  // the data survived the pause
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "v");
}

TEST_F(RedisTierTest, AFullPutQueueDropsAndCounts) {
  auto o = options();
  o.putQueueEntries = 2;
  o.putTimeout = 2000ms;  // the worker sits on the first SET while Redis is stopped
  o.maxValueBytes = 1000;
  auto tier = connect(o);
  ASSERT_TRUE(tier);
  server_.signal(SIGSTOP);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += tier->put("k" + std::to_string(i), text("v"), 60s) ? 1 : 0;
  EXPECT_LE(accepted, 3);  // at most one in the worker's hands and two queued
  EXPECT_FALSE(tier->put("big", text(std::string(1001, 'x')), 60s));
  EXPECT_FALSE(tier->put("null", nullptr, 60s));
  EXPECT_FALSE(tier->put("ttl", text("v"), 0ms));
  auto s = tier->stats();
  EXPECT_EQ(s.putsQueued, static_cast<std::uint64_t>(accepted));
  EXPECT_EQ(s.putsDropped, static_cast<std::uint64_t>(13 - accepted));
  server_.signal(SIGCONT);
  tier->waitIdle();
}

TEST_F(RedisTierTest, ConcurrentGetsShareTheSmallPool) {
  auto o = options();
  o.poolSize = 2;
  o.commandTimeout = 200ms;  // this test is about correctness under sharing, not the budget
  auto tier = connect(o);
  ASSERT_TRUE(tier);
  for (int k = 0; k < 10; ++k) tier->put("key" + std::to_string(k), text("value" + std::to_string(k)), 60s);
  tier->waitIdle();
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int k = (i + t) % 12;  // keys 10 and 11 do not exist
        auto v = tier->get("key" + std::to_string(k));
        if (k < 10 ? (!v || *v != "value" + std::to_string(k)) : v != nullptr) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto s = tier->stats();
  EXPECT_EQ(wrong.load(), 0) << s.lastError;
  EXPECT_EQ(s.hits + s.misses, 800u);
  EXPECT_EQ(s.errors + s.timeouts + s.busy + s.unavailable, 0u);
}

TEST(RedisTierNoServer, ADeadRedisAtStartIsOnlyMisses) {
  ManualClock clock;
  RedisTierOptions o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = freeLoopbackPort();  // nothing listens there
  auto tier = RedisTier::create(o, clock);
  ASSERT_TRUE(tier.has_value()) << tier.error().message;  // create() does not need Redis
  (*tier)->waitIdle();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ((*tier)->get("k"), nullptr);
  EXPECT_LT(since(start), o.commandTimeout);  // no connection attempt on the caller's thread (stats below)
  const auto s = (*tier)->stats();
  EXPECT_FALSE(s.connected);
  EXPECT_EQ(s.connectFailures, 1u);
  EXPECT_EQ(s.unavailable, 1u);
  EXPECT_NE(s.lastError.find("Connection refused"), std::string::npos) << s.lastError;
}

TEST(RedisTierAuth, PasswordAndDatabaseFromTheUrl) {
  RedisServer server({"--requirepass", "s3cret/pw"});
  const std::string problem = server.start();
  ASSERT_TRUE(problem.empty()) << problem;
  ManualClock clock;

  auto endpoint = parseRedisUrl("redis://:s3cret%2Fpw@127.0.0.1:" + std::to_string(server.port()) + "/3");
  ASSERT_TRUE(endpoint.has_value()) << endpoint.error().message;
  RedisTierOptions o;
  o.endpoint = *endpoint;
  auto tier = RedisTier::create(o, clock);
  ASSERT_TRUE(tier.has_value());
  (*tier)->waitIdle();
  ASSERT_TRUE((*tier)->stats().connected) << (*tier)->stats().lastError;
  (*tier)->put("k", text("in db 3"), 60s);
  (*tier)->waitIdle();
  RawClient raw(server.port(), 3, "s3cret/pw");
  EXPECT_EQ(raw.command({"GET", o.keyPrefix + "k"}), "in db 3");

  o.endpoint.password = "Zq9-not-it";
  auto refused = RedisTier::create(o, clock);
  ASSERT_TRUE(refused.has_value());
  (*refused)->waitIdle();
  const auto s = (*refused)->stats();
  EXPECT_FALSE(s.connected);
  EXPECT_NE(s.lastError.find("AUTH refused"), std::string::npos) << s.lastError;
  EXPECT_EQ(s.lastError.find("Zq9-not-it"), std::string::npos) << "the password must not be logged";
}

TEST(RedisTierOptionsTest, CreateRejectsBadOptions) {
  ManualClock clock;
  RedisTierOptions o;
  auto noHost = RedisTier::create(o, clock);
  ASSERT_FALSE(noHost.has_value());
  EXPECT_NE(noHost.error().message.find("host"), std::string::npos);
  o.endpoint.host = "127.0.0.1";
  o.commandTimeout = 0us;
  auto noTimeout = RedisTier::create(o, clock);
  ASSERT_FALSE(noTimeout.has_value());
  EXPECT_NE(noTimeout.error().message.find("commandTimeout"), std::string::npos);
  o.commandTimeout = 5ms;
  o.poolSize = 0;
  EXPECT_FALSE(RedisTier::create(o, clock).has_value());
}

// ---------------------------------------------------------------------------
// --redis URL

TEST(RedisUrl, Parses) {
  auto e = parseRedisUrl("redis://cache.internal:6380/2");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 2);
  EXPECT_TRUE(e->password.empty());

  e = parseRedisUrl("redis://:p%40ss@127.0.0.1:7000");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->password, "p@ss");
  EXPECT_TRUE(e->username.empty());
  EXPECT_EQ(e->db, 0);
  EXPECT_EQ(e->describe(), "redis://:***@127.0.0.1:7000/0");

  e = parseRedisUrl("REDIS://app:pw@[::1]:6379/");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->username, "app");
  EXPECT_EQ(e->describe(), "redis://app:***@[::1]:6379/0");

  e = parseRedisUrl("redis://localhost");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->port, 6379);
}

TEST(RedisUrl, ErrorsNameThePartAndHideThePassword) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "is empty"},
      {"localhost:6379", "no scheme"},
      {"http://localhost:6379", "scheme \"http\" is not redis"},
      {"rediss://localhost:6379", "TLS"},
      {"redis://", "host is missing"},
      {"redis://:6379", "host is missing"},
      {"redis://localhost:", "port is empty"},
      {"redis://localhost:http", "port \"http\""},
      {"redis://localhost:70000", "port \"70000\""},
      {"redis://localhost:0", "port \"0\""},
      {"redis://localhost:6379/x", "database \"x\""},
      {"redis://localhost:6379/-1", "database \"-1\""},
      {"redis://localhost:6379/0?timeout=1", "query strings"},
      {"redis://topsecret@localhost:6379", "credentials must be written"},
      {"redis://:@localhost:6379", "password is empty"},
      {"redis://:bad%zzsecret@localhost:6379", "%-escape"},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1:6379", "closing ]"},
  };
  for (const auto& [url, expected] : cases) {
    auto e = parseRedisUrl(url);
    ASSERT_FALSE(e.has_value()) << url;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument) << url;
    EXPECT_NE(e.error().message.find(expected), std::string::npos) << url << " -> " << e.error().message;
    EXPECT_EQ(e.error().message.find("secret"), std::string::npos) << "password echoed: " << e.error().message;
  }
}

}  // namespace
}  // namespace ymy::cache
