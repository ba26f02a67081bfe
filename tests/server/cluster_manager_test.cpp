// Several ExecutionManagers ("instances") on one store: leases, takeover of
// an orphaned run, fencing of the instance that lost it, and a run's writes
// held while the store is away. Time is a ManualClock shared by all.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "bus/event_bus.hpp"
#include "server/execution_manager.hpp"
#include "store/store.hpp"
#include "test_data.hpp"

namespace ymy::server {
namespace {

using namespace std::chrono_literals;

constexpr auto kTtl = 5000ms;
const char* kRequest = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

// A store that can be taken away: every call answers kIo while down, as the
// PostgreSQL store does when its server is unreachable.
class FlakyStore final : public store::Store {
 public:
  explicit FlakyStore(store::Store& inner) : inner_(inner) {}
  std::atomic<bool> down{false};
  std::atomic<bool> finalRecordsAway{false};  // only finishExecution answers kIo

#define YMY_FLAKY(call) \
  if (down) return tl::unexpected(Error(ErrorCode::kIo, "PostgreSQL unavailable: test")); \
  return inner_.call
  Result<store::ProjectRecord> createProject(const std::string& n, const Canvas& c, std::int64_t now, std::string_view o) override { YMY_FLAKY(createProject(n, c, now, o)); }
  Result<std::vector<store::ProjectRecord>> listProjects(std::optional<std::string_view> o) override { YMY_FLAKY(listProjects(o)); }
  Result<store::ProjectRecord> getProject(std::string_view id) override { YMY_FLAKY(getProject(id)); }
  Result<int> saveCanvas(std::string_view p, const Canvas& c, std::int64_t now) override { YMY_FLAKY(saveCanvas(p, c, now)); }
  Result<Canvas> getCanvas(std::string_view p, std::optional<int> v) override { YMY_FLAKY(getCanvas(p, v)); }
  Result<void> createExecution(const store::ExecutionRecord& e) override { YMY_FLAKY(createExecution(e)); }
  Result<void> finishExecution(std::string_view id, store::ExecutionStatus s, const boost::json::value& v, std::int64_t now, const store::Fence* f) override {
    if (finalRecordsAway) return tl::unexpected(Error(ErrorCode::kIo, "PostgreSQL unavailable: test"));
    YMY_FLAKY(finishExecution(id, s, v, now, f));
  }
  Result<void> savePlan(std::string_view id, const Plan& p, const boost::json::value& m, std::int64_t now, const store::Fence* f) override { YMY_FLAKY(savePlan(id, p, m, now, f)); }
  Result<store::ExecutionRecord> getExecution(std::string_view id) override { YMY_FLAKY(getExecution(id)); }
  Result<std::vector<store::ExecutionRecord>> unfinishedExecutions() override { YMY_FLAKY(unfinishedExecutions()); }
  Result<void> saveTask(const store::TaskRecord& t, const store::Fence* f) override { YMY_FLAKY(saveTask(t, f)); }
  Result<std::vector<store::TaskRecord>> tasks(std::string_view id) override { YMY_FLAKY(tasks(id)); }
  Result<void> appendEvent(const Event& e, const store::Fence* f) override { YMY_FLAKY(appendEvent(e, f)); }
  Result<std::vector<Event>> eventsAfter(std::string_view id, std::uint64_t a, std::size_t l) override { YMY_FLAKY(eventsAfter(id, a, l)); }
  Result<std::uint64_t> lastSeq(std::string_view id) override { YMY_FLAKY(lastSeq(id)); }
  Result<void> saveFiles(std::string_view id, const std::vector<GeneratedFile>& f, const store::Fence* fence) override { YMY_FLAKY(saveFiles(id, f, fence)); }
  Result<std::vector<GeneratedFile>> files(std::string_view id) override { YMY_FLAKY(files(id)); }
  Result<void> createUser(const store::UserRecord& u) override { YMY_FLAKY(createUser(u)); }
  Result<store::UserRecord> findUserByEmail(std::string_view e) override { YMY_FLAKY(findUserByEmail(e)); }
  Result<store::UserRecord> findUserById(std::string_view id) override { YMY_FLAKY(findUserById(id)); }
  Result<void> setUserTier(std::string_view id, std::string_view t) override { YMY_FLAKY(setUserTier(id, t)); }
  Result<void> setUserPasswordHash(std::string_view id, std::string_view h) override { YMY_FLAKY(setUserPasswordHash(id, h)); }
  Result<store::Lease> acquireLease(std::string_view id, std::string_view o, std::string_view a, std::int64_t now, std::int64_t ttl) override { YMY_FLAKY(acquireLease(id, o, a, now, ttl)); }
  Result<store::Lease> renewLease(std::string_view id, const store::Fence& f, std::int64_t now, std::int64_t ttl) override { YMY_FLAKY(renewLease(id, f, now, ttl)); }
  Result<void> releaseLease(std::string_view id, const store::Fence& f) override { YMY_FLAKY(releaseLease(id, f)); }
  Result<std::optional<store::Lease>> getLease(std::string_view id) override { YMY_FLAKY(getLease(id)); }
  Result<std::vector<std::string>> orphanedExecutions(std::int64_t now, std::int64_t grace) override { YMY_FLAKY(orphanedExecutions(now, grace)); }
#undef YMY_FLAKY

 private:
  store::Store& inner_;
};

class ClusterManagerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto e = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(e) << e.error().message;
    engine_ = e->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  struct Instance {
    Instance(store::Store& store, ManualClock& clock, const std::string& id)
        : bus(store), manager(*engine_, store, bus, clock) {
      manager.joinCluster(ClusterOptions{id, "http://127.0.0.1:1/" + id, kTtl});
    }
    bus::EventBus bus;
    ExecutionManager manager;
  };

  std::string startSlow(ExecutionManager& m) {
    DesignRequest r;
    r.request = kRequest;
    r.simulateLatency = 1;  // tasks sleep their estimates on the manual clock
    auto started = m.start(r);
    EXPECT_TRUE(started) << started.error().message;
    return started ? started->executionId : std::string();
  }

  // Moves the clock from one sleeper's deadline to the next until `done`,
  // calling `each` before every step (an instance renewing its leases).
  // `done` may turn true without the clock noticing (a run settling after
  // its last task), so waiting for a sleeper re-checks it every millisecond.
  void stepUntil(const std::function<bool()>& done, const std::function<void()>& each = {}) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (clock_.sleepers() == 0) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      if (each) each();
      auto next = clock_.nextDeadline();
      // At most a second at a time: leases are renewed well within their lifetime.
      if (next) clock_.advance(std::clamp<Clock::Duration>(*next - clock_.now(), 1ms, 1s));
    }
    ASSERT_TRUE(done());
  }

  std::vector<Event> log(const std::string& id) {
    auto e = memory_->eventsAfter(id, 0, 100'000);
    EXPECT_TRUE(e);
    return e ? *e : std::vector<Event>{};
  }
  std::set<std::string> completedTasks(const std::string& id) {
    std::set<std::string> out;
    if (auto t = memory_->tasks(id)) {
      for (const auto& r : *t) {
        if (r.status == "completed") out.insert(r.taskId);
      }
    }
    return out;
  }
  static void expectCompleteAndOrdered(const std::vector<Event>& events) {
    ASSERT_FALSE(events.empty());
    for (std::size_t i = 0; i < events.size(); ++i) ASSERT_EQ(events[i].seq, i + 1) << events[i].type;
    EXPECT_EQ(events.back().type, "executionSummary");
    EXPECT_TRUE(events.back().fields.at("success").as_bool());
  }

  static inline engine::Engine* engine_ = nullptr;
  ManualClock clock_;
  std::unique_ptr<store::Store> memory_ = store::makeMemoryStore();
};

TEST_F(ClusterManagerTest, ARunIsLeasedByTheInstanceThatStartedItAndPlacedThereByTheOthers) {
  Instance a(*memory_, clock_, "a"), b(*memory_, clock_, "b");
  const auto id = startSlow(a.manager);
  EXPECT_EQ(a.manager.placement(id).kind, Placement::Kind::kHere);
  auto there = b.manager.placement(id);
  EXPECT_EQ(there.kind, Placement::Kind::kElsewhere);
  EXPECT_EQ(there.owner, "a");
  EXPECT_EQ(there.address, "http://127.0.0.1:1/a");
  auto state = b.manager.state(id);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->at("instance").at("id").as_string(), "a");

  // Renewed while it runs; released when it ends.
  clock_.advance(3s);
  EXPECT_EQ(a.manager.maintain().renewed, 1u);
  ASSERT_TRUE(a.manager.cancel(id, "test"));
  ASSERT_TRUE(a.manager.waitUntilSettled(id, 60s));
  auto lease = memory_->getLease(id);
  ASSERT_TRUE(lease && *lease);
  EXPECT_LE((*lease)->expiresAt, clock_.epochMillis());
  EXPECT_EQ(b.manager.placement(id).kind, Placement::Kind::kNowhere);
  EXPECT_EQ(b.manager.maintain().tookOver, 0u);  // finished: nothing to take over
}

TEST_F(ClusterManagerTest, AnOwnerThatStopsRenewingIsReplacedAndCannotWriteAgain) {
  Instance a(*memory_, clock_, "a"), b(*memory_, clock_, "b");
  const auto id = startSlow(a.manager);
  stepUntil([&] { return completedTasks(id).size() >= 2; }, [&] { (void)a.manager.maintain(); });

  // A stops renewing (paused, partitioned); its lease runs out.
  EXPECT_EQ(b.manager.maintain().tookOver, 0u);  // not before it expires
  (void)a.manager.maintain();
  clock_.waitUntil([&] { return clock_.sleepers() > 0; });
  const auto doneBefore = completedTasks(id);
  clock_.advance(kTtl);
  EXPECT_EQ(b.manager.placement(id).kind, Placement::Kind::kOrphaned);
  const auto takeoverSeq = *memory_->lastSeq(id);
  const auto doneAtTakeover = completedTasks(id);
  ASSERT_EQ(b.manager.maintain().tookOver, 1u);
  EXPECT_EQ(b.manager.placement(id).kind, Placement::Kind::kHere);

  // A comes back: its renewal is refused and its run stops without a write.
  auto report = a.manager.maintain();
  EXPECT_EQ(report.lost, 1u);
  ASSERT_TRUE(a.manager.waitUntilSettled(id, 60s));
  EXPECT_EQ(a.manager.clusterStats().lost, 1u);
  EXPECT_EQ(a.manager.placement(id).kind, Placement::Kind::kElsewhere);

  stepUntil([&] { return b.manager.waitUntilSettled(id, 0ms); });
  const auto events = log(id);
  expectCompleteAndOrdered(events);
  // Tasks done before the takeover were not run again.
  for (const auto& e : events) {
    if (e.seq <= takeoverSeq || e.type != "taskStarted") continue;
    EXPECT_FALSE(doneAtTakeover.count(std::string(e.fields.at("taskId").as_string())))
        << std::string(e.fields.at("taskId").as_string()) << " ran again after the takeover";
  }
  EXPECT_GE(doneAtTakeover.size(), doneBefore.size());
  auto record = memory_->getExecution(id);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->status, store::ExecutionStatus::kCompleted);
  EXPECT_EQ(b.manager.clusterStats().takeovers, 1u);
}

TEST_F(ClusterManagerTest, ARunKeepsItsWritesWhileTheStoreIsAwayAndLandsThemInOrder) {
  FlakyStore flaky(*memory_);
  bus::EventBus bus(flaky);
  ExecutionManager manager(*engine_, flaky, bus, clock_);
  const auto id = startSlow(manager);
  stepUntil([&] { return completedTasks(id).size() >= 1; });

  flaky.down = true;
  const auto logged = *memory_->lastSeq(id);
  // Tasks go on finishing; their events and records wait in order.
  stepUntil([&] { return manager.maintain().pendingWrites >= 4; });
  EXPECT_EQ(*memory_->lastSeq(id), logged);

  flaky.down = false;
  EXPECT_EQ(manager.maintain().pendingWrites, 0u);
  stepUntil([&] { return manager.waitUntilSettled(id, 0ms); });
  (void)manager.maintain();
  expectCompleteAndOrdered(log(id));
  auto record = memory_->getExecution(id);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->status, store::ExecutionStatus::kCompleted);
  auto files = memory_->files(id);
  ASSERT_TRUE(files);
  EXPECT_FALSE(files->empty());
}

TEST_F(ClusterManagerTest, AFinishedRunWhoseFinalWritesWaitForTheStoreLandsThemLater) {
  FlakyStore flaky(*memory_);
  bus::EventBus bus(flaky);
  ExecutionManager manager(*engine_, flaky, bus, clock_);
  const auto id = startSlow(manager);
  stepUntil([&] { return completedTasks(id).size() >= 1; });
  flaky.down = true;
  stepUntil([&] { return manager.waitUntilSettled(id, 0ms); });  // finished while the store was away
  EXPECT_NE(memory_->getExecution(id)->status, store::ExecutionStatus::kCompleted);
  EXPECT_GT(manager.clusterStats().pendingWrites, 0u);
  flaky.down = false;
  EXPECT_EQ(manager.maintain().pendingWrites, 0u);
  EXPECT_EQ(manager.clusterStats().pendingWrites, 0u);
  expectCompleteAndOrdered(log(id));
  EXPECT_EQ(memory_->getExecution(id)->status, store::ExecutionStatus::kCompleted);
}

// One execution that cannot be resumed (its stored plan or canvas is
// unreadable) is closed as failed, saying why; the others resume.
TEST_F(ClusterManagerTest, ADamagedExecutionIsClosedAsFailedAndTheOthersResume) {
  std::string fine;
  {
    bus::EventBus bus(*memory_);
    ExecutionManager before(*engine_, *memory_, bus, clock_);
    fine = startSlow(before);
    before.shutdown("restart");
  }
  store::ExecutionRecord damaged;
  damaged.id = "exec_damaged";
  damaged.request = kRequest;
  damaged.damage = "its stored base canvas cannot be read: canvas: expected an object, got null";
  ASSERT_TRUE(memory_->createExecution(damaged));

  bus::EventBus bus(*memory_);
  ExecutionManager after(*engine_, *memory_, bus, clock_);
  auto resumed = after.resumeUnfinished();
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(*resumed, 1u);
  auto record = memory_->getExecution("exec_damaged");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->status, store::ExecutionStatus::kFailed);
  EXPECT_NE(record->summary.at("error").as_string().find("base canvas cannot be read"), std::string::npos);
  stepUntil([&] { return after.waitUntilSettled(fine, 0ms); });
  EXPECT_EQ(memory_->getExecution(fine)->status, store::ExecutionStatus::kCompleted);
}

TEST_F(ClusterManagerTest, AnotherInstanceReportsHowARunEndedOnceItsSummaryIsLoggedBeforeItsRecordIsFinal) {
  FlakyStore flaky(*memory_);
  Instance a(flaky, clock_, "a"), b(flaky, clock_, "b");
  const auto id = startSlow(a.manager);
  stepUntil([&] { return completedTasks(id).size() >= 1; });
  flaky.finalRecordsAway = true;  // the summary is logged and streamed; the record is not final yet
  ASSERT_TRUE(a.manager.cancel(id, "test"));
  ASSERT_TRUE(a.manager.waitUntilSettled(id, 60s));
  ASSERT_EQ(memory_->getExecution(id)->status, store::ExecutionStatus::kRunning);
  ASSERT_EQ(log(id).back().type, "executionSummary");

  auto state = b.manager.state(id);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->at("status").as_string(), "cancelled");
  EXPECT_TRUE(state->at("summary").at("cancelled").as_bool());
  for (const auto& t : state->at("tasks").as_array()) EXPECT_NE(t.at("status").as_string(), "pending");

  flaky.finalRecordsAway = false;
  EXPECT_EQ(a.manager.maintain().pendingWrites, 0u);
  EXPECT_EQ(memory_->getExecution(id)->status, store::ExecutionStatus::kCancelled);
  EXPECT_EQ(b.manager.state(id)->at("status").as_string(), "cancelled");
}

}  // namespace
}  // namespace ymy::server
