#pragma once
// Runs a validated plan as a DAG. Every task whose dependencies are complete
// starts at once (up to maxParallel when set); a dependent starts the moment
// its last dependency completes, found by counting finished dependencies, never
// by polling. A failed task skips only its dependents; independent branches
// finish. Cancellation is cooperative: running tasks see their token, nothing
// new starts.
//
// Every event goes to the EventSink with a seq that increases by exactly 1,
// published in seq order (the executor holds its lock while publishing, so a
// sink must not call back into the execution).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "executor/agent.hpp"
#include "model/cancellation.hpp"
#include "model/clock.hpp"
#include "model/event.hpp"
#include "model/summary.hpp"

namespace ymy::executor {

enum class TaskStatus { kPending, kRunning, kCompleted, kFailed, kCancelled, kSkipped };
std::string_view taskStatusName(TaskStatus status);  // "pending", ...

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void publish(const Event& event) = 0;
};

// Combines the results of the completed tasks into the run's product (merged
// canvas, files) and the summary's counts. The merger implements it.
struct Assembly {
  Canvas canvas;
  std::vector<GeneratedFile> files;
  CanvasChanges canvasChanges;
  CodeGeneration codeGeneration;
  std::vector<std::string> nextSteps;
  // Events about the product (componentReplaced, scalingCompleted, ...),
  // published in order just before executionSummary.
  std::vector<std::pair<std::string, boost::json::object>> events;
};
class ResultAssembler {
 public:
  virtual ~ResultAssembler() = default;
  // `results` are the completed tasks' results in plan order.
  virtual Assembly assemble(const ExecutionInput& input, const Plan& plan,
                            const std::vector<std::pair<const Task*, const TaskResult*>>& results) = 0;
};

// One applied modification of a task's prompt.
struct ModificationRecord {
  std::int64_t timestampMs = 0;  // epoch ms
  std::string change;            // "Added table:...; removed ..." or "Prompt reworded"
  std::string previousPrompt;
  std::string prompt;
};

// Told about every task that reaches a final state, with the executor's lock
// held and before the task's event is published: the place to persist a
// result so that nothing a client saw can be lost by a crash.
class TaskObserver {
 public:
  virtual ~TaskObserver() = default;
  virtual void taskFinished(const Task& task, TaskStatus status, int generation, const TaskResult* result,
                            const std::string& error) = 0;
  // A modification was applied (before regenerationStarted is published):
  // `plan` has the new prompt, `history` every modification so far, and
  // `reset` the tasks whose results no longer stand.
  virtual void planModified(const Plan& plan, const std::map<std::string, std::vector<ModificationRecord>>& history,
                            const std::vector<std::string>& reset) {
    (void)plan, (void)history, (void)reset;
  }
  // The run's product is assembled (before executionSummary is published):
  // a client that sees the summary can fetch the files.
  virtual void assembled(const Assembly& assembly) { (void)assembly; }
};

// What modifying a step is allowed to do, and what it costs.
struct ModificationPolicy {
  int maxPerTask = 3;                           // the spec's maximum
  std::chrono::milliseconds cooldown{10'000};   // between two modifications of one task; 0: none
  // Cost model: tokens an agent produces per second of its estimated time,
  // and their price. The builtin engine's figures stand in for a provider's.
  double tokensPerSecond = 100;
  std::map<std::string, double> tokensPerSecondByAgent;  // overrides by agent id
  double usdPerMillionTokens = 2.50;
};

using ModificationHistory = std::map<std::string, std::vector<ModificationRecord>>;  // by task id
// {"task_2": {"count", "lastModified", "modifications": [{"timestamp", "change", "previousPrompt", "prompt"}]}}
boost::json::value toJson(const ModificationHistory& history);
ModificationHistory modificationHistoryFromJson(const boost::json::value& value);  // tolerant: skips what it cannot read

enum class Impact { kNone, kMinor, kImpact };
std::string_view impactName(Impact impact);  // "NO IMPACT", "MINOR IMPACT", "IMPACT"

struct TaskImpact {
  std::string taskId;
  std::string name;
  Impact impact = Impact::kNone;
  std::string reason;
};

// The effect of a modification, computed without changing anything.
struct ImpactReport {
  std::string taskId;
  std::vector<TaskImpact> dependents;  // every transitive dependent, in dependency order
  std::vector<std::string> added, removed;  // what the new prompt adds to / removes from the task's output
  double additionalTime = 0;  // estimated seconds added to the run's finish
  double costIncrease = 0;    // USD of agent work redone
  bool modelPriced = false;   // some of it from a model's tokens and price table (not the policy's estimate)
  std::vector<std::string> affected() const;    // IMPACT and MINOR IMPACT
  std::vector<std::string> unaffected() const;  // NO IMPACT
  boost::json::object toJson() const;  // the impactAnalysis event's fields
};

struct ExecutorOptions {
  std::string executionId = "exec";
  std::uint64_t firstSeq = 1;   // events published before the run (intent, plan) take the seqs below
  std::size_t maxParallel = 0;  // 0: no limit
  double simulateLatency = 0;   // builtin agents take estimatedTime x this many seconds
  TaskObserver* observer = nullptr;  // optional; must outlive the execution
  // Resuming after a restart: tasks completed before, with their results.
  // They are not run again; their dependents start as if they had just finished.
  std::map<std::string, TaskResult> completed{};
  bool resumed = false;  // marks executionStarted with "resumed": true
  ModificationPolicy modification{};
  std::map<std::string, std::vector<ModificationRecord>> history{};  // modifications before a restart
  std::vector<LlmStageUsage> llmUsage{};  // model calls made before the run, copied into the summary
};

struct TaskSnapshot {
  Task task;
  TaskStatus status = TaskStatus::kPending;
  int generation = 0;
  std::optional<std::int64_t> startedMs;   // since the execution started
  std::optional<std::int64_t> finishedMs;
  std::string resultSummary;
  std::string error;
};

class Execution {
 public:
  // `plan` must be valid (planner::validatePlan). Everything passed by
  // reference must outlive the execution.
  Execution(Plan plan, ExecutionInput input, const AgentRegistry& agents, ResultAssembler& assembler, Clock& clock,
            EventSink& sink, ExecutorOptions options);
  ~Execution();  // cancels what still runs and joins every thread

  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  // Emits executionStarted and starts every task without dependencies.
  void start();
  // Blocks until every task is final and executionSummary has been published.
  void wait();
  bool finished() const;
  void cancel(std::string reason);
  // For a server going down: running tasks are told to stop and go back to
  // pending, nothing new starts, and no summary is published, so the stored
  // state (completed tasks, the event log) can be resumed later. wait()
  // returns once no task runs.
  void suspend(std::string reason);
  bool suspended() const;

  // Step modification (the spec's Example 3). Allowed while the run is not
  // finished, for a task that is pending, running or completed, with a new,
  // non-empty prompt, at most policy.maxPerTask times per task and not within
  // the cooldown. Refusals: kNotFound (unknown task), kConflict (finished run,
  // task state, limit reached), kUnprocessable (empty or unchanged prompt),
  // kTooSoon (cooldown); they change nothing and publish nothing.
  //
  // preview: validates and analyses; publishes modificationValidated and
  // impactAnalysis, changes nothing.
  Result<ImpactReport> previewModification(const std::string& taskId, const std::string& prompt);
  // modify: validates and analyses again (the run may have moved since the
  // preview), then applies: the task gets the new prompt; it and every
  // IMPACT / MINOR IMPACT dependent get a new generation and go back to
  // pending (a running one is told to stop; what it returns is discarded);
  // the task re-runs at once when its dependencies are complete, the others
  // when theirs are. NO IMPACT tasks keep running or keep their results.
  // Publishes regenerationStarted.
  Result<ImpactReport> modify(const std::string& taskId, const std::string& prompt);
  std::map<std::string, std::vector<ModificationRecord>> modifications() const;

  std::vector<TaskSnapshot> snapshot() const;
  // Valid after wait().
  const ExecutionSummary& summary() const { return summary_; }
  const Assembly& assembly() const { return assembly_; }
  const Plan& plan() const { return plan_; }  // prompts change with modifications: read after wait()

 private:
  class Context;
  class FlowContext;
  struct TaskState {
    TaskStatus status = TaskStatus::kPending;
    std::size_t remaining = 0;              // unfinished dependencies
    std::vector<std::size_t> dependencies;
    std::vector<std::size_t> dependents;
    int generation = 0;
    bool regenerated = false;               // re-run (or to be) because of a modification
    std::optional<Clock::TimePoint> started, finished;
    std::shared_ptr<const TaskResult> result;  // shared: a superseded run may still read it
    std::string error;
    CancellationSource cancel;
  };

  // Completed ancestors of task `index`, in plan order (lock held).
  std::vector<std::size_t> completedAncestorsLocked(std::size_t index) const;
  TaskFlow flowLocked(std::size_t index, const std::string& prompt) const;
  Result<void> validateModificationLocked(std::size_t index, const std::string& prompt) const;
  Result<std::size_t> modificationTargetLocked(const std::string& taskId, const std::string& prompt) const;
  ImpactReport analyseLocked(std::size_t index, const std::string& prompt) const;
  double makespanLocked(const std::vector<bool>& rerun) const;

  void publishLocked(std::string type, boost::json::object fields);
  void dispatchLocked(std::vector<std::size_t> ready);
  // Wakes idle workers, and starts new ones, for the queued runs beyond the
  // `selfTakes` the calling worker will run itself.
  void wakeWorkersLocked(std::size_t selfTakes);
  void workerLoop();
  void runTask(std::size_t index, int generation);
  void finishTaskLocked(std::size_t index, int generation, Result<TaskResult> result);
  void skipDependentsLocked(std::size_t index, const std::string& reason);
  void notifyLocked(std::size_t index);
  void addAgentUsageLocked(const LlmStageUsage& usage);
  void completeIfDoneLocked();
  std::int64_t sinceStartMs(Clock::TimePoint t) const;

  Plan plan_;  // prompts change with modifications; guarded by mutex_
  // Constant after construction.
  std::unordered_map<std::string, std::size_t> taskIndex_;
  std::vector<std::size_t> topoOrder_;  // every task after its dependencies
  const ExecutionInput input_;
  const AgentRegistry& agents_;
  ResultAssembler& assembler_;
  Clock& clock_;
  EventSink& sink_;
  const ExecutorOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::vector<TaskState> tasks_;                // guarded by mutex_
  std::vector<std::size_t> waiting_;            // ready but held back by maxParallel; guarded by mutex_
  std::size_t running_ = 0;                     // guarded by mutex_
  std::uint64_t nextSeq_ = 1;                   // guarded by mutex_
  bool started_ = false, finished_ = false, cancelled_ = false;  // guarded by mutex_
  bool suspended_ = false;                                         // guarded by mutex_
  std::string cancelReason_;                    // guarded by mutex_
  Clock::TimePoint startTime_{};                // guarded by mutex_
  std::map<std::string, std::vector<ModificationRecord>> history_;  // by task id; guarded by mutex_
  // The agents' model calls, every run's (a superseded run's too, and the
  // completed tasks a resumed execution starts with); guarded by mutex_.
  std::optional<LlmStageUsage> agentUsage_;
  ExecutionSummary summary_;                    // written once, before finished_
  Assembly assembly_;                           // written once, before finished_
  // Workers: a pool that grows on demand (agents mostly wait, so the number of
  // running tasks is not bounded by cores). A worker that finishes a task runs
  // the first dependent it made ready itself, with no hand-over.
  std::condition_variable work_;
  std::deque<std::pair<std::size_t, int>> runQueue_;  // (task, generation); guarded by mutex_
  std::size_t idle_ = 0;                        // workers waiting for work; guarded by mutex_
  std::size_t wakeTokens_ = 0;                  // wake-ups handed to idle workers; guarded by mutex_
  std::vector<std::thread> threads_;            // guarded by mutex_
};

}  // namespace ymy::executor
