#pragma once
// L2: the answer cache in Redis, spoken to through hiredis's protocol code
// (command formatting and the reply parser) over sockets this class owns, so
// every command has one deadline for its whole round trip and nothing can
// raise SIGPIPE.
//
// Contract: Redis is an optimisation, never a dependency. get() returns the
// value or nullptr; an error reply, a broken connection, a command over its
// deadline (default 5 ms, counting the wait for a free connection) or a Redis
// that is down are all misses, counted in stats(), and never throw.
//
// Keys are options.keyPrefix + the caller's hashed key: `GET k` and
// `SET k v PX ttl`.
//
// Connections: a small redis::Pool (options.poolSize, default 4) under one mutex,
// held only to pop or push a connection, plus one connection owned by the put
// worker. A pool rather than one connection per calling thread: the server's
// threads are few and long-lived, but per-thread connections would outlive
// this object's state (thread_local cannot be per instance), multiply with
// every short-lived thread, and make "mark everything dead and reconnect"
// a cross-thread problem. A pool is bounded, shared and reset in one place.
//
// Failure and reconnection: the first I/O error or timeout on any connection
// marks the tier down and discards every pooled connection (a generation
// counter retires the ones in use). While down, get() misses at once without
// a system call. Reconnection is lazy and off the request path: the first
// get() or put() after the retry time asks the worker thread to reconnect;
// the retry time is minReconnectInterval after going down, then doubles after
// each failed attempt up to maxReconnectInterval. Retry times are read from
// the injected Clock (tests move a ManualClock); socket deadlines are real
// time. A reconnect resolves the host, connects with connectTimeout, sends
// AUTH / SELECT when the URL asks for them, and PINGs: a Redis that accepts
// connections but does not answer stays down.
//
// Puts never block the caller: put() appends to a queue bounded by entries and
// bytes, drained by the worker; a full queue drops the put (counted). Puts that
// reach the worker while Redis is down are dropped too (counted as failed).
//
// Thread-safe; get() and put() may be called from any thread. The destructor
// stops the worker and drops puts still queued (call waitIdle() first to
// write them).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "model/clock.hpp"
#include "model/error.hpp"
#include "redis/endpoint.hpp"
#include "redis/pool.hpp"

namespace ymy::cache {

// Where Redis is; the URL parser. Both live in the redis module, shared with
// the rate limiter and the bus relay; these names keep the cache's callers as
// they were.
using RedisEndpoint = redis::Endpoint;
inline Result<RedisEndpoint> parseRedisUrl(std::string_view url) { return redis::parseUrl(url); }

struct RedisTierOptions {
  RedisEndpoint endpoint;
  std::string keyPrefix = "ymy:cache:";
  std::chrono::milliseconds connectTimeout{50};     // connect + AUTH/SELECT/PING, per reconnect
  std::chrono::microseconds commandTimeout{5'000};  // a get's whole budget
  std::chrono::milliseconds putTimeout{50};         // a SET's budget, off the request path
  std::chrono::milliseconds minReconnectInterval{100};
  std::chrono::milliseconds maxReconnectInterval{5'000};
  std::size_t poolSize = 4;  // connections for get()
  std::size_t putQueueEntries = 256;
  std::size_t putQueueBytes = 16u << 20;
  std::size_t maxValueBytes = 8u << 20;  // larger puts are dropped, larger replies are errors
};

struct RedisTierStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;       // every get that returned nullptr, whatever the reason
  std::uint64_t errors = 0;       // error replies, broken connections, protocol errors (gets and puts)
  std::uint64_t timeouts = 0;     // commands over their deadline (gets and puts)
  std::uint64_t unavailable = 0;  // gets that missed at once because Redis was marked down
  std::uint64_t busy = 0;         // gets that found no free connection within their budget
  std::uint64_t connects = 0;     // successful (re)connections
  std::uint64_t connectFailures = 0;
  std::uint64_t putsQueued = 0;
  std::uint64_t putsWritten = 0;
  std::uint64_t putsDropped = 0;  // refused by put(): queue full, value too large, null value, TTL <= 0
  std::uint64_t putsFailed = 0;   // taken by the worker but not written: error, timeout, Redis down
  bool connected = false;
  std::string lastError;  // the most recent error or timeout, for logs; empty if none
};

class RedisTier {
 public:
  using Value = std::shared_ptr<const std::string>;

  // Validates the options (kInvalidArgument naming the field) and starts the
  // worker, which connects in the background: create() does not wait for
  // Redis and succeeds when it is down. `clock` must outlive the tier.
  static Result<std::unique_ptr<RedisTier>> create(RedisTierOptions options, const Clock& clock);

  ~RedisTier();
  RedisTier(const RedisTier&) = delete;
  RedisTier& operator=(const RedisTier&) = delete;

  // The value, or nullptr on a miss of any kind. Returns within about
  // commandTimeout.
  Value get(std::string_view key);

  // Queues `SET prefix+key value PX ttl` and returns at once. False when the
  // put was dropped (queue full, value null or over maxValueBytes, ttl <= 0).
  bool put(std::string_view key, Value value, std::chrono::milliseconds ttl);

  // Removes one key now (within putTimeout). kIo when Redis is down or
  // refuses; the entry then lives until its TTL.
  Result<void> erase(std::string_view key);
  // Removes every key under the prefix (SCAN + UNLINK, within 5 s); returns
  // how many. Puts still queued are written afterwards.
  Result<std::size_t> clear();

  // Blocks until the worker has nothing to do: no queued put and no pending
  // reconnection. For tests and orderly shutdown; bounded by the timeouts.
  void waitIdle();

  RedisTierStats stats() const;
  const RedisTierOptions& options() const { return options_; }

 private:
  using Connection = redis::Connection;
  using SteadyTime = redis::SteadyTime;
  RedisTier(RedisTierOptions options, const Clock& clock);

  struct PendingPut {
    std::string key;  // prefixed
    Value value;
    std::chrono::milliseconds ttl;
    std::size_t bytes;  // charged against putQueueBytes
  };

  // Runs `work` on a pooled connection within `budget`; a failure marks
  // the tier down (the connection's stream state is unknown).
  Result<std::size_t> run(const std::function<Result<std::size_t>(Connection&, SteadyTime)>& work,
                          std::chrono::milliseconds budget, std::string_view what);
  void maybeRequestReconnect();
  void workerLoop();
  void reconnect();
  void write(const PendingPut& put);

  // Constant after construction.
  const RedisTierOptions options_;
  const Clock& clock_;

  // The connections for get(), erase() and clear(); up/down, the reconnection
  // schedule, connects and the last error live here.
  redis::Pool pool_;
  std::atomic<bool> reconnectPending_{false};  // set under workMutex_, read anywhere

  // The put queue and the worker.
  mutable std::mutex workMutex_;
  std::condition_variable workReady_;
  std::condition_variable workDone_;
  std::deque<PendingPut> queue_;                  // guarded by workMutex_
  std::size_t queueBytes_ = 0;                    // guarded by workMutex_
  bool working_ = false;                          // guarded by workMutex_: the worker is writing or reconnecting
  bool stopping_ = false;                         // guarded by workMutex_
  std::unique_ptr<Connection> workerConnection_;  // worker thread only
  std::uint64_t workerGeneration_ = 0;            // worker thread only

  // Counters: relaxed atomics, Redis I/O dominates their cost.
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, errors_{0}, timeouts_{0}, unavailable_{0}, busy_{0};
  std::atomic<std::uint64_t> putsQueued_{0}, putsWritten_{0}, putsDropped_{0}, putsFailed_{0};

  std::thread worker_;  // last: started after everything above exists
};

}  // namespace ymy::cache
