#pragma once
// A real redis-server for tests: started as a child process on a free
// loopback port in its own temporary directory (no persistence), which a test
// can kill, pause and restart; and an independent client (hiredis's blocking
// API) to look at what the code under test wrote. Used by the cache's L2
// tests and the auth module's Redis rate limiter tests.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

struct redisContext;

#include "support/test_env.hpp"

namespace ymy::test {

class RawClient {
 public:
  explicit RawClient(std::uint16_t port, int db = 0, const std::string& password = {});
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool ok() const;
  // The reply as text: a string or status, an integer, "(nil)", "(error) ...", or "(io error)".
  std::string command(const std::vector<std::string>& args);

 private:
  redisContext* c_ = nullptr;
};

// redis-server as a child process: no persistence, loopback only, its own
// directory. start() returns an empty string or what went wrong; after
// signal(SIGKILL), start() again brings it back on the same port.
class RedisServer {
 public:
  explicit RedisServer(std::vector<std::string> extraArgs = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  std::string start();
  // SIGKILL, SIGSTOP, SIGCONT. SIGKILL also reaps the process.
  void signal(int sig);

 private:
  std::string log() const;
  std::string readLog() const;

  std::vector<std::string> extraArgs_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace ymy::test
