#pragma once
// The relay: how an event published on one `youmeyou serve` instance reaches
// the subscribers and long pollers of the others. The event log in the Store
// (shared by every instance in scale-out) stays the truth; the relay only
// says "seq N of execution X exists, here it is" sooner than re-reading the
// log would. It may lose, repeat or reorder messages, and the EventBus
// copes: a duplicate is dropped, a gap is refilled from the log, and while
// the relay is down the bus re-reads the log on an interval (see
// event_bus.hpp).
//
// Implementations: MemoryRelayHub (several EventBus objects in one process,
// for tests, with fault injection) and the Redis relay (makeRedisRelay).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "model/error.hpp"

namespace ymy::bus {

// One event in transit.
struct RelayMessage {
  std::string executionId;
  std::uint64_t seq = 0;
  bool final = false;  // executionSummary
  std::string json;    // the event's wire form (EventBus::serialize)
};

// Where a relay hands what arrives. Calls come from the relay's own thread
// (Redis) or from the publishing thread (memory), one at a time per sink.
class RelaySink {
 public:
  virtual ~RelaySink() = default;
  // An event published through another instance's relay: in any order,
  // possibly twice, possibly never.
  virtual void onRelayEvent(const RelayMessage& message) = 0;
  // The relay is receiving again (also the first time). Whatever was
  // published while it was not has been lost in transit.
  virtual void onRelayConnected() = 0;
  // The relay stopped receiving; onRelayConnected follows when it is back.
  virtual void onRelayLost(std::string_view why) = 0;
};

// Thread-safe.
class Relay {
 public:
  virtual ~Relay() = default;
  // Sends to every other instance; never back to this relay's own sink.
  // kIo when the relay is down or the send failed: nothing is retried (the
  // log has the event; receivers refill from it).
  virtual Result<void> publish(const RelayMessage& message) = 0;
  // Installs the sink (nullptr removes it). When it returns, no call into a
  // previous sink is running or will start. Must not be called from inside a
  // sink callback.
  virtual void setSink(RelaySink* sink) = 0;
  // Receiving now: a subscription is live.
  virtual bool connected() const = 0;
};

// Several relays in one process, connected to each other synchronously: a
// publish delivers to every other member's sink on the publishing thread
// before it returns (deterministic tests). Fault injection: drop or hold
// back the next messages, take the whole hub down and up.
// Thread-safe. The hub must outlive its members.
class MemoryRelayHub {
 public:
  MemoryRelayHub();
  ~MemoryRelayHub();
  MemoryRelayHub(const MemoryRelayHub&) = delete;
  MemoryRelayHub& operator=(const MemoryRelayHub&) = delete;

  // A new member, connected when the hub is up.
  std::unique_ptr<Relay> join();

  // The next `n` published messages reach nobody (publish still succeeds).
  void dropNext(std::size_t n = 1);
  // The next `n` published messages are held back until releaseHeld(),
  // which delivers them (in publish order) and returns how many.
  void holdNext(std::size_t n = 1);
  std::size_t releaseHeld();
  // Down: publish fails with kIo, members report onRelayLost and
  // connected() is false. Up: members report onRelayConnected.
  void setUp(bool up);
  std::uint64_t delivered() const;

  struct State;  // shared with the members; defined in memory_relay.cpp

 private:
  std::shared_ptr<State> state_;
};

// No messages between instances: a bus given this relay follows runs
// published on other instances by re-reading the log every
// BusOptions::refreshInterval (its relay-down mode, for good). For instances
// sharing a store without Redis; publish() succeeds and sends nothing.
std::unique_ptr<Relay> makeLogOnlyRelay();

struct RedisRelayOptions {
  std::string channelPrefix = "ymy:events:";  // + executionId
  std::chrono::milliseconds publishTimeout{100};  // a PUBLISH's whole budget, waiting for a connection included
  std::chrono::milliseconds connectTimeout{500};
  std::chrono::milliseconds minReconnectInterval{50};
  std::chrono::milliseconds maxReconnectInterval{2'000};
  std::chrono::milliseconds pingInterval{1'000};  // the subscriber's health check
  std::size_t publishConnections = 4;
};

// The Redis relay. Each event is one `PUBLISH ymy:events:<executionId>` of
// "<origin> <seq> <final>\n<json>" (origin: a random id per relay, so an
// instance skips its own messages). Each instance holds ONE subscription,
// `PSUBSCRIBE ymy:events:*`, on a dedicated connection (redis::Subscriber),
// made once at start and again after every reconnection.
//
// Why one pattern per instance rather than a SUBSCRIBE per execution when a
// client starts following it: a per-execution subscription would have to be
// live before the client's replay from the log ends, or an event published
// in between is neither replayed nor relayed. Making that exact costs a
// round trip to Redis inside subscribe() (under the channel lock) and
// unsubscribe bookkeeping for every client. With one pattern that is always
// live, "subscribed" never depends on a client, there is no
// subscribe/replay race, and the only window — Redis down or reconnecting —
// is closed by the bus re-reading the log on onRelayConnected. The cost:
// every instance receives every execution's events and drops those nobody
// there follows (a map lookup each).
//
// Publishing goes through a redis::Pool (publishConnections, on demand);
// while Redis is down publish() fails at once until a reconnect is due
// (backoff minReconnectInterval doubling to maxReconnectInterval).
// Returns kInvalidArgument for a bad URL or options; does not wait for Redis
// (it connects in the background and reports through the sink).
Result<std::unique_ptr<Relay>> makeRedisRelay(std::string_view url, RedisRelayOptions options = {});

}  // namespace ymy::bus
