// redis::Subscriber against a real redis-server: messages, reconnection after
// a restart, prompt shutdown.
#include "redis/subscriber.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/redis_server.hpp"

namespace ymy::redis {
namespace {

using namespace std::chrono_literals;

// What the callbacks saw; wait() blocks on a condition over it.
struct Seen {
  std::mutex mutex;
  std::condition_variable changed;
  int connected = 0, lost = 0;
  std::vector<std::string> messages;  // "channel=payload"

  SubscriberCallbacks callbacks() {
    SubscriberCallbacks c;
    c.onConnected = [this] { update([&] { ++connected; }); };
    c.onLost = [this](std::string_view) { update([&] { ++lost; }); };
    c.onMessage = [this](std::string_view channel, std::string_view payload) {
      update([&] { messages.push_back(std::string(channel) + "=" + std::string(payload)); });
    };
    return c;
  }
  template <class F>
  void update(F f) {
    {
      std::lock_guard lock(mutex);
      f();
    }
    changed.notify_all();
  }
  template <class P>
  bool wait(P predicate) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 20s, predicate);
  }
};

class SubscriberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ymy::test::findOnPath("redis-server").empty()) GTEST_SKIP() << "redis-server is not installed";
    const std::string problem = server_.start();
    ASSERT_TRUE(problem.empty()) << problem;
  }
  SubscriberOptions options() {
    SubscriberOptions o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = server_.port();
    o.pattern = "t:*";
    o.minReconnectInterval = 10ms;
    o.maxReconnectInterval = 100ms;
    return o;
  }
  ymy::test::RedisServer server_;
};

TEST_F(SubscriberTest, DeliversMessagesMatchingItsPatternInOrder) {
  Seen seen;
  auto sub = Subscriber::start(options(), seen.callbacks());
  ASSERT_TRUE(sub) << sub.error().message;
  ASSERT_TRUE(seen.wait([&] { return seen.connected == 1; }));
  EXPECT_TRUE((*sub)->connected());
  ymy::test::RawClient raw(server_.port());
  EXPECT_EQ(raw.command({"PUBLISH", "t:a", "one"}), "1");
  EXPECT_EQ(raw.command({"PUBLISH", "other", "ignored"}), "0");
  EXPECT_EQ(raw.command({"PUBLISH", "t:b", std::string("two\nlines\0bin", 13)}), "1");
  ASSERT_TRUE(seen.wait([&] { return seen.messages.size() == 2; }));
  EXPECT_EQ(seen.messages[0], "t:a=one");
  EXPECT_EQ(seen.messages[1], std::string("t:b=two\nlines\0bin", 17));
  EXPECT_EQ((*sub)->stats().messages, 2u);
}

TEST_F(SubscriberTest, ReportsTheLossAndSubscribesAgainWhenRedisIsBack) {
  Seen seen;
  auto sub = Subscriber::start(options(), seen.callbacks());
  ASSERT_TRUE(sub);
  ASSERT_TRUE(seen.wait([&] { return seen.connected == 1; }));
  server_.signal(SIGKILL);
  ASSERT_TRUE(seen.wait([&] { return seen.lost == 1; }));
  EXPECT_FALSE((*sub)->connected());
  ASSERT_EQ(server_.start(), "");
  ASSERT_TRUE(seen.wait([&] { return seen.connected == 2; }));
  ymy::test::RawClient raw(server_.port());
  EXPECT_EQ(raw.command({"PUBLISH", "t:x", "after"}), "1");
  ASSERT_TRUE(seen.wait([&] { return seen.messages.size() == 1; }));
  EXPECT_EQ(seen.messages[0], "t:x=after");
  const auto s = (*sub)->stats();
  EXPECT_EQ(s.connects, 2u);
  EXPECT_EQ(s.losses, 1u);
}

TEST_F(SubscriberTest, AHungRedisIsDetectedByThePingCheck) {
  Seen seen;
  auto o = options();
  o.pingInterval = 20ms;
  o.pingTimeout = 50ms;
  auto sub = Subscriber::start(o, seen.callbacks());
  ASSERT_TRUE(sub);
  ASSERT_TRUE(seen.wait([&] { return seen.connected == 1; }));
  server_.signal(SIGSTOP);
  ASSERT_TRUE(seen.wait([&] { return seen.lost == 1; }));
  EXPECT_NE((*sub)->stats().lastError.find("PING"), std::string::npos) << (*sub)->stats().lastError;
  server_.signal(SIGCONT);
  ASSERT_TRUE(seen.wait([&] { return seen.connected == 2; }));
}

TEST_F(SubscriberTest, DestructionIsPromptConnectedOrNot) {
  Seen seen;
  auto sub = Subscriber::start(options(), seen.callbacks());
  ASSERT_TRUE(sub);
  ASSERT_TRUE(seen.wait([&] { return seen.connected == 1; }));
  auto started = std::chrono::steady_clock::now();
  sub->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  server_.signal(SIGKILL);
  auto o = options();
  o.minReconnectInterval = 10s;  // it will be waiting out a long backoff
  o.maxReconnectInterval = 10s;
  auto down = Subscriber::start(o, seen.callbacks());
  ASSERT_TRUE(down);
  // Its first attempt has failed: it is now in the 10 s backoff.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((*down)->stats().connectFailures == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ((*down)->stats().connectFailures, 1u);
  started = std::chrono::steady_clock::now();
  down->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST(SubscriberOptionsTest, BadOptionsAreRefused) {
  SubscriberOptions o;
  o.endpoint.host = "127.0.0.1";
  auto r = Subscriber::start(o, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pattern"), std::string::npos);
  o.pattern = "x:*";
  o.maxReconnectInterval = 1ms;
  r = Subscriber::start(o, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("maxReconnectInterval"), std::string::npos);
}

}  // namespace
}  // namespace ymy::redis
