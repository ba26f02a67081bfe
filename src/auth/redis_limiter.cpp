#include "auth/redis_limiter.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <string_view>

#include <hiredis/hiredis.h>

namespace ymy::auth {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// KEYS[1]: the key. ARGV[1]: emission interval (µs), ARGV[2]: burst.
// Returns {allowed, remaining, retryAfter µs, resetAfter µs}. The TAT is
// written with %d: Redis turns a Lua number argument into text with 14
// significant digits, which would round a microsecond timestamp.
constexpr const char* kScript = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
local base = math.max(tat, now)
local newTat = base + interval
local tolerance = interval * burst
if newTat - now > tolerance then
  return {0, 0, newTat - now - tolerance, base - now}
end
redis.call('SET', KEYS[1], string.format('%d', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, math.floor((tolerance - (newTat - now)) / interval), 0, newTat - now}
)lua";

std::string errnoText(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// 1 ready (or in error: the next call says which), 0 deadline passed, -1 poll failed.
int waitFor(int fd, short events, SteadyTime deadline) {
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return 0;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    pollfd p{fd, events, 0};
    const int r = ::ppoll(&p, 1, &timeout, nullptr);
    if (r > 0) return 1;
    if (r == 0) continue;
    if (errno != EINTR) return -1;
  }
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

std::string_view replyText(const redisReply& r) {
  return r.str != nullptr ? std::string_view(r.str, r.len) : std::string_view{};
}

}  // namespace

// One TCP connection: a non-blocking socket, hiredis's formatter and reply
// parser. After an error or timeout its stream is in an unknown state and the
// owner discards it.
class RedisLimiter::Connection {
 public:
  enum class Status { kReply, kError, kTimeout };
  struct Outcome {
    Status status = Status::kError;
    ReplyPtr reply;
    std::string error;
  };

  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
    if (reader_ != nullptr) redisReaderFree(reader_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t generation() const { return generation_; }
  const std::string& sha() const { return sha_; }

  static Result<std::unique_ptr<Connection>> open(const RedisLimiterOptions& o, SteadyTime deadline,
                                                  std::uint64_t generation) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(o.port);
    if (const int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return fail(ErrorCode::kIo, "cannot resolve " + o.host + ": " + ::gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    std::string lastError = "no address for " + o.host;
    for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        lastError = errnoText("socket", errno);
        continue;
      }
      std::unique_ptr<Connection> c(new Connection(fd, generation));
      if (c->reader_ == nullptr) return fail(ErrorCode::kInternal, "out of memory creating a Redis reply reader");
      if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
          lastError = errnoText("connect", errno);
          continue;
        }
        const int ready = waitFor(fd, POLLOUT, deadline);
        if (ready == 0) return fail(ErrorCode::kIo, "connect timed out");
        int err = 0;
        socklen_t len = sizeof err;
        if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err != 0) {
          lastError = errnoText("connect", err);
          continue;
        }
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (auto ok = c->handshake(o, deadline); !ok) return tl::unexpected(ok.error());
      if (auto ok = c->loadScript(deadline); !ok) return tl::unexpected(ok.error());
      return c;
    }
    return fail(ErrorCode::kIo, lastError);
  }

  Outcome command(std::initializer_list<std::string_view> args, SteadyTime deadline) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (length < 0) return {Status::kError, nullptr, "out of memory formatting a command"};
    std::unique_ptr<char, decltype(&redisFreeCommand)> request(formatted, &redisFreeCommand);

    std::size_t sent = 0;
    while (sent < static_cast<std::size_t>(length)) {
      const ssize_t n = ::send(fd_, formatted + sent, static_cast<std::size_t>(length) - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        const int ready = waitFor(fd_, POLLOUT, deadline);
        if (ready == 0) return {Status::kTimeout, nullptr, "send timed out"};
        if (ready < 0) return {Status::kError, nullptr, errnoText("poll", errno)};
        continue;
      }
      return {Status::kError, nullptr, errnoText("send", errno)};
    }
    for (;;) {
      void* parsed = nullptr;
      if (redisReaderGetReply(reader_, &parsed) != REDIS_OK) {
        return {Status::kError, nullptr, std::string("protocol error: ") + reader_->errstr};
      }
      if (parsed != nullptr) return {Status::kReply, ReplyPtr(static_cast<redisReply*>(parsed)), {}};
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        if (redisReaderFeed(reader_, buf, static_cast<std::size_t>(n)) != REDIS_OK) {
          return {Status::kError, nullptr, "out of memory reading a reply"};
        }
        continue;
      }
      if (n == 0) return {Status::kError, nullptr, "connection closed by Redis"};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        const int ready = waitFor(fd_, POLLIN, deadline);
        if (ready == 0) return {Status::kTimeout, nullptr, "reply timed out"};
        if (ready < 0) return {Status::kError, nullptr, errnoText("poll", errno)};
        continue;
      }
      return {Status::kError, nullptr, errnoText("recv", errno)};
    }
  }

 private:
  Connection(int fd, std::uint64_t generation) : fd_(fd), reader_(redisReaderCreate()), generation_(generation) {}

  Result<void> expectOk(Outcome outcome, const char* what) {
    if (outcome.status == Status::kTimeout) return fail(ErrorCode::kIo, std::string(what) + " timed out");
    if (outcome.status == Status::kError) return fail(ErrorCode::kIo, std::string(what) + ": " + outcome.error);
    if (outcome.reply->type == REDIS_REPLY_ERROR) {
      return fail(ErrorCode::kIo, std::string(what) + ": " + std::string(replyText(*outcome.reply)));
    }
    return {};
  }

  Result<void> handshake(const RedisLimiterOptions& o, SteadyTime deadline) {
    if (!o.password.empty()) {
      auto ok = o.username.empty() ? expectOk(command({"AUTH", o.password}, deadline), "AUTH")
                                   : expectOk(command({"AUTH", o.username, o.password}, deadline), "AUTH");
      if (!ok) return ok;
    }
    if (o.db != 0) {
      if (auto ok = expectOk(command({"SELECT", std::to_string(o.db)}, deadline), "SELECT"); !ok) return ok;
    }
    return {};
  }

  // Loads the script; EVALSHA uses the hash Redis answers.
  Result<void> loadScript(SteadyTime deadline) {
    auto loaded = command({"SCRIPT", "LOAD", kScript}, deadline);
    if (loaded.status != Status::kReply || loaded.reply->type != REDIS_REPLY_STRING) {
      return fail(ErrorCode::kIo,
                  "SCRIPT LOAD failed: " +
                      (loaded.status == Status::kReply ? std::string(replyText(*loaded.reply)) : loaded.error));
    }
    sha_ = std::string(replyText(*loaded.reply));
    return {};
  }

 private:
  int fd_;
  redisReader* reader_;
  const std::uint64_t generation_;
  std::string sha_;
};

const char* RedisLimiter::script() { return kScript; }

Result<std::unique_ptr<RedisLimiter>> RedisLimiter::create(RedisLimiterOptions options, const Clock& clock) {
  if (options.host.empty()) return fail(ErrorCode::kInvalidArgument, "redis limiter: host is empty");
  if (options.port == 0) return fail(ErrorCode::kInvalidArgument, "redis limiter: port must not be 0");
  if (options.poolSize == 0) return fail(ErrorCode::kInvalidArgument, "redis limiter: poolSize must be at least 1");
  if (options.instanceCount < 1) {
    return fail(ErrorCode::kInvalidArgument, "redis limiter: instanceCount must be at least 1");
  }
  if (options.commandTimeout <= std::chrono::microseconds::zero() ||
      options.connectTimeout <= std::chrono::milliseconds::zero()) {
    return fail(ErrorCode::kInvalidArgument, "redis limiter: commandTimeout and connectTimeout must be positive");
  }
  if (options.minReconnectInterval <= std::chrono::milliseconds::zero() ||
      options.maxReconnectInterval < options.minReconnectInterval) {
    return fail(ErrorCode::kInvalidArgument,
                "redis limiter: minReconnectInterval must be positive and at most maxReconnectInterval");
  }
  return std::unique_ptr<RedisLimiter>(new RedisLimiter(std::move(options), clock));
}

RedisLimiter::RedisLimiter(RedisLimiterOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      fallback_(clock, options_.fallback),
      backoffNanos_(std::chrono::nanoseconds(options_.minReconnectInterval).count()) {}

RedisLimiter::~RedisLimiter() = default;

Decision RedisLimiter::fallback(std::string_view key, const Limit& limit) {
  ++fallbackDecisions_;
  const auto n = options_.instanceCount;
  const Limit share{limit.rate, limit.period * n, std::max<std::int64_t>(1, limit.burst / n)};
  return fallback_.decide(key, share);
}

void RedisLimiter::recordError(const std::string& why) {
  std::lock_guard lock(lastErrorMutex_);
  lastError_ = why;
}

void RedisLimiter::markDown(std::uint64_t generation, const std::string& why) {
  recordError(why);
  {
    std::lock_guard lock(poolMutex_);
    if (generation != generation_) return;  // someone else already did
    ++generation_;
    idle_.clear();
    open_ = 0;
    up_.store(false);
    // The first attempt after minReconnectInterval; each failure doubles the next wait.
    const std::int64_t first = std::chrono::nanoseconds(options_.minReconnectInterval).count();
    retryAtNanos_.store(clock_.now().time_since_epoch().count() + first);
    backoffNanos_.store(
        std::min<std::int64_t>(first * 2, std::chrono::nanoseconds(options_.maxReconnectInterval).count()));
  }
  poolChanged_.notify_all();
}

bool RedisLimiter::reconnectIfDue() {
  if (clock_.now().time_since_epoch().count() < retryAtNanos_.load()) return false;
  bool expected = false;
  if (!reconnecting_.compare_exchange_strong(expected, true)) return false;  // another caller is at it
  std::uint64_t generation;
  {
    std::lock_guard lock(poolMutex_);
    generation = generation_ + 1;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.connectTimeout;
  auto opened = Connection::open(options_, deadline, generation);
  if (!opened) {
    ++connectFailures_;
    recordError(opened.error().message);
    const std::int64_t backoff = backoffNanos_.load();
    retryAtNanos_.store(clock_.now().time_since_epoch().count() + backoff);
    backoffNanos_.store(
        std::min<std::int64_t>(backoff * 2, std::chrono::nanoseconds(options_.maxReconnectInterval).count()));
    reconnecting_.store(false);
    return false;
  }
  {
    std::lock_guard lock(poolMutex_);
    generation_ = generation;
    idle_.clear();
    idle_.push_back(std::move(*opened));
    open_ = 1;
    up_.store(true);
    backoffNanos_.store(std::chrono::nanoseconds(options_.minReconnectInterval).count());
  }
  ++connects_;
  reconnecting_.store(false);
  poolChanged_.notify_all();
  return true;
}

std::unique_ptr<RedisLimiter::Connection> RedisLimiter::acquire(SteadyTime deadline) {
  std::unique_lock lock(poolMutex_);
  for (;;) {
    if (!up_.load()) return nullptr;
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (open_ < options_.poolSize) {
      ++open_;
      const std::uint64_t generation = generation_;
      lock.unlock();
      auto opened = Connection::open(options_, deadline, generation);
      if (!opened) {
        ++connectFailures_;
        markDown(generation, opened.error().message);
        return nullptr;
      }
      ++connects_;
      return std::move(*opened);
    }
    if (poolChanged_.wait_until(lock, deadline) == std::cv_status::timeout) return nullptr;
  }
}

void RedisLimiter::release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(poolMutex_);
    if (connection->generation() != generation_ || !up_.load()) return;  // retired
    idle_.push_back(std::move(connection));
  }
  poolChanged_.notify_one();
}

Decision RedisLimiter::decide(std::string_view key, const Limit& limit) {
  if (!validateLimit(limit)) return fallback_.decide(key, limit);  // denies; nothing to ask Redis
  if (!up_.load() && !reconnectIfDue()) {
    ++unavailable_;
    return fallback(key, limit);
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.commandTimeout;
  auto connection = acquire(deadline);
  if (!connection) {
    ++timeouts_;
    return fallback(key, limit);
  }
  const std::string fullKey = options_.keyPrefix + std::string(key);
  const auto intervalMicros = std::max<std::int64_t>(1, (limit.interval().count() + 999) / 1000);
  const std::string interval = std::to_string(intervalMicros);
  const std::string burst = std::to_string(limit.burst);
  auto outcome = connection->command({"EVALSHA", connection->sha(), "1", fullKey, interval, burst}, deadline);
  if (outcome.status == Connection::Status::kReply && outcome.reply->type == REDIS_REPLY_ERROR &&
      replyText(*outcome.reply).starts_with("NOSCRIPT")) {
    ++noscript_;
    outcome = connection->command({"EVAL", kScript, "1", fullKey, interval, burst}, deadline);
  }
  if (outcome.status == Connection::Status::kTimeout) {
    ++timeouts_;
    markDown(connection->generation(), "rate limit script: " + outcome.error);
    return fallback(key, limit);
  }
  if (outcome.status == Connection::Status::kError) {
    ++errors_;
    markDown(connection->generation(), "rate limit script: " + outcome.error);
    return fallback(key, limit);
  }
  const redisReply& r = *outcome.reply;
  const bool wellFormed =
      r.type == REDIS_REPLY_ARRAY && r.elements == 4 && std::all_of(r.element, r.element + 4, [](const redisReply* e) {
        return e != nullptr && e->type == REDIS_REPLY_INTEGER;
      });
  if (!wellFormed) {
    // An error reply (OOM, BUSY, a read-only replica) leaves the stream usable.
    ++errors_;
    recordError("rate limit script answered " +
                (r.type == REDIS_REPLY_ERROR ? std::string(replyText(r)) : std::string("an unexpected reply")));
    release(std::move(connection));
    return fallback(key, limit);
  }
  Decision d;
  d.allowed = r.element[0]->integer == 1;
  d.limit = limit.burst;
  d.remaining = r.element[1]->integer;
  d.retryAfter = std::chrono::microseconds(r.element[2]->integer);
  d.resetAfter = std::chrono::microseconds(r.element[3]->integer);
  release(std::move(connection));
  ++redisDecisions_;
  return d;
}

RedisLimiterStats RedisLimiter::stats() const {
  RedisLimiterStats s;
  s.redisDecisions = redisDecisions_.load();
  s.fallbackDecisions = fallbackDecisions_.load();
  s.errors = errors_.load();
  s.timeouts = timeouts_.load();
  s.unavailable = unavailable_.load();
  s.noscript = noscript_.load();
  s.connects = connects_.load();
  s.connectFailures = connectFailures_.load();
  s.connected = up_.load();
  std::lock_guard lock(lastErrorMutex_);
  s.lastError = lastError_;
  return s;
}

}  // namespace ymy::auth
