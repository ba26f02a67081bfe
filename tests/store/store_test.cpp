// One contract, three implementations: every test runs against the in-memory
// store, the SQLite store and the PostgreSQL store (on a real server started
// for the test process, a fresh database per test). Without PostgreSQL the
// PostgreSQL tests fail, saying why.

#include "store/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>
#include <unistd.h>

#include <sqlite3.h>
#include <pqxx/pqxx>

#include "model/json_io.hpp"
#include "support/postgres_server.hpp"
#include "support/test_env.hpp"

namespace ymy::store {
namespace {

// One PostgreSQL server for the test process, started on first use and
// stopped when the process exits; `error` says why it is not running.
struct SharedPostgres {
  test::PostgresServer server;
  std::string error;
};
SharedPostgres& sharedPostgres() {
  static SharedPostgres shared;
  static const bool started = [] {
    shared.error = shared.server.start();
    return true;
  }();
  (void)started;
  return shared;
}

// A new, empty database on the shared server: its URL, or a failure.
std::string freshPostgresDatabase() {
  static std::atomic<int> counter{0};
  auto& pg = sharedPostgres();
  if (!pg.error.empty()) {
    ADD_FAILURE() << "PostgreSQL could not be started: " << pg.error;
    return {};
  }
  const std::string name = "store_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  if (auto error = pg.server.createDatabase(name); !error.empty()) {
    ADD_FAILURE() << error;
    return {};
  }
  return pg.server.url(name);
}

class StoreTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("ymy-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    if (GetParam() == "postgres") {
      postgresUrl_ = freshPostgresDatabase();
      if (postgresUrl_.empty()) GTEST_FAIL() << "no PostgreSQL database for this test (see above)";
    }
    store_ = open();
    if (!store_) GTEST_FAIL() << "the " << GetParam() << " store did not open";
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Another store on the same data (a reopened process, or a second instance).
  std::unique_ptr<Store> open() {
    if (GetParam() == "memory") return makeMemoryStore();
    auto s = GetParam() == "sqlite" ? openSqliteStore(dir_ / "youmeyou.db") : openPostgresStore(postgresUrl_);
    if (!s) {
      ADD_FAILURE() << s.error().message;
      return nullptr;
    }
    return std::move(*s);
  }

  static Canvas canvasWith(const std::string& id) {
    Canvas c;
    c.nodes.push_back(CanvasNode{id, "service", id, {1, 2}, {{"instances", 2}}});
    return c;
  }
  static Event event(const std::string& exec, std::uint64_t seq, const std::string& type = "taskProgress") {
    Event e;
    e.type = type;
    e.executionId = exec;
    e.seq = seq;
    e.ts = 1000 + static_cast<std::int64_t>(seq);
    e.fields["progress"] = "step " + std::to_string(seq);
    return e;
  }
  static ExecutionRecord execution(const std::string& id) {
    ExecutionRecord e;
    e.id = id;
    e.request = "build a shop";
    e.options = boost::json::object{{"simulateLatency", 0.5}};
    e.intent = boost::json::object{{"intent", "BUILD_FROM_SCRATCH"}};
    e.route = "DYNAMIC";
    Task t;
    t.id = "task_1";
    t.name = "Architecture Design";
    t.agent = "arch-001";
    t.prompt = "design";
    t.estimatedTime = 45;
    e.plan.tasks.push_back(t);
    e.baseCanvas = canvasWith("auth-service");
    e.createdAt = e.updatedAt = 5;
    return e;
  }

  std::filesystem::path dir_;
  std::string postgresUrl_;
  std::unique_ptr<Store> store_;
};

const auto kImplementations = testing::Values("memory", "sqlite", "postgres");
std::string implementationName(const testing::TestParamInfo<std::string>& info) { return info.param; }

TEST_P(StoreTest, ProjectsKeepEveryCanvasVersion) {
  auto p = store_->createProject("shop", canvasWith("a"), 10);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->canvasVersion, 1);
  EXPECT_TRUE(p->id.starts_with("prj_"));
  auto v2 = store_->saveCanvas(p->id, canvasWith("b"), 11);
  ASSERT_TRUE(v2);
  EXPECT_EQ(*v2, 2);
  EXPECT_EQ(store_->getCanvas(p->id)->nodes[0].id, "b");
  EXPECT_EQ(store_->getCanvas(p->id, 1)->nodes[0].id, "a");
  EXPECT_EQ(store_->getCanvas(p->id, 1)->nodes[0].config.at("instances").as_int64(), 2);
  EXPECT_EQ(store_->getProject(p->id)->canvasVersion, 2);
  auto q = store_->createProject("blog", Canvas{}, 12);
  auto list = store_->listProjects();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "blog");  // newest first
}

TEST_P(StoreTest, ProjectsAndExecutionsKeepTheirOwner) {
  auto mine = store_->createProject("mine", Canvas{}, 1, "usr_a");
  auto theirs = store_->createProject("theirs", Canvas{}, 2, "usr_b");
  auto local = store_->createProject("local", Canvas{}, 3);
  ASSERT_TRUE(mine && theirs && local);
  EXPECT_EQ(store_->getProject(mine->id)->ownerId, "usr_a");
  EXPECT_EQ(local->ownerId, "local");
  auto a = store_->listProjects("usr_a");
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].id, mine->id);
  EXPECT_EQ((*a)[0].ownerId, "usr_a");
  EXPECT_TRUE(store_->listProjects("usr_c")->empty());
  EXPECT_EQ(store_->listProjects()->size(), 3u);

  auto e = execution("exec_owned");
  e.ownerId = "usr_b";
  ASSERT_TRUE(store_->createExecution(e));
  EXPECT_EQ(store_->getExecution("exec_owned")->ownerId, "usr_b");
  ASSERT_TRUE(store_->createExecution(execution("exec_local")));
  EXPECT_EQ(store_->getExecution("exec_local")->ownerId, "local");
  auto unfinished = store_->unfinishedExecutions();
  ASSERT_TRUE(unfinished);
  for (const auto& u : *unfinished) {
    EXPECT_EQ(u.ownerId, u.id == "exec_owned" ? "usr_b" : "local");
  }
}

TEST_P(StoreTest, UnknownIdsAreNotFound) {
  EXPECT_EQ(store_->getProject("prj_nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->saveCanvas("prj_nope", Canvas{}, 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->getCanvas("prj_nope").error().code, ErrorCode::kNotFound);
  auto p = store_->createProject("shop", Canvas{}, 1);
  EXPECT_EQ(store_->getCanvas(p->id, 7).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->getExecution("exec_nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->finishExecution("exec_nope", ExecutionStatus::kCompleted, nullptr, 1).error().code,
            ErrorCode::kNotFound);
}

TEST_P(StoreTest, ExecutionsRoundTripAndFinish) {
  ASSERT_TRUE(store_->createExecution(execution("exec_1")));
  ASSERT_TRUE(store_->createExecution(execution("exec_2")));
  EXPECT_FALSE(store_->createExecution(execution("exec_1")));
  auto e = store_->getExecution("exec_1");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->request, "build a shop");
  EXPECT_EQ(e->plan.tasks.size(), 1u);
  EXPECT_EQ(e->plan.tasks[0].estimatedTime, 45);
  EXPECT_EQ(e->baseCanvas.nodes[0].id, "auth-service");
  EXPECT_EQ(e->options.at("simulateLatency").as_double(), 0.5);
  EXPECT_TRUE(e->summary.is_null());
  EXPECT_EQ(store_->unfinishedExecutions()->size(), 2u);
  ASSERT_TRUE(store_->finishExecution("exec_1", ExecutionStatus::kCompleted, boost::json::object{{"success", true}}, 9));
  auto done = store_->getExecution("exec_1");
  EXPECT_EQ(done->status, ExecutionStatus::kCompleted);
  EXPECT_TRUE(done->summary.at("success").as_bool());
  auto unfinished = store_->unfinishedExecutions();
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, "exec_2");
}

TEST_P(StoreTest, AModifiedPlanAndItsHistoryAreKept) {
  ASSERT_TRUE(store_->createExecution(execution("exec_1")));
  EXPECT_TRUE(store_->getExecution("exec_1")->modifications.as_object().empty());
  auto e = store_->getExecution("exec_1");
  Plan plan = e->plan;
  plan.tasks[0].prompt = "a new prompt";
  boost::json::value history = boost::json::object{
      {plan.tasks[0].id, boost::json::array{boost::json::object{{"timestamp", 5}, {"change", "Added x"}}}}};
  ASSERT_TRUE(store_->savePlan("exec_1", plan, history, 6));
  auto again = store_->getExecution("exec_1");
  EXPECT_EQ(again->plan.tasks[0].prompt, "a new prompt");
  EXPECT_EQ(again->modifications, history);
  EXPECT_EQ((*store_->unfinishedExecutions())[0].modifications, history);
  EXPECT_EQ(store_->savePlan("exec_nope", plan, history, 6).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, TasksAreUpserted) {
  TaskRecord t{"exec_1", "task_1", "running", 0, "", "", nullptr, {}, nullptr};
  ASSERT_TRUE(store_->saveTask(t));
  t.status = "completed";
  t.result = "Architecture designed";
  t.output = boost::json::object{{"architecture", boost::json::object{{"services", 4}}}};
  t.files = {{"docs/a.md", "# A\n"}};
  ASSERT_TRUE(store_->saveTask(t));
  auto tasks = store_->tasks("exec_1");
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].status, "completed");
  EXPECT_EQ((*tasks)[0].output.at("architecture").at("services").as_int64(), 4);
  ASSERT_EQ((*tasks)[0].files.size(), 1u);
  EXPECT_EQ((*tasks)[0].files[0].content, "# A\n");
}

TEST_P(StoreTest, EventLogIsContiguousPerExecution) {
  for (std::uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE(store_->appendEvent(event("exec_1", s)));
  ASSERT_TRUE(store_->appendEvent(event("exec_2", 1)));
  auto gap = store_->appendEvent(event("exec_1", 52));
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store_->appendEvent(event("exec_1", 50)));  // duplicate
  EXPECT_EQ(*store_->lastSeq("exec_1"), 50u);
  EXPECT_EQ(*store_->lastSeq("exec_3"), 0u);
  auto page = store_->eventsAfter("exec_1", 10, 5);
  ASSERT_EQ(page->size(), 5u);
  EXPECT_EQ((*page)[0].seq, 11u);
  EXPECT_EQ((*page)[4].seq, 15u);
  EXPECT_EQ((*page)[0].fields.at("progress").as_string(), "step 11");
  EXPECT_EQ((*page)[0].ts, 1011);
  EXPECT_TRUE(store_->eventsAfter("exec_1", 50, 10)->empty());
}

TEST_P(StoreTest, FilesAreReplacedAsAWhole) {
  ASSERT_TRUE(store_->saveFiles("exec_1", {{"a/b.js", "x"}, {"c.sql", "y"}}));
  ASSERT_TRUE(store_->saveFiles("exec_1", {{"a/b.js", "z"}}));
  auto files = store_->files("exec_1");
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].content, "z");
}

TEST_P(StoreTest, ConcurrentAppendsNeverBreakTheSequence) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      std::string exec = "exec_" + std::to_string(w);
      for (std::uint64_t s = 1; s <= 100; ++s) EXPECT_TRUE(store_->appendEvent(event(exec, s)));
    });
  }
  for (auto& t : writers) t.join();
  for (int w = 0; w < 4; ++w) EXPECT_EQ(*store_->lastSeq("exec_" + std::to_string(w)), 100u);
}

TEST_P(StoreTest, SurvivesReopening) {
  if (GetParam() == "memory") GTEST_SKIP() << "memory is not durable";
  auto p = store_->createProject("shop", canvasWith("a"), 1);
  ASSERT_TRUE(store_->createExecution(execution("exec_1")));
  for (std::uint64_t s = 1; s <= 3; ++s) ASSERT_TRUE(store_->appendEvent(event("exec_1", s)));
  store_.reset();
  store_ = open();
  EXPECT_EQ(store_->getProject(p->id)->name, "shop");
  EXPECT_EQ(*store_->lastSeq("exec_1"), 3u);
  EXPECT_EQ(store_->unfinishedExecutions()->size(), 1u);
  EXPECT_TRUE(store_->appendEvent(event("exec_1", 4)));
}

UserRecord user(const std::string& email, const std::string& tier = "free") {
  return UserRecord{newId("usr"), email, "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", tier, 42};
}

TEST_P(StoreTest, UsersRoundTripByEmailAndId) {
  const auto alice = user("alice@example.com", "premium");
  ASSERT_TRUE(store_->createUser(alice));
  for (const auto& found : {store_->findUserByEmail("alice@example.com"), store_->findUserById(alice.id)}) {
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->id, alice.id);
    EXPECT_EQ(found->email, alice.email);
    EXPECT_EQ(found->passwordHash, alice.passwordHash);
    EXPECT_EQ(found->tier, "premium");
    EXPECT_EQ(found->createdAt, 42);
  }
}

TEST_P(StoreTest, ASecondUserWithTheSameEmailIsAConflict) {
  ASSERT_TRUE(store_->createUser(user("bob@example.com")));
  auto again = store_->createUser(user("bob@example.com"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("bob@example.com"), std::string::npos) << again.error().message;
  // The same id under another email is a conflict too.
  auto first = *store_->findUserByEmail("bob@example.com");
  auto sameId = user("other@example.com");
  sameId.id = first.id;
  auto clash = store_->createUser(sameId);
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict);
}

TEST_P(StoreTest, UnknownUsersAreNotFound) {
  EXPECT_EQ(store_->findUserByEmail("nobody@example.com").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->findUserById("usr_missing").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->setUserTier("usr_missing", "premium").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->setUserPasswordHash("usr_missing", "x").error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, TierAndPasswordHashCanChange) {
  const auto carol = user("carol@example.com");
  ASSERT_TRUE(store_->createUser(carol));
  ASSERT_TRUE(store_->setUserTier(carol.id, "enterprise"));
  ASSERT_TRUE(store_->setUserPasswordHash(carol.id, "$argon2id$new"));
  auto found = store_->findUserById(carol.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->tier, "enterprise");
  EXPECT_EQ(found->passwordHash, "$argon2id$new");
}

TEST_P(StoreTest, ConcurrentRegistrationsOfOneEmailHaveOneWinner) {
  std::atomic<int> created{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto r = store_->createUser(user("race@example.com"));
      if (r) ++created;
      else if (r.error().code == ErrorCode::kConflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
}

TEST_P(StoreTest, UsersSurviveReopening) {
  if (GetParam() == "memory") GTEST_SKIP() << "memory is not durable";
  const auto dave = user("dave@example.com");
  ASSERT_TRUE(store_->createUser(dave));
  store_.reset();
  store_ = open();
  EXPECT_EQ(store_->findUserByEmail("dave@example.com")->id, dave.id);
}

INSTANTIATE_TEST_SUITE_P(Implementations, StoreTest, kImplementations, implementationName);

// ---- Leases ------------------------------------------------------------------

class LeaseTest : public StoreTest {
 protected:
  static Fence fence(const Lease& lease) { return Fence{lease.owner, lease.epoch}; }
  static std::string fencedMessage(const Result<void>& r) { return r ? "(succeeded)" : r.error().message; }
};

TEST_P(LeaseTest, TheFirstOwnerGetsEpochOneAndOthersConflictUntilItExpires) {
  EXPECT_FALSE(*store_->getLease("exec_1"));
  auto a = store_->acquireLease("exec_1", "inst-a", "10.0.0.1:4000", 1000, 100);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->executionId, "exec_1");
  EXPECT_EQ(a->owner, "inst-a");
  EXPECT_EQ(a->ownerAddress, "10.0.0.1:4000");
  EXPECT_EQ(a->epoch, 1u);
  EXPECT_EQ(a->expiresAt, 1100);

  auto b = store_->acquireLease("exec_1", "inst-b", "10.0.0.2:4000", 1099, 100);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kConflict);
  EXPECT_NE(b.error().message.find("inst-a"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find("1100"), std::string::npos) << b.error().message;

  auto held = store_->getLease("exec_1");
  ASSERT_TRUE(held && *held);
  EXPECT_EQ((*held)->owner, "inst-a");
  EXPECT_EQ((*held)->epoch, 1u);
  // Another execution's lease is independent.
  EXPECT_EQ(store_->acquireLease("exec_2", "inst-b", "", 1050, 100)->epoch, 1u);
}

TEST_P(LeaseTest, AnExpiredLeaseIsTakenOverWithTheNextEpoch) {
  ASSERT_TRUE(store_->acquireLease("exec_1", "inst-a", "a:1", 1000, 100));
  auto b = store_->acquireLease("exec_1", "inst-b", "b:1", 1100, 100);  // expiresAt <= now
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->owner, "inst-b");
  EXPECT_EQ(b->ownerAddress, "b:1");
  EXPECT_EQ(b->epoch, 2u);
  EXPECT_EQ(b->expiresAt, 1200);
  EXPECT_EQ((*store_->getLease("exec_1"))->owner, "inst-b");
}

TEST_P(LeaseTest, TheSameOwnerReacquiringGetsANewEpochAndFencesItsOldOne) {
  auto first = store_->acquireLease("exec_1", "inst-a", "a:1", 1000, 100);
  auto again = store_->acquireLease("exec_1", "inst-a", "a:1", 1010, 100);  // a restarted process
  ASSERT_TRUE(first && again);
  EXPECT_EQ(again->epoch, 2u);
  EXPECT_EQ(again->expiresAt, 1110);
  const Fence old = fence(*first);
  auto write = store_->appendEvent(event("exec_1", 1), &old);
  EXPECT_TRUE(fencedMessage(write).starts_with("fenced:")) << fencedMessage(write);
  const Fence current = fence(*again);
  EXPECT_TRUE(store_->appendEvent(event("exec_1", 1), &current));
}

TEST_P(LeaseTest, RenewalExtendsUntilAnotherEpochTakesOver) {
  auto a = store_->acquireLease("exec_1", "inst-a", "a:1", 1000, 100);
  ASSERT_TRUE(a);
  const Fence fa = fence(*a);
  auto renewed = store_->renewLease("exec_1", fa, 1050, 100);
  ASSERT_TRUE(renewed) << renewed.error().message;
  EXPECT_EQ(renewed->expiresAt, 1150);
  EXPECT_EQ(renewed->epoch, 1u);
  EXPECT_FALSE(store_->acquireLease("exec_1", "inst-b", "b:1", 1149, 100));

  auto b = store_->acquireLease("exec_1", "inst-b", "b:1", 1150, 100);
  ASSERT_TRUE(b);
  auto late = store_->renewLease("exec_1", fa, 1160, 100);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kConflict);
  EXPECT_TRUE(late.error().message.starts_with("fenced:")) << late.error().message;
  EXPECT_NE(late.error().message.find("inst-b"), std::string::npos) << late.error().message;
  EXPECT_TRUE(fencedMessage(store_->releaseLease("exec_1", fa)).starts_with("fenced:"));
  EXPECT_EQ((*store_->getLease("exec_1"))->expiresAt, 1250);  // the old owner changed nothing

  // Releasing expires the lease but keeps the epoch: the next owner gets epoch 3.
  ASSERT_TRUE(store_->releaseLease("exec_1", fence(*b)));
  auto released = *store_->getLease("exec_1");
  ASSERT_TRUE(released);
  EXPECT_EQ(released->expiresAt, 0);
  EXPECT_EQ(released->epoch, 2u);
  EXPECT_EQ(store_->acquireLease("exec_1", "inst-c", "c:1", 1170, 100)->epoch, 3u);

  // No lease at all: renewing or releasing is fenced too.
  EXPECT_TRUE(store_->renewLease("exec_none", fa, 1, 1).error().message.starts_with("fenced:"));
  EXPECT_TRUE(fencedMessage(store_->releaseLease("exec_none", fa)).starts_with("fenced:"));
}

TEST_P(LeaseTest, FencedWritesAreRefusedAndChangeNothing) {
  ASSERT_TRUE(store_->createExecution(execution("exec_1")));
  auto a = store_->acquireLease("exec_1", "inst-a", "a:1", 1000, 100);
  ASSERT_TRUE(a);
  const Fence fa = fence(*a);
  ASSERT_TRUE(store_->appendEvent(event("exec_1", 1), &fa));
  TaskRecord t{"exec_1", "task_1", "running", 0, "", "", nullptr, {}, nullptr};
  ASSERT_TRUE(store_->saveTask(t, &fa));
  ASSERT_TRUE(store_->saveFiles("exec_1", {{"a.txt", "one"}}, &fa));

  auto b = store_->acquireLease("exec_1", "inst-b", "b:1", 2000, 100);
  ASSERT_TRUE(b);
  const Fence fb = fence(*b);

  // The paused old owner wakes up and tries every kind of write.
  const auto before = *store_->getExecution("exec_1");
  TaskRecord done = t;
  done.status = "completed";
  Plan plan = before.plan;
  plan.tasks[0].prompt = "changed";
  const std::vector<Result<void>> refused = {
      store_->appendEvent(event("exec_1", 2), &fa),
      store_->saveTask(done, &fa),
      store_->saveFiles("exec_1", {{"b.txt", "two"}}, &fa),
      store_->savePlan("exec_1", plan, boost::json::object{{"task_1", 1}}, 2001, &fa),
      store_->finishExecution("exec_1", ExecutionStatus::kCompleted, boost::json::object{{"success", true}}, 2002, &fa),
  };
  for (const auto& r : refused) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kConflict);
    EXPECT_TRUE(r.error().message.starts_with("fenced:")) << r.error().message;
  }
  EXPECT_EQ(*store_->lastSeq("exec_1"), 1u);
  EXPECT_EQ((*store_->tasks("exec_1"))[0].status, "running");
  auto files = *store_->files("exec_1");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, "a.txt");
  const auto after = *store_->getExecution("exec_1");
  EXPECT_EQ(after.status, ExecutionStatus::kRunning);
  EXPECT_EQ(after.plan.tasks[0].prompt, "design");
  EXPECT_EQ(after.updatedAt, before.updatedAt);
  EXPECT_TRUE(after.summary.is_null());

  // The new owner writes; writes without a fence are as before.
  EXPECT_TRUE(store_->appendEvent(event("exec_1", 2), &fb));
  EXPECT_TRUE(store_->saveTask(done, &fb));
  EXPECT_TRUE(store_->savePlan("exec_1", plan, boost::json::object{}, 2003, &fb));
  EXPECT_TRUE(store_->finishExecution("exec_1", ExecutionStatus::kCompleted, nullptr, 2004, &fb));
  EXPECT_EQ(store_->getExecution("exec_1")->status, ExecutionStatus::kCompleted);
  EXPECT_TRUE(store_->appendEvent(event("exec_1", 3)));
  // A fence for an execution with no lease is refused.
  EXPECT_TRUE(fencedMessage(store_->appendEvent(event("exec_2", 1), &fb)).starts_with("fenced:"));
  EXPECT_EQ(*store_->lastSeq("exec_2"), 0u);
}

TEST_P(LeaseTest, OrphansAreRunningExecutionsWithAnExpiredLeaseOrStaleWithoutOne) {
  auto make = [&](const std::string& id, std::int64_t createdAt, std::int64_t updatedAt) {
    auto e = execution(id);
    e.createdAt = createdAt;
    e.updatedAt = updatedAt;
    ASSERT_TRUE(store_->createExecution(e));
  };
  make("exec_expired", 3, 900);    // lease expired at 1100
  make("exec_live", 1, 900);       // lease until 1500
  make("exec_stale", 2, 500);      // no lease, last updated long ago
  make("exec_fresh", 4, 1000);     // no lease, updated within the grace period
  make("exec_finished", 0, 900);   // lease expired, but finished
  make("exec_released", 5, 1090);  // released on a graceful shutdown
  ASSERT_TRUE(store_->acquireLease("exec_expired", "a", "", 1000, 100));
  ASSERT_TRUE(store_->acquireLease("exec_live", "a", "", 1000, 500));
  ASSERT_TRUE(store_->acquireLease("exec_finished", "a", "", 1000, 100));
  ASSERT_TRUE(store_->finishExecution("exec_finished", ExecutionStatus::kFailed, nullptr, 1000));
  auto released = store_->acquireLease("exec_released", "a", "", 1000, 1000);
  ASSERT_TRUE(released && store_->releaseLease("exec_released", fence(*released)));

  auto orphans = store_->orphanedExecutions(1100, 500);  // stale: updated before 600
  ASSERT_TRUE(orphans) << orphans.error().message;
  EXPECT_EQ(*orphans, (std::vector<std::string>{"exec_stale", "exec_expired", "exec_released"}));
  EXPECT_EQ(*store_->orphanedExecutions(1099, 500), (std::vector<std::string>{"exec_stale", "exec_released"}));
}

TEST_P(LeaseTest, ConcurrentAcquisitionsHaveOneWinner) {
  std::atomic<int> won{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = store_->acquireLease("exec_race", "inst-" + std::to_string(t), "", 1000, 60000);
      if (r) ++won;
      else if (r.error().code == ErrorCode::kConflict) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 7);
  EXPECT_EQ((*store_->getLease("exec_race"))->epoch, 1u);
}

// Two store objects on one database stand for two `serve` instances.
TEST_P(LeaseTest, TwoInstancesRacingForALeaseHaveOneWinner) {
  if (GetParam() == "memory") GTEST_SKIP() << "memory stores do not share state";
  auto other = open();
  ASSERT_TRUE(other);
  for (int round = 0; round < 5; ++round) {
    const std::string exec = "exec_" + std::to_string(round);
    std::atomic<int> won{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      Store* instance = t % 2 == 0 ? store_.get() : other.get();
      threads.emplace_back([&, instance, t] {
        auto r = instance->acquireLease(exec, "inst-" + std::to_string(t), "", 1000, 60000);
        if (r) ++won;
        else if (r.error().code == ErrorCode::kConflict) ++conflicts;
        else ADD_FAILURE() << r.error().message;
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1) << exec;
    EXPECT_EQ(conflicts.load(), 7) << exec;
    EXPECT_EQ((*other->getLease(exec))->epoch, 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Implementations, LeaseTest, kImplementations, implementationName);

TEST(SqliteStore, RefusesAnUnusablePath) {
  auto s = openSqliteStore("/proc/definitely/not/here.db");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
}

// Migration 3: projects and executions have an owner; rows written through
// the API as it is today belong to 'local'.
TEST(SqliteStore, ProjectsAndExecutionsHaveAnOwnerDefaultingToLocal) {
  const auto dir = std::filesystem::temp_directory_path() / ("ymy-store-owner-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "youmeyou.db";
  std::string projectId;
  {
    auto s = openSqliteStore(file);
    ASSERT_TRUE(s) << s.error().message;
    projectId = (*s)->createProject("shop", Canvas{}, 1)->id;
    ExecutionRecord e;
    e.id = "exec_owner";
    e.request = "r";
    ASSERT_TRUE((*s)->createExecution(e));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out = "(error)";
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  };
  EXPECT_EQ(scalar("SELECT MAX(version) FROM schema_migrations"), "4");
  EXPECT_EQ(scalar(("SELECT owner_id FROM projects WHERE id = '" + projectId + "'").c_str()), "local");
  EXPECT_EQ(scalar("SELECT owner_id FROM executions WHERE id = 'exec_owner'"), "local");
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}

// A row whose plan or canvas cannot be read (written by an older build, or
// edited by hand) is returned with what is wrong, not as a failure of every
// listing it is part of.
TEST(SqliteStore, AnExecutionWithAnUnreadableCanvasComesBackWithItsDamage) {
  const auto dir = std::filesystem::temp_directory_path() / ("ymy-store-damage-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "youmeyou.db";
  {
    auto s = openSqliteStore(file);
    ASSERT_TRUE(s) << s.error().message;
    for (const char* id : {"exec_damaged", "exec_fine"}) {
      ExecutionRecord e;
      e.id = id;
      e.request = "r";
      ASSERT_TRUE((*s)->createExecution(e));
    }
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE executions SET base_canvas = '{\"nodes\":{\"x\":Infinity}}' WHERE id = 'exec_damaged'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto s = openSqliteStore(file);
  ASSERT_TRUE(s) << s.error().message;
  auto damaged = (*s)->getExecution("exec_damaged");
  ASSERT_TRUE(damaged) << damaged.error().message;
  EXPECT_NE(damaged->damage.find("base canvas cannot be read"), std::string::npos) << damaged->damage;
  EXPECT_TRUE(damaged->baseCanvas.empty());
  EXPECT_EQ((*s)->getExecution("exec_fine")->damage, "");
  auto unfinished = (*s)->unfinishedExecutions();
  ASSERT_TRUE(unfinished) << unfinished.error().message;
  EXPECT_EQ(unfinished->size(), 2u);
  std::filesystem::remove_all(dir);
}

// ---- PostgreSQL only ------------------------------------------------------------

// Several instances starting at once: each migration is applied exactly once
// (they queue on the advisory lock) and every instance opens.
TEST(PostgresStore, InstancesStartingTogetherApplyEachMigrationOnce) {
  const std::string url = freshPostgresDatabase();
  ASSERT_FALSE(url.empty());
  std::vector<std::string> errors(6, "not run");
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < errors.size(); ++i) {
    threads.emplace_back([&, i] {
      auto s = openPostgresStore(url);
      errors[i] = s ? "" : s.error().message;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& error : errors) EXPECT_EQ(error, "");
  ASSERT_TRUE(openPostgresStore(url));  // and once more, later

  pqxx::connection c(url);
  pqxx::work tx(c);
  const auto row = tx.exec1("SELECT COUNT(*), MIN(version), MAX(version) FROM schema_migrations");
  EXPECT_EQ(row[0].as<int>(), 2);
  EXPECT_EQ(row[1].as<int>(), 1);
  EXPECT_EQ(row[2].as<int>(), 2);
  EXPECT_EQ(tx.exec1("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'leases'")[0].as<int>(), 1);
}

TEST(PostgresStore, NoServerIsUnavailableNotACrash) {
  const std::uint16_t port = test::freeLoopbackPort();
  const auto started = std::chrono::steady_clock::now();
  auto s = openPostgresStore("postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kIo);
  EXPECT_TRUE(s.error().message.starts_with("PostgreSQL unavailable: ")) << s.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(6));
}

// Every Store call, for the outage test: each returns its error, if any.
std::vector<std::pair<std::string, std::function<std::optional<Error>(Store&)>>> everyCall() {
  auto err = [](const auto& r) -> std::optional<Error> {
    if (r) return std::nullopt;
    return r.error();
  };
  const Fence fence{"inst-a", 1};
  ExecutionRecord e;
  e.id = "exec_outage";
  e.request = "r";
  TaskRecord t{"exec_1", "task_1", "running", 0, "", "", nullptr, {}, nullptr};
  Event ev;
  ev.type = "taskProgress";
  ev.executionId = "exec_1";
  ev.seq = 4;
  UserRecord u{"usr_outage", "outage@example.com", "$argon2id$x", "free", 1};
  return {
      {"createProject", [=](Store& s) { return err(s.createProject("p", Canvas{}, 1)); }},
      {"listProjects", [=](Store& s) { return err(s.listProjects()); }},
      {"getProject", [=](Store& s) { return err(s.getProject("prj_x")); }},
      {"saveCanvas", [=](Store& s) { return err(s.saveCanvas("prj_x", Canvas{}, 1)); }},
      {"getCanvas", [=](Store& s) { return err(s.getCanvas("prj_x")); }},
      {"createExecution", [=](Store& s) { return err(s.createExecution(e)); }},
      {"finishExecution", [=](Store& s) { return err(s.finishExecution("exec_1", ExecutionStatus::kFailed, nullptr, 1)); }},
      {"savePlan", [=](Store& s) { return err(s.savePlan("exec_1", Plan{}, boost::json::object{}, 1, &fence)); }},
      {"getExecution", [=](Store& s) { return err(s.getExecution("exec_1")); }},
      {"unfinishedExecutions", [=](Store& s) { return err(s.unfinishedExecutions()); }},
      {"saveTask", [=](Store& s) { return err(s.saveTask(t)); }},
      {"tasks", [=](Store& s) { return err(s.tasks("exec_1")); }},
      {"appendEvent", [=](Store& s) { return err(s.appendEvent(ev)); }},
      {"eventsAfter", [=](Store& s) { return err(s.eventsAfter("exec_1", 0, 10)); }},
      {"lastSeq", [=](Store& s) { return err(s.lastSeq("exec_1")); }},
      {"saveFiles", [=](Store& s) { return err(s.saveFiles("exec_1", {{"a", "b"}})); }},
      {"files", [=](Store& s) { return err(s.files("exec_1")); }},
      {"createUser", [=](Store& s) { return err(s.createUser(u)); }},
      {"findUserByEmail", [=](Store& s) { return err(s.findUserByEmail("x@example.com")); }},
      {"findUserById", [=](Store& s) { return err(s.findUserById("usr_x")); }},
      {"setUserTier", [=](Store& s) { return err(s.setUserTier("usr_x", "premium")); }},
      {"setUserPasswordHash", [=](Store& s) { return err(s.setUserPasswordHash("usr_x", "h")); }},
      {"acquireLease", [=](Store& s) { return err(s.acquireLease("exec_1", "inst-b", "", 10, 100)); }},
      {"renewLease", [=](Store& s) { return err(s.renewLease("exec_1", fence, 10, 100)); }},
      {"releaseLease", [=](Store& s) { return err(s.releaseLease("exec_1", fence)); }},
      {"getLease", [=](Store& s) { return err(s.getLease("exec_1")); }},
      {"orphanedExecutions", [=](Store& s) { return err(s.orphanedExecutions(10, 100)); }},
  };
}

// The database goes away mid-run and comes back: while it is down every call
// is kIo "PostgreSQL unavailable" (quickly, no crash); afterwards the same store
// object works again and nothing was lost.
TEST(PostgresStore, AnOutageIsUnavailableAndTheStoreRecoversWithItsData) {
  test::PostgresServer server;  // its own: this test stops it
  const std::string started = server.start();
  ASSERT_TRUE(started.empty()) << "PostgreSQL could not be started: " << started;
  ASSERT_TRUE(server.createDatabase("outage").empty());
  auto opened = openPostgresStore(server.url("outage"));
  ASSERT_TRUE(opened) << opened.error().message;
  Store& store = **opened;

  auto project = store.createProject("shop", Canvas{}, 1);
  ASSERT_TRUE(project);
  ExecutionRecord e;
  e.id = "exec_1";
  e.request = "r";
  ASSERT_TRUE(store.createExecution(e));
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    Event ev;
    ev.type = "taskProgress";
    ev.executionId = "exec_1";
    ev.seq = seq;
    ASSERT_TRUE(store.appendEvent(ev));
  }
  auto lease = store.acquireLease("exec_1", "inst-a", "a:1", 1, 1000000);
  ASSERT_TRUE(lease && lease->epoch == 1u);
  // Several pooled connections, all of which the outage will break.
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) readers.emplace_back([&] { EXPECT_TRUE(store.lastSeq("exec_1")); });
  for (auto& t : readers) t.join();

  ASSERT_EQ(server.stop(), "");
  for (const auto& [name, call] : everyCall()) {
    const auto before = std::chrono::steady_clock::now();
    const auto error = call(store);
    ASSERT_TRUE(error) << name << " succeeded with the server down";
    EXPECT_EQ(error->code, ErrorCode::kIo) << name;
    EXPECT_TRUE(error->message.starts_with("PostgreSQL unavailable: ")) << name << ": " << error->message;
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(3)) << name;
  }
  auto reopen = openPostgresStore(server.url("outage"));
  ASSERT_FALSE(reopen);
  EXPECT_TRUE(reopen.error().message.starts_with("PostgreSQL unavailable: ")) << reopen.error().message;

  ASSERT_EQ(server.start(), "");
  EXPECT_EQ(store.getProject(project->id)->name, "shop");
  EXPECT_EQ(*store.lastSeq("exec_1"), 3u);
  EXPECT_EQ(store.getExecution("exec_1")->request, "r");
  EXPECT_EQ((*store.getLease("exec_1"))->owner, "inst-a");
  for (const auto& [name, call] : everyCall()) {
    const auto error = call(store);
    EXPECT_TRUE(!error || error->code != ErrorCode::kIo) << name << ": " << error->message;
  }
}

TEST(Ids, AreUniqueAndPrefixed) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(ids.insert(newId("exec")).second);
  EXPECT_TRUE(newId("prj").starts_with("prj_"));
  EXPECT_EQ(newId("prj").size(), 4u + 32u);
}

}  // namespace
}  // namespace ymy::store
