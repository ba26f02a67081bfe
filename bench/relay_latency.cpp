// Cross-instance publish-to-deliver latency through the bus relay: two
// EventBus instances on one shared in-memory Store, A publishing, a
// subscriber on B timing each event from just before A's publish() to B's
// deliver(). Through a real redis-server (the Redis relay: PUBLISH, the
// subscriber thread's PSUBSCRIBE) and, for comparison, the in-memory hub.
//
//   youmeyou_relay_latency [--events N] [--rate EVENTS_PER_S] [--redis URL]
//
// Without --redis it starts its own redis-server (tests/support) on a free
// loopback port with no persistence. --rate 0 (the default) publishes the
// next event once B has the previous one (unloaded latency); a rate paces
// publishes without waiting (latency under that load).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/event_bus.hpp"
#include "bus/relay.hpp"
#include "store/store.hpp"
#include "support/redis_server.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace ymy;

class Timer final : public bus::Subscriber {
 public:
  explicit Timer(std::size_t events) : arrived_(events + 1) {}
  bool deliver(const bus::Published& p) override {
    const auto now = Clock::now();
    if (p.seq < arrived_.size()) arrived_[p.seq] = now;
    {
      std::lock_guard lock(mutex_);
      last_ = p.seq;
    }
    changed_.notify_all();
    return true;
  }
  bool waitFor(std::uint64_t seq) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return last_ >= seq; });
  }
  const std::vector<Clock::time_point>& arrived() const { return arrived_; }

 private:
  std::vector<Clock::time_point> arrived_;  // by seq; written before last_ moves past it
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t last_ = 0;
};

struct Figures {
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

Figures figures(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))]; };
  Figures f;
  f.p50 = at(0.50);
  f.p99 = at(0.99);
  f.p999 = at(0.999);
  f.max = us.back();
  double sum = 0;
  for (double v : us) sum += v;
  f.mean = sum / static_cast<double>(us.size());
  return f;
}

// Returns false when something went wrong (printed).
bool run(const char* name, bus::Relay& relayA, bus::Relay& relayB, store::Store& store, std::size_t events,
         double rate) {
  bus::EventBus a(store, &relayA, {std::chrono::hours(1)});
  bus::EventBus b(store, &relayB, {std::chrono::hours(1)});
  const auto connectBy = Clock::now() + std::chrono::seconds(10);
  while (!(relayA.connected() && relayB.connected())) {
    if (Clock::now() > connectBy) {
      std::fprintf(stderr, "%s: relay did not connect\n", name);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::string exec = std::string("bench_") + name + "_" + std::to_string(rate);
  auto timer = std::make_shared<Timer>(events);
  auto subscription = b.subscribe(exec, 0, timer);
  if (!subscription) {
    std::fprintf(stderr, "%s: %s\n", name, subscription.error().message.c_str());
    return false;
  }
  std::vector<Clock::time_point> sent(events + 1);
  const auto start = Clock::now();
  for (std::uint64_t s = 1; s <= events; ++s) {
    if (rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(s - 1) / rate)));
    }
    Event e;
    e.type = "taskProgress";
    e.executionId = exec;
    e.seq = s;
    e.fields["taskId"] = "task_1";
    e.fields["progress"] = "Designing microservices structure...";
    sent[s] = Clock::now();
    if (auto ok = a.publish(e); !ok) {
      std::fprintf(stderr, "%s: publish %llu: %s\n", name, static_cast<unsigned long long>(s), ok.error().message.c_str());
      return false;
    }
    if (rate <= 0 && !timer->waitFor(s)) {
      std::fprintf(stderr, "%s: event %llu never reached B\n", name, static_cast<unsigned long long>(s));
      return false;
    }
  }
  if (!timer->waitFor(events)) {
    std::fprintf(stderr, "%s: not every event reached B\n", name);
    return false;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> us;
  us.reserve(events);
  for (std::uint64_t s = 1; s <= events; ++s) {
    us.push_back(std::chrono::duration<double, std::micro>(timer->arrived()[s] - sent[s]).count());
  }
  const auto f = figures(std::move(us));
  const auto sa = a.stats(), sb = b.stats();
  std::printf("%-6s rate=%-7s events=%zu  p50=%.1f us  p99=%.1f us  p99.9=%.1f us  max=%.1f us  mean=%.1f us  "
              "(%.0f events/s; relayed %llu, received %llu, gaps refilled %llu, duplicates %llu, errors %llu)\n",
              name, rate > 0 ? std::to_string(static_cast<long>(rate)).c_str() : "seq", events, f.p50, f.p99, f.p999,
              f.max, f.mean, static_cast<double>(events) / seconds,
              static_cast<unsigned long long>(sa.relayPublished), static_cast<unsigned long long>(sb.relayReceived),
              static_cast<unsigned long long>(sb.relayGapsRefilled),
              static_cast<unsigned long long>(sb.relayDuplicates),
              static_cast<unsigned long long>(sa.relayErrors + sb.relayErrors));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events = 20'000;
  double rate = 0;
  std::string url;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--events") {
      events = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (flag == "--rate") {
      rate = std::strtod(argv[i + 1], nullptr);
    } else if (flag == "--redis") {
      url = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: %s [--events N] [--rate EVENTS_PER_S] [--redis URL]\n", argv[0]);
      return 2;
    }
  }
  if (events == 0) events = 1;
  std::unique_ptr<ymy::test::RedisServer> server;
  if (url.empty()) {
    server = std::make_unique<ymy::test::RedisServer>();
    if (auto problem = server->start(); !problem.empty()) {
      std::fprintf(stderr, "redis-server: %s\n", problem.c_str());
      return 1;
    }
    url = "redis://127.0.0.1:" + std::to_string(server->port());
  }
  auto store = store::makeMemoryStore();
  {
    bus::MemoryRelayHub hub;
    auto ra = hub.join(), rb = hub.join();
    if (!run("memory", *ra, *rb, *store, events, rate)) return 1;
  }
  auto ra = bus::makeRedisRelay(url), rb = bus::makeRedisRelay(url);
  if (!ra || !rb) {
    std::fprintf(stderr, "relay: %s\n", (!ra ? ra.error() : rb.error()).message.c_str());
    return 1;
  }
  return run("redis", **ra, **rb, *store, events, rate) ? 0 : 1;
}
