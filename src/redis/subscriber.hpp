#pragma once
// A pub/sub subscriber: one dedicated connection, on its own thread, that
// PSUBSCRIBEs one pattern and hands every message to a callback.
//
// Callbacks run on the subscriber's thread, one at a time, in the order
// Redis sent the messages:
// - onConnected: the pattern is subscribed (the first time and after every
//   reconnection). Messages published while the subscriber was down are NOT
//   replayed (pub/sub keeps nothing): the owner re-reads what it may have
//   missed from its own durable source here.
// - onMessage(channel, payload) for every message matching the pattern.
// - onLost(why): the connection failed (closed, an I/O error, or no answer to
//   a health-check PING within pingTimeout); reconnection follows.
// Callbacks must not destroy the Subscriber; they may block only briefly
// (Redis buffers for a slow subscriber up to its client-output-buffer-limit,
// then drops the connection, which shows up here as onLost).
//
// Reconnection: after a failure, attempts wait with Backoff (min, then
// doubling to max) in real time; a success resets it.
//
// Destruction stops the thread promptly (an eventfd wakes its poll; a
// connect in progress is bounded by connectTimeout) and, once it returns, no
// callback is running or will run.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "model/error.hpp"
#include "redis/endpoint.hpp"

namespace ymy::redis {

struct SubscriberOptions {
  Endpoint endpoint;
  std::string pattern;  // PSUBSCRIBE argument, e.g. "ymy:events:*"
  std::chrono::milliseconds connectTimeout{500};
  std::chrono::milliseconds minReconnectInterval{50};
  std::chrono::milliseconds maxReconnectInterval{2'000};
  std::chrono::milliseconds pingInterval{1'000};  // idle time before a health-check PING
  std::chrono::milliseconds pingTimeout{1'000};   // no answer within this: the connection is lost
  std::size_t maxMessageBytes = 8u << 20;
};

struct SubscriberCallbacks {
  std::function<void()> onConnected;
  std::function<void(std::string_view channel, std::string_view payload)> onMessage;
  std::function<void(std::string_view why)> onLost;
};

struct SubscriberStats {
  std::uint64_t messages = 0;
  std::uint64_t connects = 0;
  std::uint64_t connectFailures = 0;
  std::uint64_t losses = 0;
  bool connected = false;
  std::string lastError;
};

class Subscriber {
 public:
  // kInvalidArgument for bad options (an empty pattern or host, intervals
  // that are not positive). Starts the thread, which connects in the
  // background: start() succeeds while Redis is down.
  static Result<std::unique_ptr<Subscriber>> start(SubscriberOptions options, SubscriberCallbacks callbacks);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  bool connected() const { return connected_.load(std::memory_order_acquire); }
  SubscriberStats stats() const;

 private:
  Subscriber(SubscriberOptions options, SubscriberCallbacks callbacks, int wakeFd);
  void run();
  // One connection's life: connect, subscribe, read until it fails or stop.
  // Returns false when it never got subscribed (a failed attempt).
  bool session();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void recordError(const std::string& why);

  // Constant after construction.
  const SubscriberOptions options_;
  const SubscriberCallbacks callbacks_;
  const int wakeFd_;  // eventfd: written once by the destructor

  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::mutex sleepMutex_;
  std::condition_variable sleepWake_;  // backoff waits end early on stop

  std::atomic<std::uint64_t> messages_{0}, connects_{0}, connectFailures_{0}, losses_{0};
  mutable std::mutex lastErrorMutex_;
  std::string lastError_;  // guarded by lastErrorMutex_

  std::thread thread_;  // last: started after everything above exists
};

}  // namespace ymy::redis
