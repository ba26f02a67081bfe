#pragma once
// A rate limiter shared by every instance through Redis: one round trip per
// decision, an EVALSHA of a GCRA script that reads Redis's own clock
// (redis.call('TIME')), so instances with skewed clocks still share one
// limit. The key holds the TAT in microseconds and expires (PX) when the key
// would be back to a full burst.
//
// Contract: Redis is never a dependency of a decision. When Redis is down,
// slow (over commandTimeout, default 5 ms, counting the wait for a free
// connection), answers an error, or a reconnect is not due yet, decide()
// answers from an in-process GCRA whose rate and burst are divided by
// `instanceCount` (so N instances falling back together allow about the
// shared limit), and counts it in stats().fallbackDecisions.
//
// Connections: a redis::Pool of up to poolSize connections, opened on demand
// (the redis module: hiredis only formats commands and parses replies; a
// Redis that went away is an error value, not SIGPIPE). A connection loads
// the script with SCRIPT LOAD when it is opened; a NOSCRIPT
// reply (SCRIPT FLUSH, a failover to an empty replica) is answered by EVAL of
// the full script on the spot.
//
// Failure and reconnection: the first I/O error or timeout marks Redis down
// and drops every pooled connection. Reconnection is lazy: the first decide()
// after the retry time tries once (connectTimeout, default 20 ms) while other
// callers keep falling back; the retry time is minReconnectInterval after
// going down, doubling after each failure up to maxReconnectInterval, on the
// injected Clock (tests move a ManualClock). Socket deadlines are real time.
//
// Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/rate_limiter.hpp"
#include "model/clock.hpp"
#include "model/error.hpp"
#include "redis/pool.hpp"

namespace ymy::auth {

struct RedisLimiterOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;
  std::string keyPrefix = "ymy:rl:";
  std::chrono::milliseconds connectTimeout{20};
  std::chrono::microseconds commandTimeout{5'000};
  std::chrono::milliseconds minReconnectInterval{100};
  std::chrono::milliseconds maxReconnectInterval{5'000};
  std::size_t poolSize = 4;
  int instanceCount = 1;  // divides the fallback limiter's rate and burst
  InProcessLimiterOptions fallback;
};

struct RedisLimiterStats {
  std::uint64_t redisDecisions = 0;     // answered by the script
  std::uint64_t fallbackDecisions = 0;  // answered in-process, for any reason below
  std::uint64_t errors = 0;             // error replies, broken connections, unreadable replies
  std::uint64_t timeouts = 0;           // commands over commandTimeout
  std::uint64_t unavailable = 0;        // decisions made in-process at once because Redis was down
  std::uint64_t noscript = 0;           // EVALSHA answered NOSCRIPT and was retried with EVAL
  std::uint64_t connects = 0;
  std::uint64_t connectFailures = 0;
  bool connected = false;
  std::string lastError;
};

class RedisLimiter final : public RateLimiter {
 public:
  // kInvalidArgument naming the field for bad options. Does not connect: the
  // first decide() does. `clock` must outlive the limiter.
  static Result<std::unique_ptr<RedisLimiter>> create(RedisLimiterOptions options, const Clock& clock);
  ~RedisLimiter() override;

  Decision decide(std::string_view key, const Limit& limit) override;
  RedisLimiterStats stats() const;
  const RedisLimiterOptions& options() const { return options_; }

  // The GCRA script, for tests and for operators who want to read it.
  static const char* script();

 private:
  RedisLimiter(RedisLimiterOptions options, const Clock& clock);

  Decision fallback(std::string_view key, const Limit& limit);
  std::string scriptSha() const;

  // Constant after construction.
  const RedisLimiterOptions options_;
  const Clock& clock_;
  InProcessLimiter fallback_;

  // The script's hash as Redis answered SCRIPT LOAD (the same for every
  // connection: it is the script's SHA1).
  mutable std::mutex shaMutex_;
  std::string sha_;  // guarded by shaMutex_

  // Connections, up/down, the reconnection schedule, connects and the last error.
  redis::Pool pool_;

  std::atomic<std::uint64_t> redisDecisions_{0}, fallbackDecisions_{0}, errors_{0}, timeouts_{0}, unavailable_{0},
      noscript_{0};
};

}  // namespace ymy::auth
