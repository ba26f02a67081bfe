// The cache's first two tiers. L1 (in-process LRU): hit and miss latency, with
// and without the caller's hashing of a canonical frame into its key, on one
// and two threads. L2 (Redis): a get against the redis-server named by
// YOUMEYOU_BENCH_REDIS (e.g. redis://127.0.0.1:6379; skipped when unset), and
// the cost of a get while Redis is down (always runs).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cache/lru.hpp"
#include "cache/redis_tier.hpp"
#include "model/clock.hpp"

namespace {

using namespace ymy;
using namespace ymy::cache;

constexpr int kEntries = 100'000;

// A 32-byte key, as the canonicaliser produces: hex of a 128-bit hash.
std::string keyFor(std::uint64_t a, std::uint64_t b) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return std::string(buf, 32);
}

// A canonical frame of the size the intent module emits, and the caller's
// hashing of it into a key (two 64-bit hashes).
std::string frameFor(int i) {
  return "v1|tenant=user-" + std::to_string(i % 97) + "|canvas=" + std::to_string(i % 13) +
         "|intent=scale|target=auth-service|components=api-gateway,auth-service,redis|negated=0|params=rps:" +
         std::to_string(1000 + i) + "|template=scale {component} to {n} rps";
}
std::string hashFrame(const std::string& frame) {
  const std::uint64_t h1 = std::hash<std::string_view>{}(frame);
  const std::uint64_t h2 =
      std::hash<std::string_view>{}(std::string_view(frame).substr(1)) ^ (h1 * 0x9e3779b97f4a7c15ull);
  return keyFor(h1, h2);
}

struct L1Fixture {
  SystemClock clock;
  std::unique_ptr<LruCache> cache;
  std::vector<std::string> keys;
  std::vector<std::string> frames;

  L1Fixture() {
    cache = std::move(*LruCache::create({.capacityBytes = 256u << 20}, clock));
    for (int i = 0; i < kEntries; ++i) {
      frames.push_back(frameFor(i));
      keys.push_back(hashFrame(frames.back()));
      // Each its own value (and so its own reference count), as in real use.
      cache->put(keys.back(), std::make_shared<const std::string>(512, static_cast<char>('a' + i % 26)));
    }
  }
  static L1Fixture& get() {
    static L1Fixture f;
    return f;
  }
};

// Arg: how many of the 100,000 entries the gets cycle through. 1,000 stays in
// the CPU caches; 100,000 makes every get miss them (index node, list node,
// key, neighbours relinked, reference count).
void BM_CacheL1Hit(benchmark::State& state) {
  auto& f = L1Fixture::get();
  const auto working = static_cast<std::size_t>(state.range(0));
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto v = f.cache->get(f.keys[i++ % working]);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CacheL1Hit)->Arg(1'000)->Arg(kEntries)->Threads(1)->Threads(2);

void BM_CacheL1HitIncludingKeyHash(benchmark::State& state) {
  auto& f = L1Fixture::get();
  const auto working = static_cast<std::size_t>(state.range(0));
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    const std::string key = hashFrame(f.frames[i++ % working]);
    auto v = f.cache->get(key);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CacheL1HitIncludingKeyHash)->Arg(1'000)->Arg(kEntries)->Threads(1)->Threads(2);

void BM_CacheL1Miss(benchmark::State& state) {
  auto& f = L1Fixture::get();
  std::vector<std::string> absent;
  for (int i = 0; i < 1024; ++i) absent.push_back(keyFor(~0ull - i, i));
  std::size_t i = 0;
  for (auto _ : state) {
    auto v = f.cache->get(absent[i++ % absent.size()]);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CacheL1Miss);

// A put into a full cache: every insert evicts.
void BM_CacheL1PutEvicting(benchmark::State& state) {
  SystemClock clock;
  auto cache = std::move(*LruCache::create({.capacityBytes = 4u << 20}, clock));
  const auto value = std::make_shared<const std::string>(2048, 'a');
  std::uint64_t i = 0;
  for (auto _ : state) cache->put(keyFor(i++, 42), value);
  state.counters["evictions"] = static_cast<double>(cache->stats().evictions);
}
BENCHMARK(BM_CacheL1PutEvicting);

std::unique_ptr<RedisTier> tierFromEnv(benchmark::State& state, const Clock& clock) {
  const char* url = std::getenv("YOUMEYOU_BENCH_REDIS");
  if (url == nullptr || *url == '\0') {
    state.SkipWithError("set YOUMEYOU_BENCH_REDIS=redis://127.0.0.1:6379 to measure L2 against a redis-server");
    return nullptr;
  }
  auto endpoint = parseRedisUrl(url);
  if (!endpoint) {
    state.SkipWithError(endpoint.error().message.c_str());
    return nullptr;
  }
  RedisTierOptions options;
  options.endpoint = *endpoint;
  options.keyPrefix = "ymy:bench:";
  auto tier = RedisTier::create(options, clock);
  if (!tier) {
    state.SkipWithError(tier.error().message.c_str());
    return nullptr;
  }
  (*tier)->waitIdle();
  if (!(*tier)->stats().connected) {
    state.SkipWithError(("Redis not reachable: " + (*tier)->stats().lastError).c_str());
    return nullptr;
  }
  return std::move(*tier);
}

// Arg: value bytes; 0 = a miss (absent key).
void BM_CacheL2Get(benchmark::State& state) {
  SystemClock clock;
  auto tier = tierFromEnv(state, clock);
  if (!tier) return;
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const std::string key = bytes == 0 ? "absent" : keyFor(bytes, 7);
  if (bytes > 0) {
    tier->put(key, std::make_shared<const std::string>(bytes, 'v'), std::chrono::minutes(5));
    tier->waitIdle();
  }
  for (auto _ : state) {
    auto v = tier->get(key);
    benchmark::DoNotOptimize(v);
  }
  const auto s = tier->stats();
  state.counters["hits"] = static_cast<double>(s.hits);
  state.counters["timeouts"] = static_cast<double>(s.timeouts);
  state.counters["errors"] = static_cast<double>(s.errors);
}
BENCHMARK(BM_CacheL2Get)->Arg(0)->Arg(2048)->Arg(64 * 1024)->Arg(1 << 20)->UseRealTime();

// Redis down: what every request pays until the next reconnection attempt.
void BM_CacheL2GetWhileRedisDown(benchmark::State& state) {
  SystemClock clock;
  RedisTierOptions options;
  options.endpoint.host = "127.0.0.1";
  options.endpoint.port = 1;  // nothing listens there
  options.minReconnectInterval = std::chrono::hours(1);
  options.maxReconnectInterval = std::chrono::hours(1);
  auto tier = std::move(*RedisTier::create(options, clock));
  tier->waitIdle();
  for (auto _ : state) {
    auto v = tier->get("k");
    benchmark::DoNotOptimize(v);
  }
  state.counters["unavailable"] = static_cast<double>(tier->stats().unavailable);
}
BENCHMARK(BM_CacheL2GetWhileRedisDown);

}  // namespace
