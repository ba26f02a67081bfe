#include "executor/executor.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include <boost/json/serialize.hpp>
#include <semaphore>
#include <unordered_map>

namespace ymy::executor {

std::string_view taskStatusName(TaskStatus status) {
  switch (status) {
    case TaskStatus::kPending: return "pending";
    case TaskStatus::kRunning: return "running";
    case TaskStatus::kCompleted: return "completed";
    case TaskStatus::kFailed: return "failed";
    case TaskStatus::kCancelled: return "cancelled";
    case TaskStatus::kSkipped: return "skipped";
  }
  return "pending";
}

namespace {
bool isFinal(TaskStatus s) { return s != TaskStatus::kPending && s != TaskStatus::kRunning; }

// One slot per core, shared by every execution in the process.
std::counting_semaphore<>& cpuSlots() {
  static std::counting_semaphore<> slots(std::max<std::ptrdiff_t>(1, std::thread::hardware_concurrency()));
  return slots;
}
}  // namespace

// Ancestors handed to an agent stay valid for its whole run, even when a
// modification replaces their results meanwhile: the context holds copies.
class AncestorHolder {
 public:
  std::vector<std::pair<const Task*, const TaskResult*>> hold(const Plan& plan,
                                                              const std::vector<std::shared_ptr<const TaskResult>>& results,
                                                              const std::vector<std::size_t>& indices) {
    std::vector<std::pair<const Task*, const TaskResult*>> out;
    for (auto j : indices) {
      held_.push_back(std::make_unique<Held>(Held{plan.tasks[j], results[j]}));
      out.emplace_back(&held_.back()->task, held_.back()->result.get());
    }
    return out;
  }

 private:
  struct Held {
    Task task;
    std::shared_ptr<const TaskResult> result;
  };
  std::vector<std::unique_ptr<Held>> held_;
};

// One run of one task, handed to its agent.
class Execution::Context final : public TaskContext {
 public:
  Context(Execution& execution, std::size_t index, int generation, Task task, CancellationToken token,
          Clock::TimePoint start)
      : execution_(execution),
        index_(index),
        generation_(generation),
        task_(std::move(task)),
        token_(std::move(token)),
        start_(start) {}

  const Task& task() const override { return task_; }
  int generation() const override { return generation_; }
  const ExecutionInput& input() const override { return execution_.input_; }

  std::vector<std::pair<const Task*, const TaskResult*>> ancestors() const override {
    std::lock_guard lock(execution_.mutex_);
    std::vector<std::shared_ptr<const TaskResult>> results;
    for (const auto& t : execution_.tasks_) results.push_back(t.result);
    return holder_.hold(execution_.plan_, results, execution_.completedAncestorsLocked(index_));
  }

  void progress(std::string text) override {
    publishIfCurrent("taskProgress", {{"taskId", task_.id}, {"progress", std::move(text)}});
  }
  void iterationStarted(int iteration, std::string focus) override {
    publishIfCurrent("iterationStarted", {{"taskId", task_.id}, {"iteration", iteration}, {"focus", std::move(focus)}});
  }
  void iterationProgress(int iteration, std::string text, int filesGenerated) override {
    publishIfCurrent("iterationProgress", {{"taskId", task_.id},
                                           {"iteration", iteration},
                                           {"progress", std::move(text)},
                                           {"filesGenerated", filesGenerated}});
  }

  void emit(std::string type, boost::json::object fields) override {
    fields.emplace("taskId", task_.id);
    publishIfCurrent(std::move(type), std::move(fields));
  }

  // Sleeps until the task's start plus the fraction of its budget used so far,
  // so real work done between calls counts against the budget: a task takes
  // max(estimatedTime x simulateLatency, its real work).
  bool simulateWork(double fraction) override {
    consumed_ += fraction;
    double seconds = consumed_ * task_.estimatedTime * execution_.options_.simulateLatency;
    if (seconds <= 0) return !token_.cancelled();
    auto deadline = start_ + std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
    auto remaining = deadline - execution_.clock_.now();
    if (remaining <= Clock::Duration::zero()) return !token_.cancelled();
    return execution_.clock_.sleepFor(remaining, token_);
  }
  bool cancelled() const override { return token_.cancelled(); }
  const CancellationToken* cancellation() const override { return &token_; }

  void cpuBound(const std::function<void()>& work) override {
    cpuSlots().acquire();
    struct Release {
      ~Release() { cpuSlots().release(); }
    } release;
    work();
  }

 private:
  void publishIfCurrent(std::string type, boost::json::object fields) {
    std::lock_guard lock(execution_.mutex_);
    const auto& state = execution_.tasks_[index_];
    if (state.generation != generation_ || state.status != TaskStatus::kRunning || token_.cancelled()) return;
    execution_.publishLocked(std::move(type), std::move(fields));
  }

  Execution& execution_;
  const std::size_t index_;
  const int generation_;
  const Task task_;  // as it was when this run started; a modification does not change it under the agent
  const CancellationToken token_;
  const Clock::TimePoint start_;
  double consumed_ = 0;  // share of the time budget used so far
  mutable AncestorHolder holder_;
};

// A task as it would be with a given prompt, for Agent::flow during impact
// analysis. Used with the execution's lock held; it runs nothing.
class Execution::FlowContext final : public QuietContext {
 public:
  FlowContext(const Execution& execution, std::size_t index, const std::string& prompt)
      : execution_(execution), index_(index), task_(&execution.plan_.tasks[index]) {
    if (prompt != task_->prompt) {  // only the modified task is seen with another prompt
      modified_ = *task_;
      modified_->prompt = prompt;
      task_ = &*modified_;
    }
  }
  const Task& task() const override { return *task_; }
  int generation() const override { return execution_.tasks_[index_].generation; }
  const ExecutionInput& input() const override { return execution_.input_; }
  std::vector<std::pair<const Task*, const TaskResult*>> ancestors() const override {
    std::vector<std::shared_ptr<const TaskResult>> results;
    for (const auto& t : execution_.tasks_) results.push_back(t.result);
    return holder_.hold(execution_.plan_, results, execution_.completedAncestorsLocked(index_));
  }

 private:
  const Execution& execution_;
  const std::size_t index_;
  const Task* task_;
  std::optional<Task> modified_;
  mutable AncestorHolder holder_;
};

Execution::Execution(Plan plan, ExecutionInput input, const AgentRegistry& agents, ResultAssembler& assembler,
                     Clock& clock, EventSink& sink, ExecutorOptions options)
    : plan_(std::move(plan)),
      input_(std::move(input)),
      agents_(agents),
      assembler_(assembler),
      clock_(clock),
      sink_(sink),
      options_(std::move(options)),
      tasks_(plan_.tasks.size()),
      nextSeq_(options_.firstSeq) {
  for (std::size_t i = 0; i < plan_.tasks.size(); ++i) taskIndex_[plan_.tasks[i].id] = i;
  for (std::size_t i = 0; i < plan_.tasks.size(); ++i) {
    tasks_[i].remaining = plan_.tasks[i].dependencies.size();
    for (const auto& d : plan_.tasks[i].dependencies) {
      tasks_[i].dependencies.push_back(taskIndex_.at(d));
      tasks_[taskIndex_.at(d)].dependents.push_back(i);
    }
  }
  // Kahn's order: each task after all of its dependencies.
  std::vector<std::size_t> indegree(tasks_.size());
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    indegree[i] = tasks_[i].dependencies.size();
    if (indegree[i] == 0) topoOrder_.push_back(i);
  }
  for (std::size_t k = 0; k < topoOrder_.size(); ++k) {
    for (auto d : tasks_[topoOrder_[k]].dependents) {
      if (--indegree[d] == 0) topoOrder_.push_back(d);
    }
  }
  for (std::size_t i = 0; i < plan_.tasks.size(); ++i) {
    auto it = options_.completed.find(plan_.tasks[i].id);
    if (it == options_.completed.end()) continue;
    tasks_[i].status = TaskStatus::kCompleted;
    tasks_[i].result = std::make_shared<const TaskResult>(it->second);
    if (it->second.llm) addAgentUsageLocked(*it->second.llm);  // no other thread yet
    for (auto d : tasks_[i].dependents) --tasks_[d].remaining;
  }
  history_ = options_.history;
  for (const auto& [id, records] : history_) {
    if (auto it = taskIndex_.find(id); it != taskIndex_.end()) tasks_[it->second].regenerated = !records.empty();
  }
}

Execution::~Execution() {
  bool running;
  {
    std::lock_guard lock(mutex_);
    running = started_ && !finished_;
  }
  if (running) cancel("execution discarded");
  if (running) wait();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

std::int64_t Execution::sinceStartMs(Clock::TimePoint t) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - startTime_).count();
}

void Execution::publishLocked(std::string type, boost::json::object fields) {
  Event e;
  e.type = std::move(type);
  e.executionId = options_.executionId;
  e.seq = nextSeq_++;
  e.ts = clock_.epochMillis();
  e.fields = std::move(fields);
  sink_.publish(e);
}

void Execution::start() {
  std::lock_guard lock(mutex_);
  if (started_) return;
  started_ = true;
  startTime_ = clock_.now();
  std::vector<std::size_t> roots;
  boost::json::array rootIds;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].status == TaskStatus::kPending && tasks_[i].remaining == 0) {
      roots.push_back(i);
      rootIds.emplace_back(plan_.tasks[i].id);
    }
  }
  boost::json::object fields{{"parallelTasks", roots.size()},
                             {"totalTasks", plan_.tasks.size()},
                             {"taskIds", std::move(rootIds)}};
  if (options_.resumed || !options_.completed.empty()) {
    fields["resumed"] = true;
    fields["tasksAlreadyCompleted"] = options_.completed.size();
  }
  publishLocked("executionStarted", std::move(fields));
  dispatchLocked(std::move(roots));
  wakeWorkersLocked(0);
  completeIfDoneLocked();
}

void Execution::dispatchLocked(std::vector<std::size_t> ready) {
  waiting_.insert(waiting_.end(), ready.begin(), ready.end());
  if (cancelled_ || suspended_) return;
  std::vector<std::size_t> starting;
  while (!waiting_.empty() && (options_.maxParallel == 0 || running_ < options_.maxParallel)) {
    starting.push_back(waiting_.front());
    waiting_.erase(waiting_.begin());
    ++running_;
  }
  if (starting.empty()) return;
  boost::json::array ids;
  for (auto i : starting) ids.emplace_back(plan_.tasks[i].id);
  publishLocked("tasksStarted", {{"taskIds", std::move(ids)}});
  for (auto i : starting) {
    auto& state = tasks_[i];
    state.status = TaskStatus::kRunning;
    state.started = clock_.now();
    state.cancel = CancellationSource();
    const auto& task = plan_.tasks[i];
    publishLocked("taskStarted", {{"taskId", task.id},
                                  {"name", task.name},
                                  {"agent", task.agent},
                                  {"generation", state.generation}});
    runQueue_.emplace_back(i, state.generation);
  }
}

void Execution::wakeWorkersLocked(std::size_t selfTakes) {
  std::size_t extra = runQueue_.size() > selfTakes ? runQueue_.size() - selfTakes : 0;
  while (extra > 0 && idle_ > 0) {
    --idle_;
    ++wakeTokens_;
    work_.notify_one();
    --extra;
  }
  for (; extra > 0; --extra) threads_.emplace_back([this] { workerLoop(); });
}

void Execution::workerLoop() {
  // Agents do batch work (generating files); anything latency-sensitive in the
  // same process (a server's I/O threads) should win the CPU over them.
  setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5);
  std::unique_lock lock(mutex_);
  for (;;) {
    if (runQueue_.empty()) {
      if (finished_) return;
      ++idle_;
      work_.wait(lock, [&] { return wakeTokens_ > 0 || finished_; });
      if (wakeTokens_ > 0) {
        --wakeTokens_;
      } else {
        --idle_;  // woken by the end of the run
      }
      continue;
    }
    auto [index, generation] = runQueue_.front();
    runQueue_.pop_front();
    lock.unlock();
    runTask(index, generation);
    lock.lock();
    wakeWorkersLocked(1);  // this worker takes the next queued run itself
  }
}

void Execution::runTask(std::size_t index, int generation) {
  CancellationToken token;
  Clock::TimePoint started;
  Task task;
  {
    std::lock_guard lock(mutex_);
    const auto& state = tasks_[index];
    if (state.generation != generation || state.status != TaskStatus::kRunning) {
      --running_;  // superseded before it started
      dispatchLocked({});
      completeIfDoneLocked();
      return;
    }
    token = state.cancel.token();
    started = *state.started;
    task = plan_.tasks[index];
  }
  Context context(*this, index, generation, task, token, started);
  Result<TaskResult> result = fail(ErrorCode::kInternal, "not run");
  if (Agent* agent = agents_.find(task.agent)) {
    try {
      result = agent->run(context);
    } catch (const std::exception& e) {
      result = fail(ErrorCode::kInternal, std::string("agent ") + task.agent + " threw: " + e.what());
    }
  } else {
    result = fail(ErrorCode::kInternal, "no agent '" + task.agent + "' is registered");
  }
  if (result) {
    // Whatever the agent, its files land under the run's output: a path
    // that leaves it (from a node id, a model's answer) fails the task.
    for (const auto& f : result->files) {
      if (!isSafeRelativePath(f.path)) {
        result = fail(ErrorCode::kInternal, "agent " + task.agent + " produced an unsafe file path '" + f.path + "'");
        break;
      }
    }
  }
  std::lock_guard lock(mutex_);
  finishTaskLocked(index, generation, std::move(result));
}

void Execution::finishTaskLocked(std::size_t index, int generation, Result<TaskResult> result) {
  auto& state = tasks_[index];
  // Every run's model calls are paid for, superseded runs' included.
  if (result && result->llm) addAgentUsageLocked(*result->llm);
  --running_;  // counts runs in flight, superseded ones included
  if (state.generation != generation || state.status != TaskStatus::kRunning) {
    // A modification superseded this run: its result is discarded, never applied.
    dispatchLocked({});
    completeIfDoneLocked();
    return;
  }
  state.finished = clock_.now();
  const Task& task = plan_.tasks[index];
  std::vector<std::size_t> ready;
  if (suspended_ && state.cancel.cancelled() && !result) {
    // Interrupted by a shutdown: it runs again when the execution resumes.
    state.status = TaskStatus::kPending;
    state.started.reset();
    state.finished.reset();
    completeIfDoneLocked();
    return;
  }
  if (state.cancel.cancelled() && !(suspended_ && result)) {
    state.status = TaskStatus::kCancelled;
    state.error = state.cancel.token().reason();
    notifyLocked(index);
    publishLocked("taskCancelled", {{"taskId", task.id}, {"name", task.name}, {"reason", state.error}});
  } else if (!result) {
    state.status = TaskStatus::kFailed;
    state.error = result.error().message;
    notifyLocked(index);
    publishLocked("taskFailed", {{"taskId", task.id}, {"name", task.name}, {"error", state.error}});
    skipDependentsLocked(index, "dependency " + task.id + " (" + task.name + ") failed");
  } else {
    state.status = TaskStatus::kCompleted;
    state.result = std::make_shared<const TaskResult>(std::move(*result));
    notifyLocked(index);
    boost::json::object completed{{"taskId", task.id},
                                  {"name", task.name},
                                  {"result", state.result->summary},
                                  {"durationMs", sinceStartMs(*state.finished) - sinceStartMs(*state.started)},
                                  {"filesGenerated", state.result->files.size()},
                                  {"generation", state.generation}};
    // What the task changes on the canvas, so a client can draw it as it happens.
    const auto& r = *state.result;
    if (!r.canvasUpdate.nodes.empty() || !r.canvasUpdate.edges.empty()) {
      Canvas update = r.canvasUpdate;
      for (auto& e : update.edges) {
        if (e.id.empty()) e.id = e.source + "->" + e.target;  // the merger names it when it lands; clients need one now
      }
      completed["canvasUpdate"] = toJson(update);
    }
    if (!r.removeNodes.empty()) completed["removeNodes"] = boost::json::array(r.removeNodes.begin(), r.removeNodes.end());
    if (r.llm) completed["llm"] = toJson(*r.llm);
    publishLocked("taskCompleted", std::move(completed));
    for (auto d : state.dependents) {
      if (tasks_[d].status == TaskStatus::kPending && --tasks_[d].remaining == 0) ready.push_back(d);
    }
  }
  dispatchLocked(std::move(ready));
  completeIfDoneLocked();
}

void Execution::addAgentUsageLocked(const LlmStageUsage& usage) {
  if (!agentUsage_) {
    agentUsage_ = usage;
    agentUsage_->stage = "agents";
    return;
  }
  auto& sum = *agentUsage_;
  sum.calls += usage.calls;
  sum.promptTokens += usage.promptTokens;
  sum.completionTokens += usage.completionTokens;
  // The sum is priced only while every part is.
  sum.costUsd = sum.costUsd && usage.costUsd ? std::optional<double>(*sum.costUsd + *usage.costUsd) : std::nullopt;
  if (sum.model != usage.model) sum.model = sum.model + "," + usage.model;
}

void Execution::notifyLocked(std::size_t index) {
  if (!options_.observer) return;
  const auto& state = tasks_[index];
  options_.observer->taskFinished(plan_.tasks[index], state.status, state.generation, state.result.get(), state.error);
}

void Execution::skipDependentsLocked(std::size_t index, const std::string& reason) {
  std::vector<std::size_t> stack(tasks_[index].dependents.begin(), tasks_[index].dependents.end());
  while (!stack.empty()) {
    auto i = stack.back();
    stack.pop_back();
    auto& state = tasks_[i];
    if (state.status != TaskStatus::kPending) continue;
    state.status = TaskStatus::kSkipped;
    state.error = reason;
    notifyLocked(i);
    publishLocked("taskSkipped", {{"taskId", plan_.tasks[i].id}, {"name", plan_.tasks[i].name}, {"reason", reason}});
    stack.insert(stack.end(), state.dependents.begin(), state.dependents.end());
  }
}

void Execution::cancel(std::string reason) {
  std::lock_guard lock(mutex_);
  if (finished_ || cancelled_) return;
  cancelled_ = true;
  cancelReason_ = reason;
  waiting_.clear();
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    auto& state = tasks_[i];
    if (state.status == TaskStatus::kPending) {
      state.status = TaskStatus::kCancelled;
      state.error = reason;
      notifyLocked(i);
      publishLocked("taskCancelled", {{"taskId", plan_.tasks[i].id}, {"name", plan_.tasks[i].name}, {"reason", reason}});
    } else if (state.status == TaskStatus::kRunning) {
      state.cancel.cancel(reason);
    }
  }
  if (started_) completeIfDoneLocked();
}

void Execution::suspend(std::string reason) {
  std::lock_guard lock(mutex_);
  if (finished_ || cancelled_ || suspended_) return;
  suspended_ = true;
  for (auto& state : tasks_) {
    if (state.status == TaskStatus::kRunning) state.cancel.cancel(reason);
  }
  if (started_) completeIfDoneLocked();
}

bool Execution::suspended() const {
  std::lock_guard lock(mutex_);
  return suspended_;
}

void Execution::completeIfDoneLocked() {
  if (finished_ || !started_) return;
  if (suspended_) {
    if (running_ > 0) return;
    finished_ = true;  // nothing published: the stored state resumes later
    done_.notify_all();
    work_.notify_all();
    return;
  }
  if (!std::all_of(tasks_.begin(), tasks_.end(), [](const TaskState& s) { return isFinal(s.status); })) return;

  std::vector<std::pair<const Task*, const TaskResult*>> results;
  ExecutionSummary summary;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    const auto& state = tasks_[i];
    switch (state.status) {
      case TaskStatus::kCompleted:
        ++summary.tasksCompleted;
        results.emplace_back(&plan_.tasks[i], state.result.get());
        break;
      case TaskStatus::kFailed:
        ++summary.tasksFailed;
        summary.failures.push_back({plan_.tasks[i].id, plan_.tasks[i].name, state.error});
        break;
      case TaskStatus::kSkipped: ++summary.tasksSkipped; break;
      case TaskStatus::kCancelled: ++summary.tasksCancelled; break;
      default: break;
    }
  }
  assembly_ = assembler_.assemble(input_, plan_, results);
  if (options_.observer) options_.observer->assembled(assembly_);
  summary.totalTimeMs = sinceStartMs(clock_.now());
  summary.cancelled = cancelled_;
  summary.success = !cancelled_ && summary.tasksCompleted == static_cast<int>(tasks_.size());
  summary.canvasChanges = assembly_.canvasChanges;
  summary.codeGeneration = assembly_.codeGeneration;
  summary.nextSteps = assembly_.nextSteps;
  summary.llm = options_.llmUsage;
  if (agentUsage_) summary.llm.push_back(*agentUsage_);
  for (const auto& [id, records] : history_) summary.modifications += static_cast<int>(records.size());
  if (summary.modifications > 0) {
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
      (tasks_[i].regenerated ? summary.regeneratedTasks : summary.keptTasks).push_back(plan_.tasks[i].id);
    }
  }
  for (auto& [type, fields] : assembly_.events) publishLocked(type, fields);
  if (!summary.success) {
    std::string reason = cancelled_ ? "cancelled: " + cancelReason_
                                    : std::to_string(summary.tasksFailed) + " task(s) failed, " +
                                          std::to_string(summary.tasksSkipped) + " skipped";
    publishLocked("executionFailed", {{"reason", reason}});
  }
  summary_ = summary;
  publishLocked("executionSummary", toJsonFields(summary_));
  finished_ = true;
  done_.notify_all();
  work_.notify_all();
}

void Execution::wait() {
  std::vector<std::thread> threads;
  {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return finished_ || !started_; });
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

bool Execution::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

std::vector<TaskSnapshot> Execution::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<TaskSnapshot> out;
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    const auto& s = tasks_[i];
    TaskSnapshot snap;
    snap.task = plan_.tasks[i];
    snap.status = s.status;
    snap.generation = s.generation;
    if (s.started) snap.startedMs = sinceStartMs(*s.started);
    if (s.finished) snap.finishedMs = sinceStartMs(*s.finished);
    if (s.result) snap.resultSummary = s.result->summary;
    snap.error = s.error;
    out.push_back(std::move(snap));
  }
  return out;
}

}  // namespace ymy::executor

// ---- Step modification ---------------------------------------------------------

namespace ymy::executor {

std::string_view impactName(Impact impact) {
  switch (impact) {
    case Impact::kNone: return "NO IMPACT";
    case Impact::kMinor: return "MINOR IMPACT";
    case Impact::kImpact: return "IMPACT";
  }
  return "IMPACT";
}

boost::json::value toJson(const ModificationHistory& history) {
  boost::json::object out;
  for (const auto& [id, records] : history) {
    boost::json::array list;
    for (const auto& r : records) {
      list.push_back(boost::json::object{{"timestamp", r.timestampMs},
                                         {"change", r.change},
                                         {"previousPrompt", r.previousPrompt},
                                         {"prompt", r.prompt}});
    }
    out[id] = boost::json::object{{"count", records.size()},
                                  {"lastModified", records.empty() ? 0 : records.back().timestampMs},
                                  {"modifications", std::move(list)}};
  }
  return out;
}

ModificationHistory modificationHistoryFromJson(const boost::json::value& value) {
  ModificationHistory history;
  if (!value.is_object()) return history;
  auto text = [](const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
  };
  for (const auto& [id, entry] : value.get_object()) {
    if (!entry.is_object()) continue;
    auto list = entry.get_object().find("modifications");
    if (list == entry.get_object().end() || !list->value().is_array()) continue;
    auto& records = history[std::string(id)];
    for (const auto& item : list->value().get_array()) {
      if (!item.is_object()) continue;
      const auto& o = item.get_object();
      ModificationRecord r;
      if (auto ts = o.find("timestamp"); ts != o.end() && ts->value().is_number()) {
        r.timestampMs = ts->value().to_number<std::int64_t>();
      }
      r.change = text(o, "change");
      r.previousPrompt = text(o, "previousPrompt");
      r.prompt = text(o, "prompt");
      records.push_back(std::move(r));
    }
  }
  return history;
}

std::vector<std::string> ImpactReport::affected() const {
  std::vector<std::string> out;
  for (const auto& d : dependents) {
    if (d.impact != Impact::kNone) out.push_back(d.taskId);
  }
  return out;
}

std::vector<std::string> ImpactReport::unaffected() const {
  std::vector<std::string> out;
  for (const auto& d : dependents) {
    if (d.impact == Impact::kNone) out.push_back(d.taskId);
  }
  return out;
}

boost::json::object ImpactReport::toJson() const {
  boost::json::array tasks;
  for (const auto& d : dependents) {
    tasks.push_back(boost::json::object{
        {"taskId", d.taskId}, {"name", d.name}, {"impact", impactName(d.impact)}, {"reason", d.reason}});
  }
  auto strings = [](const std::vector<std::string>& v) { return boost::json::array(v.begin(), v.end()); };
  return boost::json::object{{"taskId", taskId},
                             {"affectedTasks", strings(affected())},
                             {"unaffectedTasks", strings(unaffected())},
                             {"impacts", std::move(tasks)},
                             {"added", strings(added)},
                             {"removed", strings(removed)},
                             {"additionalTime", std::round(additionalTime * 10) / 10},
                             // A model's prices are per token: keep micro-dollars.
                             {"costIncrease", modelPriced ? std::round(costIncrease * 1e6) / 1e6
                                                          : std::round(costIncrease * 10000) / 10000}};
}

namespace {

// The first changed item a consumed one covers: itself, or, for a consumed
// item ending in ':' or '/', every item under it.
std::optional<std::string> firstMatch(const std::set<std::string>& consumed, const std::set<std::string>& changed) {
  for (const auto& c : consumed) {
    auto it = changed.lower_bound(c);
    if (it == changed.end()) continue;
    if (*it == c) return *it;
    if ((c.ends_with('/') || c.ends_with(':')) && it->starts_with(c)) return *it;
  }
  return std::nullopt;
}

std::string trimmed(const std::string& s) {
  auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

std::vector<std::size_t> Execution::completedAncestorsLocked(std::size_t index) const {
  std::vector<bool> seen(tasks_.size(), false);
  std::vector<std::size_t> stack = tasks_[index].dependencies;
  while (!stack.empty()) {
    auto i = stack.back();
    stack.pop_back();
    if (seen[i]) continue;
    seen[i] = true;
    stack.insert(stack.end(), tasks_[i].dependencies.begin(), tasks_[i].dependencies.end());
  }
  std::vector<std::size_t> out;
  for (std::size_t j = 0; j < tasks_.size(); ++j) {
    if (seen[j] && tasks_[j].status == TaskStatus::kCompleted && tasks_[j].result) out.push_back(j);
  }
  return out;
}

TaskFlow Execution::flowLocked(std::size_t index, const std::string& prompt) const {
  const Agent* agent = agents_.find(plan_.tasks[index].agent);
  if (!agent) return {};
  FlowContext context(*this, index, prompt);
  try {
    return agent->flow(context);
  } catch (const std::exception&) {
    return {};  // unknown: dependents count as impacted
  }
}

Result<std::size_t> Execution::modificationTargetLocked(const std::string& taskId, const std::string& prompt) const {
  auto it = taskIndex_.find(taskId);
  if (it == taskIndex_.end()) {
    return fail(ErrorCode::kNotFound, "execution " + options_.executionId + " has no task '" + taskId + "'");
  }
  if (auto ok = validateModificationLocked(it->second, prompt); !ok) return tl::unexpected(ok.error());
  return it->second;
}

Result<void> Execution::validateModificationLocked(std::size_t index, const std::string& prompt) const {
  const Task& task = plan_.tasks[index];
  const auto& state = tasks_[index];
  if (finished_ || cancelled_ || suspended_) {
    return fail(ErrorCode::kConflict, "execution " + options_.executionId + " has " +
                                          (cancelled_ ? "been cancelled" : suspended_ ? "been suspended" : "finished") +
                                          "; only a run in progress can be modified");
  }
  if (state.status != TaskStatus::kPending && state.status != TaskStatus::kRunning &&
      state.status != TaskStatus::kCompleted) {
    return fail(ErrorCode::kConflict, task.id + " is " + std::string(taskStatusName(state.status)) +
                                          "; only pending, running or completed tasks can be modified");
  }
  const std::string next = trimmed(prompt);
  if (next.empty()) return fail(ErrorCode::kUnprocessable, "the new prompt for " + task.id + " is empty");
  if (next.size() > 20'000) {
    return fail(ErrorCode::kUnprocessable, "the new prompt for " + task.id + " is longer than 20000 characters");
  }
  if (next == trimmed(task.prompt)) {
    return fail(ErrorCode::kUnprocessable, "the new prompt for " + task.id + " is the same as the current one");
  }
  const auto& policy = options_.modification;
  auto history = history_.find(task.id);
  const std::size_t count = history == history_.end() ? 0 : history->second.size();
  if (static_cast<int>(count) >= policy.maxPerTask) {
    return fail(ErrorCode::kConflict, task.id + " was already modified " + std::to_string(count) +
                                          " times, the maximum for one task");
  }
  if (count > 0 && policy.cooldown.count() > 0) {
    const std::int64_t since = clock_.epochMillis() - history->second.back().timestampMs;
    if (since < policy.cooldown.count()) {
      auto seconds = [](std::int64_t ms) {
        char text[32];
        std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
        return std::string(text);
      };
      Error tooSoon(ErrorCode::kTooSoon, task.id + " was modified " + seconds(since) + " ago; wait " +
                                             seconds(policy.cooldown.count() - since) + " more (cooldown " +
                                             seconds(policy.cooldown.count()) + ")");
      tooSoon.retryAfterMs = policy.cooldown.count() - since;
      return tl::unexpected(std::move(tooSoon));
    }
  }
  return {};
}

ImpactReport Execution::analyseLocked(std::size_t index, const std::string& prompt) const {
  ImpactReport report;
  report.taskId = plan_.tasks[index].id;
  const TaskFlow before = flowLocked(index, plan_.tasks[index].prompt);
  const TaskFlow after = flowLocked(index, prompt);
  const bool opaque = !before.known || !after.known;
  std::set<std::string> changed, slightlyChanged;
  std::set_difference(after.produces.begin(), after.produces.end(), before.produces.begin(), before.produces.end(),
                      std::back_inserter(report.added));
  std::set_difference(before.produces.begin(), before.produces.end(), after.produces.begin(), after.produces.end(),
                      std::back_inserter(report.removed));
  changed.insert(report.added.begin(), report.added.end());
  changed.insert(report.removed.begin(), report.removed.end());

  // Transitive dependents, in dependency order, each classified by what it
  // takes from what changed; a re-run one passes its own output on.
  std::vector<bool> below(tasks_.size(), false);
  std::vector<std::size_t> stack = tasks_[index].dependents;
  while (!stack.empty()) {
    auto i = stack.back();
    stack.pop_back();
    if (below[i]) continue;
    below[i] = true;
    stack.insert(stack.end(), tasks_[i].dependents.begin(), tasks_[i].dependents.end());
  }
  std::vector<bool> rerun(tasks_.size(), false);
  rerun[index] = true;
  for (auto i : topoOrder_) {
    if (!below[i]) continue;
    const Task& task = plan_.tasks[i];
    TaskImpact& impact = report.dependents.emplace_back();
    impact.taskId = task.id;
    impact.name = task.name;
    TaskFlow flow;
    auto classify = [&](Impact level, std::string reason) {
      impact.impact = level;
      impact.reason = std::move(reason);
    };
    if (opaque) {
      classify(Impact::kImpact, "agent " + plan_.tasks[index].agent + " cannot tell what changes in its output");
    } else if (flow = flowLocked(i, task.prompt); !flow.known) {
      classify(Impact::kImpact, "agent " + task.agent + " cannot tell what it builds on");
    } else if (auto m = firstMatch(flow.consumes, changed)) {
      classify(Impact::kImpact, "built from " + *m + ", which changes");
    } else if (auto u = firstMatch(flow.uses, changed)) {
      classify(Impact::kMinor, "uses " + *u + ", which changes");
    } else if (auto c = firstMatch(flow.consumes, slightlyChanged)) {
      classify(Impact::kMinor, "built from " + *c + ", which is regenerated");
    } else {
      classify(Impact::kNone, "none of what changed flows into it");
    }
    if (impact.impact == Impact::kImpact) changed.merge(flow.produces);  // moves the nodes, no copies
    if (impact.impact == Impact::kMinor) slightlyChanged.merge(flow.produces);
    rerun[i] = impact.impact != Impact::kNone;
  }

  report.additionalTime = std::max(0.0, makespanLocked(rerun) - makespanLocked(std::vector<bool>(tasks_.size())));
  // Cost: the agent work done so far that will be done again.
  const auto& policy = options_.modification;
  const auto now = clock_.now();
  for (std::size_t i = 0; i < tasks_.size(); ++i) {
    if (!rerun[i]) continue;
    const auto& state = tasks_[i];
    const Task& task = plan_.tasks[i];
    double done = 0;
    if (state.status == TaskStatus::kCompleted) {
      done = 1;
    } else if (state.status == TaskStatus::kRunning && state.started && options_.simulateLatency > 0) {
      done = std::clamp(std::chrono::duration<double>(now - *state.started).count() /
                            (task.estimatedTime * options_.simulateLatency),
                        0.0, 1.0);
    }
    // A model's run: what its last run cost is what running it again costs;
    // a request in flight wastes (at least) its prompt.
    if (state.status == TaskStatus::kCompleted && state.result && state.result->llm) {
      report.costIncrease += state.result->llm->costUsd.value_or(0);
      report.modelPriced = true;
      continue;
    }
    if (state.status == TaskStatus::kRunning) {
      if (const Agent* agent = agents_.find(task.agent)) {
        FlowContext context(*this, i, task.prompt);
        if (auto inFlight = agent->inFlightCostUsd(context)) {
          report.costIncrease += *inFlight;
          report.modelPriced = true;
          continue;
        }
      }
    }
    auto rate = policy.tokensPerSecondByAgent.find(task.agent);
    const double tokensPerSecond = rate == policy.tokensPerSecondByAgent.end() ? policy.tokensPerSecond : rate->second;
    report.costIncrease += done * task.estimatedTime * tokensPerSecond * policy.usdPerMillionTokens / 1e6;
  }
  return report;
}

// The estimated seconds (in plan estimates) until every task is done, when
// the tasks flagged in `rerun` start over.
double Execution::makespanLocked(const std::vector<bool>& rerun) const {
  const auto now = clock_.now();
  std::vector<double> finish(tasks_.size(), 0);
  double makespan = 0;
  for (auto i : topoOrder_) {
    const auto& state = tasks_[i];
    const double estimate = plan_.tasks[i].estimatedTime;
    if (rerun[i] || state.status == TaskStatus::kPending) {
      double start = 0;
      for (auto d : state.dependencies) start = std::max(start, finish[d]);
      finish[i] = start + estimate;
    } else if (state.status == TaskStatus::kRunning) {
      double done = 0;
      if (state.started && options_.simulateLatency > 0) {
        done = std::chrono::duration<double>(now - *state.started).count() / (estimate * options_.simulateLatency);
      }
      finish[i] = estimate * (1 - std::clamp(done, 0.0, 1.0));
    }
    makespan = std::max(makespan, finish[i]);
  }
  return makespan;
}

Result<ImpactReport> Execution::previewModification(const std::string& taskId, const std::string& prompt) {
  std::lock_guard lock(mutex_);
  auto index = modificationTargetLocked(taskId, prompt);
  if (!index) return tl::unexpected(index.error());
  ImpactReport report = analyseLocked(*index, trimmed(prompt));
  auto history = history_.find(taskId);
  publishLocked("modificationValidated",
                {{"taskId", taskId},
                 {"status", taskStatusName(tasks_[*index].status)},
                 {"modificationCount", history == history_.end() ? 0 : history->second.size()},
                 {"maxModifications", options_.modification.maxPerTask}});
  publishLocked("impactAnalysis", report.toJson());
  return report;
}

Result<ImpactReport> Execution::modify(const std::string& taskId, const std::string& rawPrompt) {
  std::lock_guard lock(mutex_);
  auto target = modificationTargetLocked(taskId, rawPrompt);
  if (!target) return tl::unexpected(target.error());
  const std::size_t index = *target;
  const std::string prompt = trimmed(rawPrompt);
  ImpactReport report = analyseLocked(index, prompt);

  std::string change;
  if (!report.added.empty()) change += "Added " + boost::json::serialize(boost::json::array(report.added.begin(), report.added.end()));
  if (!report.removed.empty()) {
    change += std::string(change.empty() ? "" : "; ") + "Removed " +
              boost::json::serialize(boost::json::array(report.removed.begin(), report.removed.end()));
  }
  if (change.empty()) change = "Prompt reworded; what it produces is unchanged";
  Task& task = plan_.tasks[index];
  history_[taskId].push_back({clock_.epochMillis(), change, task.prompt, prompt});
  task.prompt = prompt;

  // The task and its affected dependents start over with a new generation.
  std::vector<std::size_t> reset = {index};
  for (const auto& d : report.dependents) {
    if (d.impact != Impact::kNone) reset.push_back(taskIndex_.at(d.taskId));
  }
  std::vector<std::string> resetIds;
  for (auto i : reset) {
    auto& state = tasks_[i];
    if (state.status == TaskStatus::kRunning) state.cancel.cancel("superseded by a modification of " + taskId);
    state.status = TaskStatus::kPending;
    state.result.reset();
    state.started.reset();
    state.finished.reset();
    state.error.clear();
    ++state.generation;
    state.regenerated = true;
    resetIds.push_back(plan_.tasks[i].id);
  }
  // Dependencies are counted again: a pending task waits for every
  // dependency that is not complete now.
  for (auto& state : tasks_) {
    if (state.status != TaskStatus::kPending) continue;
    state.remaining = 0;
    for (auto d : state.dependencies) state.remaining += tasks_[d].status != TaskStatus::kCompleted;
  }
  std::erase_if(waiting_, [&](std::size_t i) { return tasks_[i].remaining > 0; });
  std::vector<std::size_t> ready;
  for (auto i : reset) {
    if (tasks_[i].remaining == 0 && std::find(waiting_.begin(), waiting_.end(), i) == waiting_.end()) ready.push_back(i);
  }

  if (options_.observer) options_.observer->planModified(plan_, history_, resetIds);
  const auto kept = report.unaffected();
  publishLocked("regenerationStarted",
                {{"taskId", taskId},
                 {"generation", tasks_[index].generation},
                 {"affectedTasks", reset.size()},
                 {"regenerate", boost::json::array(resetIds.begin(), resetIds.end())},
                 {"keep", boost::json::array(kept.begin(), kept.end())},
                 {"change", change},
                 {"modificationCount", history_[taskId].size()}});
  if (started_) {
    dispatchLocked(std::move(ready));
    wakeWorkersLocked(0);
  }
  return report;
}

std::map<std::string, std::vector<ModificationRecord>> Execution::modifications() const {
  std::lock_guard lock(mutex_);
  return history_;
}

}  // namespace ymy::executor
