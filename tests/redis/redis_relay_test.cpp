// Two EventBus instances on one shared Store, connected through a real
// redis-server by the Redis relay: every event once and in order, through a
// Redis that is killed mid-stream and restarted.
#include <gtest/gtest.h>

#include <csignal>

#include "bus/bus_test_support.hpp"
#include "bus/relay.hpp"
#include "store/store.hpp"
#include "support/redis_server.hpp"

namespace ymy::bus {
namespace {

using namespace std::chrono_literals;
using test::event;
using test::eventually;
using test::range;
using test::Recorder;

class RedisRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ymy::test::findOnPath("redis-server").empty()) GTEST_SKIP() << "redis-server is not installed";
    const std::string problem = server_.start();
    ASSERT_TRUE(problem.empty()) << problem;
  }
  // Instance A and B; `refresh` is how often they re-read the log while Redis is down.
  void startInstances(std::chrono::milliseconds refresh) { startInstances(BusOptions{refresh, 1h}); }
  void startInstances(BusOptions busOptions) {
    RedisRelayOptions o;
    o.minReconnectInterval = 10ms;
    o.maxReconnectInterval = 100ms;
    const std::string url = "redis://127.0.0.1:" + std::to_string(server_.port());
    for (int i = 0; i < 2; ++i) {
      auto relay = makeRedisRelay(url, o);
      ASSERT_TRUE(relay) << relay.error().message;
      relays_.push_back(std::move(*relay));
      buses_.push_back(std::make_unique<EventBus>(*store_, relays_.back().get(), busOptions));
    }
    ASSERT_TRUE(eventually([&] { return a().stats().relayConnected && b().stats().relayConnected; }));
  }
  void TearDown() override {
    buses_.clear();  // before their relays
    relays_.clear();
  }
  EventBus& a() { return *buses_[0]; }
  EventBus& b() { return *buses_[1]; }

  ymy::test::RedisServer server_;
  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  std::vector<std::unique_ptr<Relay>> relays_;
  std::vector<std::unique_ptr<EventBus>> buses_;
};

TEST_F(RedisRelayTest, ASubscriberOnBSeesEveryEventPublishedOnAOnceInOrder) {
  startInstances(1h);  // no refresh ticks: everything B gets comes through Redis
  auto onB = std::make_shared<Recorder>(), onA = std::make_shared<Recorder>();
  auto sb = b().subscribe("exec_1", 0, onB);
  auto sa = a().subscribe("exec_1", 0, onA);
  for (std::uint64_t s = 1; s <= 200; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));
  ASSERT_TRUE(onB->waitFor(200));
  auto late = std::make_shared<Recorder>();  // resumes mid-stream
  auto sl = b().subscribe("exec_1", 150, late);
  for (std::uint64_t s = 201; s <= 300; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));
  ASSERT_TRUE(onB->waitFor(300));
  ASSERT_TRUE(late->waitFor(150));
  EXPECT_EQ(onB->seqs(), range(1, 300));
  EXPECT_EQ(late->seqs(), range(151, 300));
  EXPECT_EQ(onA->seqs(), range(1, 300));  // A does not take its own events back from Redis
  const auto sa_ = a().stats(), sb_ = b().stats();
  EXPECT_EQ(sa_.relayPublished, 300u);
  EXPECT_EQ(sa_.relayReceived, 0u);
  ASSERT_TRUE(eventually([&] { return b().stats().relayReceived == 300; }));
  EXPECT_EQ(sb_.relayErrors, 0u);
}

TEST_F(RedisRelayTest, ALongPollOnBWakesForAnEventPublishedOnA) {
  startInstances(1h);
  ASSERT_TRUE(a().publish(event("exec_1", 1)));
  std::vector<Published> got;
  std::thread poller([&] { got = *b().poll("exec_1", 1, 10, 60s); });
  ASSERT_TRUE(eventually([&] { return b().stats().pollers == 1; }));
  ASSERT_TRUE(a().publish(event("exec_1", 2)));
  const auto started = std::chrono::steady_clock::now();
  poller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 2u);
}

TEST_F(RedisRelayTest, RedisKilledMidStreamAndRestartedLosesAndRepeatsNothing) {
  startInstances(20ms);
  auto onB = std::make_shared<Recorder>(), onA = std::make_shared<Recorder>();
  auto sb = b().subscribe("exec_1", 0, onB);
  auto sa = a().subscribe("exec_1", 0, onA);
  for (std::uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));
  ASSERT_TRUE(onB->waitFor(50));

  server_.signal(SIGKILL);
  for (std::uint64_t s = 51; s <= 100; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));  // the log takes them
  ASSERT_TRUE(onB->waitFor(100));  // from the log, on B's refresh interval
  EXPECT_EQ(onB->seqs(), range(1, 100));
  EXPECT_GT(a().stats().relayErrors, 0u);
  ASSERT_TRUE(eventually([&] { return !b().stats().relayConnected; }));

  ASSERT_EQ(server_.start(), "");
  ASSERT_TRUE(eventually([&] { return a().stats().relayConnected && b().stats().relayConnected; }));
  const auto errorsBefore = a().stats().relayErrors;
  for (std::uint64_t s = 101; s <= 150; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));
  ASSERT_TRUE(onB->waitFor(150));
  EXPECT_EQ(onB->seqs(), range(1, 150));
  EXPECT_EQ(onA->seqs(), range(1, 150));
  // The publisher's pool reconnects on the first publish after its backoff;
  // at most a few sends fail while it does.
  ASSERT_TRUE(eventually([&] { return b().stats().relayReceived > 50; }));
  EXPECT_LE(a().stats().relayErrors - errorsBefore, 50u);
}

// No refresh ticks at all: what B missed while Redis was dead can only come
// from the refill when its subscription is back.
TEST_F(RedisRelayTest, WhenRedisIsBackEveryFollowedChannelIsRefilledAtOnce) {
  startInstances(BusOptions{1h, 1h});
  auto onB = std::make_shared<Recorder>();
  auto sb = b().subscribe("exec_1", 0, onB);
  for (std::uint64_t s = 1; s <= 20; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));
  ASSERT_TRUE(onB->waitFor(20));

  server_.signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return !b().stats().relayConnected; }));
  for (std::uint64_t s = 21; s <= 40; ++s) ASSERT_TRUE(a().publish(event("exec_1", s)));
  EXPECT_EQ(onB->seqs(), range(1, 20));  // nothing re-reads the log while Redis is dead

  ASSERT_EQ(server_.start(), "");
  ASSERT_TRUE(onB->waitFor(40));  // refilled on reconnection, with no new event published
  EXPECT_EQ(onB->seqs(), range(1, 40));

  // Publish until A's pool is back (sends fail fast until its reconnect is
  // due), then ten more: all through Redis or refilled on the gap, once each.
  std::uint64_t seq = 40;
  const auto relayedBefore = a().stats().relayPublished;
  while (a().stats().relayPublished == relayedBefore) {
    ASSERT_LT(seq, 100'000u);
    ASSERT_TRUE(a().publish(event("exec_1", ++seq)));
  }
  const std::uint64_t last = seq + 10;
  while (seq < last) ASSERT_TRUE(a().publish(event("exec_1", ++seq)));
  ASSERT_TRUE(onB->waitFor(last));
  EXPECT_EQ(onB->seqs(), range(1, last));
  EXPECT_EQ(b().stats().relayDuplicates, 0u);
}

TEST(RedisRelayOptionsTest, ABadUrlOrOptionIsRefused) {
  auto r = makeRedisRelay("http://x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("redis://"), std::string::npos);
  RedisRelayOptions o;
  o.publishConnections = 0;
  r = makeRedisRelay("redis://127.0.0.1:1", o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("publishConnections"), std::string::npos);
}

}  // namespace
}  // namespace ymy::bus
