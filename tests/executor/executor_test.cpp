#include "executor/executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>

#include <boost/json/serialize.hpp>

namespace ymy::executor {
namespace {

using namespace std::chrono_literals;

Task task(std::string id, std::vector<std::string> deps, int seconds, std::string agent = "fake") {
  Task t;
  t.id = id;
  t.name = "Task " + id;
  t.type = TaskType::kCodeGeneration;
  t.dependencies = std::move(deps);
  t.estimatedTime = seconds;
  t.agent = std::move(agent);
  t.prompt = "do " + id;
  return t;
}

// The spec's Example 1 DAG with its estimates (frontend beside the architecture).
Plan example1() {
  return Plan{{task("task_1", {}, 45), task("task_2", {"task_1"}, 30), task("task_3", {"task_2"}, 60),
               task("task_4", {"task_2"}, 50), task("task_5", {"task_3", "task_4"}, 40), task("task_6", {"task_3"}, 55),
               task("task_7", {}, 70), task("task_8", {"task_3", "task_4", "task_5", "task_6"}, 35)}};
}

// Works for its estimate on the clock, reporting progress; fails on request.
class FakeAgent final : public Agent {
 public:
  std::set<std::string> failing;
  std::atomic<int> concurrent{0}, maxConcurrent{0};
  bool throws = false;

  std::string_view id() const override { return "fake"; }
  Result<TaskResult> run(TaskContext& ctx) override {
    int now = ++concurrent;
    int seen = maxConcurrent.load();
    while (now > seen && !maxConcurrent.compare_exchange_weak(seen, now)) {
    }
    ctx.progress("halfway through " + ctx.task().id);
    ctx.cpuBound([] {});
    bool ok = ctx.simulateWork(0.5) && ctx.simulateWork(0.5);
    --concurrent;
    if (!ok) return fail(ErrorCode::kInternal, "cancelled");
    if (throws) throw std::runtime_error("boom");
    if (failing.count(ctx.task().id)) return fail(ErrorCode::kInternal, "could not generate " + ctx.task().id);
    TaskResult r;
    r.summary = "done " + ctx.task().id + " after " + std::to_string(ctx.ancestors().size()) + " ancestors";
    r.files.push_back({ctx.task().id + ".txt", "x\n"});
    return r;
  }
};

class CountingAssembler final : public ResultAssembler {
 public:
  Assembly assemble(const ExecutionInput&, const Plan&,
                    const std::vector<std::pair<const Task*, const TaskResult*>>& results) override {
    Assembly a;
    for (const auto& [t, r] : results) a.files.insert(a.files.end(), r->files.begin(), r->files.end());
    a.codeGeneration.filesGenerated = static_cast<int>(a.files.size());
    a.nextSteps = {"review"};
    return a;
  }
};

class RecordingSink final : public EventSink {
 public:
  explicit RecordingSink(ManualClock& clock) : clock_(clock) {}
  void publish(const Event& e) override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
    }
    clock_.notify();
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  ManualClock& clock_;
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

class ExecutorTest : public testing::Test {
 protected:
  ExecutorTest() { registry.add(std::make_unique<FakeAgent>()); }
  FakeAgent& agent() { return static_cast<FakeAgent&>(*registry.find("fake")); }

  std::unique_ptr<Execution> make(Plan plan, ExecutorOptions options = {}) {
    if (options.simulateLatency == 0) options.simulateLatency = 1.0;
    return std::make_unique<Execution>(std::move(plan), ExecutionInput{}, registry, assembler, clock, sink, options);
  }

  // Whenever every running task is waiting on the clock, advances time to the
  // next deadline, until the execution finishes: exact, and no real sleeping.
  void drive(Execution& ex) {
    for (;;) {
      clock.waitUntil([&] {
        if (ex.finished()) return true;
        auto snap = ex.snapshot();
        auto running = static_cast<std::size_t>(std::count_if(
            snap.begin(), snap.end(), [](const TaskSnapshot& s) { return s.status == TaskStatus::kRunning; }));
        return running > 0 && running == clock.sleepers();
      });
      if (ex.finished()) break;
      clock.advance(*clock.nextDeadline() - clock.now());
    }
    ex.wait();
  }

  std::map<std::string, TaskSnapshot> byId(const Execution& ex) {
    std::map<std::string, TaskSnapshot> out;
    for (auto& s : ex.snapshot()) out[s.task.id] = s;
    return out;
  }

  AgentRegistry registry;
  CountingAssembler assembler;
  ManualClock clock;
  RecordingSink sink{clock};
};

TEST_F(ExecutorTest, IndependentTasksOverlapAndDependentsWaitForAllDependencies) {
  auto ex = make(example1());
  ex->start();
  drive(*ex);
  auto s = byId(*ex);
  // Starts in seconds on the injected clock: exactly the DAG's schedule.
  std::map<std::string, std::int64_t> expectedStart = {{"task_1", 0},      {"task_7", 0},      {"task_2", 45000},
                                                       {"task_3", 75000},  {"task_4", 75000},  {"task_6", 135000},
                                                       {"task_5", 135000}, {"task_8", 190000}};
  for (const auto& [id, start] : expectedStart) {
    EXPECT_EQ(s[id].startedMs, start) << id;
    EXPECT_EQ(*s[id].finishedMs - *s[id].startedMs, s[id].task.estimatedTime * 1000) << id;
  }
  for (const auto& [id, snap] : s) {
    for (const auto& dep : snap.task.dependencies) EXPECT_GE(*snap.startedMs, *s[dep].finishedMs) << id << " after " << dep;
  }
  EXPECT_TRUE(ex->summary().success);
  EXPECT_EQ(ex->summary().totalTimeMs, 225000);  // the critical path
  EXPECT_EQ(ex->summary().tasksCompleted, 8);
  EXPECT_EQ(ex->summary().codeGeneration.filesGenerated, 8);
  EXPECT_EQ(s["task_8"].resultSummary, "done task_8 after 6 ancestors");
}

TEST_F(ExecutorTest, EventsFollowTheSpecWithContiguousSeq) {
  auto ex = make(example1(), ExecutorOptions{.executionId = "exec_1"});
  ex->start();
  drive(*ex);
  auto events = sink.events();
  ASSERT_FALSE(events.empty());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, i + 1);
    EXPECT_EQ(events[i].executionId, "exec_1");
  }
  EXPECT_EQ(events[0].type, "executionStarted");
  EXPECT_EQ(events[0].fields.at("parallelTasks").as_uint64(), 2u);
  EXPECT_EQ(events[1].type, "tasksStarted");
  EXPECT_EQ(boost::json::serialize(events[1].fields.at("taskIds")), R"(["task_1","task_7"])");
  EXPECT_EQ(events.back().type, "executionSummary");
  EXPECT_EQ(events.back().fields.at("totalTime").as_int64(), 225000);
  EXPECT_TRUE(events.back().fields.at("success").as_bool());
  // Per task: taskStarted, then its progress, then taskCompleted.
  std::map<std::string, std::vector<std::string>> perTask;
  for (const auto& e : events) {
    if (auto it = e.fields.find("taskId"); it != e.fields.end()) perTask[std::string(it->value().as_string())].push_back(e.type);
  }
  for (const auto& [id, types] : perTask) {
    EXPECT_EQ(types, (std::vector<std::string>{"taskStarted", "taskProgress", "taskCompleted"})) << id;
  }
}

TEST_F(ExecutorTest, AFailedTaskSkipsOnlyItsDependents) {
  agent().failing = {"task_3"};
  auto ex = make(example1());
  ex->start();
  drive(*ex);
  auto s = byId(*ex);
  EXPECT_EQ(s["task_3"].status, TaskStatus::kFailed);
  EXPECT_EQ(s["task_3"].error, "could not generate task_3");
  for (const char* id : {"task_5", "task_6", "task_8"}) {
    EXPECT_EQ(s[id].status, TaskStatus::kSkipped) << id;
    EXPECT_FALSE(s[id].startedMs) << id;
  }
  for (const char* id : {"task_1", "task_2", "task_4", "task_7"}) EXPECT_EQ(s[id].status, TaskStatus::kCompleted) << id;
  const auto& summary = ex->summary();
  EXPECT_FALSE(summary.success);
  EXPECT_EQ(summary.tasksFailed, 1);
  EXPECT_EQ(summary.tasksSkipped, 3);
  ASSERT_EQ(summary.failures.size(), 1u);
  EXPECT_EQ(summary.failures[0].taskId, "task_3");
  auto events = sink.events();
  EXPECT_EQ(events[events.size() - 2].type, "executionFailed");
  int skipped = 0;
  for (const auto& e : events) skipped += e.type == "taskSkipped";
  EXPECT_EQ(skipped, 3);
}

TEST_F(ExecutorTest, CancelStopsRunningTasksAndStartsNothingNew) {
  auto ex = make(example1());
  ex->start();
  clock.waitUntil([&] { return clock.sleepers() == 2; });  // task_1 and task_7 are working
  clock.advance(10s);
  clock.waitUntil([&] { return clock.sleepers() == 2; });
  ex->cancel("user asked");
  ex->wait();
  auto s = byId(*ex);
  EXPECT_EQ(s["task_1"].status, TaskStatus::kCancelled);
  EXPECT_EQ(s["task_7"].status, TaskStatus::kCancelled);
  EXPECT_EQ(s["task_2"].status, TaskStatus::kCancelled);
  EXPECT_EQ(s["task_2"].error, "user asked");
  EXPECT_TRUE(ex->summary().cancelled);
  EXPECT_FALSE(ex->summary().success);
  EXPECT_EQ(ex->summary().tasksCancelled, 8);
  int started = 0;
  for (const auto& e : sink.events()) started += e.type == "taskStarted";
  EXPECT_EQ(started, 2);
}

TEST_F(ExecutorTest, MaxParallelBoundsConcurrency) {
  auto ex = make(example1(), ExecutorOptions{.maxParallel = 1});
  ex->start();
  drive(*ex);
  EXPECT_TRUE(ex->summary().success);
  EXPECT_EQ(agent().maxConcurrent.load(), 1);
  EXPECT_EQ(ex->summary().totalTimeMs, 385000);  // everything in sequence
}

TEST_F(ExecutorTest, UnboundedParallelismRunsEveryReadyTask) {
  Plan wide;
  for (int i = 0; i < 12; ++i) wide.tasks.push_back(task("t" + std::to_string(i), {}, 10));
  wide.tasks.push_back(task("sink", {"t0", "t5", "t11"}, 5));
  auto ex = make(wide);
  ex->start();
  drive(*ex);
  EXPECT_EQ(agent().maxConcurrent.load(), 12);
  EXPECT_EQ(ex->summary().totalTimeMs, 15000);
}

TEST_F(ExecutorTest, ThrowingAgentsAndUnknownAgentsFailTheirTask) {
  agent().throws = true;
  Plan p{{task("a", {}, 1), task("b", {}, 1, "nobody")}};
  auto ex = make(p);
  ex->start();
  drive(*ex);
  auto s = byId(*ex);
  EXPECT_EQ(s["a"].error, "agent fake threw: boom");
  EXPECT_EQ(s["b"].error, "no agent 'nobody' is registered");
  EXPECT_EQ(ex->summary().tasksFailed, 2);
}

TEST_F(ExecutorTest, ZeroLatencyRunsWithoutTheClockMoving) {
  auto ex = std::make_unique<Execution>(example1(), ExecutionInput{}, registry, assembler, clock, sink,
                                        ExecutorOptions{.simulateLatency = 0});
  ex->start();
  ex->wait();
  EXPECT_TRUE(ex->summary().success);
  EXPECT_EQ(ex->summary().totalTimeMs, 0);
}

class RecordingObserver final : public TaskObserver {
 public:
  void taskFinished(const Task& task, TaskStatus status, int, const TaskResult* result, const std::string&) override {
    finished.emplace_back(task.id, status);
    if (result) results[task.id] = result->summary;
  }
  std::vector<std::pair<std::string, TaskStatus>> finished;
  std::map<std::string, std::string> results;
};

TEST_F(ExecutorTest, ResumingSkipsCompletedTasksAndContinuesTheSeq) {
  RecordingObserver observer;
  ExecutorOptions options;
  options.executionId = "exec_r";
  options.firstSeq = 41;
  options.observer = &observer;
  TaskResult done;
  done.summary = "from before the restart";
  options.completed = {{"task_1", done}, {"task_7", done}};
  auto ex = make(example1(), options);
  ex->start();
  drive(*ex);
  auto s = byId(*ex);
  EXPECT_FALSE(s["task_1"].startedMs);  // not run again
  EXPECT_EQ(s["task_1"].resultSummary, "from before the restart");
  EXPECT_EQ(s["task_2"].startedMs, 0);
  EXPECT_EQ(ex->summary().totalTimeMs, 180000);
  EXPECT_TRUE(ex->summary().success);
  auto events = sink.events();
  EXPECT_EQ(events.front().seq, 41u);
  EXPECT_TRUE(events.front().fields.at("resumed").as_bool());
  EXPECT_EQ(events.front().fields.at("taskIds").as_array().size(), 1u);  // task_2 only
  // The observer heard of every task that ran, before its event went out.
  EXPECT_EQ(observer.finished.size(), 6u);
  EXPECT_EQ(observer.results.count("task_8"), 1u);
}

TEST_F(ExecutorTest, SuspendingLeavesAResumableStateAndPublishesNoSummary) {
  auto ex = make(example1());
  ex->start();
  // Run until task_1 has completed and task_2 is working.
  clock.waitUntil([&] { return clock.sleepers() == 2; });
  clock.advance(std::chrono::seconds(45));
  clock.waitUntil([&] {
    auto snap = ex->snapshot();
    return snap[1].status == TaskStatus::kRunning && clock.sleepers() == 2;
  });
  ex->suspend("server shutting down");
  ex->wait();
  EXPECT_TRUE(ex->suspended());
  auto s = byId(*ex);
  EXPECT_EQ(s["task_1"].status, TaskStatus::kCompleted);
  EXPECT_EQ(s["task_2"].status, TaskStatus::kPending);  // interrupted: runs again on resume
  EXPECT_EQ(s["task_7"].status, TaskStatus::kPending);
  EXPECT_EQ(s["task_3"].status, TaskStatus::kPending);
  auto events = sink.events();
  for (const auto& e : events) {
    EXPECT_NE(e.type, "executionSummary");
    EXPECT_NE(e.type, "taskCancelled");
  }
}

TEST_F(ExecutorTest, DestroyingARunningExecutionCancelsIt) {
  auto ex = make(example1());
  ex->start();
  clock.waitUntil([&] { return clock.sleepers() == 2; });
  ex.reset();  // must not hang or crash
  EXPECT_EQ(sink.events().back().type, "executionSummary");
}

}  // namespace
}  // namespace ymy::executor
