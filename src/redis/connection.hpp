#pragma once
// One TCP connection to Redis: a non-blocking socket this class owns, with
// hiredis used only for what it is good at (formatting commands, parsing
// replies). Every call takes one deadline for its whole round trip, and a
// peer that went away is an error value, never SIGPIPE.
//
// Contract: after an error or a timeout the stream is in an unknown state
// (a reply may be half read): the owner discards the connection. An error
// *reply* (`-ERR ...`) is a normal reply and leaves the stream usable.
//
// Not thread-safe: one thread uses a connection at a time (the Pool lends
// each to one caller; the Subscriber owns its own).

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"
#include "redis/endpoint.hpp"

struct redisReader;

namespace ymy::redis {

using SteadyTime = std::chrono::steady_clock::time_point;

enum class ReplyType { kString, kStatus, kError, kInteger, kNil, kArray, kOther };

// A parsed reply, built by hiredis's parser straight into these objects, so a
// bulk string is copied once, into `text`, which callers may keep (the cache
// hands it out as its value).
struct Reply {
  ReplyType type = ReplyType::kOther;
  std::shared_ptr<const std::string> text;       // kString, kStatus, kError
  long long integer = 0;                         // kInteger
  std::vector<std::unique_ptr<Reply>> elements;  // kArray (an element may be null only on parser failure)

  std::string_view str() const { return text ? std::string_view(*text) : std::string_view{}; }
};
using ReplyPtr = std::unique_ptr<Reply>;

class Connection {
 public:
  enum class Status { kReply, kError, kTimeout, kInterrupted };
  struct Outcome {
    Status status = Status::kError;
    ReplyPtr reply;     // with kReply
    std::string error;  // with kError and kTimeout: what failed, for logs
  };

  // Resolves, connects (TCP_NODELAY), sends AUTH and SELECT when the endpoint
  // asks for them, and PINGs, all before `deadline`: a Redis that accepts
  // connections but does not answer fails here. kIo naming the step that
  // failed; never includes the password. Replies over `maxReplyBytes` (plus
  // framing) are errors. `generation` is the owner's tag (see Pool).
  static Result<std::unique_ptr<Connection>> open(const Endpoint& endpoint, SteadyTime deadline,
                                                  std::size_t maxReplyBytes, std::uint64_t generation = 0);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::uint64_t generation() const { return generation_; }
  int fd() const { return fd_; }

  // Sends one command and reads its reply, all before `deadline`.
  Outcome command(const std::vector<std::string_view>& args, SteadyTime deadline);
  Outcome command(std::initializer_list<std::string_view> args, SteadyTime deadline) {
    return command(std::vector<std::string_view>(args), deadline);
  }
  // The reply, or kIo naming the command (an error reply included).
  Result<ReplyPtr> call(const std::vector<std::string_view>& args, SteadyTime deadline);

  // The halves of command(), for pub/sub, where replies arrive unasked.
  // send(): kReply (with a null reply) once all bytes are written.
  Outcome send(const std::vector<std::string_view>& args, SteadyTime deadline);
  // The next reply; kTimeout at `deadline`; kInterrupted as soon as
  // `interruptFd` (when >= 0) becomes readable, leaving the stream intact.
  Outcome receive(SteadyTime deadline, int interruptFd = -1);

 private:
  Connection(int fd, std::size_t maxReplyBytes, std::uint64_t generation);
  Result<void> handshake(const Endpoint& endpoint, SteadyTime deadline);

  int fd_;
  redisReader* reader_;
  std::vector<char> buffer_;
  const std::size_t maxReplyBytes_;
  const std::uint64_t generation_;
};

}  // namespace ymy::redis
