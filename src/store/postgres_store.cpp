// The PostgreSQL Store: the state several `serve` instances share. Every call
// is one READ COMMITTED transaction on a connection from a small pool; the
// checks that must hold against other instances are made by the database
// (row locks, unique keys, an upsert's WHERE), not by this process's mutex.
// libpqxx throws; nothing leaves this file but Result values.

#include <pqxx/pqxx>

#include <condition_variable>
#include <mutex>

#include "store/store_common.hpp"

namespace ymy::store {

namespace {

using detail::fromText;
using detail::notFound;
using detail::toText;

// Schema migrations, applied in order, each recorded in schema_migrations.
// The same tables as SQLite's; JSON is kept as text (byte for byte, like SQLite).
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  tier TEXT NOT NULL DEFAULT 'free',
  created_at BIGINT NOT NULL
);
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  owner_id TEXT NOT NULL DEFAULT 'local',
  position BIGSERIAL
);
CREATE INDEX projects_by_owner ON projects (owner_id);
CREATE TABLE canvas_versions (
  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  canvas TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (project_id, version)
);
CREATE TABLE executions (
  id TEXT PRIMARY KEY,
  project_id TEXT,
  request TEXT NOT NULL,
  status TEXT NOT NULL,
  options TEXT NOT NULL,
  intent TEXT NOT NULL,
  route TEXT NOT NULL,
  plan TEXT NOT NULL,
  base_canvas TEXT NOT NULL,
  summary TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  modifications TEXT NOT NULL DEFAULT '{}',
  owner_id TEXT NOT NULL DEFAULT 'local'
);
CREATE INDEX executions_by_status ON executions (status);
CREATE INDEX executions_by_owner ON executions (owner_id);
CREATE TABLE tasks (
  execution_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  status TEXT NOT NULL,
  generation INTEGER NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  output TEXT NOT NULL,
  files TEXT NOT NULL,
  canvas_patch TEXT NOT NULL,
  position BIGSERIAL,
  PRIMARY KEY (execution_id, task_id)
);
CREATE TABLE events (
  execution_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (execution_id, seq)
);
CREATE TABLE files (
  execution_id TEXT NOT NULL,
  path TEXT NOT NULL,
  content TEXT NOT NULL,
  PRIMARY KEY (execution_id, path)
);
)sql",
    // Execution leases. A row stays after a release (expires_at = 0) so that
    // epochs never repeat.
    R"sql(
CREATE TABLE leases (
  execution_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  owner_address TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
)sql",
};

// Serialises schema migrations between instances (pg_advisory_xact_lock's key).
constexpr std::int64_t kMigrationLockKey = 0x796d795f6d696772;  // "ymy_migr"

constexpr const char* kUnavailable = "PostgreSQL unavailable: ";

// The row readers of store_common.hpp over a pqxx row.
class PgRow {
 public:
  explicit PgRow(const pqxx::row& row) : row_(row) {}
  std::string text(int col) const { return row_[col].is_null() ? std::string() : std::string(row_[col].c_str()); }
  std::int64_t integer(int col) const { return row_[col].is_null() ? 0 : row_[col].as<std::int64_t>(); }
  bool isNull(int col) const { return row_[col].is_null(); }

 private:
  const pqxx::row& row_;
};

// What pqxx says, without the trailing newline libpq leaves.
std::string describe(const std::exception& e) {
  std::string text = e.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Errors that mean the server went away, not that the statement was wrong:
// class 08 (connection exception) and 57P0x (shutdown, crash, starting up).
bool isConnectionFailure(const pqxx::sql_error& e) {
  const std::string& state = e.sqlstate();
  return state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0;
}

// Adds connect_timeout=5 to a URL or key=value string that names none, so an
// unreachable host costs seconds, not the kernel's TCP timeout.
std::string withConnectTimeout(const std::string& url) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  const bool isUri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (!isUri) return url + (url.empty() ? "" : " ") + "connect_timeout=5";
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=5";
}

// A bounded set of connections. take() hands out an idle connection or opens
// a new one while fewer than `capacity` exist, else waits for one to come
// back. Thread-safe.
class ConnectionPool {
 public:
  ConnectionPool(std::string url, std::size_t capacity) : url_(std::move(url)), capacity_(capacity) {}

  struct Taken {
    std::unique_ptr<pqxx::connection> connection;
    bool reused = false;  // it had been idle in the pool (and may have gone stale)
  };

  // Throws what pqxx throws when a new connection cannot be opened.
  Taken take() {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < capacity_; });
    if (!idle_.empty()) {
      Taken t{std::move(idle_.back()), true};
      idle_.pop_back();
      return t;
    }
    ++open_;
    lock.unlock();
    try {
      return Taken{std::make_unique<pqxx::connection>(url_), false};
    } catch (...) {
      discard(nullptr);
      throw;
    }
  }

  // Back to the pool (a connection that is no longer open is closed instead).
  void give(std::unique_ptr<pqxx::connection> c) {
    if (!c->is_open()) return discard(std::move(c));  // closed by the server, say
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
    returned_.notify_one();
  }

  // Closes a taken connection that broke (null when opening it failed), and
  // the idle ones too: when one broke the server probably restarted, and they
  // are as stale. Their sockets close outside the lock.
  void discard(std::unique_ptr<pqxx::connection> broken) {
    std::vector<std::unique_ptr<pqxx::connection>> stale;
    {
      std::lock_guard lock(mutex_);
      stale.swap(idle_);
      open_ -= stale.size() + 1;
      returned_.notify_all();
    }
    broken.reset();
  }

 private:
  // Constant after construction.
  const std::string url_;
  const std::size_t capacity_;

  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;  // guarded by mutex_
  std::size_t open_ = 0;                                  // guarded by mutex_; idle and taken
};

}  // namespace

namespace {

class PostgresStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::string& url) {
    std::unique_ptr<PostgresStore> s(new PostgresStore(withConnectTimeout(url)));
    if (auto ok = s->migrate(); !ok) return tl::unexpected(ok.error());
    return std::unique_ptr<Store>(std::move(s));
  }

  Result<ProjectRecord> createProject(const std::string& name, const Canvas& canvas, std::int64_t now,
                                      std::string_view ownerId) override {
    ProjectRecord p{newId("prj"), name, now, 1, std::string(ownerId)};
    return transact<ProjectRecord>("create a project", [&](pqxx::work& tx) -> Result<ProjectRecord> {
      tx.exec_params0("INSERT INTO projects (id, name, created_at, owner_id) VALUES ($1, $2, $3, $4)", p.id, name,
                      now, p.ownerId);
      tx.exec_params0("INSERT INTO canvas_versions (project_id, version, canvas, created_at) VALUES ($1, 1, $2, $3)",
                      p.id, toText(toJson(canvas)), now);
      return p;
    });
  }

  Result<std::vector<ProjectRecord>> listProjects(std::optional<std::string_view> ownerId) override {
    return transact<std::vector<ProjectRecord>>("list projects", [&](pqxx::work& tx) -> Result<std::vector<ProjectRecord>> {
      const auto rows = ownerId ? tx.exec_params(kSelectProjects + " WHERE p.owner_id = $1" + kProjectOrder,
                                                 std::string(*ownerId))
                                : tx.exec(kSelectProjects + kProjectOrder);
      std::vector<ProjectRecord> out;
      for (const auto& row : rows) out.push_back(detail::readProject(PgRow(row)));
      return out;
    });
  }

  Result<ProjectRecord> getProject(std::string_view id) override {
    return transact<ProjectRecord>("get a project", [&](pqxx::work& tx) -> Result<ProjectRecord> {
      const auto rows = tx.exec_params(kSelectProjects + " WHERE p.id = $1", std::string(id));
      if (rows.empty()) return notFound("project", id);
      return detail::readProject(PgRow(rows[0]));
    });
  }

  Result<int> saveCanvas(std::string_view projectId, const Canvas& canvas, std::int64_t now) override {
    return transact<int>("save a canvas", [&](pqxx::work& tx) -> Result<int> {
      // The project's row lock orders concurrent saves: each gets the next version.
      if (tx.exec_params("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE", std::string(projectId)).empty()) {
        return notFound("project", projectId);
      }
      const auto version =
          tx.exec_params1("SELECT COALESCE(MAX(version), 0) + 1 FROM canvas_versions WHERE project_id = $1",
                          std::string(projectId))[0]
              .as<int>();
      tx.exec_params0("INSERT INTO canvas_versions (project_id, version, canvas, created_at) VALUES ($1, $2, $3, $4)",
                      std::string(projectId), version, toText(toJson(canvas)), now);
      return version;
    });
  }

  Result<Canvas> getCanvas(std::string_view projectId, std::optional<int> version) override {
    return transact<Canvas>("get a canvas", [&](pqxx::work& tx) -> Result<Canvas> {
      const auto rows =
          version ? tx.exec_params("SELECT canvas FROM canvas_versions WHERE project_id = $1 AND version = $2",
                                   std::string(projectId), *version)
                  : tx.exec_params("SELECT canvas FROM canvas_versions WHERE project_id = $1 ORDER BY version DESC "
                                   "LIMIT 1",
                                   std::string(projectId));
      if (rows.empty()) {
        return fail(ErrorCode::kNotFound, "project " + std::string(projectId) + " has no canvas" +
                                              (version ? " version " + std::to_string(*version) : std::string()));
      }
      return canvasFromJson(fromText(PgRow(rows[0]).text(0)));
    });
  }

  Result<void> createExecution(const ExecutionRecord& e) override {
    return transact<void>("create an execution", [&](pqxx::work& tx) -> Result<void> {
      try {
        tx.exec_params0(
            "INSERT INTO executions (id, project_id, request, status, options, intent, route, plan, base_canvas, "
            "summary, created_at, updated_at, owner_id, modifications) "
            "VALUES ($1, NULLIF($2, ''), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            e.id, e.projectId, e.request, std::string(executionStatusName(e.status)), toText(e.options),
            toText(e.intent), e.route, toText(toJson(e.plan)), toText(toJson(e.baseCanvas)), toText(e.summary),
            e.createdAt, e.updatedAt, e.ownerId, toText(e.modifications));
      } catch (const pqxx::unique_violation&) {
        return fail(ErrorCode::kInvalidArgument, "execution " + e.id + " exists");
      }
      return {};
    });
  }

  Result<void> finishExecution(std::string_view id, ExecutionStatus status, const boost::json::value& summary,
                               std::int64_t now, const Fence* fence) override {
    return fencedWrite("finish an execution", id, fence, [&](pqxx::work& tx) -> Result<void> {
      const auto r = tx.exec_params0("UPDATE executions SET status = $1, summary = $2, updated_at = $3 WHERE id = $4",
                                     std::string(executionStatusName(status)), toText(summary), now, std::string(id));
      if (r.affected_rows() == 0) return notFound("execution", id);
      return {};
    });
  }

  Result<void> savePlan(std::string_view id, const Plan& plan, const boost::json::value& modifications,
                        std::int64_t now, const Fence* fence) override {
    return fencedWrite("save a plan", id, fence, [&](pqxx::work& tx) -> Result<void> {
      const auto r =
          tx.exec_params0("UPDATE executions SET plan = $1, modifications = $2, updated_at = $3 WHERE id = $4",
                          toText(toJson(plan)), toText(modifications), now, std::string(id));
      if (r.affected_rows() == 0) return notFound("execution", id);
      return {};
    });
  }

  Result<ExecutionRecord> getExecution(std::string_view id) override {
    return transact<ExecutionRecord>("get an execution", [&](pqxx::work& tx) -> Result<ExecutionRecord> {
      const auto rows = tx.exec_params(kSelectExecutions + " WHERE id = $1", std::string(id));
      if (rows.empty()) return notFound("execution", id);
      return detail::readExecution(PgRow(rows[0]));
    });
  }

  Result<std::vector<ExecutionRecord>> unfinishedExecutions() override {
    return transact<std::vector<ExecutionRecord>>(
        "list unfinished executions", [&](pqxx::work& tx) -> Result<std::vector<ExecutionRecord>> {
          std::vector<ExecutionRecord> out;
          for (const auto& row : tx.exec(kSelectExecutions + " WHERE status = 'running' ORDER BY created_at, id")) {
            auto e = detail::readExecution(PgRow(row));
            if (!e) return tl::unexpected(e.error());
            out.push_back(std::move(*e));
          }
          return out;
        });
  }

  Result<void> saveTask(const TaskRecord& t, const Fence* fence) override {
    return fencedWrite("save a task", t.executionId, fence, [&](pqxx::work& tx) -> Result<void> {
      tx.exec_params0(
          "INSERT INTO tasks (execution_id, task_id, status, generation, result, error, output, files, canvas_patch) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (execution_id, task_id) DO UPDATE SET "
          "status = EXCLUDED.status, generation = EXCLUDED.generation, result = EXCLUDED.result, "
          "error = EXCLUDED.error, output = EXCLUDED.output, files = EXCLUDED.files, "
          "canvas_patch = EXCLUDED.canvas_patch",
          t.executionId, t.taskId, t.status, t.generation, t.result, t.error, toText(t.output),
          toText(detail::filesToJson(t.files)), toText(t.canvasPatch));
      return {};
    });
  }

  Result<std::vector<TaskRecord>> tasks(std::string_view executionId) override {
    return transact<std::vector<TaskRecord>>("list tasks", [&](pqxx::work& tx) -> Result<std::vector<TaskRecord>> {
      std::vector<TaskRecord> out;
      const auto rows = tx.exec_params(std::string("SELECT ") + detail::kTaskColumns +
                                           " FROM tasks WHERE execution_id = $1 ORDER BY position",
                                       std::string(executionId));
      for (const auto& row : rows) out.push_back(detail::readTask(executionId, PgRow(row)));
      return out;
    });
  }

  Result<void> appendEvent(const Event& event, const Fence* fence) override {
    return fencedWrite("append an event", event.executionId, fence, [&](pqxx::work& tx) -> Result<void> {
      const auto last = tx.exec_params1("SELECT COALESCE(MAX(seq), 0) FROM events WHERE execution_id = $1",
                                        event.executionId)[0]
                            .as<std::uint64_t>();
      if (event.seq != last + 1) return detail::seqGap(event, last + 1);
      try {
        tx.exec_params0("INSERT INTO events (execution_id, seq, body) VALUES ($1, $2, $3)", event.executionId,
                        static_cast<std::int64_t>(event.seq), json::compact(toJson(event)));
      } catch (const pqxx::unique_violation&) {
        return detail::seqGap(event, event.seq + 1);  // another writer appended this seq first
      }
      return {};
    });
  }

  Result<std::vector<Event>> eventsAfter(std::string_view executionId, std::uint64_t after, std::size_t limit) override {
    return transact<std::vector<Event>>("read events", [&](pqxx::work& tx) -> Result<std::vector<Event>> {
      const auto rows =
          tx.exec_params("SELECT body FROM events WHERE execution_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                         std::string(executionId), static_cast<std::int64_t>(after), static_cast<std::int64_t>(limit));
      std::vector<Event> out;
      for (const auto& row : rows) {
        auto e = eventFromJson(fromText(PgRow(row).text(0)));
        if (!e) {
          return fail(ErrorCode::kIo, "event log of " + std::string(executionId) + " is corrupt: " + e.error().message);
        }
        out.push_back(std::move(*e));
      }
      return out;
    });
  }

  Result<std::uint64_t> lastSeq(std::string_view executionId) override {
    return transact<std::uint64_t>("read the last seq", [&](pqxx::work& tx) -> Result<std::uint64_t> {
      return tx.exec_params1("SELECT COALESCE(MAX(seq), 0) FROM events WHERE execution_id = $1",
                             std::string(executionId))[0]
          .as<std::uint64_t>();
    });
  }

  Result<void> saveFiles(std::string_view executionId, const std::vector<GeneratedFile>& files,
                         const Fence* fence) override {
    return fencedWrite("save files", executionId, fence, [&](pqxx::work& tx) -> Result<void> {
      tx.exec_params0("DELETE FROM files WHERE execution_id = $1", std::string(executionId));
      for (const auto& f : files) {
        tx.exec_params0("INSERT INTO files (execution_id, path, content) VALUES ($1, $2, $3)", std::string(executionId),
                        f.path, f.content);
      }
      return {};
    });
  }

  Result<std::vector<GeneratedFile>> files(std::string_view executionId) override {
    return transact<std::vector<GeneratedFile>>("list files", [&](pqxx::work& tx) -> Result<std::vector<GeneratedFile>> {
      std::vector<GeneratedFile> out;
      // Byte order, as SQLite sorts, whatever the database's collation.
      for (const auto& row : tx.exec_params(
               "SELECT path, content FROM files WHERE execution_id = $1 ORDER BY path COLLATE \"C\"",
               std::string(executionId))) {
        out.push_back({PgRow(row).text(0), PgRow(row).text(1)});
      }
      return out;
    });
  }

  Result<void> createUser(const UserRecord& user) override {
    return transact<void>("create a user", [&](pqxx::work& tx) -> Result<void> {
      try {
        tx.exec_params0("INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ($1, $2, $3, $4, $5)",
                        user.id, user.email, user.passwordHash, user.tier, user.createdAt);
      } catch (const pqxx::unique_violation& e) {
        // Which one: the email is the case a person can cause.
        if (describe(e).find("users_email_key") != std::string::npos) {
          return fail(ErrorCode::kConflict, "email " + user.email + " is already registered");
        }
        return fail(ErrorCode::kConflict, "user " + user.id + " exists");
      }
      return {};
    });
  }

  Result<UserRecord> findUserByEmail(std::string_view email) override {
    return findUser("email", email);
  }

  Result<UserRecord> findUserById(std::string_view id) override { return findUser("id", id); }

  Result<void> setUserTier(std::string_view id, std::string_view tier) override {
    return updateUser("tier", id, tier);
  }

  Result<void> setUserPasswordHash(std::string_view id, std::string_view passwordHash) override {
    return updateUser("password_hash", id, passwordHash);
  }

  Result<Lease> acquireLease(std::string_view executionId, std::string_view owner, std::string_view ownerAddress,
                             std::int64_t now, std::int64_t ttlMs) override {
    return transact<Lease>("acquire a lease", [&](pqxx::work& tx) -> Result<Lease> {
      // Inserts epoch 1, or takes over an expired lease (or the owner's own) with the
      // next epoch. ON CONFLICT locks the row and judges its latest version, so of
      // several instances racing exactly one gets a row back.
      const auto rows = tx.exec_params(
          std::string("INSERT INTO leases (execution_id, owner, owner_address, epoch, expires_at) "
                      "VALUES ($1, $2, $3, 1, $5) ON CONFLICT (execution_id) DO UPDATE SET "
                      "owner = EXCLUDED.owner, owner_address = EXCLUDED.owner_address, epoch = leases.epoch + 1, "
                      "expires_at = EXCLUDED.expires_at "
                      "WHERE leases.expires_at <= $4 OR leases.owner = EXCLUDED.owner RETURNING ") +
              detail::kLeaseColumns,
          std::string(executionId), std::string(owner), std::string(ownerAddress), now, now + ttlMs);
      if (!rows.empty()) return detail::readLease(PgRow(rows[0]));
      const auto holder = leaseOf(tx, executionId, false);
      if (!holder) return fail(ErrorCode::kInternal, "lease of " + std::string(executionId) + " refused but missing");
      return detail::leaseHeld(*holder);
    });
  }

  Result<Lease> renewLease(std::string_view executionId, const Fence& fence, std::int64_t now,
                           std::int64_t ttlMs) override {
    return fencedWrite("renew a lease", executionId, &fence, [&](pqxx::work& tx) -> Result<Lease> {
      return detail::readLease(PgRow(tx.exec_params1(
          std::string("UPDATE leases SET expires_at = $2 WHERE execution_id = $1 RETURNING ") + detail::kLeaseColumns,
          std::string(executionId), now + ttlMs)));
    });
  }

  Result<void> releaseLease(std::string_view executionId, const Fence& fence) override {
    return fencedWrite("release a lease", executionId, &fence, [&](pqxx::work& tx) -> Result<void> {
      tx.exec_params0("UPDATE leases SET expires_at = 0 WHERE execution_id = $1", std::string(executionId));
      return {};
    });
  }

  Result<std::optional<Lease>> getLease(std::string_view executionId) override {
    return transact<std::optional<Lease>>("read a lease", [&](pqxx::work& tx) -> Result<std::optional<Lease>> {
      return leaseOf(tx, executionId, false);
    });
  }

  Result<std::vector<std::string>> orphanedExecutions(std::int64_t now, std::int64_t graceMs) override {
    return transact<std::vector<std::string>>(
        "list orphaned executions", [&](pqxx::work& tx) -> Result<std::vector<std::string>> {
          std::vector<std::string> out;
          for (const auto& row : tx.exec_params(
                   "SELECT e.id FROM executions e LEFT JOIN leases l ON l.execution_id = e.id "
                   "WHERE e.status = 'running' AND "
                   "CASE WHEN l.execution_id IS NULL THEN e.updated_at < $2 ELSE l.expires_at <= $1 END "
                   "ORDER BY e.created_at, e.id COLLATE \"C\"",
                   now, now - graceMs)) {
            out.push_back(PgRow(row).text(0));
          }
          return out;
        });
  }

 private:
  explicit PostgresStore(std::string url) : pool_(std::move(url), kPoolCapacity) {}

  static constexpr std::size_t kPoolCapacity = 8;
  inline static const std::string kSelectProjects =
      "SELECT p.id, p.name, p.created_at, (SELECT MAX(version) FROM canvas_versions c WHERE c.project_id = p.id), "
      "p.owner_id FROM projects p";
  inline static const std::string kProjectOrder = " ORDER BY p.created_at DESC, p.position DESC";
  inline static const std::string kSelectExecutions =
      std::string("SELECT ") + detail::kExecutionColumns + " FROM executions";

  // Runs body(tx) in a transaction on a pooled connection: COMMIT when it
  // returns a value, ROLLBACK when it returns an error. libpqxx's exceptions
  // become errors: a lost or refused connection is kIo "PostgreSQL unavailable:
  // ...", after one retry on a fresh connection when the one that failed had
  // been idle in the pool (nothing was committed on it); anything else kIo
  // "PostgreSQL: cannot <what>: ...".
  template <class T, class F>
  Result<T> transact(const char* what, F&& body) {
    for (int attempt = 0;; ++attempt) {
      ConnectionPool::Taken taken;
      try {
        taken = pool_.take();
      } catch (const std::exception& e) {
        return unavailable(what, e);
      }
      try {
        Result<T> result = [&] {
          pqxx::work tx(*taken.connection);
          Result<T> r = body(tx);
          if (r) tx.commit();
          return r;
        }();
        pool_.give(std::move(taken.connection));
        return result;
      } catch (const pqxx::in_doubt_error& e) {
        pool_.discard(std::move(taken.connection));
        return fail(ErrorCode::kIo, std::string(kUnavailable) + "the connection broke while committing (" + what +
                                        "); the write may or may not have happened: " + describe(e));
      } catch (const pqxx::broken_connection& e) {
        pool_.discard(std::move(taken.connection));
        if (taken.reused && attempt == 0) continue;
        return unavailable(what, e);
      } catch (const pqxx::sql_error& e) {
        if (isConnectionFailure(e) || !taken.connection->is_open()) {
          pool_.discard(std::move(taken.connection));
          if (taken.reused && attempt == 0) continue;
          return unavailable(what, e);
        }
        pool_.give(std::move(taken.connection));
        return fail(ErrorCode::kIo, std::string("PostgreSQL: cannot ") + what + ": " + describe(e));
      } catch (const std::exception& e) {
        // A conversion that failed, say; the connection itself may be fine.
        pool_.give(std::move(taken.connection));
        return fail(ErrorCode::kIo, std::string("PostgreSQL: cannot ") + what + ": " + describe(e));
      }
    }
  }

  // transact(), with the fence (when there is one) checked first. The check
  // takes a share lock on the lease row, so a takeover (which updates the row)
  // waits until this write commits, and this write sees any takeover committed
  // before it.
  template <class F>
  auto fencedWrite(const char* what, std::string_view executionId, const Fence* fence, F&& body)
      -> decltype(body(std::declval<pqxx::work&>())) {
    using R = decltype(body(std::declval<pqxx::work&>()));
    return transact<typename R::value_type>(what, [&](pqxx::work& tx) -> R {
      if (fence != nullptr) {
        const auto current = leaseOf(tx, executionId, true);
        if (!detail::fenceHolds(*fence, current)) return detail::fenced(executionId, *fence, current);
      }
      return body(tx);
    });
  }

  static std::optional<Lease> leaseOf(pqxx::work& tx, std::string_view executionId, bool lockForShare) {
    const auto rows = tx.exec_params(std::string("SELECT ") + detail::kLeaseColumns +
                                         " FROM leases WHERE execution_id = $1" + (lockForShare ? " FOR SHARE" : ""),
                                     std::string(executionId));
    if (rows.empty()) return std::nullopt;
    return detail::readLease(PgRow(rows[0]));
  }

  Result<UserRecord> findUser(const char* column, std::string_view value) {
    return transact<UserRecord>("find a user", [&](pqxx::work& tx) -> Result<UserRecord> {
      const auto rows = tx.exec_params(std::string("SELECT ") + detail::kUserColumns + " FROM users WHERE " + column +
                                           " = $1",
                                       std::string(value));
      if (rows.empty()) {
        if (std::string_view(column) == "email") {
          return fail(ErrorCode::kNotFound, "no user with email " + std::string(value));
        }
        return notFound("user", value);
      }
      return detail::readUser(PgRow(rows[0]));
    });
  }

  Result<void> updateUser(const char* column, std::string_view id, std::string_view value) {
    return transact<void>("update a user", [&](pqxx::work& tx) -> Result<void> {
      const auto r = tx.exec_params0(std::string("UPDATE users SET ") + column + " = $2 WHERE id = $1",
                                     std::string(id), std::string(value));
      if (r.affected_rows() == 0) return notFound("user", id);
      return {};
    });
  }

  // One transaction under a transaction-scoped advisory lock: instances starting
  // together queue on the lock, and the second finds the migrations recorded.
  Result<void> migrate() {
    const auto total = static_cast<int>(std::size(kMigrations));
    return transact<void>("apply schema migrations", [&](pqxx::work& tx) -> Result<void> {
      tx.exec0("SET LOCAL client_min_messages = warning");  // no NOTICE for IF NOT EXISTS
      tx.exec_params1("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
      tx.exec0(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL "
          "DEFAULT now())");
      const int applied = tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0].as<int>();
      if (applied > total) {
        return fail(ErrorCode::kIo, "PostgreSQL schema version " + std::to_string(applied) +
                                        " is newer than this build knows (" + std::to_string(total) + ")");
      }
      for (int v = applied; v < total; ++v) {
        tx.exec0(kMigrations[v]);
        tx.exec_params0("INSERT INTO schema_migrations (version) VALUES ($1)", v + 1);
      }
      return {};
    });
  }

  static tl::unexpected<Error> unavailable(const char* what, const std::exception& e) {
    return fail(ErrorCode::kIo, std::string(kUnavailable) + "cannot " + what + ": " + describe(e));
  }

  ConnectionPool pool_;
};

}  // namespace

Result<std::unique_ptr<Store>> openPostgresStore(const std::string& url) { return PostgresStore::open(url); }

}  // namespace ymy::store
