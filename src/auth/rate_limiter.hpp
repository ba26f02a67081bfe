#pragma once
// Rate limiting with GCRA (the generic cell rate algorithm): one timestamp per
// key, the theoretical arrival time (TAT) of the next request at the
// sustained rate.
//
// For Limit{rate, period, burst}: the emission interval is T = period / rate.
// A request at `now` would move the TAT to max(TAT, now) + T; it is allowed
// when that is at most now + burst x T. So an idle key may make exactly
// `burst` requests at once, and then one every T.
//
// A Decision carries what the client is told (RFC 9239 draft RateLimit-*
// headers and Retry-After): the limit (burst), the requests still allowed
// right now, how long until the next one would be allowed (0 when allowed) and
// how long until the key is back to a full burst.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace ymy::auth {

struct Limit {
  std::int64_t rate = 0;  // requests per period, sustained
  std::chrono::nanoseconds period{std::chrono::minutes(1)};
  std::int64_t burst = 0;  // requests allowed at once from an idle key

  // Emission interval, rounded up (never faster than the configured rate).
  std::chrono::nanoseconds interval() const;
};

// kInvalidArgument unless rate, period and burst are positive and period /
// rate is at least 1 ns.
Result<void> validateLimit(const Limit& limit);

struct Decision {
  bool allowed = false;
  std::int64_t limit = 0;                  // the burst: RateLimit-Limit
  std::int64_t remaining = 0;              // requests allowed right after this one: RateLimit-Remaining
  std::chrono::nanoseconds retryAfter{0};  // 0 when allowed; otherwise until one is: Retry-After
  std::chrono::nanoseconds resetAfter{0};  // until the key is back to a full burst: RateLimit-Reset

  // Whole seconds, rounded up, as the headers want them.
  std::int64_t retryAfterSeconds() const;
  std::int64_t resetAfterSeconds() const;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Decides one request for `key` and records it when allowed. Thread-safe.
  // A limit that fails validateLimit denies, with retryAfter = its period.
  virtual Decision decide(std::string_view key, const Limit& limit) = 0;
};

// The GCRA step itself, shared by the in-process limiter and the tests:
// given the key's TAT (nullopt: never seen) and now, the decision and the new
// TAT (unchanged when denied). Times are nanoseconds on one clock.
struct GcraStep {
  Decision decision;
  std::int64_t newTat = 0;
};
GcraStep gcra(std::int64_t now, std::int64_t tat, const Limit& limit);

struct InProcessLimiterOptions {
  std::size_t shards = 16;          // rounded up to a power of two
  std::size_t maxKeys = 1'000'000;  // across shards; see the memory bound below
};

struct InProcessLimiterStats {
  std::size_t keys = 0;
  std::uint64_t allowed = 0;
  std::uint64_t denied = 0;
  std::uint64_t evicted = 0;    // keys dropped because their TAT had passed (nothing lost: they were full)
  std::uint64_t untracked = 0;  // decisions for new keys made without storing them: every shard was full of live keys
};

// In-process GCRA: keys hashed onto shards, each a mutex and a hash map from
// key to TAT. Time from the injected Clock (monotonic).
//
// Memory: at most maxKeys / shards keys per shard. A shard that is full
// first drops every key whose TAT is in the past (such a key is
// indistinguishable from a new one); the scan is skipped until the earliest
// surviving TAT has passed, so a shard full of live keys costs no scan per
// request. When nothing can be dropped, a new key is decided as if idle and
// not stored (counted in `untracked`): keys already tracked stay limited, and
// memory stays bounded.
class InProcessLimiter final : public RateLimiter {
 public:
  // `clock` must outlive the limiter.
  explicit InProcessLimiter(const Clock& clock, InProcessLimiterOptions options = {});
  ~InProcessLimiter() override;

  Decision decide(std::string_view key, const Limit& limit) override;
  InProcessLimiterStats stats() const;

 private:
  struct Shard;
  const Clock& clock_;
  const std::size_t perShardKeys_;
  std::unique_ptr<Shard[]> shards_;
  const std::size_t shardMask_;
};

}  // namespace ymy::auth
