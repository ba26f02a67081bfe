#include "bus/event_bus.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "model/json_io.hpp"

namespace ymy::bus {
namespace {

Event event(const std::string& exec, std::uint64_t seq, std::string type = "taskProgress") {
  Event e;
  e.type = std::move(type);
  e.executionId = exec;
  e.seq = seq;
  e.fields["n"] = seq;
  return e;
}

class Collector final : public Subscriber {
 public:
  explicit Collector(std::size_t capacity = SIZE_MAX) : capacity_(capacity) {}
  bool deliver(const Published& p) override {
    std::lock_guard lock(mutex);
    if (seqs.size() >= capacity_) return false;
    seqs.push_back(p.seq);
    messages.push_back(p.json);
    return true;
  }
  std::mutex mutex;
  std::vector<std::uint64_t> seqs;
  std::vector<std::shared_ptr<const std::string>> messages;

 private:
  std::size_t capacity_;
};

TEST(EventBus, LogsThenDeliversOneSharedMessage) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  auto a = std::make_shared<Collector>(), b = std::make_shared<Collector>();
  auto sa = bus.subscribe("exec_1", 0, a);
  auto sb = bus.subscribe("exec_1", 0, b);
  ASSERT_TRUE(sa && sb);
  ASSERT_TRUE(bus.publish(event("exec_1", 1)));
  ASSERT_EQ(a->seqs, std::vector<std::uint64_t>{1});
  EXPECT_EQ(a->messages[0].get(), b->messages[0].get());  // serialised once
  EXPECT_EQ(*store->lastSeq("exec_1"), 1u);
  auto parsed = json::parse(*a->messages[0], "wire");
  EXPECT_EQ(parsed->at("type").as_string(), "taskProgress");
  EXPECT_EQ(parsed->at("n").as_int64(), 1);
  EXPECT_EQ(bus.stats().delivered, 2u);
  EXPECT_EQ(bus.stats().subscribers, 2u);
  sa->reset();
  EXPECT_EQ(bus.stats().subscribers, 1u);
}

TEST(EventBus, ARefusedEventIsNeitherLoggedNorDelivered) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  auto a = std::make_shared<Collector>();
  auto s = bus.subscribe("exec_1", 0, a);
  EXPECT_FALSE(bus.publish(event("exec_1", 2)));
  EXPECT_TRUE(a->seqs.empty());
  EXPECT_EQ(*store->lastSeq("exec_1"), 0u);
}

TEST(EventBus, SubscribersJoiningMidRunSeeEveryEventOnceInOrder) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  constexpr std::uint64_t kEvents = 3000;
  std::atomic<std::uint64_t> published{0};
  std::thread publisher([&] {
    for (std::uint64_t s = 1; s <= kEvents; ++s) {
      ASSERT_TRUE(bus.publish(event("exec_1", s)));
      published = s;
    }
  });
  std::mt19937 rng(7);
  std::vector<std::pair<std::uint64_t, std::shared_ptr<Collector>>> clients;
  std::vector<std::unique_ptr<EventBus::Subscription>> subscriptions;
  for (int i = 0; i < 40; ++i) {
    std::uint64_t seen = published.load();
    std::uint64_t after = seen ? rng() % (seen + 1) : 0;  // resume from anywhere already logged
    auto c = std::make_shared<Collector>();
    auto s = bus.subscribe("exec_1", after, c);
    ASSERT_TRUE(s) << s.error().message;
    subscriptions.push_back(std::move(*s));
    clients.emplace_back(after, c);
  }
  publisher.join();
  for (const auto& [after, c] : clients) {
    ASSERT_EQ(c->seqs.size(), kEvents - after) << "after " << after;
    for (std::size_t i = 0; i < c->seqs.size(); ++i) ASSERT_EQ(c->seqs[i], after + 1 + i);
  }
}

TEST(EventBus, ASubscriberThatCannotKeepUpIsDropped) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  auto slow = std::make_shared<Collector>(3), fast = std::make_shared<Collector>();
  auto s1 = bus.subscribe("exec_1", 0, slow);
  auto s2 = bus.subscribe("exec_1", 0, fast);
  for (std::uint64_t s = 1; s <= 10; ++s) ASSERT_TRUE(bus.publish(event("exec_1", s)));
  EXPECT_EQ(slow->seqs.size(), 3u);
  EXPECT_EQ(fast->seqs.size(), 10u);
  EXPECT_EQ(bus.stats().dropped, 1u);
  EXPECT_EQ(bus.stats().subscribers, 1u);
}

TEST(EventBus, PollReturnsLoggedEventsOrWaitsForTheNext) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  for (std::uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(bus.publish(event("exec_1", s)));
  auto ready = bus.poll("exec_1", 2, 10, std::chrono::milliseconds(0));
  ASSERT_EQ(ready->size(), 3u);
  EXPECT_EQ((*ready)[0].seq, 3u);
  auto limited = bus.poll("exec_1", 0, 2, std::chrono::milliseconds(0));
  EXPECT_EQ(limited->size(), 2u);

  std::vector<Published> got;
  std::thread poller([&] { got = *bus.poll("exec_1", 5, 10, std::chrono::seconds(30)); });
  ASSERT_TRUE(bus.publish(event("exec_1", 6)));
  poller.join();  // woken by the publish, not by the 30 s
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 6u);

  auto none = bus.poll("exec_1", 6, 10, std::chrono::milliseconds(5));
  EXPECT_TRUE(none->empty());
}

TEST(EventBus, ClosingWakesPollers) {
  auto store = store::makeMemoryStore();
  EventBus bus(*store);
  std::thread poller([&] { EXPECT_TRUE(bus.poll("exec_1", 0, 10, std::chrono::hours(1))->empty()); });
  bus.close();
  poller.join();
}

}  // namespace
}  // namespace ymy::bus
