// See redis_server.hpp. Moved here from tests/cache/tiers_test.cpp.

#include "support/redis_server.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <hiredis/hiredis.h>

extern char** environ;

namespace ymy::test {

using namespace std::chrono_literals;

RawClient::RawClient(std::uint16_t port, int db, const std::string& password) {
  timeval tv{1, 0};
  c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (c_ != nullptr && c_->err == 0) {
    redisSetTimeout(c_, tv);
    if (!password.empty()) command({"AUTH", password});
    if (db != 0) command({"SELECT", std::to_string(db)});
  }
}
RawClient::~RawClient() {
  if (c_ != nullptr) redisFree(c_);
}
bool RawClient::ok() const { return c_ != nullptr && c_->err == 0; }
std::string RawClient::command(const std::vector<std::string>& args) {
  if (!ok()) return "(io error)";
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& a : args) argv.push_back(a.data()), lengths.push_back(a.size());
  auto* r = static_cast<redisReply*>(redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (r == nullptr) return "(io error)";
  std::string out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out = std::to_string(r->integer);
      break;
    case REDIS_REPLY_NIL:
      out = "(nil)";
      break;
    case REDIS_REPLY_ERROR:
      out = "(error) " + std::string(r->str, r->len);
      break;
    default:
      out = "(other)";
  }
  freeReplyObject(r);
  return out;
}

RedisServer::RedisServer(std::vector<std::string> extraArgs) : extraArgs_(std::move(extraArgs)) {
  static std::atomic<int> counter{0};
  dir_ = std::filesystem::temp_directory_path() /
         ("ymy-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
}
RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    signal(SIGKILL);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::start() {
  const std::string binary = findOnPath("redis-server");
  if (binary.empty()) {
    return "redis-server is not on PATH. These tests need a real Redis: install Debian's redis-server "
           "(scripts/setup does; CI installs it).";
  }
  if (port_ == 0) port_ = freeLoopbackPort();
  if (port_ == 0) return "no free loopback port";
  std::vector<std::string> args = {
      binary, "--port", std::to_string(port_), "--bind",    "127.0.0.1", "--save",      "",  "--appendonly",
      "no",   "--dir",  dir_.string(),         "--logfile", log(),       "--daemonize", "no"};
  args.insert(args.end(), extraArgs_.begin(), extraArgs_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (const int rc = ::posix_spawn(&pid_, binary.c_str(), nullptr, nullptr, argv.data(), environ); rc != 0) {
    pid_ = -1;
    return "posix_spawn redis-server: " + std::string(std::strerror(rc));
  }
  // Ready when it answers PING (or NOAUTH, when started with a password).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "redis-server exited at start-up; its log:\n" + readLog();
    }
    RawClient probe(port_);
    const std::string pong = probe.command({"PING"});
    if (pong == "PONG" || pong.rfind("(error) NOAUTH", 0) == 0) return {};
    std::this_thread::sleep_for(10ms);
  }
  return "redis-server did not answer PING within 10 s; its log:\n" + readLog();
}

void RedisServer::signal(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  if (sig == SIGKILL) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

std::string RedisServer::log() const { return (dir_ / "redis.log").string(); }
std::string RedisServer::readLog() const {
  std::ifstream in(log());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace ymy::test
