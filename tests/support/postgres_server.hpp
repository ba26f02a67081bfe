#pragma once
// A real PostgreSQL server for tests: initdb in its own temporary directory,
// then postgres (through pg_ctl) on a free loopback port, trust
// authentication for the `postgres` role. A test can stop() it and start() it
// again on the same port with its data kept (the PostgreSQL store's outage
// tests). PostgreSQL refuses to run as root, so as root the server's programs
// run as the `postgres` system user (Debian's package creates it) and the
// directory belongs to that user.
//
// Failure: start(), stop() and createDatabase() return an empty string or
// what went wrong (with the server's log), never throw. The destructor stops
// the server (immediate shutdown) and removes the directory, also after a
// failed start. Not thread-safe: one test thread drives it.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ymy::test {

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The first call runs initdb; each call starts the server and waits until it
  // accepts connections. Empty when it runs.
  std::string start();
  // Fast shutdown (connections are closed); the data stays for start().
  std::string stop();
  bool running() const { return running_; }

  std::uint16_t port() const { return port_; }
  // A libpq URL for `database` as the `postgres` role, with a 2 s connect_timeout.
  std::string url(const std::string& database = "postgres") const;
  // CREATE DATABASE `name` (a plain identifier). Empty on success.
  std::string createDatabase(const std::string& name);

 private:
  // Runs a PostgreSQL program (as the postgres user when we are root) with its
  // output appended to `logName` in the directory; the exit status, or -1.
  int run(const std::string& program, std::vector<std::string> args, const std::string& logName) const;
  std::string readLog(const std::string& logName) const;

  std::string setupError_;     // what went wrong in the constructor, for start() to report
  std::filesystem::path dir_;  // ours; the data directory is dir_/data
  std::string binDir_;         // where initdb, pg_ctl and postgres are; empty when not installed
  std::uint16_t port_ = 0;
  bool initialised_ = false;
  bool running_ = false;
};

}  // namespace ymy::test
