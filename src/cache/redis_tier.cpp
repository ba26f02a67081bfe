#include "cache/redis_tier.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <utility>

#include <hiredis/hiredis.h>

namespace ymy::cache {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

std::string errnoText(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// Waits for `events` on `fd` until `deadline`: 1 ready (or hung up / in error:
// the next read or write says which), 0 deadline passed, -1 poll failed.
int waitFor(int fd, short events, SteadyTime deadline) {
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return 0;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    pollfd p{fd, events, 0};
    const int r = ::ppoll(&p, 1, &timeout, nullptr);
    if (r > 0) return 1;
    if (r == 0) continue;  // re-check the deadline against the clock
    if (errno != EINTR) return -1;
  }
}

// Replies are built by hiredis's parser straight into these objects (through
// its object-function hooks), so a bulk string is copied once, from the
// parser's buffer into the shared string that get() hands out.
struct Reply {
  int type = 0;                                  // REDIS_REPLY_*
  std::shared_ptr<const std::string> text;       // STRING, STATUS, ERROR
  long long integer = 0;                         // INTEGER
  std::vector<std::unique_ptr<Reply>> elements;  // ARRAY
};
using ReplyPtr = std::unique_ptr<Reply>;

// Children belong to their array; hiredis holds only the root.
void* adopt(const redisReadTask* task, ReplyPtr reply) {
  Reply* raw = reply.get();
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    parent->elements[static_cast<std::size_t>(task->idx)] = std::move(reply);
  } else {
    reply.release();
  }
  return raw;
}

// C callbacks: nothing may throw through hiredis; nullptr reports out of memory.
template <class F>
void* guarded(F&& f) noexcept {
  try {
    return f();
  } catch (...) {
    return nullptr;
  }
}

redisReplyObjectFunctions kReplyFunctions = {
    [](const redisReadTask* task, char* str, std::size_t len) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = task->type;
        r->text = std::make_shared<const std::string>(str, len);
        return adopt(task, std::move(r));
      });
    },
    [](const redisReadTask* task, int elements) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = REDIS_REPLY_ARRAY;
        r->elements.resize(static_cast<std::size_t>(std::max(elements, 0)));
        return adopt(task, std::move(r));
      });
    },
    [](const redisReadTask* task, long long value) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = REDIS_REPLY_INTEGER;
        r->integer = value;
        return adopt(task, std::move(r));
      });
    },
    [](const redisReadTask* task) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = REDIS_REPLY_NIL;
        return adopt(task, std::move(r));
      });
    },
    [](void* reply) { delete static_cast<Reply*>(reply); },
};

std::string_view replyText(const Reply& r) { return r.text ? std::string_view(*r.text) : std::string_view{}; }

}  // namespace

// One TCP connection to Redis: a non-blocking socket, hiredis's command
// formatter on the way out and its reply parser on the way in. After an error
// or a timeout its stream is in an unknown state: the owner discards it.
class RedisTier::Connection {
 public:
  enum class Status { kReply, kError, kTimeout };
  struct Outcome {
    Status status = Status::kError;
    ReplyPtr reply;     // with kReply
    std::string error;  // with kError
  };

  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
    if (reader_ != nullptr) redisReaderFree(reader_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t generation() const { return generation_; }

  // Resolves, connects, authenticates, selects the database and PINGs, all
  // before `deadline`.
  static Result<std::unique_ptr<Connection>> open(const RedisEndpoint& endpoint, SteadyTime deadline,
                                                  std::size_t maxReplyBytes, std::uint64_t generation) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(endpoint.port);
    if (const int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return fail(ErrorCode::kIo, "cannot resolve " + endpoint.host + ": " + ::gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
    std::string lastError = "no address for " + endpoint.host;
    for (const addrinfo* a = addresses.get(); a != nullptr; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        lastError = errnoText("socket", errno);
        continue;
      }
      std::unique_ptr<Connection> c(new Connection(fd, maxReplyBytes, generation));
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
        if (ready < 0)
          err = errno;
        else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
          err = errno;
        if (err != 0) {
          lastError = errnoText("connect", err);
          continue;
        }
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (auto ok = c->handshake(endpoint, deadline); !ok) return tl::unexpected(ok.error());
      return c;
    }
    return fail(ErrorCode::kIo, lastError);
  }

  // Sends one command and reads its reply, all before `deadline`.
  Outcome command(std::initializer_list<std::string_view> args, SteadyTime deadline) {
    return command(std::vector<std::string_view>(args), deadline);
  }
  // The reply, or an error value naming the command (an error reply included).
  Result<ReplyPtr> call(const std::vector<std::string_view>& args, SteadyTime deadline) {
    auto outcome = command(args, deadline);
    const std::string name(args.empty() ? std::string_view("command") : args.front());
    switch (outcome.status) {
      case Status::kReply:
        if (outcome.reply->type == REDIS_REPLY_ERROR) {
          return fail(ErrorCode::kIo, name + " refused: " + std::string(replyText(*outcome.reply)));
        }
        return std::move(outcome.reply);
      case Status::kTimeout:
        return fail(ErrorCode::kIo, name + " timed out");
      case Status::kError:
        break;
    }
    return fail(ErrorCode::kIo, name + ": " + outcome.error);
  }
  Outcome command(const std::vector<std::string_view>& args, SteadyTime deadline) {
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

    // MSG_NOSIGNAL: a peer that went away is an error value, not SIGPIPE.
    for (std::size_t sent = 0; sent < static_cast<std::size_t>(length);) {
      const ssize_t n = ::send(fd_, formatted + sent, length - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        const int ready = waitFor(fd_, POLLOUT, deadline);
        if (ready == 0) return {Status::kTimeout, nullptr, {}};
        if (ready < 0) return {Status::kError, nullptr, errnoText("poll", errno)};
      } else {
        return {Status::kError, nullptr, errnoText("send", n < 0 ? errno : EPIPE)};
      }
    }

    std::size_t received = 0;
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
        return {Status::kError, nullptr, std::string("protocol error: ") + reader_->errstr};
      }
      if (reply != nullptr) return {Status::kReply, ReplyPtr(static_cast<Reply*>(reply)), {}};
      const int ready = waitFor(fd_, POLLIN, deadline);
      if (ready == 0) return {Status::kTimeout, nullptr, {}};
      if (ready < 0) return {Status::kError, nullptr, errnoText("poll", errno)};
      const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n == 0) return {Status::kError, nullptr, "connection closed by Redis"};
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return {Status::kError, nullptr, errnoText("recv", errno)};
      }
      received += static_cast<std::size_t>(n);
      if (received > maxReplyBytes_) {
        return {Status::kError, nullptr, "reply larger than " + std::to_string(maxReplyBytes_) + " bytes"};
      }
      if (redisReaderFeed(reader_, buffer_.data(), static_cast<std::size_t>(n)) != REDIS_OK) {
        return {Status::kError, nullptr, "out of memory reading a reply"};
      }
    }
  }

 private:
  Connection(int fd, std::size_t maxReplyBytes, std::uint64_t generation)
      : fd_(fd),
        reader_(redisReaderCreateWithFunctions(&kReplyFunctions)),
        buffer_(64 * 1024),
        // The reply's protocol framing on top of the largest value.
        maxReplyBytes_(maxReplyBytes + 1024),
        generation_(generation) {}

  Result<void> handshake(const RedisEndpoint& endpoint, SteadyTime deadline) {
    auto expectOk = [&](Outcome o, const char* what, std::string_view expected) -> Result<void> {
      if (o.status == Status::kTimeout) return fail(ErrorCode::kIo, std::string(what) + " timed out");
      if (o.status == Status::kError) return fail(ErrorCode::kIo, std::string(what) + ": " + o.error);
      if (o.reply->type == REDIS_REPLY_ERROR) {
        return fail(ErrorCode::kIo, std::string(what) + " refused: " + std::string(replyText(*o.reply)));
      }
      if (o.reply->type != REDIS_REPLY_STATUS || replyText(*o.reply) != expected) {
        return fail(ErrorCode::kIo, std::string(what) + ": unexpected reply");
      }
      return {};
    };
    if (!endpoint.password.empty()) {
      auto o = endpoint.username.empty() ? command({"AUTH", endpoint.password}, deadline)
                                         : command({"AUTH", endpoint.username, endpoint.password}, deadline);
      if (auto ok = expectOk(std::move(o), "AUTH", "OK"); !ok) return ok;
    }
    if (endpoint.db != 0) {
      const std::string db = std::to_string(endpoint.db);
      if (auto ok = expectOk(command({"SELECT", db}, deadline), "SELECT", "OK"); !ok) return ok;
    }
    return expectOk(command({"PING"}, deadline), "PING", "PONG");
  }

  int fd_;
  redisReader* reader_;
  std::vector<char> buffer_;
  const std::size_t maxReplyBytes_;
  const std::uint64_t generation_;
};

// ---------------------------------------------------------------------------
// URL

std::string RedisEndpoint::describe() const {
  std::string s = "redis://";
  if (!password.empty()) s += username + ":***@";
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ":" + std::to_string(port) + "/" + std::to_string(db);
  return s;
}

namespace {

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// %XX decoding of user and password; nullopt on a malformed escape.
std::optional<std::string> percentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace

Result<RedisEndpoint> parseRedisUrl(std::string_view url) {
  static constexpr std::string_view kForm = "redis://[[user]:password@]host[:port][/db]";
  // Error messages show the URL with its password replaced.
  std::string shown(url);
  auto bad = [&](const std::string& what) -> Result<RedisEndpoint> {
    return fail(ErrorCode::kInvalidArgument,
                "redis URL \"" + shown + "\": " + what + " (expected " + std::string(kForm) + ")");
  };
  if (url.empty()) return bad("is empty");

  const auto schemeEnd = url.find("://");
  if (schemeEnd == std::string_view::npos) return bad("has no scheme; it must start with redis://");
  std::string scheme(url.substr(0, schemeEnd));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });

  const std::string_view rest = url.substr(schemeEnd + 3);
  const auto authorityEnd = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authorityEnd);
  const std::string_view tail = authorityEnd == std::string_view::npos ? std::string_view{} : rest.substr(authorityEnd);
  const auto at = authority.rfind('@');
  const std::string_view userinfo = at == std::string_view::npos ? std::string_view{} : authority.substr(0, at);
  const std::string_view hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (at != std::string_view::npos) {
    const auto colon = userinfo.find(':');
    // Without a colon the whole userinfo may be a password: hide all of it.
    const std::string user = colon == std::string_view::npos ? "***" : std::string(userinfo.substr(0, colon)) + ":***";
    shown = std::string(url.substr(0, schemeEnd + 3)) + user + "@" + std::string(hostport) + std::string(tail);
  }

  if (scheme == "rediss") return bad("TLS (rediss://) is not supported");
  if (scheme == "unix") return bad("unix sockets are not supported");
  if (scheme != "redis") return bad("scheme \"" + scheme + "\" is not redis");

  RedisEndpoint e;
  if (at != std::string_view::npos) {
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return bad("credentials must be written :password@ or user:password@");
    auto user = percentDecode(userinfo.substr(0, colon));
    auto password = percentDecode(userinfo.substr(colon + 1));
    if (!user || !password) return bad("credentials contain a malformed %-escape");
    if (password->empty()) return bad("password is empty");
    e.username = std::move(*user);
    e.password = std::move(*password);
  }

  std::string_view portText;
  bool hasPort = false;
  if (hostport.empty()) return bad("host is missing");
  if (hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad("IPv6 host has no closing ]");
    e.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected \"" + std::string(after) + "\" after the IPv6 host");
      portText = after.substr(1);
      hasPort = true;
    }
  } else {
    const auto colon = hostport.rfind(':');
    if (colon != std::string_view::npos && hostport.substr(0, colon).find(':') != std::string_view::npos) {
      return bad("IPv6 hosts must be written in brackets, as [::1]:6379");
    }
    e.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = hostport.substr(colon + 1);
      hasPort = true;
    }
  }
  if (e.host.empty()) return bad("host is missing");
  if (hasPort) {
    if (portText.empty()) return bad("port is empty");
    if (!allDigits(portText) || portText.size() > 5 || std::stoi(std::string(portText)) < 1 ||
        std::stoi(std::string(portText)) > 65535) {
      return bad("port \"" + std::string(portText) + "\" is not a number from 1 to 65535");
    }
    e.port = static_cast<std::uint16_t>(std::stoi(std::string(portText)));
  }

  if (!tail.empty()) {
    if (tail.front() != '/' || tail.find_first_of("?#") != std::string_view::npos) {
      return bad("query strings and fragments are not supported");
    }
    const std::string_view db = tail.substr(1);
    if (!db.empty()) {
      if (!allDigits(db) || db.size() > 6) return bad("database \"" + std::string(db) + "\" is not a number from 0");
      e.db = std::stoi(std::string(db));
    }
  }
  return e;
}

// ---------------------------------------------------------------------------
// The tier

Result<std::unique_ptr<RedisTier>> RedisTier::create(RedisTierOptions options, const Clock& clock) {
  auto bad = [](const std::string& what) { return fail(ErrorCode::kInvalidArgument, "redis cache: " + what); };
  if (options.endpoint.host.empty()) return bad("endpoint.host is empty");
  if (options.endpoint.port == 0) return bad("endpoint.port is 0");
  if (options.endpoint.db < 0) return bad("endpoint.db is negative");
  if (options.connectTimeout <= std::chrono::milliseconds::zero()) return bad("connectTimeout must be positive");
  if (options.commandTimeout <= std::chrono::microseconds::zero()) return bad("commandTimeout must be positive");
  if (options.putTimeout <= std::chrono::milliseconds::zero()) return bad("putTimeout must be positive");
  if (options.minReconnectInterval <= std::chrono::milliseconds::zero()) {
    return bad("minReconnectInterval must be positive");
  }
  if (options.maxReconnectInterval < options.minReconnectInterval) {
    return bad("maxReconnectInterval is below minReconnectInterval");
  }
  if (options.poolSize == 0) return bad("poolSize must be positive");
  if (options.putQueueEntries == 0) return bad("putQueueEntries must be positive");
  if (options.maxValueBytes == 0) return bad("maxValueBytes must be positive");
  if (options.putQueueBytes < options.maxValueBytes) return bad("putQueueBytes is below maxValueBytes");
  return std::unique_ptr<RedisTier>(new RedisTier(std::move(options), clock));
}

RedisTier::RedisTier(RedisTierOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), backoff_(options_.minReconnectInterval) {
  retryAtNanos_ = clock_.now().time_since_epoch().count();
  reconnectPending_ = true;  // the worker's first job: connect
  worker_ = std::thread([this] { workerLoop(); });
}

RedisTier::~RedisTier() {
  {
    std::lock_guard lock(workMutex_);
    stopping_ = true;
  }
  workReady_.notify_all();
  workDone_.notify_all();
  worker_.join();
}

RedisTier::Value RedisTier::get(std::string_view key) {
  if (!up_.load(std::memory_order_acquire)) {
    unavailable_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    maybeRequestReconnect();
    return nullptr;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.commandTimeout;
  std::string fullKey;
  fullKey.reserve(options_.keyPrefix.size() + key.size());
  fullKey.append(options_.keyPrefix).append(key);

  auto connection = acquire(deadline);
  if (!connection) {
    (up_.load() ? busy_ : unavailable_).fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto outcome = connection->command({"GET", fullKey}, deadline);
  Value value;
  switch (outcome.status) {
    case Connection::Status::kReply:
      if (outcome.reply->type == REDIS_REPLY_STRING) {
        value = std::move(outcome.reply->text);
      } else if (outcome.reply->type == REDIS_REPLY_ERROR) {
        // Redis answered (WRONGTYPE, LOADING, NOAUTH, ...): the connection is fine.
        errors_.fetch_add(1, std::memory_order_relaxed);
        recordError("GET refused: " + std::string(replyText(*outcome.reply)));
      } else if (outcome.reply->type != REDIS_REPLY_NIL) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        markDown(connection->generation(), "GET: unexpected reply type " + std::to_string(outcome.reply->type));
        connection.reset();
      }
      break;
    case Connection::Status::kError:
      errors_.fetch_add(1, std::memory_order_relaxed);
      markDown(connection->generation(), "GET: " + outcome.error);
      connection.reset();
      break;
    case Connection::Status::kTimeout:
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      markDown(connection->generation(),
               "GET timed out after " + std::to_string(options_.commandTimeout.count()) + " us");
      connection.reset();
      break;
  }
  if (connection) release(std::move(connection));
  (value ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return value;
}

Result<std::size_t> RedisTier::run(const std::function<Result<std::size_t>(Connection&, SteadyTime)>& work,
                                   std::chrono::milliseconds budget, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto connection = acquire(deadline);
  if (!connection) {
    return fail(ErrorCode::kIo, std::string(what) + ": Redis is unavailable" +
                                    (lastError().empty() ? std::string() : " (" + lastError() + ")"));
  }
  const auto generation = connection->generation();
  auto result = work(*connection, deadline);
  if (result) {
    release(std::move(connection));
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
    markDown(generation, std::string(what) + ": " + result.error().message);
  }
  return result;
}

std::string RedisTier::lastError() const {
  std::lock_guard lock(lastErrorMutex_);
  return lastError_;
}

Result<void> RedisTier::erase(std::string_view key) {
  const std::string fullKey = options_.keyPrefix + std::string(key);
  auto done = run(
      [&](Connection& c, SteadyTime deadline) -> Result<std::size_t> {
        auto reply = c.call({"UNLINK", fullKey}, deadline);
        if (!reply) return tl::unexpected(reply.error());
        return static_cast<std::size_t>((*reply)->integer);
      },
      options_.putTimeout, "erase");
  if (!done) return tl::unexpected(done.error());
  return {};
}

Result<std::size_t> RedisTier::clear() {
  const std::string pattern = options_.keyPrefix + "*";
  return run(
      [&](Connection& c, SteadyTime deadline) -> Result<std::size_t> {
        std::size_t removed = 0;
        std::string cursor = "0";
        do {
          auto reply = c.call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}, deadline);
          if (!reply) return tl::unexpected(reply.error());
          const Reply& r = **reply;
          if (r.type != REDIS_REPLY_ARRAY || r.elements.size() != 2 || !r.elements[0] || !r.elements[1] ||
              r.elements[1]->type != REDIS_REPLY_ARRAY) {
            return fail(ErrorCode::kIo, "SCAN: unexpected reply");
          }
          cursor = std::string(replyText(*r.elements[0]));
          std::vector<std::string_view> unlink{"UNLINK"};
          for (const auto& k : r.elements[1]->elements) {
            if (k) unlink.push_back(replyText(*k));
          }
          if (unlink.size() > 1) {
            auto n = c.call(unlink, deadline);
            if (!n) return tl::unexpected(n.error());
            removed += static_cast<std::size_t>((*n)->integer);
          }
        } while (cursor != "0");
        return removed;
      },
      std::chrono::milliseconds(5'000), "clear");
}

bool RedisTier::put(std::string_view key, Value value, std::chrono::milliseconds ttl) {
  if (!value || ttl <= std::chrono::milliseconds::zero() || value->size() > options_.maxValueBytes) {
    putsDropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const std::size_t bytes = options_.keyPrefix.size() + key.size() + value->size();
  {
    std::lock_guard lock(workMutex_);
    if (stopping_ || queue_.size() >= options_.putQueueEntries || queueBytes_ + bytes > options_.putQueueBytes) {
      putsDropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::string fullKey;
    fullKey.reserve(options_.keyPrefix.size() + key.size());
    fullKey.append(options_.keyPrefix).append(key);
    queue_.push_back(PendingPut{std::move(fullKey), std::move(value), ttl, bytes});
    queueBytes_ += bytes;
  }
  putsQueued_.fetch_add(1, std::memory_order_relaxed);
  workReady_.notify_one();
  return true;
}

void RedisTier::waitIdle() {
  std::unique_lock lock(workMutex_);
  workDone_.wait(lock, [&] { return stopping_ || (queue_.empty() && !reconnectPending_ && !working_); });
}

RedisTierStats RedisTier::stats() const {
  RedisTierStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.unavailable = unavailable_.load(std::memory_order_relaxed);
  s.busy = busy_.load(std::memory_order_relaxed);
  s.connects = connects_.load(std::memory_order_relaxed);
  s.connectFailures = connectFailures_.load(std::memory_order_relaxed);
  s.putsQueued = putsQueued_.load(std::memory_order_relaxed);
  s.putsWritten = putsWritten_.load(std::memory_order_relaxed);
  s.putsDropped = putsDropped_.load(std::memory_order_relaxed);
  s.putsFailed = putsFailed_.load(std::memory_order_relaxed);
  s.connected = up_.load();
  std::lock_guard lock(lastErrorMutex_);
  s.lastError = lastError_;
  return s;
}

std::unique_ptr<RedisTier::Connection> RedisTier::acquire(SteadyTime deadline) {
  std::unique_lock lock(poolMutex_);
  if (!poolChanged_.wait_until(lock, deadline, [&] { return !idle_.empty() || !up_.load(); })) return nullptr;
  if (!up_.load()) return nullptr;
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return connection;
}

void RedisTier::release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(poolMutex_);
    if (up_.load() && connection->generation() == generation_) {
      idle_.push_back(std::move(connection));
    }
  }
  // A retired connection (if any) closes here, outside the lock.
  connection.reset();
  poolChanged_.notify_one();
}

void RedisTier::recordError(const std::string& why) {
  std::lock_guard lock(lastErrorMutex_);
  lastError_ = why;
}

void RedisTier::markDown(std::uint64_t generation, const std::string& why) {
  recordError(why);
  std::vector<std::unique_ptr<Connection>> retired;  // closed after the lock
  {
    std::lock_guard lock(poolMutex_);
    if (generation != generation_ || !up_.load()) return;  // someone else already did
    ++generation_;
    up_.store(false, std::memory_order_release);
    retired.swap(idle_);
    retryAtNanos_ = (clock_.now() + options_.minReconnectInterval).time_since_epoch().count();
  }
  poolChanged_.notify_all();  // waiters for a connection miss at once
}

void RedisTier::maybeRequestReconnect() {
  if (reconnectPending_.load(std::memory_order_relaxed)) return;
  if (clock_.now().time_since_epoch().count() < retryAtNanos_.load()) return;
  {
    std::lock_guard lock(workMutex_);
    if (reconnectPending_ || stopping_) return;
    reconnectPending_ = true;
  }
  workReady_.notify_one();
}

void RedisTier::workerLoop() {
  std::unique_lock lock(workMutex_);
  for (;;) {
    workReady_.wait(lock, [&] { return stopping_ || reconnectPending_ || !queue_.empty(); });
    if (stopping_) break;
    working_ = true;
    if (reconnectPending_) {
      lock.unlock();
      reconnect();
      lock.lock();
      reconnectPending_ = false;
    } else {
      PendingPut next = std::move(queue_.front());
      queue_.pop_front();
      queueBytes_ -= next.bytes;
      lock.unlock();
      write(next);
      next.value.reset();  // the last reference may be ours: free it unlocked
      lock.lock();
    }
    working_ = false;
    workDone_.notify_all();
  }
  workerConnection_.reset();
}

void RedisTier::reconnect() {
  std::uint64_t generation;
  {
    std::lock_guard lock(poolMutex_);
    if (up_.load()) return;
    generation = generation_;
  }
  // The pool plus the worker's own connection; any failure fails the attempt.
  std::vector<std::unique_ptr<Connection>> opened;
  for (std::size_t i = 0; i < options_.poolSize + 1; ++i) {
    auto c = Connection::open(options_.endpoint, std::chrono::steady_clock::now() + options_.connectTimeout,
                              options_.maxValueBytes, generation);
    if (!c) {
      connectFailures_.fetch_add(1, std::memory_order_relaxed);
      recordError("connect to " + options_.endpoint.describe() + ": " + c.error().message);
      retryAtNanos_ = (clock_.now() + backoff_).time_since_epoch().count();
      backoff_ = std::min(backoff_ * 2, options_.maxReconnectInterval);
      return;
    }
    opened.push_back(std::move(*c));
  }
  workerConnection_ = std::move(opened.back());
  workerGeneration_ = generation;
  opened.pop_back();
  {
    std::lock_guard lock(poolMutex_);
    idle_ = std::move(opened);
    up_.store(true, std::memory_order_release);
  }
  backoff_ = options_.minReconnectInterval;
  connects_.fetch_add(1, std::memory_order_relaxed);
  poolChanged_.notify_all();
}

void RedisTier::write(const PendingPut& put) {
  bool current;
  {
    std::lock_guard lock(poolMutex_);
    current = up_.load() && workerConnection_ && workerGeneration_ == generation_;
  }
  if (!current) {
    workerConnection_.reset();
    putsFailed_.fetch_add(1, std::memory_order_relaxed);
    maybeRequestReconnect();
    return;
  }
  const std::string ttl = std::to_string(put.ttl.count());
  auto outcome = workerConnection_->command({"SET", put.key, *put.value, "PX", ttl},
                                            std::chrono::steady_clock::now() + options_.putTimeout);
  switch (outcome.status) {
    case Connection::Status::kReply:
      if (outcome.reply->type == REDIS_REPLY_STATUS) {
        putsWritten_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      putsFailed_.fetch_add(1, std::memory_order_relaxed);
      errors_.fetch_add(1, std::memory_order_relaxed);
      if (outcome.reply->type == REDIS_REPLY_ERROR) {
        recordError("SET refused: " + std::string(replyText(*outcome.reply)));
        return;
      }
      markDown(workerGeneration_, "SET: unexpected reply type " + std::to_string(outcome.reply->type));
      break;
    case Connection::Status::kError:
      putsFailed_.fetch_add(1, std::memory_order_relaxed);
      errors_.fetch_add(1, std::memory_order_relaxed);
      markDown(workerGeneration_, "SET: " + outcome.error);
      break;
    case Connection::Status::kTimeout:
      putsFailed_.fetch_add(1, std::memory_order_relaxed);
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      markDown(workerGeneration_, "SET timed out after " + std::to_string(options_.putTimeout.count()) + " ms");
      break;
  }
  workerConnection_.reset();
}

}  // namespace ymy::cache
