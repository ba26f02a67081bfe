#include "redis/connection.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <hiredis/hiredis.h>

namespace ymy::redis {

namespace {

std::string errnoText(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// Waits for `events` on `fd` until `deadline`: 1 ready (or hung up / in error:
// the next read or write says which), 0 deadline passed, -1 poll failed,
// 2 `interruptFd` became readable.
int waitFor(int fd, short events, SteadyTime deadline, int interruptFd = -1) {
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) return 0;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    pollfd p[2] = {{fd, events, 0}, {interruptFd, POLLIN, 0}};
    const int r = ::ppoll(p, interruptFd >= 0 ? 2 : 1, &timeout, nullptr);
    if (r > 0) return interruptFd >= 0 && (p[1].revents & POLLIN) != 0 ? 2 : 1;
    if (r == 0) continue;  // re-check the deadline against the clock
    if (errno != EINTR) return -1;
  }
}

ReplyType typeOf(int hiredisType) {
  switch (hiredisType) {
    case REDIS_REPLY_STRING: return ReplyType::kString;
    case REDIS_REPLY_STATUS: return ReplyType::kStatus;
    case REDIS_REPLY_ERROR: return ReplyType::kError;
    case REDIS_REPLY_INTEGER: return ReplyType::kInteger;
    case REDIS_REPLY_NIL: return ReplyType::kNil;
    case REDIS_REPLY_ARRAY: return ReplyType::kArray;
    default: return ReplyType::kOther;
  }
}

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
        r->type = typeOf(task->type);
        r->text = std::make_shared<const std::string>(str, len);
        return adopt(task, std::move(r));
      });
    },
    [](const redisReadTask* task, int elements) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = ReplyType::kArray;
        r->elements.resize(static_cast<std::size_t>(std::max(elements, 0)));
        return adopt(task, std::move(r));
      });
    },
    [](const redisReadTask* task, long long value) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = ReplyType::kInteger;
        r->integer = value;
        return adopt(task, std::move(r));
      });
    },
    [](const redisReadTask* task) -> void* {
      return guarded([&] {
        auto r = std::make_unique<Reply>();
        r->type = ReplyType::kNil;
        return adopt(task, std::move(r));
      });
    },
    [](void* reply) { delete static_cast<Reply*>(reply); },
};

}  // namespace

Connection::Connection(int fd, std::size_t maxReplyBytes, std::uint64_t generation)
    : fd_(fd),
      reader_(redisReaderCreateWithFunctions(&kReplyFunctions)),
      buffer_(64 * 1024),
      // The reply's protocol framing on top of the largest value.
      maxReplyBytes_(maxReplyBytes + 1024),
      generation_(generation) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
  if (reader_ != nullptr) redisReaderFree(reader_);
}

Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& endpoint, SteadyTime deadline,
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
      if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
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

Result<void> Connection::handshake(const Endpoint& endpoint, SteadyTime deadline) {
  auto expectOk = [&](Outcome o, const char* what, std::string_view expected) -> Result<void> {
    if (o.status == Status::kTimeout) return fail(ErrorCode::kIo, std::string(what) + " timed out");
    if (o.status != Status::kReply) return fail(ErrorCode::kIo, std::string(what) + ": " + o.error);
    if (o.reply->type == ReplyType::kError) {
      return fail(ErrorCode::kIo, std::string(what) + " refused: " + std::string(o.reply->str()));
    }
    if (o.reply->type != ReplyType::kStatus || o.reply->str() != expected) {
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

Result<ReplyPtr> Connection::call(const std::vector<std::string_view>& args, SteadyTime deadline) {
  auto outcome = command(args, deadline);
  const std::string name(args.empty() ? std::string_view("command") : args.front());
  switch (outcome.status) {
    case Status::kReply:
      if (outcome.reply->type == ReplyType::kError) {
        return fail(ErrorCode::kIo, name + " refused: " + std::string(outcome.reply->str()));
      }
      return std::move(outcome.reply);
    case Status::kTimeout:
      return fail(ErrorCode::kIo, name + " timed out");
    case Status::kError:
    case Status::kInterrupted:
      break;
  }
  return fail(ErrorCode::kIo, name + ": " + outcome.error);
}

Connection::Outcome Connection::command(const std::vector<std::string_view>& args, SteadyTime deadline) {
  if (auto sent = send(args, deadline); sent.status != Status::kReply) return sent;
  return receive(deadline);
}

Connection::Outcome Connection::send(const std::vector<std::string_view>& args, SteadyTime deadline) {
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
    const ssize_t n = ::send(fd_, formatted + sent, static_cast<std::size_t>(length) - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int ready = waitFor(fd_, POLLOUT, deadline);
      if (ready == 0) return {Status::kTimeout, nullptr, "send timed out"};
      if (ready < 0) return {Status::kError, nullptr, errnoText("poll", errno)};
    } else {
      return {Status::kError, nullptr, errnoText("send", n < 0 ? errno : EPIPE)};
    }
  }
  return {Status::kReply, nullptr, {}};
}

Connection::Outcome Connection::receive(SteadyTime deadline, int interruptFd) {
  std::size_t received = 0;
  for (;;) {
    void* reply = nullptr;
    if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
      return {Status::kError, nullptr, std::string("protocol error: ") + reader_->errstr};
    }
    if (reply != nullptr) return {Status::kReply, ReplyPtr(static_cast<Reply*>(reply)), {}};
    const int ready = waitFor(fd_, POLLIN, deadline, interruptFd);
    if (ready == 0) return {Status::kTimeout, nullptr, "reply timed out"};
    if (ready == 2) return {Status::kInterrupted, nullptr, {}};
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

}  // namespace ymy::redis
