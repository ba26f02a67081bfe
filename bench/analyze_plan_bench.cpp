// Latency of understanding and planning a request after start-up: intent
// analysis (classifier, catalog matching, parameters, canvas resolution),
// context extraction and plan generation with validation.
//
//   build/bench/youmeyou_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>

#include "engine/engine.hpp"

namespace {

using ymy::engine::Engine;

const Engine& engine() {
  static const auto* e = [] {
    auto loaded = Engine::load(YOUMEYOU_SOURCE_DATA_DIR);
    if (!loaded) {
      std::cerr << loaded.error().message << "\n";
      std::exit(1);
    }
    return loaded->release();
  }();
  return *e;
}

const ymy::Canvas& exampleCanvas() {
  static const auto canvas =
      *ymy::engine::loadCanvasFile(std::string(YOUMEYOU_SOURCE_DATA_DIR) + "/examples/ecommerce-basic-auth.canvas.json");
  return canvas;
}

const char* kExample1 =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
const char* kExample2 = "Fix the auth service in my design and make it scalable to 5000 RPS";

void analyzeAndPlan(benchmark::State& state, const char* request, const ymy::Canvas* canvas) {
  const auto& e = engine();
  for (auto _ : state) {
    auto a = e.analyze(request, canvas);
    auto p = e.plan(*a, request);
    benchmark::DoNotOptimize(p->plan.tasks.data());
  }
}

void BM_Analyze_Example1(benchmark::State& state) {
  const auto& e = engine();
  for (auto _ : state) {
    auto a = e.analyze(kExample1, nullptr);
    benchmark::DoNotOptimize(a->frame.components.data());
  }
}
BENCHMARK(BM_Analyze_Example1)->Unit(benchmark::kMicrosecond);

void BM_AnalyzePlan_Example1(benchmark::State& state) { analyzeAndPlan(state, kExample1, nullptr); }
BENCHMARK(BM_AnalyzePlan_Example1)->Unit(benchmark::kMicrosecond);

void BM_AnalyzePlan_Example2WithCanvas(benchmark::State& state) { analyzeAndPlan(state, kExample2, &exampleCanvas()); }
BENCHMARK(BM_AnalyzePlan_Example2WithCanvas)->Unit(benchmark::kMicrosecond);

// A mix of intents and lengths, with and without the canvas.
void BM_AnalyzePlan_Mixed(benchmark::State& state) {
  static const char* requests[] = {
      "design a netflix clone for 5 million subscribers",
      "add a redis cache in front of the product service",
      "move the cart from MySQL to DynamoDB and expose it over gRPC",
      "retire the payment service",
      "cut p99 latency of the product service to 100ms",
      "what happens if the users db goes down?",
      "the checkout has to cope with 8k requests per second on launch day",
      "Build a food delivery app in Go with postgres, loyalty points and gift cards",
  };
  const auto& e = engine();
  std::size_t i = 0;
  for (auto _ : state) {
    const char* r = requests[i % std::size(requests)];
    const ymy::Canvas* canvas = (i / std::size(requests)) % 2 ? &exampleCanvas() : nullptr;
    auto a = e.analyze(r, canvas);
    auto p = e.plan(*a, r);
    benchmark::DoNotOptimize(p->plan.tasks.data());
    ++i;
  }
}
BENCHMARK(BM_AnalyzePlan_Mixed)->Unit(benchmark::kMicrosecond);

}  // namespace
