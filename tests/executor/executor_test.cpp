#include "executor/executor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <random>
#include <sstream>

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
    r.output["generation"] = ctx.generation();
    r.output["prompt"] = ctx.task().prompt;
    return r;
  }

  // Flows from the prompt's words: "makes:X" produces X, "needs:X" consumes
  // X, "uses:X" uses X; "opaque" means the agent cannot tell.
  TaskFlow flow(const TaskContext& ctx) const override {
    TaskFlow f;
    f.known = ctx.task().prompt.find("opaque") == std::string::npos;
    std::istringstream words(ctx.task().prompt);
    for (std::string w; words >> w;) {
      if (w.starts_with("makes:")) f.produces.insert(w.substr(6));
      if (w.starts_with("needs:")) f.consumes.insert(w.substr(6));
      if (w.starts_with("uses:")) f.uses.insert(w.substr(5));
    }
    return f;
  }
};

class CountingAssembler final : public ResultAssembler {
 public:
  std::map<std::string, std::int64_t> generation;  // of each result assembled last
  std::map<std::string, std::string> prompt;       // the prompt it ran with
  Assembly assemble(const ExecutionInput&, const Plan&,
                    const std::vector<std::pair<const Task*, const TaskResult*>>& results) override {
    Assembly a;
    for (const auto& [t, r] : results) {
      a.files.insert(a.files.end(), r->files.begin(), r->files.end());
      if (r->output.contains("generation")) generation[t->id] = r->output.at("generation").as_int64();
      if (r->output.contains("prompt")) prompt[t->id] = std::string(r->output.at("prompt").as_string());
    }
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


// ---- Step modification ----------------------------------------------------------

// Example 1's DAG with flows like the builtin agents': the schema (task_2)
// makes tables per service, services are built from their tables and use the
// APIs they call, the tests are built from every API.
Plan flowPlan() {
  Plan p = example1();
  auto prompt = [&](const char* id, std::string text) {
    for (auto& t : p.tasks) {
      if (t.id == id) t.prompt = "do " + std::string(id) + " " + text;
    }
  };
  prompt("task_1", "makes:service:auth makes:service:product makes:service:cart makes:service:payment");
  prompt("task_2", "needs:service: makes:table:auth/users makes:table:product/products makes:table:cart/carts "
                   "makes:table:payment/payments");
  prompt("task_3", "needs:table:auth/ makes:api:auth/login");
  prompt("task_4", "needs:table:product/ makes:api:product/list");
  prompt("task_5", "needs:table:cart/ uses:api:product/ uses:api:auth/ makes:api:cart/add");
  prompt("task_6", "needs:table:payment/ uses:api:auth/ makes:api:payment/pay");
  prompt("task_7", "uses:api: makes:frontend");
  prompt("task_8", "needs:api: makes:tests");
  return p;
}

std::string promptOf(const Plan& p, const std::string& id) {
  for (const auto& t : p.tasks) {
    if (t.id == id) return t.prompt;
  }
  return "";
}

std::map<std::string, int> startsByTask(const std::vector<Event>& events) {
  std::map<std::string, int> starts;
  for (const auto& e : events) {
    if (e.type == "taskStarted") ++starts[std::string(e.fields.at("taskId").as_string())];
  }
  return starts;
}

// Advances the clock until `ready` holds with every running task asleep.
void advanceUntil(ManualClock& clock, Execution& ex, const std::function<bool()>& ready) {
  for (int step = 0; step < 10000 && !ready(); ++step) {
    clock.waitUntil([&] {
      auto snap = ex.snapshot();
      auto running = static_cast<std::size_t>(std::count_if(
          snap.begin(), snap.end(), [](const TaskSnapshot& s) { return s.status == TaskStatus::kRunning; }));
      return ex.finished() || (running > 0 && running == clock.sleepers());
    });
    if (ready() || ex.finished()) return;
    clock.advance(*clock.nextDeadline() - clock.now());
  }
}

TEST_F(ExecutorTest, Example3ThePreviewClassifiesByWhatFlowsAndChangesNothing) {
  ExecutorOptions options;
  options.modification.cooldown = 0ms;
  auto ex = make(flowPlan(), options);
  ex->start();
  // 60 s in: task_1 done, task_2 halfway, task_7 running beside them.
  advanceUntil(clock, *ex, [&] { return clock.now() >= Clock::TimePoint(60s); });
  ASSERT_EQ(byId(*ex)["task_2"].status, TaskStatus::kRunning);
  const auto before = ex->snapshot();
  const std::string modified = promptOf(flowPlan(), "task_2") + " makes:table:product/recommendations";

  auto report = ex->previewModification("task_2", modified);
  ASSERT_TRUE(report) << report.error().message;
  std::map<std::string, Impact> impact;
  for (const auto& d : report->dependents) impact[d.taskId] = d.impact;
  EXPECT_EQ(impact, (std::map<std::string, Impact>{{"task_3", Impact::kNone},
                                                   {"task_4", Impact::kImpact},
                                                   {"task_5", Impact::kMinor},
                                                   {"task_6", Impact::kNone},
                                                   {"task_8", Impact::kImpact}}));
  EXPECT_EQ(report->affected(), (std::vector<std::string>{"task_4", "task_5", "task_8"}));
  EXPECT_EQ(report->unaffected(), (std::vector<std::string>{"task_3", "task_6"}));
  EXPECT_EQ(report->added, (std::vector<std::string>{"table:product/recommendations"}));
  // task_2 restarts from zero: 30 s instead of the 15 s it had left, on the critical path.
  EXPECT_DOUBLE_EQ(report->additionalTime, 15);
  EXPECT_GT(report->costIncrease, 0);  // the half of task_2 already done is done again

  // Nothing changed: same states and generations, and two events published.
  const auto after = ex->snapshot();
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].status, before[i].status);
    EXPECT_EQ(after[i].generation, before[i].generation);
    EXPECT_EQ(after[i].task.prompt, before[i].task.prompt);
  }
  auto events = sink.events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2].type, "modificationValidated");
  EXPECT_EQ(events.back().type, "impactAnalysis");
  EXPECT_EQ(boost::json::serialize(events.back().fields.at("affectedTasks")), R"(["task_4","task_5","task_8"])");

  // Confirmed: task_2 restarts, the affected tasks wait for it, auth and payment are untouched.
  auto applied = ex->modify("task_2", modified);
  ASSERT_TRUE(applied) << applied.error().message;
  const auto published = sink.events();
  const auto regeneration = std::find_if(published.begin(), published.end(),
                                         [](const Event& e) { return e.type == "regenerationStarted"; });
  ASSERT_LT(std::distance(regeneration, published.end()), published.end() - published.begin());
  ASSERT_GE(std::distance(regeneration, published.end()), 3);
  EXPECT_EQ(regeneration->fields.at("affectedTasks").to_number<int>(), 4);
  EXPECT_EQ(regeneration[2].type, "taskStarted");  // task_2 again, at once, published with the modification
  EXPECT_EQ(regeneration[2].fields.at("taskId").as_string(), "task_2");
  EXPECT_EQ(regeneration[2].fields.at("generation").as_int64(), 1);
  drive(*ex);

  auto s = byId(*ex);
  for (const auto& [id, snap] : s) EXPECT_EQ(snap.status, TaskStatus::kCompleted) << id;
  const auto starts = startsByTask(sink.events());
  EXPECT_EQ(starts.at("task_2"), 2);
  for (const char* id : {"task_1", "task_3", "task_4", "task_5", "task_6", "task_7", "task_8"}) {
    EXPECT_EQ(starts.at(id), 1) << id;  // affected tasks had not started: they run once, after the new schema
  }
  EXPECT_EQ(s["task_2"].generation, 1);
  EXPECT_EQ(s["task_4"].generation, 1);
  EXPECT_EQ(s["task_3"].generation, 0);
  EXPECT_EQ(ex->plan().tasks[1].prompt, modified);
  // task_2's new run started at 60 s and took its full 30 s; the rest followed.
  EXPECT_EQ(*s["task_2"].startedMs, 60000);
  EXPECT_EQ(*s["task_2"].finishedMs, 90000);
  const auto& summary = ex->summary();
  EXPECT_EQ(summary.modifications, 1);
  EXPECT_EQ(summary.regeneratedTasks, (std::vector<std::string>{"task_2", "task_4", "task_5", "task_8"}));
  EXPECT_EQ(summary.keptTasks, (std::vector<std::string>{"task_1", "task_3", "task_6", "task_7"}));
  auto history = ex->modifications();
  ASSERT_EQ(history["task_2"].size(), 1u);
  EXPECT_NE(history["task_2"][0].change.find("table:product/recommendations"), std::string::npos);
}

TEST_F(ExecutorTest, ModifyingACompletedTaskRerunsOnlyWhatItFeeds) {
  ExecutorOptions options;
  options.modification.cooldown = 0ms;
  auto ex = make(flowPlan(), options);
  ex->start();
  // 160 s: task_1, 2, 3, 4 completed (task_4 at 125 s, task_3 at 135 s), task_5 and task_6 running.
  advanceUntil(clock, *ex, [&] { return clock.now() >= Clock::TimePoint(160s); });
  auto s = byId(*ex);
  ASSERT_EQ(s["task_4"].status, TaskStatus::kCompleted);
  ASSERT_EQ(s["task_6"].status, TaskStatus::kRunning);
  // The product service now also makes a recommendations API: the cart (uses it) and the tests (built from all APIs).
  auto report = ex->modify("task_4", promptOf(flowPlan(), "task_4") + " makes:api:product/recommendations");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->affected(), (std::vector<std::string>{"task_5", "task_8"}));
  drive(*ex);
  const auto starts = startsByTask(sink.events());
  EXPECT_EQ(starts.at("task_4"), 2);
  EXPECT_EQ(starts.at("task_5"), 2);  // it was running: stopped, and run again after the new task_4
  EXPECT_EQ(starts.at("task_3"), 1);
  EXPECT_EQ(starts.at("task_6"), 1);  // kept running
  s = byId(*ex);
  for (const auto& [id, snap] : s) EXPECT_EQ(snap.status, TaskStatus::kCompleted) << id;
  EXPECT_EQ(ex->summary().tasksCompleted, 8);
}

TEST_F(ExecutorTest, AnAgentThatCannotTellImpactsEveryDependent) {
  ExecutorOptions options;
  options.modification.cooldown = 0ms;
  Plan p = flowPlan();
  p.tasks[1].prompt += " opaque";
  auto ex = make(p, options);
  ex->start();
  advanceUntil(clock, *ex, [&] { return clock.now() >= Clock::TimePoint(60s); });
  auto report = ex->previewModification("task_2", p.tasks[1].prompt + " and more");
  ASSERT_TRUE(report);
  EXPECT_EQ(report->affected().size(), 5u);
  EXPECT_TRUE(report->unaffected().empty());
  ex->cancel("test over");
  drive(*ex);
}

TEST_F(ExecutorTest, ModificationsAreRefusedWithReasonsAndChangeNothing) {
  ExecutorOptions options;
  options.modification.cooldown = 10s;
  agent().failing = {"task_6"};
  auto ex = make(flowPlan(), options);
  ex->start();
  advanceUntil(clock, *ex, [&] { return clock.now() >= Clock::TimePoint(60s); });
  const std::string prompt2 = promptOf(flowPlan(), "task_2");
  const auto published = sink.events().size();

  auto code = [&](const std::string& id, const std::string& prompt) {
    auto r = ex->modify(id, prompt);
    return r ? std::optional<ErrorCode>() : std::optional<ErrorCode>(r.error().code);
  };
  EXPECT_EQ(code("task_99", "x"), ErrorCode::kNotFound);
  EXPECT_EQ(code("task_2", "   "), ErrorCode::kUnprocessable);
  EXPECT_EQ(code("task_2", prompt2 + "  "), ErrorCode::kUnprocessable);  // unchanged
  EXPECT_EQ(sink.events().size(), published);                           // refusals publish nothing

  EXPECT_EQ(code("task_2", prompt2 + " v1"), std::nullopt);
  clock.advance(5s);
  auto tooSoon = ex->modify("task_2", prompt2 + " v2");
  ASSERT_FALSE(tooSoon);
  EXPECT_EQ(tooSoon.error().code, ErrorCode::kTooSoon);
  EXPECT_NE(tooSoon.error().message.find("wait 5.0 s more"), std::string::npos) << tooSoon.error().message;
  clock.advance(5s);
  EXPECT_EQ(code("task_2", prompt2 + " v2"), std::nullopt);
  clock.advance(10s);
  EXPECT_EQ(code("task_2", prompt2 + " v3"), std::nullopt);
  clock.advance(10s);
  auto fourth = ex->modify("task_2", prompt2 + " v4");
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code, ErrorCode::kConflict);
  EXPECT_NE(fourth.error().message.find("3 times"), std::string::npos);
  EXPECT_EQ(ex->modifications()["task_2"].size(), 3u);
  EXPECT_EQ(promptOf(ex->plan(), "task_2"), prompt2 + " v3");

  drive(*ex);  // task_6 fails; the run ends
  EXPECT_EQ(code("task_3", "anything new"), ErrorCode::kConflict);  // finished
}

TEST_F(ExecutorTest, AFailedTaskCannotBeModified) {
  ExecutorOptions options;
  options.modification.cooldown = 0ms;
  agent().failing = {"task_1"};
  Plan p = flowPlan();
  auto ex = make(p, options);
  ex->start();
  advanceUntil(clock, *ex, [&] { return byId(*ex)["task_1"].status == TaskStatus::kFailed; });
  auto r = ex->modify("task_1", "try again");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().message.find("failed"), std::string::npos);
  drive(*ex);
}

// Random DAGs, random modifications at random moments: every task's final
// result is from its latest generation, nothing outside the impact sets
// re-runs, and every run finishes.
TEST_F(ExecutorTest, PropertyRandomModificationsKeepTheRunConsistent) {
  std::mt19937 random(20261129);
  int applied = 0, rerunsSeen = 0;
  for (int round = 0; round < 40; ++round) {
    const int n = 4 + static_cast<int>(random() % 12);
    Plan plan;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> deps;
      std::string prompt = "makes:item" + std::to_string(i) + "/a";
      for (int j = 0; j < i; ++j) {
        if (random() % 3 != 0) continue;
        deps.push_back("t" + std::to_string(j));
        const auto kind = random() % 3;
        if (kind == 0) prompt += " needs:item" + std::to_string(j) + "/";
        if (kind == 1) prompt += " uses:item" + std::to_string(j) + "/";
      }
      Task t = task("t" + std::to_string(i), deps, 1 + static_cast<int>(random() % 20));
      t.prompt = prompt;
      plan.tasks.push_back(t);
    }
    ExecutorOptions options;
    options.modification.cooldown = 0ms;
    options.modification.maxPerTask = 100;
    options.maxParallel = random() % 2 ? 0 : 2;
    RecordingSink roundSink(clock);
    Execution ex(plan, ExecutionInput{}, registry, assembler, clock, roundSink,
                 [&] {
                   options.simulateLatency = 1.0;
                   options.executionId = "round" + std::to_string(round);
                   return options;
                 }());
    ex.start();
    std::map<std::string, int> allowedStarts;
    for (const auto& t : plan.tasks) allowedStarts[t.id] = 1;
    int modifications = 0;
    for (int step = 0; step < 400 && !ex.finished(); ++step) {
      clock.waitUntil([&] {
        auto snap = ex.snapshot();
        auto running = static_cast<std::size_t>(std::count_if(
            snap.begin(), snap.end(), [](const TaskSnapshot& s) { return s.status == TaskStatus::kRunning; }));
        return ex.finished() || (running > 0 && running == clock.sleepers());
      });
      if (ex.finished()) break;
      if (random() % 3 == 0) {
        const auto& t = plan.tasks[random() % plan.tasks.size()];
        std::string prompt;
        for (const auto& snap : ex.snapshot()) {
          if (snap.task.id == t.id) prompt = snap.task.prompt;
        }
        prompt += random() % 2 ? " makes:" + t.id + "-extra" + std::to_string(step) + "/b" : " reworded";
        auto r = ex.modify(t.id, prompt);
        if (r) {
          ++modifications;
          // The task, and each affected dependent, may start once more.
          ++allowedStarts[t.id];
          for (const auto& id : r->affected()) ++allowedStarts[id];
        } else {
          EXPECT_TRUE(r.error().code == ErrorCode::kConflict || r.error().code == ErrorCode::kUnprocessable)
              << r.error().message;
        }
      }
      auto deadline = clock.nextDeadline();
      if (deadline) clock.advance(*deadline - clock.now());
    }
    ex.wait();
    ASSERT_TRUE(ex.finished()) << "round " << round;
    for (const auto& snap : ex.snapshot()) {
      ASSERT_EQ(snap.status, TaskStatus::kCompleted) << "round " << round << " " << snap.task.id;
    }
    const auto starts = startsByTask(roundSink.events());
    for (const auto& [id, count] : starts) {
      EXPECT_LE(count, allowedStarts[id]) << "round " << round << " " << id << " re-ran outside an impact set";
    }
    EXPECT_EQ(ex.summary().modifications, modifications);
    applied += modifications;
    for (const auto& [id, count] : starts) rerunsSeen += count - 1;
    EXPECT_EQ(ex.summary().tasksCompleted, n);
    // Each task's assembled result is from its latest generation: the fake
    // agent records the generation and prompt it ran with.
    std::map<std::string, TaskSnapshot> snaps;
    for (auto& snap : ex.snapshot()) snaps[snap.task.id] = snap;
    for (const auto& [id, snap] : snaps) {
      EXPECT_EQ(assembler.generation[id], snap.generation) << "round " << round << " " << id;
      EXPECT_EQ(assembler.prompt[id], snap.task.prompt) << "round " << round << " " << id;
    }
  }
  // The rounds did exercise the machinery: many modifications, many re-runs.
  EXPECT_GT(applied, 60);
  EXPECT_GT(rerunsSeen, 40);
  std::printf("%d modifications applied, %d runs superseded and re-run\n", applied, rerunsSeen);
}


// An agent backed by a model: each run reports 1000 prompt and 200
// completion tokens costing 0.002 USD; a run in flight would waste 0.0005.
class ModelAgent final : public Agent {
 public:
  std::string_view id() const override { return "model"; }
  Result<TaskResult> run(TaskContext& ctx) override {
    if (!ctx.simulateWork(1.0)) return fail(ErrorCode::kInternal, "cancelled");
    TaskResult r;
    r.summary = "model wrote " + ctx.task().id;
    r.llm = LlmStageUsage{"agents", "openai", "gpt-test", 1, 1000, 200, 0.002};
    return r;
  }
  std::optional<double> inFlightCostUsd(const TaskContext&) const override { return 0.0005; }
};

TEST_F(ExecutorTest, ModelTokensArePerTaskSummedInTheSummaryAndPriceTheImpact) {
  registry.add(std::make_unique<ModelAgent>());
  ExecutorOptions options;
  options.modification.cooldown = 0ms;
  options.llmUsage.push_back(LlmStageUsage{"plan", "openai", "gpt-test", 1, 500, 100, 0.001});
  auto ex = make(Plan{{task("a", {}, 10, "model"), task("b", {"a"}, 10, "model"), task("c", {"b"}, 10, "model")}},
                 options);
  ex->start();
  advanceUntil(clock, *ex, [&] { return byId(*ex)["b"].status == TaskStatus::kRunning; });
  // Redoing a costs what its run cost; b's request in flight is wasted; c has not started.
  auto report = ex->previewModification("a", "do a differently");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->affected(), (std::vector<std::string>{"b", "c"}));
  EXPECT_DOUBLE_EQ(report->costIncrease, 0.002 + 0.0005);
  EXPECT_TRUE(report->modelPriced);
  EXPECT_DOUBLE_EQ(report->toJson().at("costIncrease").as_double(), 0.0025);
  drive(*ex);

  const auto events = sink.events();
  int priced = 0;
  for (const auto& e : events) {
    if (e.type != "taskCompleted") continue;
    const auto& llm = e.fields.at("llm").as_object();
    EXPECT_EQ(llm.at("promptTokens"), 1000);
    EXPECT_EQ(llm.at("completionTokens"), 200);
    EXPECT_EQ(llm.at("model"), "gpt-test");
    EXPECT_DOUBLE_EQ(llm.at("costUsd").as_double(), 0.002);
    ++priced;
  }
  EXPECT_EQ(priced, 3);
  const auto& summary = ex->summary();
  ASSERT_EQ(summary.llm.size(), 2u);
  EXPECT_EQ(summary.llm[0].stage, "plan");
  EXPECT_EQ(summary.llm[1].stage, "agents");
  EXPECT_EQ(summary.llm[1].calls, 3);
  EXPECT_EQ(summary.llm[1].promptTokens, 3000);
  EXPECT_EQ(summary.llm[1].completionTokens, 600);
  EXPECT_DOUBLE_EQ(*summary.llm[1].costUsd, 0.006);
  const auto json = toJsonFields(summary);
  EXPECT_EQ(json.at("llm").at("promptTokens"), 3500);
  EXPECT_DOUBLE_EQ(json.at("llm").at("costUsd").as_double(), 0.007);
}

TEST_F(ExecutorTest, ABuiltinRunHasNoTokensAnywhere) {
  auto ex = make(Plan{{task("a", {}, 10), task("b", {"a"}, 10)}});
  ex->start();
  drive(*ex);
  for (const auto& e : sink.events()) EXPECT_FALSE(e.fields.contains("llm")) << e.type;
  EXPECT_TRUE(ex->summary().llm.empty());
}

}  // namespace
}  // namespace ymy::executor
