#include "auth/rate_limiter.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace ymy::auth {

namespace {

std::int64_t ceilSeconds(std::chrono::nanoseconds d) {
  if (d <= std::chrono::nanoseconds::zero()) return 0;
  return (d.count() + 999'999'999) / 1'000'000'000;
}

Decision invalidLimitDecision(const Limit& limit) {
  Decision d;
  d.allowed = false;
  d.limit = std::max<std::int64_t>(limit.burst, 0);
  d.retryAfter = limit.period > std::chrono::nanoseconds::zero() ? limit.period : std::chrono::minutes(1);
  d.resetAfter = d.retryAfter;
  return d;
}

// Transparent hashing: decide() looks keys up by string_view without a copy.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace

std::chrono::nanoseconds Limit::interval() const {
  if (rate <= 0) return std::chrono::nanoseconds::zero();
  return std::chrono::nanoseconds((period.count() + rate - 1) / rate);
}

Result<void> validateLimit(const Limit& limit) {
  if (limit.rate <= 0) return fail(ErrorCode::kInvalidArgument, "rate limit: rate must be positive");
  if (limit.period <= std::chrono::nanoseconds::zero()) {
    return fail(ErrorCode::kInvalidArgument, "rate limit: period must be positive");
  }
  if (limit.burst <= 0) return fail(ErrorCode::kInvalidArgument, "rate limit: burst must be positive");
  if (limit.interval() < std::chrono::nanoseconds(1)) {
    return fail(ErrorCode::kInvalidArgument, "rate limit: more than one request per nanosecond");
  }
  // burst x interval must fit with room for any clock value.
  if (limit.burst > std::numeric_limits<std::int64_t>::max() / 4 / limit.interval().count()) {
    return fail(ErrorCode::kInvalidArgument, "rate limit: burst x interval overflows");
  }
  return {};
}

std::int64_t Decision::retryAfterSeconds() const { return ceilSeconds(retryAfter); }
std::int64_t Decision::resetAfterSeconds() const { return ceilSeconds(resetAfter); }

GcraStep gcra(std::int64_t now, std::int64_t tat, const Limit& limit) {
  const std::int64_t interval = limit.interval().count();
  const std::int64_t tolerance = interval * limit.burst;  // how far ahead of now the TAT may run
  const std::int64_t base = std::max(tat, now);
  const std::int64_t newTat = base + interval;
  GcraStep step;
  step.decision.limit = limit.burst;
  if (newTat - now > tolerance) {
    step.decision.allowed = false;
    step.decision.remaining = 0;
    step.decision.retryAfter = std::chrono::nanoseconds(newTat - now - tolerance);
    step.decision.resetAfter = std::chrono::nanoseconds(base - now);
    step.newTat = tat;
    return step;
  }
  step.decision.allowed = true;
  step.decision.remaining = (tolerance - (newTat - now)) / interval;
  step.decision.retryAfter = std::chrono::nanoseconds::zero();
  step.decision.resetAfter = std::chrono::nanoseconds(newTat - now);
  step.newTat = newTat;
  return step;
}

struct InProcessLimiter::Shard {
  std::mutex mutex;
  std::unordered_map<std::string, std::int64_t, KeyHash, std::equal_to<>> tats;  // guarded by mutex
  std::int64_t nextSweep = std::numeric_limits<std::int64_t>::min();             // guarded by mutex
  std::uint64_t allowed = 0, denied = 0, evicted = 0, untracked = 0;             // guarded by mutex
};

InProcessLimiter::InProcessLimiter(const Clock& clock, InProcessLimiterOptions options)
    : clock_(clock),
      perShardKeys_(
          std::max<std::size_t>(1, options.maxKeys / std::bit_ceil(std::max<std::size_t>(1, options.shards)))),
      shards_(new Shard[std::bit_ceil(std::max<std::size_t>(1, options.shards))]),
      shardMask_(std::bit_ceil(std::max<std::size_t>(1, options.shards)) - 1) {}

InProcessLimiter::~InProcessLimiter() = default;

Decision InProcessLimiter::decide(std::string_view key, const Limit& limit) {
  if (!validateLimit(limit)) return invalidLimitDecision(limit);
  const std::int64_t now = clock_.now().time_since_epoch().count();
  Shard& shard = shards_[KeyHash{}(key)&shardMask_];
  std::lock_guard lock(shard.mutex);
  auto it = shard.tats.find(key);
  if (it == shard.tats.end()) {
    const GcraStep step = gcra(now, now, limit);
    (step.decision.allowed ? shard.allowed : shard.denied)++;
    if (shard.tats.size() >= perShardKeys_ && now >= shard.nextSweep) {
      // Keys whose TAT has passed are back to a full burst: forgetting them changes nothing.
      std::int64_t earliest = std::numeric_limits<std::int64_t>::max();
      for (auto i = shard.tats.begin(); i != shard.tats.end();) {
        if (i->second <= now) {
          i = shard.tats.erase(i);
          ++shard.evicted;
        } else {
          earliest = std::min(earliest, i->second);
          ++i;
        }
      }
      shard.nextSweep = earliest;
    }
    if (shard.tats.size() >= perShardKeys_) {
      ++shard.untracked;
    } else if (step.decision.allowed) {
      shard.tats.emplace(std::string(key), step.newTat);
    }
    return step.decision;
  }
  const GcraStep step = gcra(now, it->second, limit);
  (step.decision.allowed ? shard.allowed : shard.denied)++;
  it->second = step.newTat;
  return step.decision;
}

InProcessLimiterStats InProcessLimiter::stats() const {
  InProcessLimiterStats s;
  for (std::size_t i = 0; i <= shardMask_; ++i) {
    std::lock_guard lock(shards_[i].mutex);
    s.keys += shards_[i].tats.size();
    s.allowed += shards_[i].allowed;
    s.denied += shards_[i].denied;
    s.evicted += shards_[i].evicted;
    s.untracked += shards_[i].untracked;
  }
  return s;
}

}  // namespace ymy::auth
