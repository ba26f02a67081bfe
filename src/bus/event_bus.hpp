#pragma once
// The event log and its fan-out. publish() appends an event to the execution's
// log in the Store, then hands it, serialised once, to every subscriber of
// that execution. subscribe() replays the log after a given seq and then goes
// live, holding the execution's channel lock across the hand-over, so a
// subscriber sees every event after its seq exactly once and in order.
// poll() serves long polling from the same log.
//
// Scale-out (optional): constructed with a Relay (relay.hpp), the bus also
// sends each event it publishes to the other instances sharing the Store, and
// feeds what they publish to its own subscribers and pollers. On the
// receiving side every subscriber tracks the last seq it was given, so:
// - each local subscriber gets every event after its resume seq exactly
//   once and in order: an arriving event at or below its position is
//   dropped for it (counted as a duplicate); one beyond position+1 is a gap,
//   refilled from the log (Store::eventsAfter) first;
// - long pollers waiting on that execution wake;
// - the publishing instance delivers its own events once (locally; the
//   relay does not hand them back);
// - while the relay is down, channels with local subscribers or pollers are
//   re-read from the log every BusOptions::refreshInterval, and when it
//   connects again (onRelayConnected) all of them are refilled at once;
// - while it is up, they are still re-read every backstopInterval;
// - publish() succeeds while the relay is down (the log is the truth); the
//   failed relay send is counted in relayErrors.
// Without a relay the bus behaves exactly as the in-process bus always has.
//
// Thread-safe. Subscriber::deliver runs with the channel lock held: it must
// only enqueue (no I/O, no calls back into the bus).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/relay.hpp"
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
  std::size_t pollers = 0;  // long polls waiting now
  // With a relay (all 0/false without one).
  std::uint64_t relayPublished = 0;     // events sent to the relay
  std::uint64_t relayReceived = 0;      // events that arrived from other instances
  std::uint64_t relayDuplicates = 0;    // arriving events a subscriber already had (dropped for it)
  std::uint64_t relayGapsRefilled = 0;  // reads of the log to fill a gap, on a refresh, or on reconnection
  std::uint64_t relayErrors = 0;        // failed relay sends, failed log reads while relaying
  bool relayConnected = false;
};

struct BusOptions {
  // With a relay: how often channels with local subscribers or pollers are
  // re-read from the log while the relay is down.
  std::chrono::milliseconds refreshInterval{200};
  // With a relay that is up: they are re-read this often anyway (checked on
  // each refreshInterval tick), a backstop for a message lost in transit
  // with nothing published after it to reveal the gap (a PUBLISH that timed
  // out while the subscriptions stayed up).
  std::chrono::milliseconds backstopInterval{5'000};
};

class EventBus {
 public:
  // In-process only: subscribers and pollers of this object.
  explicit EventBus(store::Store& store);
  // Scale-out: also relays to and from the other instances sharing `store`.
  // `relay` must outlive the bus; the bus installs itself as its sink and
  // starts a refresh thread, both undone by the destructor. A null relay is
  // the in-process bus (so a caller can pass an optional one straight on).
  EventBus(store::Store& store, Relay* relay, BusOptions options = {});
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

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

  // With a relay: brings every channel with local subscribers or pollers up
  // to the end of the log now, and wakes pollers with something new. The
  // refresh thread calls it while the relay is down, the relay sink when it
  // connects; tests may call it. No-op without a relay.
  void refresh();

 private:
  class RelayReceiver;  // the RelaySink; defined in event_bus.cpp
  struct Member {
    std::shared_ptr<Subscriber> subscriber;
    std::uint64_t last = 0;  // the last seq it was given (or resumed after)
  };
  struct Tally {
    std::size_t delivered = 0, dropped = 0, duplicates = 0;
  };
  struct Channel {
    std::mutex mutex;
    std::condition_variable arrived;
    // Guarded by mutex. Unordered: each subscriber's own stream stays in
    // order, and removal is O(1) (a swap with the last), so thousands of
    // clients leaving at once do not hold up publishing.
    std::vector<Member> subscribers;
    std::unordered_map<const Subscriber*, std::size_t> position;
    void add(std::shared_ptr<Subscriber> s, std::uint64_t last);
    void remove(std::size_t i);
    std::size_t pollers = 0;  // guarded by mutex: poll() calls waiting
    std::uint64_t lastSeq = 0;                             // guarded by mutex; 0 = not read from the store yet
    bool lastSeqKnown = false;                             // guarded by mutex
  };
  std::shared_ptr<Channel> channel(const std::string& executionId);
  std::shared_ptr<Channel> findChannel(const std::string& executionId) const;
  void unsubscribe(const std::string& executionId, const std::shared_ptr<Subscriber>& subscriber);
  // Under c.mutex. Gives `message` to every subscriber at message.seq - 1;
  // counts those already past it in t.duplicates.
  static void offer(Channel& c, const Published& message, Tally& t);
  // Under c.mutex. Reads the log after the lowest subscriber position, up to
  // `through` (0: to the end), and offers each event.
  Result<void> refill(const std::string& executionId, Channel& c, std::uint64_t through, Tally& t);
  void count(const Tally& t);
  void receive(const RelayMessage& message);  // from the relay sink
  void refreshLoop();

  store::Store& store_;
  // Constant after construction; null without a relay.
  Relay* const relay_ = nullptr;
  const BusOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Channel>> channels_;  // guarded by mutex_
  bool closed_ = false;                                         // guarded by mutex_
  std::uint64_t published_ = 0, delivered_ = 0, dropped_ = 0;   // guarded by mutex_ (approximate under load)
  std::atomic<std::uint64_t> relayPublished_{0}, relayReceived_{0}, relayDuplicates_{0}, relayGapsRefilled_{0},
      relayErrors_{0};

  // The refresh thread (with a relay only).
  std::unique_ptr<RelayReceiver> receiver_;
  std::mutex refreshMutex_;
  std::condition_variable refreshWake_;
  bool stopRefresh_ = false;  // guarded by refreshMutex_
  std::thread refresher_;
};

}  // namespace ymy::bus
