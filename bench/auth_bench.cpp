// The auth module's per-request costs: validating a token (target: under
// 20 µs), an in-process rate limit decision (under 1 µs) on one key and on
// 100,000 keys, and a Redis decision (one round trip; p99 under 1 ms on
// loopback) against the redis-server named by YOUMEYOU_BENCH_REDIS
// (redis://host:port; skipped when unset). The Redis benchmark reports p50
// and p99 as counters, from per-call timing.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/rate_limiter.hpp"
#include "auth/redis_limiter.hpp"
#include "model/clock.hpp"

namespace {

using namespace ymy;
using namespace ymy::auth;

void BM_AuthTokenValidate(benchmark::State& state) {
  static SystemClock clock;
  const std::string key(64, 'k');
  auto codec = std::move(*JwtCodec::create(std::vector<unsigned char>(key.begin(), key.end()), {}, clock));
  const std::string token = codec->issue("usr_3f9c2a0b1c2d3e4f5a6b7c8d9e0f1a2b", "premium");
  for (auto _ : state) {
    auto claims = codec->verify(token);
    benchmark::DoNotOptimize(claims);
    if (!claims) state.SkipWithError(claims.error().message.c_str());
  }
}
BENCHMARK(BM_AuthTokenValidate);

// Arg: how many keys the decisions cycle through (1, or 100,000: every
// decision misses the CPU caches).
void BM_AuthLimiterInProcess(benchmark::State& state) {
  static SystemClock clock;
  static InProcessLimiter limiter(clock);
  const auto keys = static_cast<std::size_t>(state.range(0));
  std::vector<std::string> names;
  for (std::size_t i = 0; i < keys; ++i) names.push_back("user:usr_" + std::to_string(1'000'000 + i));
  const Limit limit{600, std::chrono::minutes(1), 100};
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto d = limiter.decide(names[i++ % keys], limit);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_AuthLimiterInProcess)->Arg(1)->Arg(100'000);
BENCHMARK(BM_AuthLimiterInProcess)->Arg(100'000)->Threads(2);

void BM_AuthLimiterRedis(benchmark::State& state) {
  const char* url = std::getenv("YOUMEYOU_BENCH_REDIS");
  if (url == nullptr) {
    state.SkipWithError("set YOUMEYOU_BENCH_REDIS=redis://127.0.0.1:6379 to run");
    return;
  }
  // redis://host:port, nothing more (the cache's parseRedisUrl lives in ymy_cache).
  std::string rest = url;
  if (rest.rfind("redis://", 0) == 0) rest = rest.substr(8);
  RedisLimiterOptions o;
  const auto colon = rest.rfind(':');
  o.host = rest.substr(0, colon);
  if (colon != std::string::npos) o.port = static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)));
  o.keyPrefix = "bench:rl:";
  static SystemClock clock;
  auto limiter = std::move(*RedisLimiter::create(o, clock));
  const Limit limit{1'000'000, std::chrono::seconds(1), 1'000'000};
  std::vector<double> micros;
  micros.reserve(1 << 20);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    auto d = limiter->decide("user:" + std::to_string(i++ % 1000), limit);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    benchmark::DoNotOptimize(d);
  }
  const auto s = limiter->stats();
  if (s.fallbackDecisions != 0) state.SkipWithError(("Redis unreachable: " + s.lastError).c_str());
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  }
}
BENCHMARK(BM_AuthLimiterRedis)->UseRealTime();

}  // namespace
