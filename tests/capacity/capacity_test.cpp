#include "capacity/capacity.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::capacity {
namespace {

namespace bj = boost::json;

const Baselines& defaults() {
  static const Baselines baselines = [] {
    auto loaded = loadBaselines(defaultBaselinesPath(test::dataDir()));
    if (!loaded) throw std::runtime_error(loaded.error().message);
    return *loaded;
  }();
  return baselines;
}

CanvasNode node(std::string id, std::string type, bj::object config, std::string label = "") {
  CanvasNode n;
  n.id = std::move(id);
  n.type = std::move(type);
  n.label = label.empty() ? n.id : std::move(label);
  n.config = std::move(config);
  return n;
}

// The spec's Example 2: the auth service as it stands on the canvas.
CanvasNode example2AuthService() {
  return node("auth-service", "microservice",
              {{"instances", 1},
               {"database", "MySQL single instance"},
               {"session_store", "Memory"},
               {"estimated_capacity", "100 RPS"}});
}

CurrentConfig analysed(const CanvasNode& n, const Canvas* canvas = nullptr) {
  auto current = analyseComponent(n, defaults(), canvas);
  EXPECT_TRUE(current) << current.error().message;
  return current ? *current : CurrentConfig{};
}

// A target of `rps`, optionally with a p99 bound and a read ratio.
Target aim(double rps, std::optional<double> p99Ms = std::nullopt, std::optional<double> readRatio = std::nullopt) {
  Target t;
  t.rps = rps;
  t.p99Ms = p99Ms;
  t.readRatio = readRatio;
  return t;
}

SizingResult sized(const CurrentConfig& current, Target target, const Baselines& baselines = defaults()) {
  auto result = sizeComponent(current, target, baselines);
  EXPECT_TRUE(result) << result.error().message;
  return result ? *result : SizingResult{};
}

std::set<BottleneckKind> kinds(const CurrentConfig& c) {
  std::set<BottleneckKind> out;
  for (const auto& b : c.bottlenecks) out.insert(b.kind);
  return out;
}

std::filesystem::path writeTemp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("ymy_capacity_test_" + name);
  std::ofstream(path) << text;
  return path;
}

// ---------------------------------------------------------------- queueing

// Erlang C by the textbook formula, summed in log space so it holds for large c.
double erlangCDirect(int c, double a) {
  double logTerm = 0;  // log(a^k / k!)
  double sum = 0;
  double maxLog = -1e300;
  std::vector<double> logs;
  for (int k = 0; k < c; ++k) {
    if (k > 0) logTerm += std::log(a) - std::log(k);
    logs.push_back(logTerm);
    maxLog = std::max(maxLog, logTerm);
  }
  double logLast = logTerm + std::log(a) - std::log(c) + std::log(c / (c - a));
  maxLog = std::max(maxLog, logLast);
  for (double l : logs) sum += std::exp(l - maxLog);
  double last = std::exp(logLast - maxLog);
  return last / (sum + last);
}

TEST(CapacityQueueing, ErlangMatchesTextbookValues) {
  EXPECT_NEAR(erlangC(2, 1.0), 1.0 / 3.0, 1e-12);  // c = 2, lambda = 1, mu = 1
  EXPECT_NEAR(erlangC(3, 2.0), 4.0 / 9.0, 1e-12);
  EXPECT_NEAR(erlangC(1, 0.7), 0.7, 1e-12);        // M/M/1: P(wait) = rho
  EXPECT_NEAR(erlangB(1, 2.0), 2.0 / 3.0, 1e-12);  // B(1, a) = a / (1 + a)
  EXPECT_NEAR(erlangB(2, 1.0), 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(erlangC(4, 4.0), 1.0);  // unstable: everyone waits
}

TEST(CapacityQueueing, ErlangCIsStableForHundredsOfServers) {
  for (auto [c, a] : {std::pair{200, 180.0}, std::pair{500, 450.0}, std::pair{800, 790.0}}) {
    double value = erlangC(c, a);
    ASSERT_TRUE(std::isfinite(value)) << c;
    EXPECT_GT(value, 0);
    EXPECT_LT(value, 1);
    EXPECT_NEAR(value, erlangCDirect(c, a), 1e-9 * std::max(1.0, value)) << "c=" << c;
  }
  EXPECT_TRUE(std::isfinite(erlangC(20000, 19000.0)));
}

TEST(CapacityQueueing, MM1ResponseTimesAreExponential) {
  // M/M/1 response time is exponential with rate mu - lambda.
  auto s = mmc(500, 1000, 1);
  EXPECT_TRUE(s.stable);
  EXPECT_NEAR(s.utilisation, 0.5, 1e-12);
  EXPECT_NEAR(s.probWait, 0.5, 1e-12);
  EXPECT_NEAR(s.meanResponseMs, 2.0, 1e-9);
  EXPECT_NEAR(s.p50Ms, 1000 * std::log(2.0) / 500, 1e-6);
  EXPECT_NEAR(s.p99Ms, 1000 * std::log(100.0) / 500, 1e-6);
}

TEST(CapacityQueueing, MMcMeanWaitAndPercentiles) {
  auto s = mmc(1, 1, 2);  // c = 2, lambda = mu = 1
  EXPECT_NEAR(s.probWait, 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(s.meanWaitMs, 1000.0 / 3.0, 1e-9);  // C / (c mu - lambda) seconds
  EXPECT_NEAR(s.meanResponseMs, 1000.0 + 1000.0 / 3.0, 1e-9);
  // The percentile solves P(R > t) = 1 - q for the mixture; check it at p99.
  double t = s.p99Ms / 1000;
  double theta = 1.0;  // c mu - lambda, equal to mu: the limit form applies
  double survival = (1 - s.probWait) * std::exp(-t) + s.probWait * (1 + theta * t) * std::exp(-t);
  EXPECT_NEAR(survival, 0.01, 1e-9);
}

TEST(CapacityQueueing, PercentilesAreOrderedAndGrowWithLoad) {
  double previous = 0;
  for (double load : {100.0, 1000.0, 3000.0, 4500.0, 5200.0}) {
    auto s = mmc(load, 300, 18);
    EXPECT_GE(s.p99Ms, s.p50Ms) << load;
    EXPECT_GE(s.meanResponseMs, 1000.0 / 300 - 1e-9);
    EXPECT_GT(s.p99Ms, previous) << load;
    previous = s.p99Ms;
  }
}

TEST(CapacityQueueing, RefusesAnOverloadedTier) {
  auto s = mmc(2000, 1000, 2);  // rho = 1
  EXPECT_FALSE(s.stable);
  EXPECT_TRUE(std::isinf(s.p99Ms));
  TierLoad tier{"app", 2, 1, 1000, 1, 1};
  auto check = checkDesign({tier}, 2500, 0.8, std::nullopt);
  EXPECT_FALSE(check.withinUtilisation);
  EXPECT_FALSE(check.passes());
  EXPECT_TRUE(std::isinf(check.pathP99Ms));
  // What it does support: 80% of 2 x 1000.
  auto supported = supportedLoad({tier}, 0.8, std::nullopt);
  EXPECT_NEAR(supported.requestRps, 1600, 1e-6);
  EXPECT_EQ(supported.limitingTier, "app");
}

TEST(CapacityQueueing, PathQuantileMatchesClosedForms) {
  TierLoad fast{"fast", 1, 1, 1000, 1, 1};  // Exp(1/ms) at zero load
  TierLoad slow{"slow", 1, 1, 500, 1, 1};   // Exp(0.5/ms)
  // One tier: the path is the tier.
  EXPECT_NEAR(pathQuantileMs({fast}, 600, 0.99), responseQuantileMs(600, 1000, 1, 0.99), 1e-5);
  // Two exponentials in a row: P(X + Y > t) = (b e^{-at} - a e^{-bt}) / (b - a).
  double t = pathQuantileMs({fast, slow}, 0, 0.99);
  double survival = (0.5 * std::exp(-t) - std::exp(-0.5 * t)) / (0.5 - 1);
  EXPECT_NEAR(survival, 0.01, 1e-7);
  // Visiting the slow tier half the time is faster than always visiting it.
  slow.visitShare = 0.5;
  EXPECT_LT(pathQuantileMs({fast, slow}, 0, 0.99), t);
}

TEST(CapacityQueueing, SupportedLoadHonoursAP99Target) {
  TierLoad tier{"app", 10, 2, 600, 1, 1};
  auto free = supportedLoad({tier}, 0.8, std::nullopt);
  EXPECT_NEAR(free.requestRps, 4800, 1e-6);
  EXPECT_EQ(free.limitedBy, "utilisation");
  double p99AtBound = checkDesign({tier}, 4800, 0.8, std::nullopt).pathP99Ms;
  double p99Idle = checkDesign({tier}, 0, 0.8, std::nullopt).pathP99Ms;
  ASSERT_LT(p99Idle, p99AtBound);
  double target = (p99Idle + p99AtBound) / 2;
  auto bounded = supportedLoad({tier}, 0.8, target);
  EXPECT_EQ(bounded.limitedBy, "p99");
  EXPECT_LT(bounded.requestRps, 4800);
  EXPECT_GT(bounded.requestRps, 0);
  EXPECT_TRUE(checkDesign({tier}, bounded.requestRps, 0.8, target).passes());
  EXPECT_FALSE(checkDesign({tier}, bounded.requestRps * 1.01, 0.8, target).passes());
  // Below the service time alone, nothing is claimed.
  EXPECT_EQ(supportedLoad({tier}, 0.8, 1.0).requestRps, 0);
}

// ---------------------------------------------------------------- baselines

TEST(CapacityBaselines, DefaultsLoadWithSourcesAndDerivedServers) {
  const auto& b = defaults();
  EXPECT_GE(b.targetUtilisation, 0.7);
  EXPECT_LE(b.targetUtilisation, 0.8);
  const auto& cpu = b.appFor(Workload::kCpuBound);
  EXPECT_GE(cpu.rpsPerUnit, 500);
  EXPECT_LE(cpu.rpsPerUnit, 600);
  EXPECT_EQ(cpu.serversPerUnit, 2);
  EXPECT_NEAR(1000 / cpu.serviceRatePerServer(), cpu.serviceTimeMs, 0.1);  // rounding to whole servers
  EXPECT_GE(b.appFor(Workload::kIoBound).rpsPerUnit, 1500);
  EXPECT_LE(b.appFor(Workload::kIoBound).rpsPerUnit, 2000);
  for (const auto* unit :
       {&b.primaryReads, &b.primaryWrites, &b.replicaReads, &b.cacheNode, &b.loadBalancer, &b.queueBroker, &cpu}) {
    EXPECT_FALSE(unit->source.empty());
    EXPECT_GT(unit->serviceTimeMs, 0);
  }
  EXPECT_NE(b.note.find("Planning figures"), std::string::npos);
}

TEST(CapacityBaselines, OverrideMergesOnTopOfTheDefaults) {
  auto text = json::parseFile(defaultBaselinesPath(test::dataDir()), "baselines");
  ASSERT_TRUE(text);
  auto override = json::parse(R"({"headroom": {"targetUtilisation": 0.7},
                                  "app": {"cpu_bound": {"rpsPerUnit": 300}}})",
                              "override");
  ASSERT_TRUE(override);
  auto b = baselinesFromJson(*text, override->as_object());
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_DOUBLE_EQ(b->targetUtilisation, 0.7);
  EXPECT_DOUBLE_EQ(b->appFor(Workload::kCpuBound).rpsPerUnit, 300);
  EXPECT_EQ(b->appFor(Workload::kCpuBound).serversPerUnit, 1);  // 300 x 3.3 ms
  EXPECT_DOUBLE_EQ(b->appFor(Workload::kIoBound).rpsPerUnit, defaults().appFor(Workload::kIoBound).rpsPerUnit);
  EXPECT_EQ(b->appFor(Workload::kCpuBound).source, defaults().appFor(Workload::kCpuBound).source);

  // Half the throughput per instance at a lower utilisation needs more than twice the instances.
  auto current = analysed(example2AuthService());
  auto slow = sized(current, aim(5000), *b);
  auto normal = sized(current, aim(5000));
  EXPECT_GT(slow.countOf(kTierApp), 2 * normal.countOf(kTierApp));
  EXPECT_GE(slow.estimatedCapacityRps, 5000);
}

TEST(CapacityBaselines, BadOverridesNameThePath) {
  auto text = json::parseFile(defaultBaselinesPath(test::dataDir()), "baselines");
  ASSERT_TRUE(text);
  auto typo = baselinesFromJson(*text, bj::object{{"app", bj::object{{"cpu_bound", bj::object{{"rpsPerUnt", 1}}}}}});
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(typo.error().message.find("override.app.cpu_bound.rpsPerUnt: unknown key"), std::string::npos)
      << typo.error().message;
  EXPECT_NE(typo.error().message.find("rpsPerUnit"), std::string::npos);  // says what is known

  auto topLevel = baselinesFromJson(*text, bj::object{{"gpu", 1}});
  ASSERT_FALSE(topLevel);
  EXPECT_NE(topLevel.error().message.find("override.gpu"), std::string::npos);

  auto kind = baselinesFromJson(*text, bj::object{{"headroom", bj::object{{"targetUtilisation", "high"}}}});
  ASSERT_FALSE(kind);
  EXPECT_NE(kind.error().message.find("override.headroom.targetUtilisation: expected a number, got a string"),
            std::string::npos)
      << kind.error().message;

  auto value = baselinesFromJson(*text, bj::object{{"cacheNode", bj::object{{"rpsPerUnit", -5}}}});
  ASSERT_FALSE(value);
  EXPECT_NE(value.error().message.find("baselines.cacheNode.rpsPerUnit: must be positive"), std::string::npos)
      << value.error().message;

  auto utilisation = baselinesFromJson(*text, bj::object{{"headroom", bj::object{{"targetUtilisation", 1}}}});
  ASSERT_FALSE(utilisation);
  EXPECT_NE(utilisation.error().message.find("baselines.headroom.targetUtilisation"), std::string::npos);
}

TEST(CapacityBaselines, MissingOrBadFilesAreErrors) {
  auto missing = loadBaselines(test::dataDir() / "capacity" / "no-such-file.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(CapacityModel::load(test::dataDir() / "capacity" / "no-such-file.json").error().code, ErrorCode::kNotFound);

  auto malformed = loadBaselines(writeTemp("malformed.json", "{\"note\": \"x\",\n \"headroom\": }"));
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(malformed.error().message.find("line 2"), std::string::npos) << malformed.error().message;

  // A file missing a field, and one with a key the schema does not know.
  auto text = json::parseFile(defaultBaselinesPath(test::dataDir()), "baselines");
  ASSERT_TRUE(text);
  bj::value withoutWrites = *text;
  withoutWrites.as_object()["database"].as_object().erase("primaryWrites");
  auto incomplete = loadBaselines(writeTemp("incomplete.json", json::compact(withoutWrites)));
  ASSERT_FALSE(incomplete);
  EXPECT_NE(incomplete.error().message.find("baselines.database.primaryWrites: required field is missing"),
            std::string::npos)
      << incomplete.error().message;
  bj::value extra = *text;
  extra.as_object()["loadBalancer"].as_object()["rpsPerUnitt"] = 1;
  auto unknown = loadBaselines(writeTemp("unknown.json", json::compact(extra)));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("baselines.loadBalancer.rpsPerUnitt: unknown key"), std::string::npos)
      << unknown.error().message;
}

// ---------------------------------------------------------------- components

TEST(CapacityComponent, Example2HasTheSpecsThreeBottlenecks) {
  auto c = analysed(example2AuthService());
  EXPECT_EQ(c.workload, Workload::kCpuBound);
  EXPECT_NE(c.workloadSource.find("auth"), std::string::npos);
  EXPECT_EQ(c.instances, 1);
  EXPECT_EQ(c.sessionStore, SessionStore::kInMemory);
  EXPECT_TRUE(c.hasDatabase);
  EXPECT_EQ(c.readReplicas, 0);
  ASSERT_TRUE(c.statedCapacityRps);
  EXPECT_DOUBLE_EQ(*c.statedCapacityRps, 100);
  EXPECT_DOUBLE_EQ(c.currentCapacityRps, 100);  // the stated figure wins
  EXPECT_GT(c.modelCapacityRps, 100);
  EXPECT_EQ(kinds(c), (std::set<BottleneckKind>{BottleneckKind::kSingleInstance, BottleneckKind::kInMemorySessions,
                                                BottleneckKind::kSingleDatabase}));
  for (const auto& b : c.bottlenecks) {
    EXPECT_EQ(b.component, "auth-service");
    EXPECT_FALSE(b.reason.empty());
  }
  auto json = toJson(c).as_object();
  EXPECT_EQ(json.at("bottlenecks").as_array().size(), 3u);
  EXPECT_EQ(json.at("currentCapacityRps").as_int64(), 100);
}

TEST(CapacityComponent, ReadsTheExampleCanvasWithItsNeighbours) {
  auto value = json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas");
  ASSERT_TRUE(value);
  auto canvas = canvasFromJson(*value);
  ASSERT_TRUE(canvas) << canvas.error().message;
  auto auth = analysed(*canvas->findNode("auth-service"), &*canvas);
  EXPECT_EQ(auth.workload, Workload::kCpuBound);
  EXPECT_EQ(kinds(auth), (std::set<BottleneckKind>{BottleneckKind::kSingleInstance, BottleneckKind::kInMemorySessions,
                                                   BottleneckKind::kSingleDatabase}));
  // Two product-service instances behind the API gateway, reading a database without replicas.
  auto product = analysed(*canvas->findNode("product-service"), &*canvas);
  EXPECT_EQ(product.workload, Workload::kIoBound);
  EXPECT_EQ(product.instances, 2);
  EXPECT_TRUE(product.hasLoadBalancer);
  EXPECT_EQ(kinds(product), (std::set<BottleneckKind>{BottleneckKind::kSingleDatabase}));
  // The frontend serves files.
  EXPECT_EQ(analysed(*canvas->findNode("web-frontend"), &*canvas).workload, Workload::kStatic);
}

TEST(CapacityComponent, AlreadyScaledServiceHasNoBottleneck) {
  auto c = analysed(node("order-service", "service",
                         {{"replicas", "6 pods"},
                          {"loadBalancer", "HAProxy"},
                          {"sessionStore", "Redis cluster"},
                          {"database", "PostgreSQL with 2 read replicas"},
                          {"cache", "Redis"},
                          {"estimatedCapacity", "4k rps"}}));
  EXPECT_EQ(c.instances, 6);
  EXPECT_EQ(c.readReplicas, 2);
  EXPECT_EQ(c.sessionStore, SessionStore::kDistributed);
  EXPECT_DOUBLE_EQ(c.currentCapacityRps, 4000);
  EXPECT_TRUE(c.bottlenecks.empty()) << c.bottlenecks.front().reason;
}

// The builtin architect writes database nodes as {"engine","replicas":0}:
// a primary without read replicas, not a database with no instance.
TEST(CapacityComponent, OnADatabaseNodeReplicasAreReadReplicas) {
  auto primary = analysed(node("orders-db", "database", {{"engine", "PostgreSQL"}, {"replicas", 0}}));
  EXPECT_EQ(primary.instances, 1);
  EXPECT_EQ(primary.readReplicas, 0);
  auto replicated = analysed(node("orders-db", "database", {{"engine", "PostgreSQL"}, {"replicas", 2}}));
  EXPECT_EQ(replicated.instances, 1);
  EXPECT_EQ(replicated.readReplicas, 2);
  // On a service the same key still counts instances.
  EXPECT_EQ(analysed(node("orders", "service", {{"replicas", 4}})).instances, 4);
}

TEST(CapacityComponent, IoBoundServiceWithHotReadsAndVariedSpellings) {
  auto c = analysed(node("catalog-service", "service",
                         {{"instanceCount", "3"},
                          {"DB", {{"engine", "PostgreSQL"}, {"replicas", 0}}},
                          {"Estimated Capacity", "3,000 req/s"}}));
  EXPECT_EQ(c.workload, Workload::kIoBound);
  EXPECT_EQ(c.instances, 3);
  EXPECT_EQ(c.database, "PostgreSQL");
  EXPECT_DOUBLE_EQ(c.currentCapacityRps, 3000);
  EXPECT_EQ(kinds(c), (std::set<BottleneckKind>{BottleneckKind::kSingleDatabase, BottleneckKind::kNoCache,
                                                BottleneckKind::kNoLoadBalancer}));
}

TEST(CapacityComponent, ACacheOrBalancerOnTheCanvasCounts) {
  Canvas canvas;
  canvas.nodes = {
      node("feed-service", "service", {{"instances", 4}, {"database", "MySQL + one replica"}, {"throughput", 5000}}),
      node("feed-cache", "cache", {}), node("edge-lb", "load_balancer", {})};
  canvas.edges = {{"e1", "feed-service", "feed-cache", "reads"}, {"e2", "edge-lb", "feed-service", "routes"}};
  auto with = analysed(canvas.nodes[0], &canvas);
  EXPECT_TRUE(with.hasCache);
  EXPECT_TRUE(with.hasLoadBalancer);
  EXPECT_EQ(with.readReplicas, 1);
  EXPECT_TRUE(with.bottlenecks.empty()) << with.bottlenecks.front().reason;
  // The same node alone: hot reads without a cache, four instances without a balancer.
  auto alone = analysed(canvas.nodes[0]);
  EXPECT_EQ(kinds(alone), (std::set<BottleneckKind>{BottleneckKind::kNoCache, BottleneckKind::kNoLoadBalancer}));
}

TEST(CapacityComponent, WorkloadOverrideAndInference) {
  auto overridden = analysed(node("report-service", "service", {{"workload_type", "CPU-bound"}}));
  EXPECT_EQ(overridden.workload, Workload::kCpuBound);
  EXPECT_NE(overridden.workloadSource.find("workload_type"), std::string::npos);
  EXPECT_EQ(analysed(node("x", "service", {}, "AuthService")).workload, Workload::kCpuBound);
  EXPECT_EQ(analysed(node("login-api", "service", {})).workload, Workload::kCpuBound);
  EXPECT_EQ(analysed(node("author-service", "service", {})).workload, Workload::kIoBound);  // not "auth"
  EXPECT_EQ(analysed(node("assets", "cdn", {})).workload, Workload::kStatic);
}

TEST(CapacityComponent, BadConfigValuesNameTheKey) {
  auto workload = analyseComponent(node("svc", "service", {{"workload", "gpu"}}), defaults());
  ASSERT_FALSE(workload);
  EXPECT_NE(workload.error().message.find("node 'svc' config.workload: unknown workload 'gpu'"), std::string::npos)
      << workload.error().message;
  auto instances = analyseComponent(node("svc", "service", {{"instances", "many"}}), defaults());
  ASSERT_FALSE(instances);
  EXPECT_NE(instances.error().message.find("node 'svc' config.instances"), std::string::npos);
  auto zero = analyseComponent(node("svc", "service", {{"instances", 0}}), defaults());
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("at least 1"), std::string::npos);
  // An unreadable capacity is noted, not fatal.
  auto vague = analysed(node("svc", "service", {{"estimated_capacity", "high"}}));
  EXPECT_FALSE(vague.statedCapacityRps);
  ASSERT_FALSE(vague.notes.empty());
  EXPECT_NE(vague.notes.front().find("estimated_capacity"), std::string::npos);
}

TEST(CapacityComponent, RatesAndCountsFromText) {
  EXPECT_EQ(parseRate("100 RPS"), 100);
  EXPECT_EQ(parseRate("5k"), 5000);
  EXPECT_EQ(parseRate("5krps"), 5000);
  EXPECT_EQ(parseRate("1,500 req/s"), 1500);
  EXPECT_EQ(parseRate("1.2M requests"), 1.2e6);
  EXPECT_EQ(parseRate("6000 rpm"), 100);
  EXPECT_EQ(parseRate("36,000 per hour"), 10);
  EXPECT_FALSE(parseRate("fast"));
  EXPECT_EQ(parseCount("three"), 3);
  EXPECT_EQ(parseCount("x3"), 3);
  EXPECT_EQ(parseCount("12 instances"), 12);
  EXPECT_FALSE(parseCount("many"));
}

// ---------------------------------------------------------------- sizing

TEST(CapacitySizing, Example2LandsNearTheSpec) {
  auto current = analysed(example2AuthService());
  auto r = sized(current, aim(5000));
  // Spec: 10 instances, a load balancer, a 3-node Redis cluster, 2 read replicas, 5500 RPS.
  EXPECT_GE(r.countOf(kTierApp), 10);
  EXPECT_LE(r.countOf(kTierApp), 12);
  EXPECT_EQ(r.countOf(kTierLoadBalancer), 1);
  EXPECT_EQ(r.countOf(kTierSessionStore), 3);
  EXPECT_EQ(r.countOf(kTierDatabaseReplicas), 2);
  EXPECT_EQ(r.countOf(kTierDatabasePrimary), 1);
  EXPECT_GE(r.countOf(kTierCache), 1);
  EXPECT_TRUE(r.meetsTarget);
  EXPECT_GE(r.estimatedCapacityRps, 5000);
  EXPECT_LE(r.estimatedCapacityRps, 6000);
  EXPECT_EQ(r.limitingTier, std::string(kTierApp));
  EXPECT_EQ(r.limitedBy, "utilisation");
  EXPECT_DOUBLE_EQ(r.currentCapacityRps, 100);
  double busiest = 0;
  for (const auto& t : r.tiers) {
    EXPECT_LE(t.utilisation, r.targetUtilisation + 1e-9) << t.tier;
    EXPECT_GT(t.p50Ms, 0) << t.tier;
    EXPECT_GE(t.p99Ms, t.p50Ms) << t.tier;
    EXPECT_GE(t.capacityRps, r.estimatedCapacityRps - 1e-6) << t.tier;
    busiest = std::max(busiest, t.utilisation);
  }
  EXPECT_NEAR(r.headroom, 1 - busiest, 1e-12);
  EXPECT_GE(r.pathP99Ms, r.pathP50Ms);
  // The estimate is what the queueing check supports: it passes there and not 1% above.
  Design design;
  for (const auto& t : r.tiers) *unitsOf(design, t.tier) = t.count;
  TrafficMix mix{r.readRatio, r.cacheHitRatio, defaults().sessionOpsPerRequest, std::nullopt};
  auto tiers = tierLoads(design, current.workload, mix, defaults());
  EXPECT_TRUE(checkDesign(tiers, r.estimatedCapacityRps, r.targetUtilisation, std::nullopt).passes());
  EXPECT_FALSE(checkDesign(tiers, r.estimatedCapacityRps * 1.01, r.targetUtilisation, std::nullopt).passes());
}

TEST(CapacitySizing, ToJsonCarriesTheEventFields) {
  auto r = sized(analysed(example2AuthService()), aim(5000));
  auto json = toJson(r).as_object();
  EXPECT_GE(json.at("estimatedCapacityRps").as_int64(), 5000);
  EXPECT_EQ(json.at("limitingTier").as_string(), "app");
  EXPECT_EQ(json.at("targetRps").to_number<double>(), 5000);
  ASSERT_EQ(json.at("tiers").as_array().size(), r.tiers.size());
  for (const auto& t : json.at("tiers").as_array()) {
    for (const char* key : {"tier", "count", "perUnitRps", "capacityRps", "utilisation", "p50Ms", "p99Ms"}) {
      EXPECT_TRUE(t.as_object().contains(key)) << key;
    }
  }
  EXPECT_FALSE(json.at("notes").as_array().empty());
  EXPECT_EQ(json::compact(json).find("inf"), std::string::npos);
}

TEST(CapacitySizing, HigherTargetsNeverShrinkTheDesign) {
  for (auto n : {example2AuthService(), node("catalog", "service", {{"instances", 2}, {"database", "PostgreSQL"}})}) {
    auto current = analysed(n);
    SizingResult previous;
    for (double rps = 50; rps <= 80000; rps *= 1.2) {
      auto r = sized(current, aim(rps));
      EXPECT_TRUE(r.meetsTarget) << rps;
      EXPECT_GE(r.estimatedCapacityRps, rps * (1 - 1e-9)) << rps;
      for (auto tier : {kTierApp, kTierLoadBalancer, kTierDatabasePrimary, kTierDatabaseReplicas, kTierCache}) {
        EXPECT_GE(r.countOf(tier), previous.countOf(tier)) << n.id << " " << tier << " at " << rps;
      }
      previous = r;
    }
  }
}

TEST(CapacitySizing, OtherTargetsAndWorkloadsGiveDifferentAnswers) {
  auto auth = analysed(example2AuthService());
  auto small = sized(auth, aim(500));
  EXPECT_EQ(small.countOf(kTierApp), 2);           // the policy's minimum covers it
  EXPECT_EQ(small.countOf(kTierCache), 0);         // reads fit one replica
  EXPECT_EQ(small.countOf(kTierSessionStore), 3);  // two instances must share sessions
  auto large = sized(auth, aim(20000));
  EXPECT_GE(large.countOf(kTierApp), 40);
  EXPECT_GT(large.countOf(kTierDatabaseReplicas), 2);
  EXPECT_GT(large.countOf(kTierLoadBalancer), 1);
  EXPECT_GE(large.estimatedCapacityRps, 20000);

  // An io-bound API needs far fewer instances and keeps no sessions.
  auto api = analysed(node("catalog-service", "service", {{"instances", 1}, {"database", "PostgreSQL"}}));
  auto apiSized = sized(api, aim(5000));
  EXPECT_LT(apiSized.countOf(kTierApp), sized(auth, aim(5000)).countOf(kTierApp) / 2);
  EXPECT_EQ(apiSized.countOf(kTierSessionStore), 0);
  EXPECT_TRUE(apiSized.meetsTarget);

  // Write-heavy: no cache, more than one primary's worth of writes, and the notes say so.
  auto writes = sized(api, aim(5000, std::nullopt, 0.3));
  EXPECT_EQ(writes.countOf(kTierCache), 0);
  EXPECT_GT(writes.countOf(kTierDatabasePrimary), 1);
  EXPECT_TRUE(writes.meetsTarget);
  bool shardNote = false;
  for (const auto& n : writes.notes) shardNote = shardNote || n.find("shard") != std::string::npos;
  EXPECT_TRUE(shardNote);

  // A stateless service with no database sizes only the app and its balancer.
  auto stateless = sized(analysed(node("pdf-renderer", "service", {})), aim(3000));
  std::set<std::string> tiers;
  for (const auto& t : stateless.tiers) tiers.insert(t.tier);
  EXPECT_EQ(tiers, (std::set<std::string>{"load_balancer", "app"}));

  // A measured per-instance figure replaces the baseline.
  auto measured = analysed(node("auth-service", "service", {{"rps_per_instance", "100 rps"}}));
  EXPECT_EQ(sized(measured, aim(5000)).countOf(kTierApp), 63);  // 5000 / (100 x 0.8)
}

TEST(CapacitySizing, TheQueueingCheckAddsUnitsForATightP99) {
  auto current = analysed(example2AuthService());
  auto free = sized(current, aim(5000));
  // Between the path's p99 with no waiting at all and its p99 at the target load.
  Design design;
  for (const auto& t : free.tiers) *unitsOf(design, t.tier) = t.count;
  TrafficMix mix{free.readRatio, free.cacheHitRatio, defaults().sessionOpsPerRequest, std::nullopt};
  double floor = pathQuantileMs(tierLoads(design, current.workload, mix, defaults()), 0, 0.99);
  ASSERT_LT(floor, free.pathP99Ms);
  double p99 = (floor + free.pathP99Ms) / 2;

  auto tight = sized(current, aim(5000, p99));
  EXPECT_TRUE(tight.meetsTarget);
  EXPECT_LE(tight.pathP99Ms, p99);
  int freeUnits = 0;
  int tightUnits = 0;
  for (const auto& t : free.tiers) freeUnits += t.count;
  for (const auto& t : tight.tiers) tightUnits += t.count;
  EXPECT_GT(tightUnits, freeUnits);
  bool noted = false;
  for (const auto& n : tight.notes) noted = noted || n.find("queueing check added") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(CapacitySizing, RefusesToClaimWhatTheCheckDoesNotSupport) {
  auto current = analysed(example2AuthService());
  auto impossible = sized(current, aim(5000, 1.0));  // 1 ms p99 through an app and a database
  EXPECT_FALSE(impossible.meetsTarget);
  EXPECT_EQ(impossible.estimatedCapacityRps, 0);
  EXPECT_EQ(impossible.limitedBy, "p99");
  bool explained = false;
  for (const auto& n : impossible.notes) explained = explained || n.find("no capacity is claimed") != std::string::npos;
  EXPECT_TRUE(explained);

  // Capped by policy: the claim is what the capped design supports.
  auto text = json::parseFile(defaultBaselinesPath(test::dataDir()), "baselines");
  ASSERT_TRUE(text);
  auto capped = baselinesFromJson(*text, bj::object{{"policy", bj::object{{"maxUnitsPerTier", 10}}}});
  ASSERT_TRUE(capped) << capped.error().message;
  auto r = sized(current, aim(20000), *capped);
  EXPECT_EQ(r.countOf(kTierApp), 10);
  EXPECT_FALSE(r.meetsTarget);
  EXPECT_NEAR(r.estimatedCapacityRps, 10 * 600 * 0.8, 1e-6);
}

TEST(CapacitySizing, BadTargetsNameTheField) {
  auto current = analysed(example2AuthService());
  auto zero = sizeComponent(current, aim(0), defaults());
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("target.rps"), std::string::npos);
  auto ratio = sizeComponent(current, aim(1000, std::nullopt, 1.5), defaults());
  ASSERT_FALSE(ratio);
  EXPECT_NE(ratio.error().message.find("target.readRatio"), std::string::npos);
  auto p99 = sizeComponent(current, aim(1000, -3.0), defaults());
  ASSERT_FALSE(p99);
  EXPECT_NE(p99.error().message.find("target.p99Ms"), std::string::npos);
}

TEST(CapacityModel, LoadsAnalysesAndSizesInOneGo) {
  auto model = CapacityModel::load(defaultBaselinesPath(test::dataDir()),
                                   bj::object{{"policy", bj::object{{"minAppInstances", 3}}}});
  ASSERT_TRUE(model) << model.error().message;
  auto r = model->size(node("search", "service", {}), aim(100));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->countOf(kTierApp), 3);
  EXPECT_FALSE(model->size(node("search", "service", {{"workload", "quantum"}}), aim(100)));
}

}  // namespace
}  // namespace ymy::capacity
