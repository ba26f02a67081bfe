// The SQLite Store: one file under --data, WAL journal (readers never block
// the writer), one connection guarded by a mutex, statements prepared once.
// A process killed mid-write loses at most the transaction in flight. Writes
// that check something first (the next seq, a fence, a lease) run in BEGIN
// IMMEDIATE transactions, so the check holds against other processes too.

#include <sqlite3.h>

#include <map>
#include <mutex>

#include "store/store_common.hpp"

namespace ymy::store {

namespace {

// Schema migrations, applied in order; the database records how many ran.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  tier TEXT NOT NULL DEFAULT 'free',
  created_at INTEGER NOT NULL
);
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE canvas_versions (
  project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  canvas TEXT NOT NULL,
  created_at INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX executions_by_status ON executions (status);
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
  PRIMARY KEY (execution_id, task_id)
);
CREATE TABLE events (
  execution_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;
CREATE TABLE files (
  execution_id TEXT NOT NULL,
  path TEXT NOT NULL,
  content TEXT NOT NULL,
  PRIMARY KEY (execution_id, path)
);
)sql",
    // Step modifications: the history per task (the plan column keeps the current prompts).
    R"sql(
ALTER TABLE executions ADD COLUMN modifications TEXT NOT NULL DEFAULT '{}';
)sql",
    // Every project and execution belongs to a user; rows from before accounts
    // belong to 'local' (the single-user embedded mode).
    R"sql(
ALTER TABLE projects ADD COLUMN owner_id TEXT NOT NULL DEFAULT 'local';
ALTER TABLE executions ADD COLUMN owner_id TEXT NOT NULL DEFAULT 'local';
CREATE INDEX projects_by_owner ON projects (owner_id);
CREATE INDEX executions_by_owner ON executions (owner_id);
)sql",
    // Execution leases (one instance runs an execution at a time). A row stays
    // after a release (expires_at = 0) so that epochs never repeat.
    R"sql(
CREATE TABLE leases (
  execution_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  owner_address TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql",
};

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Binds and runs a prepared statement; resets it on scope exit.
class Query {
 public:
  explicit Query(Statement& s) : stmt_(s.get()) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& bind(int i, std::int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  Query& bindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_;
};

using detail::fromText;
using detail::notFound;
using detail::toText;

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& file) {
    std::unique_ptr<SqliteStore> s(new SqliteStore());
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    if (sqlite3_open_v2(file.c_str(), &s->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      return fail(ErrorCode::kIo, "cannot open database '" + file.string() + "': " + sqlite3_errmsg(s->db_));
    }
    sqlite3_busy_timeout(s->db_, 5000);
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      if (auto ok = s->exec(pragma); !ok) return tl::unexpected(ok.error());
    }
    if (auto ok = s->migrate(); !ok) return tl::unexpected(ok.error());
    if (auto ok = s->prepare(); !ok) return tl::unexpected(ok.error());
    return std::unique_ptr<Store>(std::move(s));
  }

  ~SqliteStore() override {
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  Result<ProjectRecord> createProject(const std::string& name, const Canvas& canvas, std::int64_t now,
                                      std::string_view ownerId) override {
    std::lock_guard lock(mutex_);
    ProjectRecord p{newId("prj"), name, now, 1, std::string(ownerId)};
    return transaction([&]() -> Result<ProjectRecord> {
      {
        Query q(stmt("insert_project"));
        if (q.bind(1, p.id).bind(2, name).bind(3, now).bind(4, ownerId).step() != SQLITE_DONE) {
          return error("create project");
        }
      }
      Query q(stmt("insert_canvas"));
      if (q.bind(1, p.id).bind(2, std::int64_t{1}).bind(3, toText(toJson(canvas))).bind(4, now).step() != SQLITE_DONE) {
        return error("save canvas");
      }
      return p;
    });
  }

  Result<std::vector<ProjectRecord>> listProjects(std::optional<std::string_view> ownerId) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("list_projects"));
    if (ownerId) {
      q.bind(1, *ownerId);
    } else {
      q.bindNull(1);
    }
    std::vector<ProjectRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(detail::readProject(q));
    if (rc != SQLITE_DONE) return error("list projects");
    return out;
  }

  Result<ProjectRecord> getProject(std::string_view id) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("get_project"));
    int rc = q.bind(1, id).step();
    if (rc == SQLITE_ROW) return detail::readProject(q);
    if (rc == SQLITE_DONE) return notFound("project", id);
    return error("get project");
  }

  Result<int> saveCanvas(std::string_view projectId, const Canvas& canvas, std::int64_t now) override {
    std::lock_guard lock(mutex_);
    int version;
    {
      Query q(stmt("get_project"));
      int rc = q.bind(1, projectId).step();
      if (rc == SQLITE_DONE) return notFound("project", projectId);
      if (rc != SQLITE_ROW) return error("get project");
      version = static_cast<int>(q.integer(3)) + 1;
    }
    Query q(stmt("insert_canvas"));
    if (q.bind(1, projectId).bind(2, std::int64_t{version}).bind(3, toText(toJson(canvas))).bind(4, now).step() !=
        SQLITE_DONE) {
      return error("save canvas");
    }
    return version;
  }

  Result<Canvas> getCanvas(std::string_view projectId, std::optional<int> version) override {
    std::lock_guard lock(mutex_);
    Query q(stmt(version ? "get_canvas_version" : "get_canvas_latest"));
    q.bind(1, projectId);
    if (version) q.bind(2, std::int64_t{*version});
    int rc = q.step();
    if (rc == SQLITE_DONE) {
      return fail(ErrorCode::kNotFound, "project " + std::string(projectId) + " has no canvas" +
                                            (version ? " version " + std::to_string(*version) : std::string()));
    }
    if (rc != SQLITE_ROW) return error("get canvas");
    return canvasFromJson(fromText(q.text(0)));
  }

  Result<void> createExecution(const ExecutionRecord& e) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("insert_execution"));
    q.bind(1, e.id).bind(3, e.request).bind(4, executionStatusName(e.status)).bind(5, toText(e.options));
    if (e.projectId.empty()) {
      q.bindNull(2);
    } else {
      q.bind(2, e.projectId);
    }
    q.bind(6, toText(e.intent)).bind(7, e.route).bind(8, toText(toJson(e.plan))).bind(9, toText(toJson(e.baseCanvas)));
    q.bind(10, toText(e.summary)).bind(11, e.createdAt).bind(12, e.updatedAt).bind(13, e.ownerId);
    if (q.step() != SQLITE_DONE) return error("create execution");
    return {};
  }

  Result<void> finishExecution(std::string_view id, ExecutionStatus status, const boost::json::value& summary,
                               std::int64_t now, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(id, fence, [&]() -> Result<void> {
      Query q(stmt("finish_execution"));
      if (q.bind(1, executionStatusName(status)).bind(2, toText(summary)).bind(3, now).bind(4, id).step() !=
          SQLITE_DONE) {
        return error("finish execution");
      }
      if (sqlite3_changes(db_) == 0) return notFound("execution", id);
      return {};
    });
  }

  Result<void> savePlan(std::string_view id, const Plan& plan, const boost::json::value& modifications,
                        std::int64_t now, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(id, fence, [&]() -> Result<void> {
      Query q(stmt("save_plan"));
      if (q.bind(1, toText(toJson(plan))).bind(2, toText(modifications)).bind(3, now).bind(4, id).step() !=
          SQLITE_DONE) {
        return error("save the plan");
      }
      if (sqlite3_changes(db_) == 0) return notFound("execution", id);
      return {};
    });
  }

  Result<ExecutionRecord> getExecution(std::string_view id) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("get_execution"));
    int rc = q.bind(1, id).step();
    if (rc == SQLITE_DONE) return notFound("execution", id);
    if (rc != SQLITE_ROW) return error("get execution");
    return detail::readExecution(q);
  }

  Result<std::vector<ExecutionRecord>> unfinishedExecutions() override {
    std::lock_guard lock(mutex_);
    Query q(stmt("unfinished_executions"));
    std::vector<ExecutionRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto e = detail::readExecution(q);
      if (!e) return tl::unexpected(e.error());
      out.push_back(std::move(*e));
    }
    if (rc != SQLITE_DONE) return error("list unfinished executions");
    return out;
  }

  Result<void> saveTask(const TaskRecord& t, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(t.executionId, fence, [&]() -> Result<void> {
      Query q(stmt("save_task"));
      q.bind(1, t.executionId).bind(2, t.taskId).bind(3, t.status).bind(4, std::int64_t{t.generation});
      q.bind(5, t.result).bind(6, t.error).bind(7, toText(t.output)).bind(8, toText(detail::filesToJson(t.files)));
      q.bind(9, toText(t.canvasPatch));
      if (q.step() != SQLITE_DONE) return error("save task");
      return {};
    });
  }

  Result<std::vector<TaskRecord>> tasks(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("tasks"));
    q.bind(1, executionId);
    std::vector<TaskRecord> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(detail::readTask(executionId, q));
    if (rc != SQLITE_DONE) return error("list tasks");
    return out;
  }

  Result<void> appendEvent(const Event& event, const Fence* fence) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(event.executionId, fence, [&]() -> Result<void> {
      std::uint64_t last;
      {
        Query q(stmt("last_seq"));
        if (q.bind(1, event.executionId).step() != SQLITE_ROW) return error("read last seq");
        last = static_cast<std::uint64_t>(q.integer(0));
      }
      if (event.seq != last + 1) return detail::seqGap(event, last + 1);
      Query q(stmt("append_event"));
      if (q.bind(1, event.executionId)
              .bind(2, static_cast<std::int64_t>(event.seq))
              .bind(3, json::compact(toJson(event)))
              .step() != SQLITE_DONE) {
        return error("append event");
      }
      return {};
    });
  }

  Result<std::vector<Event>> eventsAfter(std::string_view executionId, std::uint64_t after, std::size_t limit) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("events_after"));
    q.bind(1, executionId).bind(2, static_cast<std::int64_t>(after)).bind(3, static_cast<std::int64_t>(limit));
    std::vector<Event> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
      auto e = eventFromJson(fromText(q.text(0)));
      if (!e) return fail(ErrorCode::kIo, "event log of " + std::string(executionId) + " is corrupt: " + e.error().message);
      out.push_back(std::move(*e));
    }
    if (rc != SQLITE_DONE) return error("read events");
    return out;
  }

  Result<std::uint64_t> lastSeq(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("last_seq"));
    if (q.bind(1, executionId).step() != SQLITE_ROW) return error("read last seq");
    return static_cast<std::uint64_t>(q.integer(0));
  }

  Result<void> saveFiles(std::string_view executionId, const std::vector<GeneratedFile>& files,
                         const Fence* fence) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(executionId, fence, [&]() -> Result<void> {
      {
        Query q(stmt("delete_files"));
        if (q.bind(1, executionId).step() != SQLITE_DONE) return error("replace files");
      }
      for (const auto& f : files) {
        Query q(stmt("insert_file"));
        if (q.bind(1, executionId).bind(2, f.path).bind(3, f.content).step() != SQLITE_DONE) return error("save file");
      }
      return {};
    });
  }

  Result<std::vector<GeneratedFile>> files(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("files"));
    q.bind(1, executionId);
    std::vector<GeneratedFile> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.text(1)});
    if (rc != SQLITE_DONE) return error("list files");
    return out;
  }

  Result<void> createUser(const UserRecord& user) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("insert_user"));
    q.bind(1, user.id).bind(2, user.email).bind(3, user.passwordHash).bind(4, user.tier).bind(5, user.createdAt);
    if (q.step() != SQLITE_DONE) {
      const int extended = sqlite3_extended_errcode(db_);
      if (extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY) {
        // Which one: the email is the case a person can cause.
        const std::string text = sqlite3_errmsg(db_);
        if (text.find("users.email") != std::string::npos) {
          return fail(ErrorCode::kConflict, "email " + user.email + " is already registered");
        }
        return fail(ErrorCode::kConflict, "user " + user.id + " exists");
      }
      return error("create user");
    }
    return {};
  }

  Result<UserRecord> findUserByEmail(std::string_view email) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("user_by_email"));
    const int rc = q.bind(1, email).step();
    if (rc == SQLITE_ROW) return detail::readUser(q);
    if (rc == SQLITE_DONE) return fail(ErrorCode::kNotFound, "no user with email " + std::string(email));
    return error("find user");
  }

  Result<UserRecord> findUserById(std::string_view id) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("user_by_id"));
    const int rc = q.bind(1, id).step();
    if (rc == SQLITE_ROW) return detail::readUser(q);
    if (rc == SQLITE_DONE) return notFound("user", id);
    return error("find user");
  }

  Result<void> setUserTier(std::string_view id, std::string_view tier) override {
    return updateUser("set_user_tier", id, tier, "set the user's tier");
  }

  Result<void> setUserPasswordHash(std::string_view id, std::string_view passwordHash) override {
    return updateUser("set_user_password", id, passwordHash, "set the user's password");
  }

  // Leases: each call is one IMMEDIATE transaction, so acquisition is atomic
  // across processes sharing the file.
  Result<Lease> acquireLease(std::string_view executionId, std::string_view owner, std::string_view ownerAddress,
                             std::int64_t now, std::int64_t ttlMs) override {
    std::lock_guard lock(mutex_);
    return transaction([&]() -> Result<Lease> {
      {
        Query q(stmt("acquire_lease"));
        const int rc = q.bind(1, executionId).bind(2, owner).bind(3, ownerAddress).bind(4, now).bind(5, now + ttlMs).step();
        if (rc == SQLITE_ROW) return detail::readLease(q);
        if (rc != SQLITE_DONE) return error("acquire the lease");
      }
      auto holder = leaseOf(executionId);  // the upsert's WHERE refused: someone else holds it
      if (!holder) return tl::unexpected(holder.error());
      if (!*holder) return fail(ErrorCode::kInternal, "lease of " + std::string(executionId) + " refused but missing");
      return detail::leaseHeld(**holder);
    });
  }

  Result<Lease> renewLease(std::string_view executionId, const Fence& fence, std::int64_t now,
                           std::int64_t ttlMs) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(executionId, &fence, [&]() -> Result<Lease> {
      Query q(stmt("renew_lease"));
      if (q.bind(1, executionId).bind(2, now + ttlMs).step() != SQLITE_ROW) return error("renew the lease");
      return detail::readLease(q);
    });
  }

  Result<void> releaseLease(std::string_view executionId, const Fence& fence) override {
    std::lock_guard lock(mutex_);
    return fencedWrite(executionId, &fence, [&]() -> Result<void> {
      Query q(stmt("release_lease"));
      if (q.bind(1, executionId).step() != SQLITE_DONE) return error("release the lease");
      return {};
    });
  }

  Result<std::optional<Lease>> getLease(std::string_view executionId) override {
    std::lock_guard lock(mutex_);
    return leaseOf(executionId);
  }

  Result<std::vector<std::string>> orphanedExecutions(std::int64_t now, std::int64_t graceMs) override {
    std::lock_guard lock(mutex_);
    Query q(stmt("orphaned_executions"));
    q.bind(1, now).bind(2, now - graceMs);
    std::vector<std::string> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(q.text(0));
    if (rc != SQLITE_DONE) return error("list orphaned executions");
    return out;
  }

 private:
  SqliteStore() = default;

  Result<void> exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return fail(ErrorCode::kIo, std::string("database: ") + text);
    }
    return {};
  }

  Result<void> migrate() {
    if (auto ok = exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL)"); !ok) return ok;
    std::int64_t applied = 0;
    {
      Statement s(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      Query q(s);
      if (!s.ok() || q.step() != SQLITE_ROW) return fail(ErrorCode::kIo, "database: cannot read schema version");
      applied = q.integer(0);
    }
    const auto total = static_cast<std::int64_t>(std::size(kMigrations));
    if (applied > total) {
      return fail(ErrorCode::kIo, "database schema version " + std::to_string(applied) +
                                      " is newer than this build knows (" + std::to_string(total) + ")");
    }
    for (std::int64_t v = applied; v < total; ++v) {
      if (auto ok = exec("BEGIN"); !ok) return ok;
      if (auto ok = exec(kMigrations[v]); !ok) {
        (void)exec("ROLLBACK");
        return fail(ErrorCode::kIo, "migration " + std::to_string(v + 1) + " failed: " + ok.error().message);
      }
      std::string record = "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v + 1) + ")";
      if (auto ok = exec(record.c_str()); !ok) return ok;
      if (auto ok = exec("COMMIT"); !ok) return ok;
    }
    return {};
  }

  Result<void> prepare() {
    using detail::kExecutionColumns, detail::kLeaseColumns, detail::kTaskColumns, detail::kUserColumns;
    const std::string select = "SELECT ";
    const std::pair<const char*, std::string> sql[] = {
        {"insert_project", "INSERT INTO projects (id, name, created_at, owner_id) VALUES (?1, ?2, ?3, ?4)"},
        {"insert_canvas", "INSERT INTO canvas_versions (project_id, version, canvas, created_at) VALUES (?1, ?2, ?3, ?4)"},
        {"list_projects",
         "SELECT p.id, p.name, p.created_at, (SELECT MAX(version) FROM canvas_versions c WHERE c.project_id = p.id), "
         "p.owner_id FROM projects p WHERE ?1 IS NULL OR p.owner_id = ?1 ORDER BY p.created_at DESC, p.rowid DESC"},
        {"get_project",
         "SELECT p.id, p.name, p.created_at, (SELECT MAX(version) FROM canvas_versions c WHERE c.project_id = p.id), "
         "p.owner_id FROM projects p WHERE p.id = ?1"},
        {"get_canvas_latest",
         "SELECT canvas FROM canvas_versions WHERE project_id = ?1 ORDER BY version DESC LIMIT 1"},
        {"get_canvas_version", "SELECT canvas FROM canvas_versions WHERE project_id = ?1 AND version = ?2"},
        {"insert_execution",
         "INSERT INTO executions (id, project_id, request, status, options, intent, route, plan, base_canvas, summary, "
         "created_at, updated_at, owner_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"},
        {"finish_execution", "UPDATE executions SET status = ?1, summary = ?2, updated_at = ?3 WHERE id = ?4"},
        {"save_plan", "UPDATE executions SET plan = ?1, modifications = ?2, updated_at = ?3 WHERE id = ?4"},
        {"get_execution", select + kExecutionColumns + " FROM executions WHERE id = ?1"},
        {"unfinished_executions",
         select + kExecutionColumns + " FROM executions WHERE status = 'running' ORDER BY created_at"},
        {"save_task",
         "INSERT OR REPLACE INTO tasks (execution_id, task_id, status, generation, result, error, output, files, "
         "canvas_patch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
        {"tasks", select + kTaskColumns + " FROM tasks WHERE execution_id = ?1 ORDER BY rowid"},
        {"last_seq", "SELECT COALESCE(MAX(seq), 0) FROM events WHERE execution_id = ?1"},
        {"append_event", "INSERT INTO events (execution_id, seq, body) VALUES (?1, ?2, ?3)"},
        {"events_after", "SELECT body FROM events WHERE execution_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"},
        {"delete_files", "DELETE FROM files WHERE execution_id = ?1"},
        {"insert_file", "INSERT INTO files (execution_id, path, content) VALUES (?1, ?2, ?3)"},
        {"files", "SELECT path, content FROM files WHERE execution_id = ?1 ORDER BY path"},
        {"insert_user", "INSERT INTO users (id, email, password_hash, tier, created_at) VALUES (?1, ?2, ?3, ?4, ?5)"},
        {"user_by_email", select + kUserColumns + " FROM users WHERE email = ?1"},
        {"user_by_id", select + kUserColumns + " FROM users WHERE id = ?1"},
        {"set_user_tier", "UPDATE users SET tier = ?2 WHERE id = ?1"},
        {"set_user_password", "UPDATE users SET password_hash = ?2 WHERE id = ?1"},
        // Inserts epoch 1, or takes over an expired lease (or the owner's own) with the next epoch;
        // no row when someone else holds it.
        {"acquire_lease",
         "INSERT INTO leases (execution_id, owner, owner_address, epoch, expires_at) VALUES (?1, ?2, ?3, 1, ?5) "
         "ON CONFLICT (execution_id) DO UPDATE SET owner = excluded.owner, owner_address = excluded.owner_address, "
         "epoch = leases.epoch + 1, expires_at = excluded.expires_at "
         "WHERE leases.expires_at <= ?4 OR leases.owner = excluded.owner RETURNING " +
             std::string(kLeaseColumns)},
        {"renew_lease", "UPDATE leases SET expires_at = ?2 WHERE execution_id = ?1 RETURNING " + std::string(kLeaseColumns)},
        {"release_lease", "UPDATE leases SET expires_at = 0 WHERE execution_id = ?1"},
        {"get_lease", select + kLeaseColumns + " FROM leases WHERE execution_id = ?1"},
        {"orphaned_executions",
         "SELECT e.id FROM executions e LEFT JOIN leases l ON l.execution_id = e.id WHERE e.status = 'running' AND "
         "CASE WHEN l.execution_id IS NULL THEN e.updated_at < ?2 ELSE l.expires_at <= ?1 END "
         "ORDER BY e.created_at, e.id"},
    };
    for (const auto& [name, text] : sql) {
      auto s = std::make_unique<Statement>(db_, text.c_str());
      if (!s->ok()) return fail(ErrorCode::kIo, std::string("database: cannot prepare ") + name + ": " + sqlite3_errmsg(db_));
      statements_[name] = std::move(s);
    }
    return {};
  }

  Statement& stmt(const char* name) { return *statements_.at(name); }

  // Runs `body` in a BEGIN IMMEDIATE transaction (the write lock up front, so a
  // read-check-write is atomic across processes): COMMIT when it succeeds,
  // ROLLBACK when it fails. Requires mutex_.
  template <class F>
  auto transaction(F&& body) -> decltype(body()) {
    if (auto ok = exec("BEGIN IMMEDIATE"); !ok) return tl::unexpected(ok.error());
    auto result = body();
    if (!result) {
      (void)exec("ROLLBACK");
      return result;
    }
    if (auto ok = exec("COMMIT"); !ok) {
      (void)exec("ROLLBACK");
      return tl::unexpected(ok.error());
    }
    return result;
  }

  // `body` in a transaction that first checks the fence (none: no check).
  template <class F>
  auto fencedWrite(std::string_view executionId, const Fence* fence, F&& body) -> decltype(body()) {
    return transaction([&]() -> decltype(body()) {
      if (fence != nullptr) {
        auto current = leaseOf(executionId);
        if (!current) return tl::unexpected(current.error());
        if (!detail::fenceHolds(*fence, *current)) return detail::fenced(executionId, *fence, *current);
      }
      return body();
    });
  }

  // Requires mutex_.
  Result<std::optional<Lease>> leaseOf(std::string_view executionId) {
    Query q(stmt("get_lease"));
    const int rc = q.bind(1, executionId).step();
    if (rc == SQLITE_ROW) return detail::readLease(q);
    if (rc == SQLITE_DONE) return std::nullopt;
    return error("read the lease");
  }

  Result<void> updateUser(const char* statement, std::string_view id, std::string_view value, const char* what) {
    std::lock_guard lock(mutex_);
    Query q(stmt(statement));
    if (q.bind(1, id).bind(2, value).step() != SQLITE_DONE) return error(what);
    if (sqlite3_changes(db_) == 0) return notFound("user", id);
    return {};
  }

  tl::unexpected<Error> error(const char* what) {
    return fail(ErrorCode::kIo, std::string("database: cannot ") + what + ": " + sqlite3_errmsg(db_));
  }

  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Statement>> statements_;  // guarded by mutex_
};

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& file) { return SqliteStore::open(file); }

}  // namespace ymy::store
