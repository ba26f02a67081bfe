#include "redis/subscriber.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "redis/connection.hpp"
#include "redis/pool.hpp"

namespace ymy::redis {

Result<std::unique_ptr<Subscriber>> Subscriber::start(SubscriberOptions options, SubscriberCallbacks callbacks) {
  auto bad = [](const std::string& what) { return fail(ErrorCode::kInvalidArgument, "redis subscriber: " + what); };
  if (options.endpoint.host.empty()) return bad("endpoint.host is empty");
  if (options.endpoint.port == 0) return bad("endpoint.port is 0");
  if (options.pattern.empty()) return bad("pattern is empty");
  const auto zero = std::chrono::milliseconds::zero();
  if (options.connectTimeout <= zero || options.minReconnectInterval <= zero || options.pingInterval <= zero ||
      options.pingTimeout <= zero) {
    return bad("connectTimeout, minReconnectInterval, pingInterval and pingTimeout must be positive");
  }
  if (options.maxReconnectInterval < options.minReconnectInterval) {
    return bad("maxReconnectInterval is below minReconnectInterval");
  }
  const int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return fail(ErrorCode::kIo, std::string("redis subscriber: eventfd: ") + std::strerror(errno));
  return std::unique_ptr<Subscriber>(new Subscriber(std::move(options), std::move(callbacks), fd));
}

Subscriber::Subscriber(SubscriberOptions options, SubscriberCallbacks callbacks, int wakeFd)
    : options_(std::move(options)), callbacks_(std::move(callbacks)), wakeFd_(wakeFd) {
  thread_ = std::thread([this] { run(); });
}

Subscriber::~Subscriber() {
  {
    std::lock_guard lock(sleepMutex_);
    stopping_.store(true, std::memory_order_release);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wakeFd_, &one, sizeof one);
  sleepWake_.notify_all();
  thread_.join();
  ::close(wakeFd_);
}

void Subscriber::recordError(const std::string& why) {
  std::lock_guard lock(lastErrorMutex_);
  lastError_ = why;
}

SubscriberStats Subscriber::stats() const {
  SubscriberStats s;
  s.messages = messages_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  s.connectFailures = connectFailures_.load(std::memory_order_relaxed);
  s.losses = losses_.load(std::memory_order_relaxed);
  s.connected = connected();
  std::lock_guard lock(lastErrorMutex_);
  s.lastError = lastError_;
  return s;
}

void Subscriber::run() {
  Backoff backoff(options_.minReconnectInterval, options_.maxReconnectInterval);
  while (!stopping()) {
    if (session()) backoff.reset();
    if (stopping()) break;
    std::unique_lock lock(sleepMutex_);
    sleepWake_.wait_for(lock, backoff.next(), [&] { return stopping(); });
  }
}

bool Subscriber::session() {
  using Clock = std::chrono::steady_clock;
  auto opened = Connection::open(options_.endpoint, Clock::now() + options_.connectTimeout,
                                 options_.maxMessageBytes);
  auto failed = [&](const std::string& why) {
    connectFailures_.fetch_add(1, std::memory_order_relaxed);
    recordError("subscribe to " + options_.endpoint.describe() + ": " + why);
    return false;
  };
  if (!opened) return failed(opened.error().message);
  Connection& c = **opened;
  auto subscribed = c.command({"PSUBSCRIBE", options_.pattern}, Clock::now() + options_.connectTimeout);
  if (subscribed.status != Connection::Status::kReply) return failed("PSUBSCRIBE: " + subscribed.error);
  const Reply& r = *subscribed.reply;
  if (r.type != ReplyType::kArray || r.elements.size() != 3 || !r.elements[0] || r.elements[0]->str() != "psubscribe") {
    return failed("PSUBSCRIBE: unexpected reply" + (r.type == ReplyType::kError ? ": " + std::string(r.str()) : ""));
  }

  connected_.store(true, std::memory_order_release);
  connects_.fetch_add(1, std::memory_order_relaxed);
  if (callbacks_.onConnected) callbacks_.onConnected();

  auto lost = [&](const std::string& why) {
    connected_.store(false, std::memory_order_release);
    losses_.fetch_add(1, std::memory_order_relaxed);
    recordError("subscription to " + options_.endpoint.describe() + " lost: " + why);
    if (callbacks_.onLost) callbacks_.onLost(why);
    return true;
  };
  bool pingOutstanding = false;
  auto deadline = Clock::now() + options_.pingInterval;
  while (!stopping()) {
    auto in = c.receive(deadline, wakeFd_);
    switch (in.status) {
      case Connection::Status::kInterrupted:
        connected_.store(false, std::memory_order_release);
        return true;
      case Connection::Status::kError:
        return lost(in.error);
      case Connection::Status::kTimeout:
        if (pingOutstanding) return lost("no answer to PING within " + std::to_string(options_.pingTimeout.count()) + " ms");
        // Subscribed mode allows PING; its answer is a ["pong", ""] push.
        if (auto sent = c.send({"PING"}, Clock::now() + options_.pingTimeout);
            sent.status != Connection::Status::kReply) {
          return lost("PING: " + sent.error);
        }
        pingOutstanding = true;
        deadline = Clock::now() + options_.pingTimeout;
        continue;
      case Connection::Status::kReply:
        break;
    }
    pingOutstanding = false;
    deadline = Clock::now() + options_.pingInterval;
    const Reply& m = *in.reply;
    if (m.type != ReplyType::kArray || m.elements.empty() || !m.elements[0]) continue;
    if (m.elements[0]->str() == "pmessage" && m.elements.size() == 4 && m.elements[2] && m.elements[3]) {
      messages_.fetch_add(1, std::memory_order_relaxed);
      if (callbacks_.onMessage) callbacks_.onMessage(m.elements[2]->str(), m.elements[3]->str());
    }
  }
  connected_.store(false, std::memory_order_release);
  return true;
}

}  // namespace ymy::redis
