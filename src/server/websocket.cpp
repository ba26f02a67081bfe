#include "server/websocket.hpp"

#include <algorithm>
#include <array>
#include <span>

#include <boost/asio/post.hpp>

namespace ymy::server::ws {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
constexpr std::size_t kReadBufferBytes = 64 * 1024;
constexpr std::size_t kGatherBuffers = 64;  // frames per write call
}  // namespace

// ---- Shard ------------------------------------------------------------------------

Shard::Shard(net::io_context& ioc, Options options, Handler& handler, Stats& stats)
    : ioc_(ioc),
      options_(options),
      handler_(handler),
      stats_(stats),
      sweepTimer_(ioc),
      drainTimer_(ioc),
      readBuffer_(kReadBufferBytes),
      pingFrame_(std::make_shared<const std::string>(frame(Opcode::kPing, ""))) {
  armSweep();
}

Shard::~Shard() {
  // The io_context has stopped; break the bus -> connection -> subscription
  // cycles and release the sockets.
  for (auto& c : connections_) {
    c->accepting_ = false;
    c->subscriptions_.clear();
    boost::system::error_code ignored;
    c->socket_.close(ignored);
  }
}

void Shard::adopt(tcp::socket socket, std::string clientId, std::string owner, std::string greeting,
                  std::string_view alreadyRead) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.set_option(tcp::no_delay(true), ec);
  if (ec) return;
  auto c = std::make_shared<Connection>(*this, std::move(socket), std::move(clientId), std::move(owner));
  c->index_ = connections_.size();
  connections_.push_back(c);
  ++stats_.open;
  c->sendText(greeting);
  if (!alreadyRead.empty()) {
    std::vector<Incoming> incoming;
    c->parser_.feed(alreadyRead, incoming);
    c->handle(incoming);
  }
  if (c->state_ != Connection::State::kDone) c->armRead();
}

void Shard::closeAll(std::string reason) {
  net::post(ioc_, [this, reason = std::move(reason)] {
    for (std::size_t i = connections_.size(); i-- > 0;) {
      if (i < connections_.size()) connections_[i]->close(close_code::kGoingAway, reason);
    }
    sweepTimer_.cancel();
  });
}

void Shard::enqueue(std::shared_ptr<Connection> connection, const bus::Published& event) {
  bool post = false;
  {
    std::lock_guard lock(inboxMutex_);
    inbox_.push_back({std::move(connection), event});
    post = !drainPosted_;
    drainPosted_ = true;
  }
  if (!post) return;
  net::post(ioc_, [this] {
    if (options_.coalesce.count() == 0) return drain();
    // Events of one step (a task completes, its dependents start) come
    // microseconds apart: wait a moment so they go out in one write each.
    drainTimer_.expires_after(options_.coalesce);
    drainTimer_.async_wait([this](boost::system::error_code) { drain(); });
  });
}

void Shard::drain() {
  {
    std::lock_guard lock(inboxMutex_);
    draining_.swap(inbox_);
    drainPosted_ = false;
  }
  // Frame each event once for every connection of this shard. The batch
  // keeps every event alive, so a JSON text's address identifies it here.
  const std::string* lastJson = nullptr;
  std::shared_ptr<const std::string> lastFrame;
  for (auto& d : draining_) {
    Connection& c = *d.connection;
    if (c.state_ != Connection::State::kOpen) {
      --c.queued_;
      continue;
    }
    if (d.event.json.get() != lastJson) {
      lastJson = d.event.json.get();
      lastFrame = std::make_shared<const std::string>(frame(Opcode::kText, *d.event.json));
    }
    c.pending_.push_back(lastFrame);
    if (!c.dirty_) {
      c.dirty_ = true;
      dirty_.push_back(&c);
    }
  }
  // One gather write per connection for the whole burst.
  for (Connection* c : dirty_) {
    c->dirty_ = false;
    c->flush();
  }
  dirty_.clear();
  draining_.clear();
}

void Shard::armSweep() {
  auto period = std::min({options_.heartbeat, options_.idleTimeout, options_.closeTimeout}) / 4;
  period = std::clamp(period, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
  sweepTimer_.expires_after(period);
  sweepTimer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    sweep();
    armSweep();
  });
}

// Pings quiet connections, closes idle ones, and gives up on peers that do
// not answer a close.
void Shard::sweep() {
  const auto now = Connection::Clock::now();
  for (std::size_t i = connections_.size(); i-- > 0;) {
    if (i >= connections_.size()) continue;
    auto c = connections_[i];  // close() may remove it from the list
    if (c->state_ == Connection::State::kClosing) {
      if (now - c->closingSince_ >= options_.closeTimeout) c->teardown();
      continue;
    }
    if (now - c->lastReceived_ >= options_.idleTimeout) {
      c->close(close_code::kGoingAway, "idle: nothing received for " + std::to_string(options_.idleTimeout.count()) +
                                           " ms, pongs included");
    } else if (now - c->lastSent_ >= options_.heartbeat && c->head_ == c->pending_.size()) {
      ++c->queued_;
      c->push(pingFrame_);
      c->flush();
    }
  }
}

void Shard::forget(Connection& connection) {
  const std::size_t i = connection.index_;
  if (i >= connections_.size() || connections_[i].get() != &connection) return;
  connections_[i] = std::move(connections_.back());
  connections_[i]->index_ = i;
  connections_.pop_back();
  --stats_.open;
}

// ---- Connection ----------------------------------------------------------------

Connection::Connection(Shard& shard, tcp::socket socket, std::string clientId, std::string owner)
    : shard_(shard),
      socket_(std::move(socket)),
      clientId_(std::move(clientId)),
      owner_(std::move(owner)),
      parser_(shard.options_.maxMessageBytes),
      lastReceived_(Clock::now()),
      lastSent_(lastReceived_) {}

bool Connection::deliver(const bus::Published& event) {
  if (!accepting_.load(std::memory_order_relaxed)) return false;
  if (queued_.fetch_add(1, std::memory_order_relaxed) >= shard_.options_.queueLimit) {
    --queued_;
    if (accepting_.exchange(false)) {
      ++shard_.stats_.slowDisconnected;
      net::post(shard_.ioc_, [self = shared_from_this()] {
        // The client is not reading: drop what is queued, except a frame
        // already partly on the wire, which must be finished.
        std::shared_ptr<const std::string> partial;
        if (self->offset_ > 0) partial = self->pending_[self->head_];
        self->pending_.clear();
        self->head_ = 0;
        if (partial) self->pending_.push_back(std::move(partial));
        self->close(close_code::kPolicy, "send queue full: the client is not reading");
      });
    }
    return false;
  }
  shard_.enqueue(shared_from_this(), event);
  return true;
}

void Connection::sendText(std::string_view text) {
  if (state_ != State::kOpen) return;
  ++queued_;
  // A text frame must be UTF-8 (RFC 6455 5.6); replies may echo what a client
  // sent, so anything else is repaired here rather than trusted upstream.
  push(std::make_shared<const std::string>(
      validUtf8(text) ? frame(Opcode::kText, text) : frame(Opcode::kText, sanitizeUtf8(text))));
  flush();
}

void Connection::push(std::shared_ptr<const std::string> frame) { pending_.push_back(std::move(frame)); }

void Connection::flush() {
  if (writing_ || state_ == State::kDone) return;
  while (head_ < pending_.size()) {
    std::array<net::const_buffer, kGatherBuffers> buffers;
    std::size_t n = 0;
    for (std::size_t i = head_; i < pending_.size() && n < buffers.size(); ++i, ++n) {
      buffers[n] = net::buffer(*pending_[i]);
      if (n == 0) buffers[n] += offset_;
    }
    boost::system::error_code ec;
    std::size_t written = socket_.write_some(std::span(buffers.data(), n), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) break;
    if (ec) return teardown();
    lastSent_ = Clock::now();
    shard_.stats_.writeCalls.fetch_add(1, std::memory_order_relaxed);
    while (written > 0) {
      const std::size_t left = pending_[head_]->size() - offset_;
      if (written < left) {
        offset_ += written;
        break;
      }
      written -= left;
      offset_ = 0;
      pending_[head_++].reset();
      --queued_;
      shard_.stats_.framesSent.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (head_ < pending_.size()) {
    writing_ = true;
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
      self->writing_ = false;
      if (ec) return self->teardown();
      self->flush();
    });
    return;
  }
  pending_.clear();
  if (pending_.capacity() > 256) pending_.shrink_to_fit();  // after a replay or a burst
  head_ = 0;
  if (closeQueued_) {
    // Our close frame is out. After the peer's close the handshake is done;
    // otherwise stop sending and wait for it (the sweep gives up eventually).
    if (peerClosed_) return teardown();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
  }
}

void Connection::close(std::uint16_t code, std::string reason) {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  closingSince_ = Clock::now();
  accepting_ = false;
  subscriptions_.clear();
  ++queued_;
  push(std::make_shared<const std::string>(closeFrame(code, reason)));
  closeQueued_ = true;
  flush();
}

void Connection::armRead() {
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
    if (ec) return self->teardown();
    self->onReadable();
  });
}

void Connection::onReadable() {
  std::vector<Incoming> incoming;
  for (int round = 0; round < 4 && state_ != State::kDone; ++round) {
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(net::buffer(shard_.readBuffer_), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) break;
    if (ec) return teardown();  // EOF or reset
    lastReceived_ = Clock::now();
    parser_.feed(std::string_view(shard_.readBuffer_.data(), n), incoming);  // discards once failed or closed
    handle(incoming);
    incoming.clear();
    if (n < shard_.readBuffer_.size()) break;
  }
  if (state_ != State::kDone) armRead();
}

void Connection::handle(std::vector<Incoming>& incoming) {
  for (auto& in : incoming) {
    if (state_ == State::kDone) return;
    switch (in.kind) {
      case Incoming::Kind::kText:
        if (state_ == State::kOpen) shard_.handler_.onText(*this, in.payload);
        break;
      case Incoming::Kind::kBinary:
        close(close_code::kBadPayload, "expected JSON text messages");
        break;
      case Incoming::Kind::kPing:
        if (state_ == State::kOpen) {
          ++queued_;
          push(std::make_shared<const std::string>(frame(Opcode::kPong, in.payload)));
          flush();
        }
        break;
      case Incoming::Kind::kPong:
        break;
      case Incoming::Kind::kClose:
        peerClosed_ = true;
        if (state_ == State::kOpen) {
          close(in.code == 1005 ? close_code::kNormal : in.code, "");  // echo, then end
        } else if (head_ == pending_.size()) {
          teardown();  // we had closed already and our frame is out
        }
        break;
      case Incoming::Kind::kError:
        close(in.code, in.payload);
        break;
    }
  }
}

void Connection::teardown() {
  if (state_ == State::kDone) return;
  state_ = State::kDone;
  accepting_ = false;
  subscriptions_.clear();
  pending_.clear();
  head_ = offset_ = 0;
  boost::system::error_code ignored;
  socket_.close(ignored);  // pending waits complete with operation_aborted
  shard_.forget(*this);
}

}  // namespace ymy::server::ws
