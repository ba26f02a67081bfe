#pragma once
// Runs designs for the server: each execution's events go through the bus (so
// they are logged before anyone sees them), its record, files and final state
// go to the store, and running executions can be inspected and cancelled.
// Thread-safe.
//
// Each run's writes go through an ExecutionWriter: in order, held and retried
// while the store is unavailable, so a PostgreSQL outage delays a run's
// events and records but loses none.
//
// Several instances on one shared store (joinCluster): each execution runs on
// the instance holding its lease (store::Lease), renewed by maintain(); every
// write carries the lease's fence, so an instance that lost its lease cannot
// write. When an owner dies its lease expires and another instance's
// maintain() takes the execution over and resumes it from the log
// (completed tasks are not re-run).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/value.hpp>

#include "bus/event_bus.hpp"
#include "cache/design_cache.hpp"
#include "engine/design.hpp"
#include "server/execution_writer.hpp"
#include "store/store.hpp"

namespace ymy::server {

struct DesignRequest {
  std::string request;
  std::string projectId;          // optional: the canvas comes from the project's latest version
  std::optional<Canvas> canvas;   // optional: overrides the project's canvas
  std::vector<std::string> stack;
  double simulateLatency = 0;
  std::size_t parallel = 0;
  std::string tenant = "local";  // who asks: the execution's owner; cached answers never cross tenants
  bool useCache = true;          // false: neither served from nor stored in the cache
  // The caller's tier (0: no limit): executions of theirs running at once,
  // and the tasks a plan may have.
  std::size_t maxConcurrent = 0;
  std::size_t maxPlanTasks = 0;
  // Called once the run is certain to start (checks passed, plan valid, not
  // served from the cache): a daily quota counts only runs that happen. An
  // error refuses the run with it.
  std::function<Result<void>()> admitRun;
};

// This instance's place among several sharing one store.
struct ClusterOptions {
  std::string instanceId;   // unique in the cluster, stable across this instance's restarts
  std::string address;      // where the others forward commands for executions running here ("http://10.0.0.5:4000")
  std::chrono::milliseconds leaseTtl{5000};
};

// Where an execution runs, for commands that need its live run (cancel,
// step modifications).
struct Placement {
  enum class Kind {
    kHere,       // running in this process
    kElsewhere,  // running on another instance: `owner` at `address`
    kOrphaned,   // running, but its owner's lease expired: another instance takes it over shortly
    kNowhere,    // not running anywhere (finished, unknown, or a single instance's)
  };
  Kind kind = Kind::kNowhere;
  std::string owner, address;
};

// What one maintain() round did.
struct MaintenanceReport {
  std::size_t renewed = 0;
  std::size_t lost = 0;         // runs stopped here: another instance holds their lease
  std::size_t tookOver = 0;     // orphaned executions resumed here
  std::size_t pendingWrites = 0;  // writes still waiting for the store
};

struct StartedExecution {
  std::string executionId;
  Route route = Route::kDynamic;
  std::string cache = "MISS";  // the tier that answered: L1, L2 (a stored result replayed), L3 (a template), MISS
};

class ExecutionManager {
 public:
  // `cache` may be null (no caching); it must outlive the manager. `llmPlan`:
  // the plan stage's model for every design (see engine::DesignOptions);
  // its provider must outlive the manager. `llmAgents`, `llmIntent`: the
  // agents and intent stages' models, likewise. Cached answers are keyed apart per model stage (kind
  // and model), and a run in which a model stage fell back to builtin is
  // not cached.
  ExecutionManager(const engine::Engine& engine, store::Store& store, bus::EventBus& bus, Clock& clock,
                   executor::ModificationPolicy modification = {}, cache::DesignCache* cache = nullptr,
                   engine::LlmPlanStage llmPlan = {}, agents::LlmAgentStage llmAgents = {},
                   engine::LlmIntentStage llmIntent = {});
  ~ExecutionManager();  // cancels and joins every running execution

  // kInvalidArgument for a bad request (empty, too long, ...), kNotFound for an
  // unknown project, kTooSoon when the caller already runs maxConcurrent
  // executions, kForbidden for a plan over maxPlanTasks.
  //
  // With a cache: an exact hit (L1, L2) replays the stored execution's result
  // under a new id at once (events, tasks, files and summary, each event
  // marked with the tier); a similar hit (L3) runs the request with the
  // stored one as its template (similarSolutionFound first). A run that
  // completes unmodified is stored for the next asker.
  Result<StartedExecution> start(const DesignRequest& request);

  // The user says a cached answer was wrong for this execution: counted for
  // the tier that served it, and that answer is not served again.
  // kNotFound for an unknown execution, kConflict when it was not served
  // from the cache (or caching is off).
  Result<boost::json::value> reportFalseHit(const std::string& executionId);
  // kNotFound when unknown; a finished execution is left as it is.
  Result<void> cancel(const std::string& executionId, const std::string& reason);
  // Step modification of a running execution (see executor::Execution):
  // kNotFound for an unknown execution or task, kConflict once it finished.
  Result<executor::ImpactReport> previewModification(const std::string& executionId, const std::string& taskId,
                                                     const std::string& prompt);
  Result<executor::ImpactReport> modify(const std::string& executionId, const std::string& taskId,
                                        const std::string& prompt);
  // {id, status, request, route, intent, tasks:[...], summary, lastSeq, modifications}
  Result<boost::json::value> state(const std::string& executionId);

  // After a restart: continues every execution the store says was running.
  // Completed tasks are not re-run and the event log continues from its last
  // seq; one whose log already ended is only marked finished. Returns how many
  // resumed.
  Result<std::size_t> resumeUnfinished();

  // Shutdown: suspends everything still running (interrupted tasks go back to
  // pending, completed ones stay stored) and waits for it to settle; the next
  // resumeUnfinished() continues them. Model calls of a design being prepared
  // (intent, plan) are cancelled: its start() fails.
  void shutdown(const std::string& reason);
  std::map<std::string, std::size_t> countsByStatus();

  // Before anything runs: this instance shares its store with others.
  // resumeUnfinished() then resumes only orphaned executions, and start()
  // leases each new one.
  void joinCluster(ClusterOptions options);
  // One round of upkeep: retries writes the store refused while it was away;
  // with a cluster, renews the leases of the runs here (a run whose lease
  // another instance took stops here at once, without another write) and
  // takes over orphaned executions. startMaintenance() calls it every
  // `every` on a thread of its own (stopped by shutdown()); tests call it.
  MaintenanceReport maintain();
  void startMaintenance(std::chrono::milliseconds every);
  Placement placement(const std::string& executionId);
  // Totals since start, for /metrics.
  struct ClusterStats {
    std::size_t leasesHeld = 0, takeovers = 0, lost = 0, pendingWrites = 0, failedWrites = 0;
  };
  ClusterStats clusterStats();
  // Blocks until `executionId` is not running here (finished, suspended or
  // never started); false after `timeout`.
  bool waitUntilSettled(const std::string& executionId, std::chrono::milliseconds timeout);

 private:
  // What a run needs to store its answer when it completes.
  struct CacheEntry {
    cache::KeyScope scope;
    cache::CanonicalRequest canonical;
    std::vector<cache::CacheKey> keys;
  };
  struct Running {
    std::string owner;
    std::string projectId;  // its canvas gets the result as a new version
    std::optional<CacheEntry> cacheEntry;
    // Every write of the run, fenced with its lease in a cluster. Shared with
    // maintain(), which flushes and renews without holding the manager's lock.
    std::shared_ptr<ExecutionWriter> writer;
    std::int64_t leaseExpiresAt = 0;  // guarded by the manager's mutex_; in a cluster, as last acquired or renewed
    std::unique_ptr<executor::EventSink> sink;
    std::unique_ptr<executor::TaskObserver> persister;
    std::unique_ptr<engine::Design> design;
    std::thread watcher;
  };
  void finish(const std::string& id);
  // Continues a stored, unfinished execution (its log, tasks and plan) here;
  // false when its log had already ended (its record is only completed).
  Result<bool> resumeOne(const store::ExecutionRecord& record, const std::optional<store::Lease>& lease);
  // Orphaned executions this instance can lease: resumed here.
  std::size_t takeOverOrphans();
  std::unique_ptr<Running> newRunning(const std::string& id, std::string owner, std::string projectId,
                                      std::optional<store::Fence> fence);
  // An exact hit: a new execution with the stored one's result, or nullopt
  // when that execution is gone (the entry is forgotten, `staleId` set, and
  // the request runs).
  std::optional<Result<StartedExecution>> replay(const DesignRequest& request, const cache::ExactHit& hit,
                                                 std::string& staleId);
  // Runs `f` on the live design, or says why there is none.
  template <class F>
  auto withRunning(const std::string& id, F f) -> decltype(f(std::declval<engine::Design&>()));
  void launch(const std::string& id, std::unique_ptr<Running> running);

  const engine::Engine& engine_;
  store::Store& store_;
  bus::EventBus& bus_;
  Clock& clock_;
  const executor::ModificationPolicy modification_;
  cache::DesignCache* const cache_;
  const engine::LlmPlanStage llmPlan_;
  const agents::LlmAgentStage llmAgents_;
  const engine::LlmIntentStage llmIntent_;
  // Cancelled by shutdown(): aborts the intent and plan stages' model calls
  // of designs still being prepared.
  CancellationSource stopping_;
  const CancellationToken stoppingToken_ = stopping_.token();
  std::mutex mutex_;
  std::condition_variable settled_;                           // an execution finished
  std::map<std::string, std::unique_ptr<Running>> running_;  // guarded by mutex_
  std::vector<std::thread> finishedWatchers_;                // guarded by mutex_
  bool shuttingDown_ = false;                                // guarded by mutex_
  std::map<std::string, std::size_t> finishedByStatus_;     // finished since start, by final state; guarded by mutex_
  // Finished runs whose last writes wait for the store (retried by maintain()).
  std::map<std::string, std::unique_ptr<Running>> draining_;  // guarded by mutex_
  std::optional<ClusterOptions> cluster_;                      // set before anything runs
  std::size_t takeovers_ = 0, lost_ = 0;                       // guarded by mutex_
  std::mutex maintenanceMutex_;                                // one maintain() at a time
  std::condition_variable maintenanceWake_;                    // with mutex_: shutdown wakes the thread
  std::thread maintenance_;
};

}  // namespace ymy::server
