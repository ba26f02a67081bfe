#pragma once
// Durable state behind one interface: projects and their canvas versions,
// executions with their plan and tasks, the event log, generated files, and
// (for the auth work) users, and execution leases. SQLite is the embedded
// default, PostgreSQL the shared state of several `serve` instances, and an
// in-memory one serves tests; the interface carries no database types. Every
// implementation is thread-safe, and no method throws.
//
// Errors: kNotFound for unknown ids, kInvalidArgument for a conflicting write
// (an event whose seq is not the next one), kConflict for a second user with
// the same email, for a lease someone else holds and for a fenced write
// (message "fenced: ..."), kIo when the database fails. PostgreSQL reports an
// unreachable server or a lost connection as kIo with a message beginning
// "PostgreSQL unavailable: " (the server answers 503).
//
// Leases: one instance runs an execution at a time. It acquires the
// execution's lease (owner id, address, expiry), renews it before it expires,
// and passes the Fence it got to every write of that execution. Each
// acquisition bumps the lease's epoch, so a writer that lost its lease (it
// paused past the expiry and another instance took over) is refused with
// "fenced: ..." instead of interleaving with the new owner. Releasing a lease
// expires it but keeps its epoch: epochs of an execution never repeat.
//
// Ownership: projects and executions carry an owner (a user id; 'local' for
// the single-user mode and rows written before accounts existed, migration 3).
// The store records and returns it; the server decides who may see what.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "model/canvas.hpp"
#include "model/error.hpp"
#include "model/event.hpp"
#include "model/generated_file.hpp"
#include "model/plan.hpp"

namespace ymy::store {

struct ProjectRecord {
  std::string id;
  std::string name;
  std::int64_t createdAt = 0;  // epoch ms
  int canvasVersion = 0;       // latest version
  std::string ownerId = "local";
};

enum class ExecutionStatus { kRunning, kCompleted, kFailed, kCancelled };
std::string_view executionStatusName(ExecutionStatus status);
std::optional<ExecutionStatus> executionStatusFromName(std::string_view name);

struct ExecutionRecord {
  std::string id;
  std::string projectId;  // may be empty: a design without a project
  std::string request;
  ExecutionStatus status = ExecutionStatus::kRunning;
  boost::json::value options;  // {simulateLatency, parallel, ...}
  boost::json::value intent;   // the IntentFrame
  std::string route;           // STATIC | DYNAMIC
  Plan plan;
  Canvas baseCanvas;
  boost::json::value summary;  // null until finished
  boost::json::value modifications = boost::json::object();  // step modifications by task id
  std::int64_t createdAt = 0;
  std::int64_t updatedAt = 0;
  std::string ownerId = "local";
  // Set when part of the stored record (its plan or base canvas) could not
  // be read, saying which and why; that part is then empty. The record is
  // still returned so that one damaged execution can be shown and closed
  // (marked failed) instead of making every listing fail.
  std::string damage;
};

struct TaskRecord {
  std::string executionId;
  std::string taskId;
  std::string status;  // pending|running|completed|failed|cancelled|skipped
  int generation = 0;
  std::string result;  // one-line result
  std::string error;
  boost::json::value output;  // the agent's structured output, for resuming dependents
  std::vector<GeneratedFile> files;
  boost::json::value canvasPatch;  // {"upserts": canvas, "removeNodes": [...]}
};

// An execution's lease. expiresAt is epoch ms; a lease whose expiresAt <= now
// is free to take (a released lease has expiresAt 0).
struct Lease {
  std::string executionId;
  std::string owner;         // the instance's id
  std::string ownerAddress;  // where the instance can be reached (host:port), for redirects and messages
  std::uint64_t epoch = 0;   // 1 on the first acquisition, +1 on each one after
  std::int64_t expiresAt = 0;
};

// What a lease holder passes to a write: the write happens only while the
// execution's lease is still at this epoch (expired or released, as long as
// nobody acquired it since).
struct Fence {
  std::string owner;
  std::uint64_t epoch = 0;
};

// An account. The store keeps what it is given: the auth module normalises the
// email (lower case) and hashes the password before calling createUser, so
// emails are compared exactly here.
struct UserRecord {
  std::string id;            // "usr_..."
  std::string email;         // unique
  std::string passwordHash;  // an Argon2id string ("$argon2id$v=19$...")
  std::string tier = "free";
  std::int64_t createdAt = 0;  // epoch ms
};

class Store {
 public:
  virtual ~Store() = default;

  virtual Result<ProjectRecord> createProject(const std::string& name, const Canvas& canvas, std::int64_t now,
                                              std::string_view ownerId = "local") = 0;
  // Newest first; only `ownerId`'s when given.
  virtual Result<std::vector<ProjectRecord>> listProjects(std::optional<std::string_view> ownerId = std::nullopt) = 0;
  virtual Result<ProjectRecord> getProject(std::string_view id) = 0;
  // Stores a new canvas version and returns its number (1, 2, ...).
  virtual Result<int> saveCanvas(std::string_view projectId, const Canvas& canvas, std::int64_t now) = 0;
  // The latest version, or the given one.
  virtual Result<Canvas> getCanvas(std::string_view projectId, std::optional<int> version = std::nullopt) = 0;

  virtual Result<void> createExecution(const ExecutionRecord& execution) = 0;
  // The writes an execution's runner makes take an optional fence as their last
  // parameter: with one, the write happens only if the execution's lease is still
  // at fence->epoch (checked atomically with the write), else kConflict "fenced: ..."
  // and nothing changes. Without one (nullptr), the write is unconditional.
  virtual Result<void> finishExecution(std::string_view id, ExecutionStatus status, const boost::json::value& summary,
                                       std::int64_t now, const Fence* fence = nullptr) = 0;
  // After a step modification: the plan with its new prompt and the history.
  virtual Result<void> savePlan(std::string_view id, const Plan& plan, const boost::json::value& modifications,
                                std::int64_t now, const Fence* fence = nullptr) = 0;
  virtual Result<ExecutionRecord> getExecution(std::string_view id) = 0;
  virtual Result<std::vector<ExecutionRecord>> unfinishedExecutions() = 0;

  // Inserts or replaces the task's row.
  virtual Result<void> saveTask(const TaskRecord& task, const Fence* fence = nullptr) = 0;
  virtual Result<std::vector<TaskRecord>> tasks(std::string_view executionId) = 0;

  // Appends an event; its seq must be exactly one more than the last stored.
  virtual Result<void> appendEvent(const Event& event, const Fence* fence = nullptr) = 0;
  virtual Result<std::vector<Event>> eventsAfter(std::string_view executionId, std::uint64_t after,
                                                 std::size_t limit) = 0;
  virtual Result<std::uint64_t> lastSeq(std::string_view executionId) = 0;

  // Replaces the execution's files with these.
  virtual Result<void> saveFiles(std::string_view executionId, const std::vector<GeneratedFile>& files,
                                 const Fence* fence = nullptr) = 0;
  virtual Result<std::vector<GeneratedFile>> files(std::string_view executionId) = 0;

  // Users. createUser: kConflict when the email (or the id) is taken.
  // find*: kNotFound when there is no such user.
  virtual Result<void> createUser(const UserRecord& user) = 0;
  virtual Result<UserRecord> findUserByEmail(std::string_view email) = 0;
  virtual Result<UserRecord> findUserById(std::string_view id) = 0;
  virtual Result<void> setUserTier(std::string_view id, std::string_view tier) = 0;
  // After a login whose hash used older Argon2 parameters.
  virtual Result<void> setUserPasswordHash(std::string_view id, std::string_view passwordHash) = 0;

  // Leases (see the top of this file). All of them are atomic across processes
  // sharing the database. The execution need not exist in the store.
  //
  // Takes the lease for `owner` when there is none, it has expired (expiresAt <= now),
  // or `owner` already holds it; each acquisition bumps the epoch (a restarted
  // process with the same owner id gets a new epoch) and sets expiresAt = now + ttlMs.
  // kConflict (naming the holder and when it expires) otherwise.
  virtual Result<Lease> acquireLease(std::string_view executionId, std::string_view owner,
                                     std::string_view ownerAddress, std::int64_t now, std::int64_t ttlMs) = 0;
  // Extends the lease to now + ttlMs if `fence` is still current (even if it had
  // expired and nobody took it); kConflict ("fenced: ...") when another epoch took
  // it or there is no lease.
  virtual Result<Lease> renewLease(std::string_view executionId, const Fence& fence, std::int64_t now,
                                   std::int64_t ttlMs) = 0;
  // Expires the lease at once (keeping its epoch) if `fence` is current; kConflict
  // ("fenced: ...") otherwise.
  virtual Result<void> releaseLease(std::string_view executionId, const Fence& fence) = 0;
  // The lease, expired or not; nullopt when the execution never had one.
  virtual Result<std::optional<Lease>> getLease(std::string_view executionId) = 0;
  // Ids of running executions whose lease expired at or before `now`, or that have
  // no lease and were last updated (updatedAt) before `now - graceMs`. Oldest first.
  virtual Result<std::vector<std::string>> orphanedExecutions(std::int64_t now, std::int64_t graceMs) = 0;
};

std::unique_ptr<Store> makeMemoryStore();
// Opens (creating if needed) the database file and applies schema migrations.
Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& file);
// Connects to PostgreSQL (a libpq URL or "key=value" string; connect_timeout=5
// is added when it names none) and applies the schema migrations under an
// advisory lock, so instances starting together apply each migration once.
// kIo "PostgreSQL unavailable: ..." when the server cannot be reached. The store
// keeps a small pool of connections; one that breaks is dropped and a new one
// opened on the next call.
Result<std::unique_ptr<Store>> openPostgresStore(const std::string& url);

// The last event in an execution's log, or nullopt when nothing is logged.
// (A run has ended once this is its executionSummary, which is logged before
// the record is marked finished.)
Result<std::optional<Event>> lastEvent(Store& store, std::string_view executionId);

// A random id with a prefix: "prj_3f9c2a...", "exec_..." (128 bits, hex).
std::string newId(std::string_view prefix);

}  // namespace ymy::store
