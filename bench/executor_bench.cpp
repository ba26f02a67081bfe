// The executor's figures (issue: execute plans in parallel):
//  - makespan / critical path for the spec's Example 1 at --simulate-latency 0.01
//    (the whole design, builtin agents included, on the real clock);
//  - time from a task's completion to its dependent's start;
//  - a whole `design` of Example 1 at latency 0.
//
//   build/bench/youmeyou_bench --benchmark_filter='Makespan|DependentStart|Design'

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <unordered_map>

#include "engine/design.hpp"
#include "planner/validation.hpp"

namespace {

using namespace ymy;

const char* kExample1 =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

const engine::Engine& engine() {
  static const auto* e = [] {
    auto loaded = engine::Engine::load(YOUMEYOU_SOURCE_DATA_DIR);
    if (!loaded) {
      std::cerr << loaded.error().message << "\n";
      std::exit(1);
    }
    return loaded->release();
  }();
  return *e;
}

class DiscardSink final : public executor::EventSink {
 public:
  void publish(const Event&) override {}
};

void designOnce(double latency, benchmark::State& state, double* makespanRatio) {
  SystemClock clock;
  DiscardSink sink;
  engine::DesignOptions options;
  options.simulateLatency = latency;
  auto design = engine::Design::prepare(engine(), kExample1, std::nullopt, {}, options, clock, sink);
  if (!design) {
    state.SkipWithError(design.error().message.c_str());
    return;
  }
  (*design)->start();
  (*design)->wait();
  const auto& ex = (*design)->execution();
  if (!ex.summary().success) state.SkipWithError("design failed");
  if (makespanRatio) {
    double critical = planner::criticalPathSeconds(ex.plan()) * latency * 1000.0;
    *makespanRatio = static_cast<double>(ex.summary().totalTimeMs) / critical;
  }
}

// Makespan of Example 1 divided by its critical path (225 s x 0.01 = 2.25 s).
void BM_Example1Makespan_Latency001(benchmark::State& state) {
  double ratio = 0;
  std::vector<double> ratios;
  for (auto _ : state) {
    designOnce(0.01, state, &ratio);
    ratios.push_back(ratio);
  }
  std::sort(ratios.begin(), ratios.end());
  state.counters["makespan_ratio_median"] = ratios[ratios.size() / 2];
  state.counters["makespan_ratio_max"] = ratios.back();
}
BENCHMARK(BM_Example1Makespan_Latency001)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole design of Example 1 (analyse, plan, execute with the builtin
// agents generating every file) as fast as it can go.
void BM_DesignExample1_Latency0(benchmark::State& state) {
  for (auto _ : state) designOnce(0, state, nullptr);
}
BENCHMARK(BM_DesignExample1_Latency0)->Unit(benchmark::kMillisecond)->UseRealTime();

// The spec's Example 2 on the static path, analysis to files: "Fix the auth
// service in my design and make it scalable to 5000 RPS" against the example
// canvas, at latency 0 (the spec's own figure is 3.0 s).
void BM_StaticPathExample2_Latency0(benchmark::State& state) {
  static const Canvas canvas = [] {
    auto c = engine::loadCanvasFile(std::string(YOUMEYOU_SOURCE_DATA_DIR) + "/examples/ecommerce-basic-auth.canvas.json");
    if (!c) std::exit(1);
    return *c;
  }();
  for (auto _ : state) {
    SystemClock clock;
    DiscardSink sink;
    auto design = engine::Design::prepare(engine(), "Fix the auth service in my design and make it scalable to 5000 RPS",
                                          canvas, {}, engine::DesignOptions{}, clock, sink);
    if (!design) {
      state.SkipWithError(design.error().message.c_str());
      break;
    }
    (*design)->start();
    (*design)->wait();
    if (!(*design)->execution().summary().success) state.SkipWithError("design failed");
  }
}
BENCHMARK(BM_StaticPathExample2_Latency0)->Unit(benchmark::kMillisecond)->UseRealTime();

// Records when each task's agent starts and returns, on the steady clock.
class StampAgent final : public executor::Agent {
 public:
  std::string_view id() const override { return "stamp"; }
  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    auto started = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mutex);
      start[ctx.task().id] = started;
    }
    executor::TaskResult r;
    r.summary = "ok";
    std::lock_guard lock(mutex);
    end[ctx.task().id] = std::chrono::steady_clock::now();
    return r;
  }
  std::mutex mutex;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> start, end;
};

class NoAssembly final : public executor::ResultAssembler {
 public:
  executor::Assembly assemble(const executor::ExecutionInput&, const Plan&,
                              const std::vector<std::pair<const Task*, const executor::TaskResult*>>&) override {
    return {};
  }
};

// A layered DAG: 8 layers of 8 tasks, each depending on two tasks of the layer above.
Plan layeredPlan() {
  Plan p;
  for (int layer = 0; layer < 8; ++layer) {
    for (int i = 0; i < 8; ++i) {
      Task t;
      t.id = "t" + std::to_string(layer) + "_" + std::to_string(i);
      t.name = t.id;
      t.type = TaskType::kCodeGeneration;
      t.estimatedTime = 1;
      t.agent = "stamp";
      t.prompt = "x";
      if (layer > 0) {
        t.dependencies = {"t" + std::to_string(layer - 1) + "_" + std::to_string(i),
                          "t" + std::to_string(layer - 1) + "_" + std::to_string((i + 1) % 8)};
      }
      p.tasks.push_back(std::move(t));
    }
  }
  return p;
}

// The spec's Example 1 DAG with agents that return at once.
Plan example1Plan() {
  auto a = engine().analyze(kExample1, nullptr);
  auto p = engine().plan(*a, kExample1);
  Plan plan = p->plan;
  for (auto& t : plan.tasks) t.agent = "stamp";
  return plan;
}

// From the moment a dependent's last dependency returned to the moment the
// dependent's agent starts: bookkeeping, events, and handing it a worker.
// Arg 0: the spec's Example 1 DAG; arg 1: a wide layered DAG (8 x 8) that keeps
// eight tasks ready at once on this 2-core machine.
void BM_DependentStartLatency(benchmark::State& state) {
  executor::AgentRegistry registry;
  registry.add(std::make_unique<StampAgent>());
  auto* agent = static_cast<StampAgent*>(registry.find("stamp"));
  NoAssembly assembly;
  DiscardSink sink;
  SystemClock clock;
  const Plan plan = state.range(0) == 0 ? example1Plan() : layeredPlan();
  std::vector<double> latenciesUs;
  for (auto _ : state) {
    agent->start.clear();
    agent->end.clear();
    executor::Execution ex(plan, {}, registry, assembly, clock, sink, {});
    ex.start();
    ex.wait();
    for (const auto& t : plan.tasks) {
      if (t.dependencies.empty()) continue;
      auto ready = agent->end.at(t.dependencies[0]);
      for (const auto& d : t.dependencies) ready = std::max(ready, agent->end.at(d));
      latenciesUs.push_back(std::chrono::duration<double, std::micro>(agent->start.at(t.id) - ready).count());
    }
  }
  std::sort(latenciesUs.begin(), latenciesUs.end());
  auto pct = [&](double p) { return latenciesUs[static_cast<std::size_t>(p * static_cast<double>(latenciesUs.size() - 1))]; };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["samples"] = static_cast<double>(latenciesUs.size());
}
BENCHMARK(BM_DependentStartLatency)->Arg(0)->Arg(1)->Iterations(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
