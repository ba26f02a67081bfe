#pragma once
// The event log and its fan-out. publish() appends an event to the execution's
// log in the Store, then hands it, serialised once, to every subscriber of
// that execution. subscribe() replays the log after a given seq and then goes
// live, holding the execution's channel lock across the hand-over, so a
// subscriber sees every event after its seq exactly once and in order.
// poll() serves long polling from the same log.
//
// Thread-safe. Subscriber::deliver runs with the channel lock held: it must
// only enqueue (no I/O, no calls back into the bus).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/error.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

namespace ymy::bus {

// An event as sent on the wire: its JSON text, shared by all receivers.
struct Published {
  std::uint64_t seq = 0;
  std::shared_ptr<const std::string> json;
  bool final = false;  // executionSummary: nothing follows
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // False when the subscriber cannot take more (its queue is full): the bus
  // stops delivering to it and counts the event as dropped.
  virtual bool deliver(const Published& event) = 0;
};

struct BusStats {
  std::uint64_t published = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::size_t subscribers = 0;
};

class EventBus {
 public:
  explicit EventBus(store::Store& store) : store_(store) {}

  class Subscription {
   public:
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    std::uint64_t replayedThrough() const { return replayedThrough_; }

   private:
    friend class EventBus;
    Subscription(EventBus& bus, std::string executionId, std::shared_ptr<Subscriber> subscriber)
        : bus_(bus), executionId_(std::move(executionId)), subscriber_(std::move(subscriber)) {}
    EventBus& bus_;
    std::string executionId_;
    std::shared_ptr<Subscriber> subscriber_;
    std::uint64_t replayedThrough_ = 0;
  };

  // Logs, then delivers. When the store refuses (a seq gap, a failed write,
  // a fenced write: see store::Fence) nothing is delivered and the error
  // comes back.
  Result<void> publish(const Event& event, const store::Fence* fence = nullptr);

  Result<std::unique_ptr<Subscription>> subscribe(const std::string& executionId, std::uint64_t after,
                                                  std::shared_ptr<Subscriber> subscriber);

  // Up to `limit` events after `after`; when there are none yet, waits up to
  // `wait` for one (or for close()).
  Result<std::vector<Published>> poll(const std::string& executionId, std::uint64_t after, std::size_t limit,
                                      std::chrono::milliseconds wait);

  // Wakes every poller; later polls return at once.
  void close();

  BusStats stats() const;
  static Published serialize(const Event& event);

 private:
  struct Channel {
    std::mutex mutex;
    std::condition_variable arrived;
    // Guarded by mutex. Unordered: each subscriber's own stream stays in
    // order, and removal is O(1) (a swap with the last), so thousands of
    // clients leaving at once do not hold up publishing.
    std::vector<std::shared_ptr<Subscriber>> subscribers;
    std::unordered_map<const Subscriber*, std::size_t> position;
    void add(std::shared_ptr<Subscriber> s);
    void remove(std::size_t i);
    std::uint64_t lastSeq = 0;                             // guarded by mutex; 0 = not read from the store yet
    bool lastSeqKnown = false;                             // guarded by mutex
  };
  std::shared_ptr<Channel> channel(const std::string& executionId);
  void unsubscribe(const std::string& executionId, const std::shared_ptr<Subscriber>& subscriber);

  store::Store& store_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Channel>> channels_;  // guarded by mutex_
  bool closed_ = false;                                         // guarded by mutex_
  std::uint64_t published_ = 0, delivered_ = 0, dropped_ = 0;   // guarded by mutex_ (approximate under load)
};

}  // namespace ymy::bus
