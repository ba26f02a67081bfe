#pragma once
// A bounded pool of Connections to one Redis, with one notion of "up", and a
// reconnection schedule on an injected Clock. Shared by the cache's L2, the
// rate limiter and the bus relay's publisher.
//
// States: the pool starts down with a reconnect due at once. reconnect()
// (called by whoever the owner chooses: a worker thread, or the first caller
// after the retry time) opens connections and marks the pool up. The first
// failure any user reports with markDown() discards every idle connection,
// retires the ones lent out (their generation is stale: release() closes
// them) and schedules the next attempt.
//
// Schedule (Backoff): the first attempt after going down is due
// minReconnectInterval after it; each failed attempt doubles the wait, up to
// maxReconnectInterval; a success resets it. Retry times are read from the
// Clock (tests move a ManualClock); socket deadlines are real time.
//
// Thread-safe. The pool mutex is held only to pop or push a connection and
// to change state, never across I/O.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/clock.hpp"
#include "model/error.hpp"
#include "redis/connection.hpp"
#include "redis/endpoint.hpp"

namespace ymy::redis {

// Exponential backoff between reconnection attempts: next() gives min, then
// doubles up to max; reset() after a success. Not thread-safe (a value).
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max), next_(min) {}
  std::chrono::milliseconds next() {
    const auto wait = next_;
    next_ = std::min(next_ * 2, max_);
    return wait;
  }
  void reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, next_;
};

struct PoolOptions {
  Endpoint endpoint;
  std::size_t size = 4;  // connections lent at most at once
  // true: reconnect() opens all `size` connections (any failure fails the
  // attempt). false: it opens one and acquire() opens more on demand.
  bool prefill = true;
  std::chrono::milliseconds connectTimeout{50};  // per connection: connect + AUTH/SELECT/PING + onOpen
  std::chrono::milliseconds minReconnectInterval{100};
  std::chrono::milliseconds maxReconnectInterval{5'000};
  std::size_t maxReplyBytes = 8u << 20;
  // Runs on each new connection after the handshake (the rate limiter loads
  // its script here); an error fails the open. May be empty.
  std::function<Result<void>(Connection&, SteadyTime deadline)> onOpen;
};

struct PoolStats {
  std::uint64_t connects = 0;         // successful reconnections, plus connections opened on demand
  std::uint64_t connectFailures = 0;  // failed attempts
  bool connected = false;
  std::string lastError;  // the most recent error any user reported, for logs; empty if none
};

class Pool {
 public:
  // Does not connect. Options are the owner's to validate. `clock` must
  // outlive the pool.
  Pool(PoolOptions options, const Clock& clock);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  bool up() const { return up_.load(std::memory_order_acquire); }
  // Down, the retry time has come, and no attempt is running.
  bool reconnectDue() const;
  // When up: true at once. When a reconnect is due: one attempt, by this
  // caller only (concurrent callers get false at once); true when it
  // succeeded. Otherwise false. Blocks up to connectTimeout per connection.
  bool reconnect();

  // An idle connection; or, when the pool is not prefilled and fewer than
  // `size` are open, a new one (a failure marks the pool down); or waits for
  // one to be released. nullptr when the pool is down or at `deadline`.
  std::unique_ptr<Connection> acquire(SteadyTime deadline);
  // Returns a connection that is in a known state; one of a retired
  // generation is closed instead.
  void release(std::unique_ptr<Connection> connection);
  // A connection of `generation` failed (error or timeout): if that
  // generation is current and the pool is up, the pool goes down. `why` is
  // recorded either way. The caller discards its connection.
  void markDown(std::uint64_t generation, const std::string& why);

  // A connection of the current generation kept outside the pool (a worker's
  // own); counts and marks down on failure like the others.
  Result<std::unique_ptr<Connection>> openDedicated();
  std::uint64_t generation() const;

  void recordError(const std::string& why);
  std::string lastError() const;
  PoolStats stats() const;
  const PoolOptions& options() const { return options_; }

 private:
  Result<std::unique_ptr<Connection>> open(std::uint64_t generation);

  // Constant after construction.
  const PoolOptions options_;
  const Clock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
  std::size_t open_ = 0;                           // guarded by mutex_: idle + lent out, this generation
  std::uint64_t generation_ = 0;                   // guarded by mutex_; bumped when the pool goes down
  Backoff backoff_;                                // guarded by mutex_
  std::atomic<bool> up_{false};                    // written under mutex_, read anywhere
  std::atomic<std::int64_t> retryAtNanos_{0};      // on clock_; written under mutex_
  std::atomic<bool> reconnecting_{false};

  std::atomic<std::uint64_t> connects_{0}, connectFailures_{0};
  mutable std::mutex lastErrorMutex_;
  std::string lastError_;  // guarded by lastErrorMutex_
};

}  // namespace ymy::redis
