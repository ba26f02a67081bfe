// The cache in the request path (ExecutionManager + cache::DesignCache):
// exact answers replayed, similar ones used as templates, never a wrong
// reuse, and what is stored, withdrawn, expired, saved and cleared.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <boost/json/serialize.hpp>

#include "bus/event_bus.hpp"
#include "cache/design_cache.hpp"
#include "server/execution_manager.hpp"
#include "store/store.hpp"
#include "test_data.hpp"

namespace ymy::server {
namespace {

using namespace std::chrono_literals;

class DesignCacheTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ymy_design_cache_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    cache_ = makeCache();
    manager_ = std::make_unique<ExecutionManager>(*engine_, *store_, bus_, clock_, executor::ModificationPolicy{},
                                                  cache_.get());
  }
  void TearDown() override {
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<cache::DesignCache> makeCache(bool persisted = false) {
    cache::DesignCacheOptions o;
    o.engineVersion = engine_->version();
    o.ttl = 1h;
    o.l3.applyInBackground = false;  // applied by flush(): deterministic
    if (persisted) o.l3Path = dir_ / "l3.idx";
    auto c = cache::DesignCache::create(engine_->catalog(), o, cacheClock_);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(*c) : nullptr;
  }

  // Starts a design and waits until it has finished; returns how it started.
  StartedExecution run(const std::string& text, const std::string& tenant = "alice",
                       std::optional<Canvas> canvas = std::nullopt) {
    DesignRequest r;
    r.request = text;
    r.tenant = tenant;
    r.canvas = std::move(canvas);
    auto started = manager_->start(r);
    EXPECT_TRUE(started) << text << ": " << started.error().message;
    if (!started) return {};
    EXPECT_TRUE(manager_->waitUntilSettled(started->executionId, 60s));
    cache_->flush();
    return *started;
  }

  std::vector<Event> events(const std::string& id) {
    auto e = store_->eventsAfter(id, 0, 100'000);
    EXPECT_TRUE(e);
    return e ? *e : std::vector<Event>{};
  }

  store::ExecutionRecord record(const std::string& id) {
    auto r = store_->getExecution(id);
    EXPECT_TRUE(r) << id;
    return r ? *r : store::ExecutionRecord{};
  }

  static const cache::TierCounters& tier(const cache::DesignCacheStats& s, cache::Tier t) {
    return s.tiers[static_cast<int>(t)];
  }

  static inline engine::Engine* engine_ = nullptr;
  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  bus::EventBus bus_{*store_};
  SystemClock clock_;
  ManualClock cacheClock_;
  std::unique_ptr<cache::DesignCache> cache_;
  std::unique_ptr<ExecutionManager> manager_;
};

TEST_F(DesignCacheTest, TheSameRequestAgainReplaysTheStoredResultMarkedL1) {
  auto first = run("Scale the auth service to 3000 RPS");
  EXPECT_EQ(first.cache, "MISS");
  auto second = run("Scale the auth service to 3000 RPS");
  EXPECT_EQ(second.cache, "L1");
  EXPECT_NE(second.executionId, first.executionId);

  // The same stream, renumbered under the new id, every event marked.
  auto a = events(first.executionId), b = events(second.executionId);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].type, a[i].type);
    EXPECT_EQ(b[i].seq, i + 1);
    EXPECT_EQ(b[i].executionId, second.executionId);
    EXPECT_EQ(b[i].fields.at("cache").as_string(), "L1");
  }
  EXPECT_EQ(a.front().fields.at("cache").as_string(), "MISS");
  EXPECT_EQ(b.back().type, "executionSummary");
  EXPECT_EQ(b.back().fields.at("sourceExecutionId").as_string(), first.executionId);

  // Its files, tasks and final state are the stored execution's.
  auto fa = store_->files(first.executionId), fb = store_->files(second.executionId);
  ASSERT_TRUE(fa && fb);
  ASSERT_FALSE(fa->empty());
  ASSERT_EQ(fa->size(), fb->size());
  for (std::size_t i = 0; i < fa->size(); ++i) {
    EXPECT_EQ((*fb)[i].path, (*fa)[i].path);
    EXPECT_EQ((*fb)[i].content, (*fa)[i].content);
  }
  EXPECT_EQ(store_->tasks(second.executionId)->size(), store_->tasks(first.executionId)->size());
  auto replayed = record(second.executionId);
  EXPECT_EQ(replayed.status, store::ExecutionStatus::kCompleted);
  EXPECT_EQ(replayed.summary.at("cache").as_string(), "L1");
  EXPECT_EQ(replayed.summary.at("canvas"), record(first.executionId).summary.at("canvas"));
  // A finished execution's state says how each task ended.
  for (const auto& id : {first.executionId, second.executionId}) {
    auto state = manager_->state(id);
    ASSERT_TRUE(state);
    const auto& tasks = state->at("tasks").as_array();
    ASSERT_FALSE(tasks.empty());
    for (const auto& t : tasks) EXPECT_EQ(t.at("status").as_string(), "completed") << id;
  }

  auto s = cache_->stats();
  EXPECT_EQ(tier(s, cache::Tier::kL1).hits, 1u);
  EXPECT_EQ(tier(s, cache::Tier::kL1).misses, 1u);
  EXPECT_EQ(tier(s, cache::Tier::kL3).misses, 1u);
}

TEST_F(DesignCacheTest, OtherCaseAndSpacingHitThroughTheFrameKey) {
  run("Add a Redis cache in front of the product catalog");
  auto again = run("add a redis   cache in front of the PRODUCT catalog");
  EXPECT_EQ(again.cache, "L1");
}

TEST_F(DesignCacheTest, OnlyTheNumbersChangedIsATemplateRegeneratedWithTheNewParameters) {
  auto source = run("scale auth to 3000 RPS");
  auto similar = run("auth service scaling 5000 RPS");
  ASSERT_EQ(similar.cache, "L3");
  auto e = events(similar.executionId);
  ASSERT_FALSE(e.empty());
  // The cache check comes first, as in the spec's Example 2.
  EXPECT_EQ(e.front().type, "similarSolutionFound");
  EXPECT_GE(e.front().fields.at("similarity").to_number<double>(), cache::kDefaultSimilarityThreshold);
  EXPECT_LE(e.front().fields.at("similarity").to_number<double>(), 1.0);
  EXPECT_EQ(e.front().fields.at("sourceExecutionId").as_string(), source.executionId);
  EXPECT_EQ(e[1].type, "intentAnalyzed");
  EXPECT_EQ(e[1].fields.at("params").at("rps").to_number<double>(), 5000);
  // Regenerated: the new run sized for 5000, not the template's 3000.
  bool sized = false;
  for (const auto& ev : e) {
    if (ev.type == "scalingPlanGenerated") {
      sized = true;
      EXPECT_EQ(ev.fields.at("variables").at("target_rps").to_number<double>(), 5000) << boost::json::serialize(ev.fields);
    }
  }
  EXPECT_TRUE(sized);
  EXPECT_EQ(record(similar.executionId).status, store::ExecutionStatus::kCompleted);
}

TEST_F(DesignCacheTest, NeverServedAcrossTenantsCanvasesComponentsOrNegation) {
  run("scale auth to 3000 RPS", "alice");
  EXPECT_EQ(run("scale auth to 3000 RPS", "bob").cache, "MISS");
  EXPECT_EQ(run("scale payments to 3000 RPS", "alice").cache, "MISS");

  Canvas canvas;
  CanvasNode node;
  node.id = "auth-service";
  node.type = "microservice";
  node.label = "Auth Service";
  canvas.nodes.push_back(node);
  EXPECT_EQ(run("scale auth to 3000 RPS", "alice", canvas).cache, "MISS");
  EXPECT_EQ(run("scale auth to 3000 RPS", "alice", canvas).cache, "L1");  // that canvas's own answer
  canvas.nodes.front().label = "Authentication";
  EXPECT_EQ(run("scale auth to 3000 RPS", "alice", canvas).cache, "MISS");

  run("enable caching for the product catalog");
  EXPECT_EQ(run("disable caching for the product catalog").cache, "MISS");
}

TEST_F(DesignCacheTest, ACancelledRunIsNotStored) {
  DesignRequest r;
  r.request = "Build a blog platform with comments and search";
  r.tenant = "alice";
  r.simulateLatency = 1;  // tasks take their full estimates: minutes
  auto started = manager_->start(r);
  ASSERT_TRUE(started);
  ASSERT_TRUE(manager_->cancel(started->executionId, "test"));
  ASSERT_TRUE(manager_->waitUntilSettled(started->executionId, 60s));
  EXPECT_EQ(record(started->executionId).status, store::ExecutionStatus::kCancelled);
  cache_->flush();
  EXPECT_EQ(run("Build a blog platform with comments and search").cache, "MISS");
}

TEST_F(DesignCacheTest, AReportedFalseHitIsCountedAndNeverServedAgain) {
  auto source = run("add monitoring to the order service");
  auto hit = run("add monitoring to the order service");
  ASSERT_EQ(hit.cache, "L1");

  auto report = manager_->reportFalseHit(hit.executionId);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->at("tier").as_string(), "L1");
  EXPECT_EQ(report->at("sourceExecutionId").as_string(), source.executionId);
  EXPECT_EQ(tier(cache_->stats(), cache::Tier::kL1).falseHitReports, 1u);

  // Neither the words nor the frame nor the template serve it again.
  auto after = run("add monitoring to the order service");
  EXPECT_EQ(after.cache, "MISS");

  auto notCached = manager_->reportFalseHit(source.executionId);
  ASSERT_FALSE(notCached);
  EXPECT_EQ(notCached.error().code, ErrorCode::kConflict);
  auto unknown = manager_->reportFalseHit("exec_nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(DesignCacheTest, AnAnswerWhoseExecutionIsGoneIsStaleAndTheRequestRuns) {
  run("add read replicas to the orders database");
  // Another instance's store without that execution, sharing the cache.
  auto otherStore = store::makeMemoryStore();
  bus::EventBus otherBus(*otherStore);
  ExecutionManager other(*engine_, *otherStore, otherBus, clock_, {}, cache_.get());
  DesignRequest r;
  r.request = "add read replicas to the orders database";
  r.tenant = "alice";
  auto started = other.start(r);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->cache, "MISS");
  EXPECT_TRUE(other.waitUntilSettled(started->executionId, 60s));
  EXPECT_EQ(tier(cache_->stats(), cache::Tier::kL1).stale, 1u);
}

TEST_F(DesignCacheTest, ExactAnswersExpireTemplatesStay) {
  run("scale auth to 3000 RPS");
  cacheClock_.advance(2h);
  auto later = run("scale auth to 3000 RPS");
  EXPECT_EQ(later.cache, "L3");  // the exact answer expired; its template did not
}

TEST_F(DesignCacheTest, TemplatesAreSavedAndLoadedNotRebuilt) {
  cache_ = makeCache(true);
  manager_ = std::make_unique<ExecutionManager>(*engine_, *store_, bus_, clock_, executor::ModificationPolicy{},
                                                cache_.get());
  auto source = run("scale auth to 3000 RPS");
  ASSERT_TRUE(cache_->save());
  manager_.reset();
  cache_ = makeCache(true);
  EXPECT_TRUE(cache_->stats().l3Loaded);
  EXPECT_EQ(cache_->stats().l3.entries, 1u);
  manager_ = std::make_unique<ExecutionManager>(*engine_, *store_, bus_, clock_, executor::ModificationPolicy{},
                                                cache_.get());
  auto similar = run("auth service scaling 5000 RPS");
  EXPECT_EQ(similar.cache, "L3");
  EXPECT_EQ(events(similar.executionId).front().fields.at("sourceExecutionId").as_string(), source.executionId);
}

TEST_F(DesignCacheTest, ClearEmptiesEveryTier) {
  run("scale auth to 3000 RPS");
  auto cleared = cache_->clear();
  ASSERT_TRUE(cleared);
  EXPECT_EQ(cleared->l1, 2u);  // the words' key and the frame's key
  EXPECT_EQ(cleared->l3, 1u);
  EXPECT_EQ(run("scale auth to 3000 RPS").cache, "MISS");
}

TEST_F(DesignCacheTest, AProjectRunSavesItsCanvasAsANewVersionAndAsksAnewAfterIt) {
  auto project = store_->createProject("shop", Canvas{}, 1);
  ASSERT_TRUE(project);
  DesignRequest r;
  r.request = "Build an online bookstore with user accounts, a catalog and a cart";
  r.tenant = "alice";
  r.projectId = project->id;
  auto started = manager_->start(r);
  ASSERT_TRUE(started);
  ASSERT_TRUE(manager_->waitUntilSettled(started->executionId, 60s));
  auto after = store_->getProject(project->id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->canvasVersion, project->canvasVersion + 1);
  auto summary = record(started->executionId).summary;
  EXPECT_EQ(summary.at("canvasVersion").to_number<int>(), after->canvasVersion);
  auto canvas = store_->getCanvas(project->id);
  ASSERT_TRUE(canvas);
  EXPECT_FALSE(canvas->nodes.empty());
  // The canvas grew as tasks completed: their events carry the changes.
  std::size_t drawn = 0;
  for (const auto& e : events(started->executionId)) {
    if (e.type == "taskCompleted" && e.fields.contains("canvasUpdate")) {
      drawn += e.fields.at("canvasUpdate").at("nodes").as_array().size();
    }
  }
  EXPECT_GE(drawn, canvas->nodes.size() / 2);
  // The same request now asks about the new version: not the old answer.
  cache_->flush();
  auto again = manager_->start(r);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cache, "MISS");
  manager_->waitUntilSettled(again->executionId, 60s);
}

TEST_F(DesignCacheTest, ARequestCanOptOut) {
  run("scale auth to 3000 RPS");
  DesignRequest r;
  r.request = "scale auth to 3000 RPS";
  r.tenant = "alice";
  r.useCache = false;
  auto started = manager_->start(r);
  ASSERT_TRUE(started);
  EXPECT_EQ(started->cache, "MISS");
  EXPECT_TRUE(manager_->waitUntilSettled(started->executionId, 60s));
  EXPECT_FALSE(events(started->executionId).front().fields.contains("cache"));
}

}  // namespace
}  // namespace ymy::server
