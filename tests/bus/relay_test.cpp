// Several EventBus instances on one shared Store, connected by the in-memory
// relay: what a client on instance B sees of an execution running on A.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "bus/bus_test_support.hpp"
#include "bus/relay.hpp"
#include "store/store.hpp"

namespace ymy::bus {
namespace {

using namespace std::chrono_literals;
using test::event;
using test::range;
using test::Recorder;

// Two instances, A and B, sharing a store and a hub. The refresh interval is
// an hour unless a test says otherwise: nothing moves unless the test moves it.
struct Cluster {
  explicit Cluster(std::chrono::milliseconds refresh = 1h, int instances = 2)
      : Cluster(BusOptions{refresh, 1h}, instances) {}
  Cluster(BusOptions options, int instances) {
    for (int i = 0; i < instances; ++i) relays.push_back(hub.join());
    for (int i = 0; i < instances; ++i) {
      buses.push_back(std::make_unique<EventBus>(*store, relays[static_cast<std::size_t>(i)].get(), options));
    }
  }
  EventBus& a() { return *buses[0]; }
  EventBus& b() { return *buses[1]; }
  std::unique_ptr<store::Store> store = store::makeMemoryStore();
  MemoryRelayHub hub;
  std::vector<std::unique_ptr<Relay>> relays;
  std::vector<std::unique_ptr<EventBus>> buses;  // destroyed before the relays
};

TEST(Relay, ASubscriberOnBSeesEveryEventPublishedOnAOnceInOrder) {
  Cluster cluster;
  auto onB = std::make_shared<Recorder>(), onA = std::make_shared<Recorder>();
  auto sb = cluster.b().subscribe("exec_1", 0, onB);
  auto sa = cluster.a().subscribe("exec_1", 0, onA);
  ASSERT_TRUE(sa && sb);
  for (std::uint64_t s = 1; s <= 100; ++s) ASSERT_TRUE(cluster.a().publish(event("exec_1", s)));
  EXPECT_EQ(onB->seqs(), range(1, 100));
  EXPECT_EQ(onA->seqs(), range(1, 100));  // the publisher's own subscribers: once, not again from the relay
  const auto a = cluster.a().stats(), b = cluster.b().stats();
  EXPECT_EQ(a.relayPublished, 100u);
  EXPECT_EQ(a.relayReceived, 0u);
  EXPECT_EQ(b.relayReceived, 100u);
  EXPECT_EQ(b.relayDuplicates + b.relayGapsRefilled + b.relayErrors, 0u);
  EXPECT_TRUE(b.relayConnected);
  EXPECT_EQ(b.delivered, 100u);
}

TEST(Relay, ASubscriberResumingMidStreamOnBGetsTheRestOnce) {
  Cluster cluster;
  for (std::uint64_t s = 1; s <= 50; ++s) ASSERT_TRUE(cluster.a().publish(event("exec_1", s)));
  auto late = std::make_shared<Recorder>();
  auto sub = cluster.b().subscribe("exec_1", 20, late);
  ASSERT_TRUE(sub);
  EXPECT_EQ((*sub)->replayedThrough(), 50u);
  for (std::uint64_t s = 51; s <= 80; ++s) ASSERT_TRUE(cluster.a().publish(event("exec_1", s)));
  EXPECT_EQ(late->seqs(), range(21, 80));
}

// Clients join B at random positions while A publishes from another thread:
// each replay from the log races the relay, and positions sort it out.
TEST(Relay, SubscribersJoiningBWhileAPublishesSeeEveryEventOnce) {
  Cluster cluster;
  constexpr std::uint64_t kEvents = 3000;
  std::atomic<std::uint64_t> published{0};
  std::thread publisher([&] {
    for (std::uint64_t s = 1; s <= kEvents; ++s) {
      ASSERT_TRUE(cluster.a().publish(event("exec_1", s)));
      published = s;
    }
  });
  std::mt19937 rng(11);
  std::vector<std::pair<std::uint64_t, std::shared_ptr<Recorder>>> clients;
  std::vector<std::unique_ptr<EventBus::Subscription>> subscriptions;
  for (int i = 0; i < 40; ++i) {
    const std::uint64_t seen = published.load();
    const std::uint64_t after = seen ? rng() % (seen + 1) : 0;
    auto r = std::make_shared<Recorder>();
    auto s = cluster.b().subscribe("exec_1", after, r);
    ASSERT_TRUE(s) << s.error().message;
    subscriptions.push_back(std::move(*s));
    clients.emplace_back(after, r);
  }
  publisher.join();
  for (const auto& [after, r] : clients) ASSERT_EQ(r->seqs(), range(after + 1, kEvents)) << "after " << after;
}

TEST(Relay, ADroppedRelayMessageIsRefilledFromTheLog) {
  Cluster cluster;
  auto onB = std::make_shared<Recorder>();
  auto sub = cluster.b().subscribe("exec_1", 0, onB);
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 1)));
  cluster.hub.dropNext(2);
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 2)));
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 3)));
  EXPECT_EQ(onB->seqs(), range(1, 1));  // nothing says 2 and 3 exist yet
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 4)));
  EXPECT_EQ(onB->seqs(), range(1, 4));
  const auto b = cluster.b().stats();
  EXPECT_EQ(b.relayGapsRefilled, 1u);
  EXPECT_EQ(b.relayDuplicates, 0u);
}

TEST(Relay, AReorderedMessageIsRefilledAndItsLateCopyDropped) {
  Cluster cluster;
  auto onB = std::make_shared<Recorder>();
  auto sub = cluster.b().subscribe("exec_1", 0, onB);
  cluster.hub.holdNext();
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 1)));  // held back
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 2)));  // arrives first: a gap
  EXPECT_EQ(onB->seqs(), range(1, 2));
  EXPECT_EQ(cluster.hub.releaseHeld(), 1u);  // 1 arrives late
  EXPECT_EQ(onB->seqs(), range(1, 2));
  const auto b = cluster.b().stats();
  EXPECT_EQ(b.relayGapsRefilled, 1u);
  EXPECT_EQ(b.relayDuplicates, 1u);
  EXPECT_EQ(b.relayReceived, 2u);
}

TEST(Relay, ALongPollOnBWakesForAnEventPublishedOnA) {
  Cluster cluster;
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 1)));
  std::vector<Published> got;
  std::thread poller([&] { got = *cluster.b().poll("exec_1", 1, 10, 60s); });
  ASSERT_TRUE(test::eventually([&] { return cluster.b().stats().pollers == 1; }));  // it is waiting
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 2)));
  const auto started = std::chrono::steady_clock::now();
  poller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);  // woken, not timed out
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 2u);
}

TEST(Relay, WhileTheRelayIsDownStreamsContinueFromTheLog) {
  Cluster cluster(5ms);  // a short refresh interval: the only way events reach B now
  auto onB = std::make_shared<Recorder>();
  auto sub = cluster.b().subscribe("exec_1", 0, onB);
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 1)));
  cluster.hub.setUp(false);
  for (std::uint64_t s = 2; s <= 30; ++s) ASSERT_TRUE(cluster.a().publish(event("exec_1", s)));  // still succeeds
  ASSERT_TRUE(onB->waitFor(30));
  EXPECT_EQ(onB->seqs(), range(1, 30));
  EXPECT_EQ(cluster.a().stats().relayErrors, 29u);
  EXPECT_FALSE(cluster.b().stats().relayConnected);

  // A long poll on B is woken by the refresh too.
  std::vector<Published> got;
  std::thread poller([&] { got = *cluster.b().poll("exec_1", 30, 10, 60s); });
  ASSERT_TRUE(test::eventually([&] { return cluster.b().stats().pollers == 1; }));
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 31)));
  poller.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 31u);
  ASSERT_TRUE(onB->waitFor(31));
  EXPECT_EQ(onB->seqs(), range(1, 31));
}

TEST(Relay, WhenTheRelayComesBackEveryFollowedChannelIsRefilledAtOnce) {
  Cluster cluster;  // no refresh ticks: only the reconnection can bring what was missed
  auto x = std::make_shared<Recorder>(), y = std::make_shared<Recorder>();
  auto sx = cluster.b().subscribe("exec_x", 0, x);
  auto sy = cluster.b().subscribe("exec_y", 0, y);
  cluster.hub.setUp(false);
  for (std::uint64_t s = 1; s <= 5; ++s) {
    ASSERT_TRUE(cluster.a().publish(event("exec_x", s)));
    ASSERT_TRUE(cluster.a().publish(event("exec_y", s)));
  }
  EXPECT_TRUE(x->seqs().empty());
  cluster.hub.setUp(true);  // onRelayConnected runs before this returns
  EXPECT_EQ(x->seqs(), range(1, 5));
  EXPECT_EQ(y->seqs(), range(1, 5));
  for (std::uint64_t s = 6; s <= 10; ++s) ASSERT_TRUE(cluster.a().publish(event("exec_x", s)));
  EXPECT_EQ(x->seqs(), range(1, 10));
  EXPECT_EQ(cluster.b().stats().relayDuplicates, 0u);
}

TEST(Relay, ALostLastMessageIsFoundByTheBackstopWhileTheRelayIsUp) {
  Cluster cluster(BusOptions{5ms, 20ms}, 2);
  auto onB = std::make_shared<Recorder>();
  auto sub = cluster.b().subscribe("exec_1", 0, onB);
  cluster.hub.dropNext();
  ASSERT_TRUE(cluster.a().publish(event("exec_1", 1, "executionSummary")));  // nothing follows it
  ASSERT_TRUE(onB->waitFor(1));
  EXPECT_EQ(onB->seqs(), range(1, 1));
  EXPECT_TRUE(cluster.b().stats().relayConnected);
}

TEST(Relay, ThreeInstancesEachFollowingTheOthers) {
  Cluster cluster(1h, 3);
  std::vector<std::shared_ptr<Recorder>> recorders;
  std::vector<std::unique_ptr<EventBus::Subscription>> subscriptions;
  for (auto& bus : cluster.buses) {
    for (const char* exec : {"exec_0", "exec_1", "exec_2"}) {
      recorders.push_back(std::make_shared<Recorder>());
      subscriptions.push_back(std::move(*bus->subscribe(exec, 0, recorders.back())));
    }
  }
  // Instance i runs exec_i; all three at once.
  std::vector<std::thread> runners;
  for (int i = 0; i < 3; ++i) {
    runners.emplace_back([&, i] {
      for (std::uint64_t s = 1; s <= 500; ++s) {
        ASSERT_TRUE(cluster.buses[static_cast<std::size_t>(i)]->publish(event("exec_" + std::to_string(i), s)));
      }
    });
  }
  for (auto& t : runners) t.join();
  for (const auto& r : recorders) EXPECT_EQ(r->seqs(), range(1, 500));
}

TEST(Relay, WithoutARelayTheBusIsInProcess) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  ASSERT_TRUE(bus.publish(event("exec_1", 1)));
  const auto s = bus.stats();
  EXPECT_EQ(s.relayPublished + s.relayReceived + s.relayErrors, 0u);
  EXPECT_FALSE(s.relayConnected);
  bus.refresh();  // a no-op
}

}  // namespace
}  // namespace ymy::bus
