#pragma once
// WebSocket connections after the upgrade, grouped in shards: one shard per
// single-threaded io_context, so a connection's state needs no lock.
//
// Fan-out is the point. The bus hands an event to every subscriber under its
// channel lock; a Connection only appends it to its shard's inbox, and the
// shard is woken once per burst. The shard frames each event once (server
// frames are unmasked, so the bytes are the same for every client), queues
// the shared bytes on every connection that wants them, and writes each
// connection's queue with one non-blocking gather write; only a connection
// whose socket is full waits for writability. Reads wait for readability and
// use the shard's buffer, so an idle connection holds no buffer at all.
// Heartbeats and idle timeouts come from one sweep timer per shard.
//
// Internal to the server module (it exposes Asio types).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bus/event_bus.hpp"
#include "server/ws_frame.hpp"

namespace ymy::server::ws {

struct Options {
  std::size_t maxMessageBytes = 64 * 1024;
  std::size_t queueLimit = 8192;  // frames queued per connection before it is cut off
  std::chrono::milliseconds heartbeat{15'000};
  std::chrono::milliseconds idleTimeout{30 * 60'000};
  std::chrono::milliseconds closeTimeout{5'000};  // waiting for the peer's close frame
  std::chrono::microseconds coalesce{1'000};      // events this close together go out in one write
};

struct Stats {
  std::atomic<std::int64_t> open{0};
  std::atomic<std::uint64_t> slowDisconnected{0};
  std::atomic<std::uint64_t> framesSent{0};  // messages and control frames written out
  std::atomic<std::uint64_t> writeCalls{0};  // socket writes that carried them
};

class Connection;

class Handler {
 public:
  virtual ~Handler() = default;
  // A text message from the client, on the connection's shard thread.
  virtual void onText(Connection& connection, std::string_view text) = 0;
};

class Shard {
 public:
  Shard(boost::asio::io_context& ioc, Options options, Handler& handler, Stats& stats);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // On the shard's thread: takes over an upgraded socket. `greeting` is the
  // first message; `alreadyRead` holds bytes read past the upgrade request.
  // `owner` is the authenticated user the connection belongs to.
  void adopt(boost::asio::ip::tcp::socket socket, std::string clientId, std::string owner, std::string greeting,
             std::string_view alreadyRead);
  // Any thread: close every connection with 1001 and `reason`.
  void closeAll(std::string reason);

 private:
  friend class Connection;
  struct Delivery {
    std::shared_ptr<Connection> connection;
    bus::Published event;
  };
  void enqueue(std::shared_ptr<Connection> connection, const bus::Published& event);  // any thread
  void drain();
  void sweep();
  void armSweep();
  void forget(Connection& connection);

  boost::asio::io_context& ioc_;
  const Options options_;
  Handler& handler_;
  Stats& stats_;
  boost::asio::steady_timer sweepTimer_;
  boost::asio::steady_timer drainTimer_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::vector<char> readBuffer_;
  std::shared_ptr<const std::string> pingFrame_;

  std::mutex inboxMutex_;
  std::vector<Delivery> inbox_;  // guarded by inboxMutex_
  bool drainPosted_ = false;     // guarded by inboxMutex_
  std::vector<Delivery> draining_;
  std::vector<Connection*> dirty_;
};

class Connection final : public bus::Subscriber, public std::enable_shared_from_this<Connection> {
 public:
  Connection(Shard& shard, boost::asio::ip::tcp::socket socket, std::string clientId, std::string owner);

  // Any thread (the bus, under its channel lock): queue an event.
  bool deliver(const bus::Published& event) override;

  // The rest: the shard's thread only.
  void sendText(std::string_view text);
  void close(std::uint16_t code, std::string reason);
  const std::string& clientId() const { return clientId_; }
  const std::string& owner() const { return owner_; }
  std::map<std::string, std::unique_ptr<bus::EventBus::Subscription>>& subscriptions() { return subscriptions_; }

 private:
  friend class Shard;
  enum class State { kOpen, kClosing, kDone };
  using Clock = std::chrono::steady_clock;

  void push(std::shared_ptr<const std::string> frame);
  void flush();
  void armRead();
  void onReadable();
  void handle(std::vector<Incoming>& incoming);
  void teardown();

  Shard& shard_;
  boost::asio::ip::tcp::socket socket_;
  const std::string clientId_;
  const std::string owner_;
  FrameParser parser_;
  std::map<std::string, std::unique_ptr<bus::EventBus::Subscription>> subscriptions_;
  // Frames not yet written: pending_[head_..]; the first `offset_` bytes of
  // pending_[head_] are already written. (A vector: a deque allocates
  // half a kilobyte even when empty.)
  std::vector<std::shared_ptr<const std::string>> pending_;
  std::size_t head_ = 0;
  std::size_t offset_ = 0;
  std::atomic<std::size_t> queued_{0};                       // in the inbox or pending_
  std::atomic<bool> accepting_{true};                        // deliver() takes events
  State state_ = State::kOpen;
  bool writing_ = false;    // waiting for the socket to take more
  bool dirty_ = false;      // in the shard's flush list
  bool closeQueued_ = false;
  bool peerClosed_ = false;
  Clock::time_point lastReceived_, lastSent_, closingSince_;
  std::size_t index_ = 0;  // in shard_.connections_
};

}  // namespace ymy::server::ws
