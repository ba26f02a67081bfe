// See postgres_server.hpp.

#include "support/postgres_server.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <pqxx/pqxx>

#include "support/test_env.hpp"

extern char** environ;

namespace ymy::test {

namespace {

// The directory holding initdb and pg_ctl: PATH first, then Debian's
// /usr/lib/postgresql/<version>/bin (the newest version).
std::string findPostgresBinaries() {
  const std::string onPath = findOnPath("pg_ctl");
  if (!onPath.empty()) {
    const auto dir = std::filesystem::path(onPath).parent_path();
    if (::access((dir / "initdb").c_str(), X_OK) == 0) return dir.string();
  }
  std::error_code ec;
  std::vector<std::filesystem::path> candidates;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    if (::access((entry.path() / "bin" / "initdb").c_str(), X_OK) == 0) candidates.push_back(entry.path() / "bin");
  }
  if (candidates.empty()) return {};
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::atoi(a.parent_path().filename().c_str()) < std::atoi(b.parent_path().filename().c_str());
  });
  return candidates.back().string();
}

bool runningAsRoot() { return ::geteuid() == 0; }

}  // namespace

PostgresServer::PostgresServer() : binDir_(findPostgresBinaries()) {
  std::string pattern = (std::filesystem::temp_directory_path() / "ymy-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    setupError_ = "cannot create a temporary directory for PostgreSQL: " + std::string(std::strerror(errno));
    return;
  }
  dir_ = pattern;
  if (!runningAsRoot()) return;
  const passwd* pg = ::getpwnam("postgres");
  if (pg == nullptr) {
    setupError_ = "running as root, and PostgreSQL refuses to: it needs a 'postgres' system user to run as "
                  "(Debian's postgresql package creates one)";
  } else if (::chown(dir_.c_str(), pg->pw_uid, pg->pw_gid) != 0) {
    setupError_ = "cannot give " + dir_.string() + " to the postgres user: " + std::strerror(errno);
  }
}

PostgresServer::~PostgresServer() {
  if (running_) (void)run("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "immediate", "-w", "stop"}, "pg_ctl.log");
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string PostgresServer::start() {
  if (running_) return {};
  if (binDir_.empty()) {
    return "PostgreSQL server binaries (initdb, pg_ctl) are not installed: neither on PATH nor under "
           "/usr/lib/postgresql/*/bin. These tests need a real PostgreSQL: install Debian's postgresql "
           "(scripts/setup does).";
  }
  if (!setupError_.empty()) return setupError_;
  const std::string data = (dir_ / "data").string();
  if (!initialised_) {
    port_ = freeLoopbackPort();
    if (port_ == 0) return "no free loopback port for PostgreSQL";
    if (run("initdb", {"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"},
            "initdb.log") != 0) {
      return "initdb failed; its output:\n" + readLog("initdb.log");
    }
    initialised_ = true;
  }
  // Durability off: the tests stop the server cleanly or throw it away.
  const std::string options = "-p " + std::to_string(port_) + " -k " + dir_.string() +
                              " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                              " -c full_page_writes=off -c shared_buffers=16MB";
  if (run("pg_ctl", {"-D", data, "-l", (dir_ / "server.log").string(), "-w", "-t", "30", "-o", options, "start"},
          "pg_ctl.log") != 0) {
    (void)run("pg_ctl", {"-D", data, "-m", "immediate", "-w", "stop"}, "pg_ctl.log");
    return "PostgreSQL did not start on port " + std::to_string(port_) + "; pg_ctl said:\n" + readLog("pg_ctl.log") +
           "\nthe server log:\n" + readLog("server.log");
  }
  running_ = true;
  return {};
}

std::string PostgresServer::stop() {
  if (!running_) return {};
  if (run("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "fast", "-w", "-t", "30", "stop"}, "pg_ctl.log") != 0) {
    return "pg_ctl stop failed:\n" + readLog("pg_ctl.log");
  }
  running_ = false;
  return {};
}

std::string PostgresServer::url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database + "?connect_timeout=2";
}

std::string PostgresServer::createDatabase(const std::string& name) {
  try {
    pqxx::connection c(url());
    pqxx::nontransaction tx(c);
    tx.exec0("CREATE DATABASE " + tx.quote_name(name));
    return {};
  } catch (const std::exception& e) {
    return "CREATE DATABASE " + name + " failed: " + e.what();
  }
}

int PostgresServer::run(const std::string& program, std::vector<std::string> args, const std::string& logName) const {
  std::vector<std::string> argv;
  if (runningAsRoot()) {
    std::string runuser = findOnPath("runuser");
    argv = {runuser.empty() ? "/usr/sbin/runuser" : runuser, "-u", "postgres", "--"};
  }
  argv.push_back((std::filesystem::path(binDir_) / program).string());
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  // In our directory: the postgres user may not be allowed into the test's.
  const std::string log = (dir_ / logName).string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, dir_.c_str());
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    std::ofstream(log, std::ios::app) << "posix_spawn " << cargv[0] << ": " << std::strerror(rc) << "\n";
    return -1;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string PostgresServer::readLog(const std::string& logName) const {
  std::ifstream in(dir_ / logName);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  constexpr std::size_t kTail = 4000;
  return text.size() > kTail ? "..." + text.substr(text.size() - kTail) : text;
}

}  // namespace ymy::test
