#include "executor/executor.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
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

// One run of one task, handed to its agent.
class Execution::Context final : public TaskContext {
 public:
  Context(Execution& execution, std::size_t index, int generation, CancellationToken token, Clock::TimePoint start)
      : execution_(execution), index_(index), generation_(generation), token_(std::move(token)), start_(start) {}

  const Task& task() const override { return execution_.plan_.tasks[index_]; }
  int generation() const override { return generation_; }
  const ExecutionInput& input() const override { return execution_.input_; }

  std::vector<std::pair<const Task*, const TaskResult*>> ancestors() const override {
    std::lock_guard lock(execution_.mutex_);
    const auto& plan = execution_.plan_;
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < plan.tasks.size(); ++i) index[plan.tasks[i].id] = i;
    std::vector<bool> seen(plan.tasks.size(), false);
    std::vector<std::size_t> stack = {index_};
    while (!stack.empty()) {
      auto i = stack.back();
      stack.pop_back();
      for (const auto& d : plan.tasks[i].dependencies) {
        auto j = index.at(d);
        if (!seen[j]) {
          seen[j] = true;
          stack.push_back(j);
        }
      }
    }
    std::vector<std::pair<const Task*, const TaskResult*>> out;
    for (std::size_t j = 0; j < plan.tasks.size(); ++j) {
      const auto& state = execution_.tasks_[j];
      if (seen[j] && state.status == TaskStatus::kCompleted && state.result) {
        out.emplace_back(&plan.tasks[j], &*state.result);
      }
    }
    return out;
  }

  void progress(std::string text) override {
    publishIfCurrent("taskProgress", {{"taskId", task().id}, {"progress", std::move(text)}});
  }
  void iterationStarted(int iteration, std::string focus) override {
    publishIfCurrent("iterationStarted", {{"taskId", task().id}, {"iteration", iteration}, {"focus", std::move(focus)}});
  }
  void iterationProgress(int iteration, std::string text, int filesGenerated) override {
    publishIfCurrent("iterationProgress", {{"taskId", task().id},
                                           {"iteration", iteration},
                                           {"progress", std::move(text)},
                                           {"filesGenerated", filesGenerated}});
  }

  // Sleeps until the task's start plus the fraction of its budget used so far,
  // so real work done between calls counts against the budget: a task takes
  // max(estimatedTime x simulateLatency, its real work).
  bool simulateWork(double fraction) override {
    consumed_ += fraction;
    double seconds = consumed_ * task().estimatedTime * execution_.options_.simulateLatency;
    if (seconds <= 0) return !token_.cancelled();
    auto deadline = start_ + std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
    auto remaining = deadline - execution_.clock_.now();
    if (remaining <= Clock::Duration::zero()) return !token_.cancelled();
    return execution_.clock_.sleepFor(remaining, token_);
  }
  bool cancelled() const override { return token_.cancelled(); }

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
  const CancellationToken token_;
  const Clock::TimePoint start_;
  double consumed_ = 0;  // share of the time budget used so far
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
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < plan_.tasks.size(); ++i) index[plan_.tasks[i].id] = i;
  for (std::size_t i = 0; i < plan_.tasks.size(); ++i) {
    tasks_[i].remaining = plan_.tasks[i].dependencies.size();
    for (const auto& d : plan_.tasks[i].dependencies) tasks_[index.at(d)].dependents.push_back(i);
  }
  for (std::size_t i = 0; i < plan_.tasks.size(); ++i) {
    auto it = options_.completed.find(plan_.tasks[i].id);
    if (it == options_.completed.end()) continue;
    tasks_[i].status = TaskStatus::kCompleted;
    tasks_[i].result = it->second;
    for (auto d : tasks_[i].dependents) --tasks_[d].remaining;
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
  {
    std::lock_guard lock(mutex_);
    token = tasks_[index].cancel.token();
    started = *tasks_[index].started;
  }
  Context context(*this, index, generation, token, started);
  const Task& task = plan_.tasks[index];
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
  std::lock_guard lock(mutex_);
  finishTaskLocked(index, generation, std::move(result));
}

void Execution::finishTaskLocked(std::size_t index, int generation, Result<TaskResult> result) {
  auto& state = tasks_[index];
  if (state.generation != generation || state.status != TaskStatus::kRunning) return;  // superseded run
  --running_;
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
    state.result = std::move(*result);
    notifyLocked(index);
    publishLocked("taskCompleted", {{"taskId", task.id},
                                    {"name", task.name},
                                    {"result", state.result->summary},
                                    {"durationMs", sinceStartMs(*state.finished) - sinceStartMs(*state.started)},
                                    {"filesGenerated", state.result->files.size()}});
    for (auto d : state.dependents) {
      if (tasks_[d].status == TaskStatus::kPending && --tasks_[d].remaining == 0) ready.push_back(d);
    }
  }
  dispatchLocked(std::move(ready));
  completeIfDoneLocked();
}

void Execution::notifyLocked(std::size_t index) {
  if (!options_.observer) return;
  const auto& state = tasks_[index];
  options_.observer->taskFinished(plan_.tasks[index], state.status, state.generation,
                                  state.result ? &*state.result : nullptr, state.error);
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
        results.emplace_back(&plan_.tasks[i], &*state.result);
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
  summary.totalTimeMs = sinceStartMs(clock_.now());
  summary.cancelled = cancelled_;
  summary.success = !cancelled_ && summary.tasksCompleted == static_cast<int>(tasks_.size());
  summary.canvasChanges = assembly_.canvasChanges;
  summary.codeGeneration = assembly_.codeGeneration;
  summary.nextSteps = assembly_.nextSteps;
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
