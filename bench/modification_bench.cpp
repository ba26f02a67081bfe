// Step modification figures (issue: edit a step while the run is in progress):
//  - impact analysis (previewModification) of the first task of a 1,000-task
//    plan, every other task its transitive dependent, with agents whose flow
//    costs what the builtin agents' do not (the graph walk alone) and with the
//    builtin agents on Example 1;
//  - from confirming a modification (modify) to the running task's agent
//    having stopped.
//
//   build/bench/youmeyou_bench --benchmark_filter='Impact|ModifyToStopped'

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "engine/design.hpp"
#include "executor/executor.hpp"

namespace {

using namespace ymy;
using namespace ymy::executor;

class NullSink final : public EventSink {
 public:
  void publish(const Event&) override {}
};

class NullAssembler final : public ResultAssembler {
 public:
  Assembly assemble(const ExecutionInput&, const Plan&,
                    const std::vector<std::pair<const Task*, const TaskResult*>>&) override {
    return {};
  }
};

// Works until cancelled; its flow is precomputed per task, so the figure is
// the executor's own work (validation, the walk over dependents, matching
// items, the time and cost estimate).
class WaitingAgent final : public Agent {
 public:
  std::atomic<std::int64_t> stoppedAtNs{0};
  std::unordered_map<std::string, TaskFlow> flows;

  std::string_view id() const override { return "wait"; }
  Result<TaskResult> run(TaskContext& ctx) override {
    const bool finished = ctx.simulateWork(1.0);
    stoppedAtNs = std::chrono::steady_clock::now().time_since_epoch().count();
    if (!finished) return fail(ErrorCode::kInternal, "cancelled");
    return TaskResult{};
  }
  TaskFlow flow(const TaskContext& ctx) const override {
    auto it = flows.find(ctx.task().id);
    TaskFlow f = it == flows.end() ? TaskFlow{} : it->second;
    if (ctx.task().prompt.ends_with("+")) f.produces.insert("item:" + ctx.task().id + "/new");
    return f;
  }
};

WaitingAgent* addWaitingAgent(AgentRegistry& registry) {
  auto agent = std::make_unique<WaitingAgent>();
  auto* raw = agent.get();
  registry.add(std::move(agent));
  return raw;
}

// 1,000 tasks in 20 layers of 50; each depends on 3 tasks of the layer above
// and builds on one of them, uses another. t0 is the single root.
Plan layeredPlan(WaitingAgent& agent) {
  Plan plan;
  auto add = [&](const std::string& id, std::vector<std::string> deps) {
    Task t;
    t.id = id;
    t.name = id;
    t.type = TaskType::kCodeGeneration;
    t.dependencies = std::move(deps);
    t.estimatedTime = 30;
    t.agent = "wait";
    t.prompt = "work on " + id;
    plan.tasks.push_back(t);
    TaskFlow f;
    f.known = true;
    f.produces.insert("item:" + id + "/a");
    if (!plan.tasks.back().dependencies.empty()) f.consumes.insert("item:" + plan.tasks.back().dependencies[0] + "/");
    if (plan.tasks.back().dependencies.size() > 1) f.uses.insert("item:" + plan.tasks.back().dependencies[1] + "/");
    agent.flows[id] = f;
  };
  add("t0", {});
  std::vector<std::string> above = {"t0"};
  int next = 1;
  for (int layer = 0; layer < 20 && next < 1000; ++layer) {
    std::vector<std::string> here;
    for (int k = 0; k < 50 && next < 1000; ++k, ++next) {
      std::vector<std::string> deps;
      for (std::size_t d = 0; d < std::min<std::size_t>(3, above.size()); ++d) {
        deps.push_back(above[(static_cast<std::size_t>(k) * 7 + d * 13) % above.size()]);
      }
      std::sort(deps.begin(), deps.end());
      deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
      here.push_back("t" + std::to_string(next));
      add(here.back(), deps);
    }
    above = here;
  }
  return plan;
}

void BM_Impact_1000TaskPlan(benchmark::State& state) {
  AgentRegistry registry;
  WaitingAgent* agent = addWaitingAgent(registry);
  Plan plan = layeredPlan(*agent);
  ManualClock clock;  // time stands still: t0 runs for as long as the benchmark does
  NullSink sink;
  NullAssembler assembler;
  ExecutorOptions options;
  options.simulateLatency = 1;
  Execution ex(plan, ExecutionInput{}, registry, assembler, clock, sink, options);
  ex.start();
  std::size_t impacted = 0, dependents = 0;
  for (auto _ : state) {
    auto report = ex.previewModification("t0", "work on t0 +");
    if (!report) {
      state.SkipWithError(report.error().message.c_str());
      break;
    }
    dependents = report->dependents.size();
    impacted = report->affected().size();
  }
  state.counters["dependents"] = static_cast<double>(dependents);
  state.counters["affected"] = static_cast<double>(impacted);
  ex.cancel("benchmark over");
  ex.wait();
}
BENCHMARK(BM_Impact_1000TaskPlan)->Unit(benchmark::kMicrosecond);

// The builtin agents' flows on Example 1: task_2 (the schema) modified as in
// the spec, with task_1 completed.
void BM_Impact_Example3Builtin(benchmark::State& state) {
  static const auto* engine = [] {
    auto loaded = engine::Engine::load(YOUMEYOU_SOURCE_DATA_DIR);
    if (!loaded) std::exit(1);
    return loaded->release();
  }();
  ManualClock clock;
  NullSink sink;
  engine::DesignOptions options;
  options.simulateLatency = 1;
  auto design = engine::Design::prepare(
      *engine, "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing",
      std::nullopt, {}, options, clock, sink);
  if (!design) {
    state.SkipWithError(design.error().message.c_str());
    return;
  }
  (*design)->start();
  // Run task_1 (45 s) and let task_2 start.
  auto taskState = [&](const char* id) {
    for (const auto& t : (*design)->execution().snapshot()) {
      if (t.task.id == id) return t.status;
    }
    return TaskStatus::kPending;
  };
  while (taskState("task_2") != TaskStatus::kRunning) {
    clock.waitUntil([&] { return clock.sleepers() >= 2 || taskState("task_2") == TaskStatus::kRunning; });
    if (taskState("task_2") == TaskStatus::kRunning) break;
    clock.advance(*clock.nextDeadline() - clock.now());
  }
  const std::string prompt =
      "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user "
      "behavior tracking, product similarity, and recommendation history";
  std::size_t affected = 0;
  for (auto _ : state) {
    auto report = (*design)->previewModification("task_2", prompt);
    if (!report) {
      state.SkipWithError(report.error().message.c_str());
      break;
    }
    affected = report->affected().size();
  }
  state.counters["affected"] = static_cast<double>(affected);
  (*design)->cancel("benchmark over");
  (*design)->wait();
}
BENCHMARK(BM_Impact_Example3Builtin)->Unit(benchmark::kMicrosecond);

// modify() on a running task to the moment its agent has stopped, on the
// real clock (the agent is in a long simulated wait).
void BM_ModifyToStopped(benchmark::State& state) {
  AgentRegistry registry;
  WaitingAgent* agent = addWaitingAgent(registry);
  Plan plan = layeredPlan(*agent);
  plan.tasks.resize(1);  // the root alone
  SystemClock clock;
  NullSink sink;
  NullAssembler assembler;
  ExecutorOptions options;
  options.simulateLatency = 100;  // 3,000 s of simulated work: it only ends by being stopped
  options.modification.cooldown = std::chrono::milliseconds(0);
  options.modification.maxPerTask = 1 << 30;
  Execution ex(plan, ExecutionInput{}, registry, assembler, clock, sink, options);
  ex.start();
  std::vector<double> micros;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // Wait until the current run is in its wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto stoppedBefore = agent->stoppedAtNs.load();
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    auto r = ex.modify("t0", "work on t0 round " + std::to_string(++round));
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    while (agent->stoppedAtNs.load() == stoppedBefore) std::this_thread::yield();
    micros.push_back(static_cast<double>(agent->stoppedAtNs.load() - start.time_since_epoch().count()) / 1000.0);
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[static_cast<std::size_t>(0.99 * static_cast<double>(micros.size() - 1))];
  }
  ex.cancel("benchmark over");
  ex.wait();
}
BENCHMARK(BM_ModifyToStopped)->Iterations(200)->Unit(benchmark::kMicrosecond);

}  // namespace
