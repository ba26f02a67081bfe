// The cache's canonicaliser and L3 (the similarity tier).
//
// L3 lookup latency with 100,000 stored templates, through the exact gate
// index (the default) and through the HNSW graph: 2,000 tenants with 50
// requests each, drawn from the catalog's components and 19 request forms
// (scale, add, optimise, analyse, remove, modify; rates, users, latencies),
// each tenant on one of three canvas versions. Frames are built directly
// (no classifier), so the figures are the cache's own. Queries: half are a
// stored request with other numbers or a paraphrase (hits), half ask a tenant
// about something it never asked (misses after the graph search).
//
//   build/bench/youmeyou_bench --benchmark_filter=BM_Cache_ --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
//
// Building the index (100,000 inserts) takes a while once, before the first
// lookup benchmark; its time is printed.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cache/canonical.hpp"
#include "cache/design_cache.hpp"
#include "cache/similarity.hpp"
#include "model/catalog.hpp"

namespace {

using namespace ymy;
using namespace ymy::cache;

constexpr std::size_t kEntries = 100'000;
constexpr std::size_t kTenants = 2'000;
constexpr std::size_t kCanvasVersions = 3;

const Catalog& catalog() {
  static const auto* c = [] {
    auto loaded = Catalog::load(std::string(YOUMEYOU_SOURCE_DATA_DIR) + "/catalog/catalog.json");
    if (!loaded) {
      std::cerr << loaded.error().message << "\n";
      std::exit(1);
    }
    return new Catalog(std::move(*loaded));
  }();
  return *c;
}

const Canonicalizer& canonicalizer() {
  static const Canonicalizer c(catalog());
  return c;
}

struct Form {
  Intent intent;
  const char* text;  // %s: the component's name; %d: a number
  ParamKind kind;    // the quantity %d is, when it is one
  bool hasNumber;
  const char* paraphrase;  // the same request in other words, or nullptr
};

const Form kForms[] = {
    {Intent::kScaleComponent, "scale the %s to %d rps", ParamKind::kRps, true, "%s scaling %d rps"},
    {Intent::kScaleComponent, "make the %s handle %d requests per second", ParamKind::kRps, true,
     "make %s handle %d req/s"},
    {Intent::kScaleComponent, "scale the %s to %d concurrent users", ParamKind::kUsers, true, nullptr},
    {Intent::kScaleComponent, "scale up the %s", ParamKind::kRps, false, "scale the %s up please"},
    {Intent::kAddComponent, "add a cache in front of the %s", ParamKind::kRps, false, nullptr},
    {Intent::kAddComponent, "add monitoring and alerts to the %s", ParamKind::kRps, false, nullptr},
    {Intent::kAddComponent, "add read replicas for the %s", ParamKind::kRps, false, nullptr},
    {Intent::kAddComponent, "add rate limiting to the %s", ParamKind::kRps, false, "adding rate limiting to the %s"},
    {Intent::kOptimize, "reduce the %s p99 latency to %d ms", ParamKind::kLatency, true,
     "reduce the p99 latency of the %s to %d ms"},
    {Intent::kOptimize, "optimize the %s for cost", ParamKind::kRps, false, "optimise the %s for cost"},
    {Intent::kOptimize, "make the %s faster", ParamKind::kRps, false, nullptr},
    {Intent::kAnalyze, "analyze the bottlenecks in the %s", ParamKind::kRps, false, "analyse bottlenecks in the %s"},
    {Intent::kAnalyze, "can the %s handle %d rps", ParamKind::kRps, true, nullptr},
    {Intent::kRemoveComponent, "remove the %s", ParamKind::kRps, false, "removing the %s"},
    {Intent::kRemoveComponent, "we no longer need the %s", ParamKind::kRps, false, nullptr},
    {Intent::kModifyComponent, "switch the %s to postgres", ParamKind::kRps, false, nullptr},
    {Intent::kModifyComponent, "change the %s to use kafka for events", ParamKind::kRps, false, nullptr},
    {Intent::kModifyComponent, "move the %s sessions to redis", ParamKind::kRps, false, nullptr},
    {Intent::kBuildFromScratch, "build a platform around a %s for %d users", ParamKind::kUsers, true, nullptr}};
constexpr std::size_t kFormCount = std::size(kForms);

struct Request {
  std::string tenant;
  std::string canvasVersion;
  std::string text;
  IntentFrame frame;
};

// The frame the analyzer would give, built by hand: the component, its node,
// the number in the parameter the form names.
Request makeRequest(std::size_t tenant, std::size_t combo, int number, bool paraphrase) {
  const auto& components = catalog().components();
  const auto& component = components[combo % components.size()];
  const Form& form = kForms[(combo / components.size()) % kFormCount];
  Request r;
  r.tenant = "tenant-" + std::to_string(tenant);
  r.canvasVersion = std::to_string(1 + tenant % kCanvasVersions);
  const char* text = paraphrase && form.paraphrase ? form.paraphrase : form.text;
  char buf[256];
  std::snprintf(buf, sizeof buf, text, component.name.c_str(), number);
  r.text = buf;
  r.frame.intent = form.intent;
  r.frame.target = component.nodeId;
  r.frame.components = {component.id};
  if (form.hasNumber) {
    switch (form.kind) {
      case ParamKind::kRps:
        r.frame.params.rps = number;
        break;
      case ParamKind::kUsers:
        r.frame.params.users = number;
        break;
      case ParamKind::kLatency:
        r.frame.params.latencyMs = number;
        break;
      default:
        break;
    }
  }
  return r;
}

std::size_t comboCount() { return catalog().components().size() * kFormCount; }

// Which combos a tenant asked about: a permutation step coprime with the count.
std::size_t storedCombo(std::size_t tenant, std::size_t k) { return (tenant * 7919 + k * 104729) % comboCount(); }

struct Fixture {
  std::unique_ptr<SimilarityIndex> index;  // Retrieval::kGateIndex (the default)
  std::unique_ptr<SimilarityIndex> graph;  // the same file loaded with Retrieval::kGraph
  std::vector<Request> queries;            // even: expected hits; odd: misses
  std::vector<CanonicalRequest> canonicalQueries;
};

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

const Fixture& fixture() {
  static const auto* f = [] {
    auto* fx = new Fixture;
    SimilarityOptions options;
    options.applyInBackground = false;
    options.initialCapacity = kEntries;
    auto index = SimilarityIndex::create(options);
    if (!index) {
      std::cerr << index.error().message << "\n";
      std::exit(1);
    }
    fx->index = std::move(*index);
    const std::size_t perTenant = kEntries / kTenants;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t t = 0; t < kTenants; ++t) {
      for (std::size_t k = 0; k < perTenant; ++k) {
        auto r = makeRequest(t, storedCombo(t, k), static_cast<int>(1000 + 37 * k), false);
        fx->index->insert(canonicalizer().canonicalize(r.text, r.frame), r.tenant, r.canvasVersion,
                          "answer-" + std::to_string(t) + "-" + std::to_string(k));
      }
    }
    fx->index->flush();
    const double seconds = secondsSince(start);
    std::fprintf(stderr, "L3 fixture: %zu entries built in %.1f s (%.0f us per insert, canonicalisation included)\n",
                 fx->index->size(), seconds, 1e6 * seconds / static_cast<double>(kEntries));

    // The same index saved and loaded (not rebuilt) for the graph retrieval.
    const auto path = std::filesystem::temp_directory_path() / "ymy-l3-bench.index";
    auto saveStart = std::chrono::steady_clock::now();
    if (auto saved = fx->index->save(path); !saved) {
      std::cerr << saved.error().message << "\n";
      std::exit(1);
    }
    const double saveSeconds = secondsSince(saveStart);
    options.retrieval = Retrieval::kGraph;
    auto loadStart = std::chrono::steady_clock::now();
    auto loaded = SimilarityIndex::load(path, options);
    if (!loaded) {
      std::cerr << loaded.error().message << "\n";
      std::exit(1);
    }
    std::fprintf(stderr, "L3 fixture: saved in %.2f s (%.0f MB), loaded in %.2f s\n", saveSeconds,
                 static_cast<double>(std::filesystem::file_size(path)) / 1e6, secondsSince(loadStart));
    std::filesystem::remove(path);
    fx->graph = std::move(*loaded);

    for (std::size_t i = 0; i < 10'000; ++i) {
      const std::size_t t = (i * 131) % kTenants;
      if (i % 2 == 0) {
        const std::size_t k = (i / 2) % perTenant;
        fx->queries.push_back(makeRequest(t, storedCombo(t, k), static_cast<int>(5 + i), (i / 2) % 3 == 0));
      } else {
        fx->queries.push_back(makeRequest(t, storedCombo(t, perTenant + i % 500), 42, false));
      }
      const auto& q = fx->queries.back();
      fx->canonicalQueries.push_back(canonicalizer().canonicalize(q.text, q.frame));
    }
    return fx;
  }();
  return *f;
}

double percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  const std::size_t at = std::min(samples.size() - 1, static_cast<std::size_t>(p * samples.size()));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(at), samples.end());
  return samples[at];
}

void lookups(benchmark::State& state, const SimilarityIndex& index) {
  const auto& fx = fixture();
  std::vector<double> micros;
  micros.reserve(1 << 20);
  std::size_t i = 0, hits = 0, expectedHits = 0, lookups = 0;
  for (auto _ : state) {
    const std::size_t q = i++ % fx.queries.size();
    const auto start = std::chrono::steady_clock::now();
    auto found = index.lookup(fx.canonicalQueries[q], fx.queries[q].tenant, fx.queries[q].canvasVersion);
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(found);
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    hits += found ? 1 : 0;
    expectedHits += q % 2 == 0 ? 1 : 0;
    ++lookups;
  }
  state.counters["p50_us"] = percentile(micros, 0.50);
  state.counters["p99_us"] = percentile(micros, 0.99);
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(lookups);
  state.counters["hits_of_expected"] = expectedHits ? static_cast<double>(hits) / static_cast<double>(expectedHits) : 0;
}

void BM_Cache_L3Lookup_100k(benchmark::State& state) { lookups(state, *fixture().index); }
BENCHMARK(BM_Cache_L3Lookup_100k)->Unit(benchmark::kMicrosecond)->Iterations(200'000);

// The same entries, retrieved through the HNSW graph (Retrieval::kGraph).
void BM_Cache_L3LookupGraph_100k(benchmark::State& state) { lookups(state, *fixture().graph); }
BENCHMARK(BM_Cache_L3LookupGraph_100k)->Unit(benchmark::kMicrosecond)->Iterations(20'000);

// Lookups from two threads at once (the machine has two cores).
void BM_Cache_L3Lookup_100k_Threads(benchmark::State& state) {
  const auto& fx = fixture();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 4999;
  for (auto _ : state) {
    const std::size_t q = i++ % fx.queries.size();
    benchmark::DoNotOptimize(
        fx.index->lookup(fx.canonicalQueries[q], fx.queries[q].tenant, fx.queries[q].canvasVersion));
  }
}
BENCHMARK(BM_Cache_L3Lookup_100k_Threads)->Unit(benchmark::kMicrosecond)->Threads(2)->UseRealTime();

// Canonicalisation of a request whose frame is known (the analyzer's cost is
// measured in analyze_plan_bench).
void canonicalize(benchmark::State& state, const char* text, Intent intent, const char* component,
                  std::optional<double> rps) {
  IntentFrame frame;
  frame.intent = intent;
  frame.components = {component};
  frame.target = catalog().find(component)->nodeId;
  frame.params.rps = rps;
  const auto& c = canonicalizer();
  for (auto _ : state) {
    auto canonical = c.canonicalize(text, frame);
    benchmark::DoNotOptimize(canonical.maskedTemplate.data());
  }
}

void BM_Cache_Canonicalize_Example2(benchmark::State& state) {
  canonicalize(state, "Fix the auth service in my design and make it scalable to 5000 RPS", Intent::kScaleComponent,
               "auth", 5000);
}
BENCHMARK(BM_Cache_Canonicalize_Example2)->Unit(benchmark::kMicrosecond);

void BM_Cache_Canonicalize_Short(benchmark::State& state) {
  canonicalize(state, "scale auth to 3000 RPS", Intent::kScaleComponent, "auth", 3000);
}
BENCHMARK(BM_Cache_Canonicalize_Short)->Unit(benchmark::kMicrosecond);

void BM_Cache_Canonicalize_Example1(benchmark::State& state) {
  canonicalize(state,
               "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment "
               "processing",
               Intent::kBuildFromScratch, "auth", std::nullopt);
}
BENCHMARK(BM_Cache_Canonicalize_Example1)->Unit(benchmark::kMicrosecond);

// Canonicalisation plus both keys: what an L1/L2 probe costs before the map lookup.
void BM_Cache_CanonicalizeAndExactKey(benchmark::State& state) {
  IntentFrame frame;
  frame.intent = Intent::kScaleComponent;
  frame.components = {"auth"};
  frame.target = "auth-service";
  frame.params.rps = 3000;
  const KeyScope scope{"builtin-1", "tenant-7", "3"};
  const auto& c = canonicalizer();
  for (auto _ : state) {
    auto canonical = c.canonicalize("scale auth to 3000 RPS", frame);
    benchmark::DoNotOptimize(exactKey(canonical, scope));
  }
}
BENCHMARK(BM_Cache_CanonicalizeAndExactKey)->Unit(benchmark::kMicrosecond);

// The service's L1 hit (cache::DesignCache, 100,000 stored answers), the
// whole cache step of a request:
//  - Text: a request asked again in the same words: its whitespace collapsed,
//    hashed with its scope, looked up, the stored answer decoded. This is
//    what runs before any analysis.
//  - Canonical: the same question in other words or case, after analysis:
//    canonicalisation of the frame, the exact key, the lookup, the decode.
struct DesignL1Fixture {
  SystemClock clock;
  std::unique_ptr<DesignCache> cache;
  std::vector<std::string> texts;
  KeyScope scope{"builtin-1", "tenant-7", "proj@3"};

  DesignL1Fixture() {
    DesignCacheOptions o;
    o.engineVersion = scope.engineVersion;
    o.l1Bytes = 256u << 20;
    o.l3.applyInBackground = false;  // L3 is measured above; its queued inserts are never applied here
    cache = std::move(*DesignCache::create(catalog(), o, clock));
    IntentFrame frame = scaleFrame(0);
    for (std::size_t i = 0; i < kEntries; ++i) {
      texts.push_back("Scale the auth service to " + std::to_string(1000 + i) + " RPS");
      frame.params.rps = 1000.0 + static_cast<double>(i);
      auto canonical = cache->canonicalize(texts.back(), frame);
      cache->remember({DesignCache::textKey(texts.back(), scope), exactKey(canonical, scope)}, canonical, scope,
                      CachedAnswer{"exec_" + std::to_string(i), 1});
    }
  }
  static IntentFrame scaleFrame(double rps) {
    IntentFrame frame;
    frame.intent = Intent::kScaleComponent;
    frame.components = {"auth"};
    frame.target = "auth-service";
    frame.params.rps = rps;
    return frame;
  }
};

DesignL1Fixture& designL1() {
  static DesignL1Fixture f;
  return f;
}

void BM_Cache_DesignL1Hit_Text_100k(benchmark::State& state) {
  auto& f = designL1();
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    auto hit = f.cache->lookup(DesignCache::textKey(f.texts[i], f.scope));
    hits += hit.has_value();
    i = (i + 7919) % f.texts.size();
  }
  if (static_cast<benchmark::IterationCount>(hits) != state.iterations()) state.SkipWithError("a stored request missed");
}
BENCHMARK(BM_Cache_DesignL1Hit_Text_100k)->Unit(benchmark::kMicrosecond);

// What the service does: the analyzer has read the request (its tokens and
// catalog mentions, part of the analysis measured in the engine benchmarks),
// and the canonicaliser works from that reading. Each iteration copies one
// reading and writes its number into it (counted against the step), so the
// lookups still visit the whole table.
void BM_Cache_DesignL1Hit_Canonical_100k(benchmark::State& state) {
  auto& f = designL1();
  // Another case than the stored words: only the canonical key can match.
  intent::Reading base;
  base.tokens = intent::tokenize("scale the AUTH service to 1000 rps");
  base.mentions = intent::CatalogMatcher(catalog()).find(base.tokens);
  const std::size_t number = 5;
  if (base.tokens.size() != 7 || base.tokens[number].kind != intent::Token::Kind::kNumber) {
    state.SkipWithError("unexpected tokens");
    return;
  }
  std::size_t i = 0, hits = 0;
  IntentFrame frame = DesignL1Fixture::scaleFrame(0);
  for (auto _ : state) {
    frame.params.rps = 1000.0 + static_cast<double>(i);
    intent::Reading reading = base;
    reading.tokens[number].text = std::to_string(1000 + i);
    reading.tokens[number].value = *frame.params.rps;
    auto canonical = f.cache->canonicalize(reading, frame);
    auto hit = f.cache->lookup(exactKey(canonical, f.scope));
    hits += hit.has_value();
    i = (i + 7919) % f.texts.size();
  }
  if (static_cast<benchmark::IterationCount>(hits) != state.iterations()) state.SkipWithError("a stored request missed");
}
BENCHMARK(BM_Cache_DesignL1Hit_Canonical_100k)->Unit(benchmark::kMicrosecond);

// The same from the text alone (tokenising and matching it again), as before
// the analyzer handed its reading on.
void BM_Cache_DesignL1Hit_CanonicalFromText_100k(benchmark::State& state) {
  auto& f = designL1();
  std::size_t i = 0, hits = 0;
  IntentFrame frame = DesignL1Fixture::scaleFrame(0);
  for (auto _ : state) {
    frame.params.rps = 1000.0 + static_cast<double>(i);
    const std::string text = "scale the AUTH service to " + std::to_string(1000 + i) + " rps";
    auto canonical = f.cache->canonicalize(text, frame);
    auto hit = f.cache->lookup(exactKey(canonical, f.scope));
    hits += hit.has_value();
    i = (i + 7919) % f.texts.size();
  }
  if (static_cast<benchmark::IterationCount>(hits) != state.iterations()) state.SkipWithError("a stored request missed");
}
BENCHMARK(BM_Cache_DesignL1Hit_CanonicalFromText_100k)->Unit(benchmark::kMicrosecond);

}  // namespace
