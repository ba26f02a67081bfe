#include <charconv>
#include <mutex>
#include <random>
#include <utility>

#include "bus/relay.hpp"
#include "model/clock.hpp"
#include "redis/pool.hpp"
#include "redis/subscriber.hpp"

namespace ymy::bus {

namespace {

std::string randomOrigin() {
  std::random_device device;
  std::uniform_int_distribution<std::uint64_t> any;
  const std::uint64_t v = any(device) ^ (static_cast<std::uint64_t>(device()) << 32);
  char text[17];
  auto [end, ec] = std::to_chars(text, text + 16, v, 16);
  return std::string(text, end);
}

class RedisRelay final : public Relay {
 public:
  RedisRelay(redis::Endpoint endpoint, RedisRelayOptions options)
      : options_(std::move(options)), origin_(randomOrigin()), pool_([&] {
          redis::PoolOptions p;
          p.endpoint = endpoint;
          p.size = options_.publishConnections;
          p.prefill = false;
          p.connectTimeout = options_.connectTimeout;
          p.minReconnectInterval = options_.minReconnectInterval;
          p.maxReconnectInterval = options_.maxReconnectInterval;
          p.maxReplyBytes = 64 * 1024;  // PUBLISH answers an integer
          return p;
        }(), clock_) {
    endpoint_ = std::move(endpoint);
  }

  // After construction (the subscriber calls back into this object).
  Result<void> start() {
    redis::SubscriberOptions s;
    s.endpoint = endpoint_;
    s.pattern = options_.channelPrefix + "*";
    s.connectTimeout = options_.connectTimeout;
    s.minReconnectInterval = options_.minReconnectInterval;
    s.maxReconnectInterval = options_.maxReconnectInterval;
    s.pingInterval = options_.pingInterval;
    s.pingTimeout = options_.pingInterval;
    redis::SubscriberCallbacks callbacks;
    callbacks.onConnected = [this] {
      std::lock_guard lock(sinkMutex_);
      if (sink_ != nullptr) sink_->onRelayConnected();
    };
    callbacks.onLost = [this](std::string_view why) {
      std::lock_guard lock(sinkMutex_);
      if (sink_ != nullptr) sink_->onRelayLost(why);
    };
    callbacks.onMessage = [this](std::string_view channel, std::string_view payload) { arrived(channel, payload); };
    auto subscriber = redis::Subscriber::start(std::move(s), std::move(callbacks));
    if (!subscriber) return tl::unexpected(subscriber.error());
    subscriber_ = std::move(*subscriber);
    return {};
  }

  ~RedisRelay() override {
    subscriber_.reset();  // joins its thread: no callback after this
  }

  Result<void> publish(const RelayMessage& message) override {
    if (!pool_.up() && !pool_.reconnect()) {
      return fail(ErrorCode::kIo, "relay: Redis is unavailable (" + pool_.lastError() + ")");
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.publishTimeout;
    auto connection = pool_.acquire(deadline);
    if (!connection) return fail(ErrorCode::kIo, "relay: no Redis connection within the publish timeout");
    std::string payload;
    payload.reserve(origin_.size() + 24 + message.json.size());
    payload.append(origin_).append(" ").append(std::to_string(message.seq)).append(message.final ? " 1\n" : " 0\n");
    payload.append(message.json);
    const std::string channel = options_.channelPrefix + message.executionId;
    auto reply = connection->call({"PUBLISH", channel, payload}, deadline);
    if (!reply) {
      pool_.markDown(connection->generation(), reply.error().message);
      return tl::unexpected(reply.error());
    }
    pool_.release(std::move(connection));
    return {};
  }

  void setSink(RelaySink* sink) override {
    std::lock_guard lock(sinkMutex_);
    sink_ = sink;
  }

  bool connected() const override { return subscriber_ && subscriber_->connected(); }

 private:
  void arrived(std::string_view channel, std::string_view payload) {
    if (!channel.starts_with(options_.channelPrefix)) return;
    // "<origin> <seq> <final>\n<json>"; anything else is not ours: ignored.
    const auto space1 = payload.find(' ');
    const auto newline = payload.find('\n');
    if (space1 == std::string_view::npos || newline == std::string_view::npos || newline < space1) return;
    if (payload.substr(0, space1) == origin_) return;  // our own: delivered locally already
    const std::string_view header = payload.substr(space1 + 1, newline - space1 - 1);
    const auto space2 = header.find(' ');
    if (space2 == std::string_view::npos) return;
    RelayMessage m;
    const auto seqText = header.substr(0, space2);
    if (auto [p, ec] = std::from_chars(seqText.data(), seqText.data() + seqText.size(), m.seq);
        ec != std::errc() || p != seqText.data() + seqText.size() || m.seq == 0) {
      return;
    }
    m.final = header.substr(space2 + 1) == "1";
    m.executionId = std::string(channel.substr(options_.channelPrefix.size()));
    m.json = std::string(payload.substr(newline + 1));
    std::lock_guard lock(sinkMutex_);
    if (sink_ != nullptr) sink_->onRelayEvent(m);
  }

  // Constant after construction.
  const RedisRelayOptions options_;
  const std::string origin_;
  redis::Endpoint endpoint_;
  SystemClock clock_;  // the publish pool's reconnection schedule
  redis::Pool pool_;

  std::mutex sinkMutex_;  // held while calling the sink
  RelaySink* sink_ = nullptr;  // guarded by sinkMutex_

  std::unique_ptr<redis::Subscriber> subscriber_;  // last: stopped first
};

}  // namespace

Result<std::unique_ptr<Relay>> makeRedisRelay(std::string_view url, RedisRelayOptions options) {
  auto endpoint = redis::parseUrl(url);
  if (!endpoint) return tl::unexpected(endpoint.error());
  auto bad = [](const std::string& what) { return fail(ErrorCode::kInvalidArgument, "redis relay: " + what); };
  if (options.channelPrefix.empty()) return bad("channelPrefix is empty");
  const auto zero = std::chrono::milliseconds::zero();
  if (options.publishTimeout <= zero || options.connectTimeout <= zero || options.minReconnectInterval <= zero ||
      options.pingInterval <= zero) {
    return bad("publishTimeout, connectTimeout, minReconnectInterval and pingInterval must be positive");
  }
  if (options.maxReconnectInterval < options.minReconnectInterval) {
    return bad("maxReconnectInterval is below minReconnectInterval");
  }
  if (options.publishConnections == 0) return bad("publishConnections must be positive");
  auto relay = std::make_unique<RedisRelay>(std::move(*endpoint), std::move(options));
  if (auto ok = relay->start(); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<Relay>(std::move(relay));
}

}  // namespace ymy::bus
