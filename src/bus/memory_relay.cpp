#include <atomic>
#include <deque>
#include <mutex>
#include <vector>
#include <utility>

#include "bus/relay.hpp"

namespace ymy::bus {

namespace {

struct Member {
  std::mutex sinkMutex;  // held while calling the sink: setSink(nullptr) waits for a call in progress
  RelaySink* sink = nullptr;  // guarded by sinkMutex
};

}  // namespace

struct MemoryRelayHub::State {
  std::mutex mutex;
  std::vector<std::shared_ptr<Member>> members;  // guarded by mutex
  bool up = true;                                // guarded by mutex
  std::size_t drop = 0, hold = 0;                // guarded by mutex
  std::deque<std::pair<std::shared_ptr<Member>, RelayMessage>> held;  // guarded by mutex: (sender, message)
  std::atomic<std::uint64_t> delivered{0};

  std::vector<std::shared_ptr<Member>> others(const std::shared_ptr<Member>& from) {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<Member>> out;
    for (const auto& m : members) {
      if (m != from) out.push_back(m);
    }
    return out;
  }

  // Outside `mutex`: sinks run bus code.
  void deliver(const std::shared_ptr<Member>& from, const RelayMessage& message) {
    for (const auto& m : others(from)) {
      std::lock_guard lock(m->sinkMutex);
      if (m->sink != nullptr) {
        m->sink->onRelayEvent(message);
        delivered.fetch_add(1);
      }
    }
  }
};

namespace {

class MemoryRelay final : public Relay {
 public:
  explicit MemoryRelay(std::shared_ptr<MemoryRelayHub::State> state)
      : state_(std::move(state)), self_(std::make_shared<Member>()) {
    std::lock_guard lock(state_->mutex);
    state_->members.push_back(self_);
  }
  ~MemoryRelay() override {
    {
      std::lock_guard lock(state_->mutex);
      std::erase(state_->members, self_);
    }
    setSink(nullptr);
  }

  Result<void> publish(const RelayMessage& message) override {
    {
      std::lock_guard lock(state_->mutex);
      if (!state_->up) return fail(ErrorCode::kIo, "memory relay is down");
      if (state_->drop > 0) {
        --state_->drop;
        return {};
      }
      if (state_->hold > 0) {
        --state_->hold;
        state_->held.emplace_back(self_, message);
        return {};
      }
    }
    state_->deliver(self_, message);
    return {};
  }

  void setSink(RelaySink* sink) override {
    std::lock_guard lock(self_->sinkMutex);
    self_->sink = sink;
  }

  bool connected() const override {
    std::lock_guard lock(state_->mutex);
    return state_->up;
  }

 private:
  std::shared_ptr<MemoryRelayHub::State> state_;
  std::shared_ptr<Member> self_;
};

}  // namespace

MemoryRelayHub::MemoryRelayHub() : state_(std::make_shared<State>()) {}
MemoryRelayHub::~MemoryRelayHub() = default;

std::unique_ptr<Relay> MemoryRelayHub::join() { return std::make_unique<MemoryRelay>(state_); }

void MemoryRelayHub::dropNext(std::size_t n) {
  std::lock_guard lock(state_->mutex);
  state_->drop += n;
}

void MemoryRelayHub::holdNext(std::size_t n) {
  std::lock_guard lock(state_->mutex);
  state_->hold += n;
}

std::size_t MemoryRelayHub::releaseHeld() {
  std::deque<std::pair<std::shared_ptr<Member>, RelayMessage>> held;
  {
    std::lock_guard lock(state_->mutex);
    held.swap(state_->held);
  }
  for (const auto& [from, message] : held) state_->deliver(from, message);
  return held.size();
}

void MemoryRelayHub::setUp(bool up) {
  std::vector<std::shared_ptr<Member>> members;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->up == up) return;
    state_->up = up;
    members = state_->members;
  }
  for (const auto& m : members) {
    std::lock_guard lock(m->sinkMutex);
    if (m->sink == nullptr) continue;
    if (up) {
      m->sink->onRelayConnected();
    } else {
      m->sink->onRelayLost("memory relay taken down");
    }
  }
}

std::uint64_t MemoryRelayHub::delivered() const { return state_->delivered.load(); }

namespace {
class LogOnlyRelay final : public Relay {
 public:
  Result<void> publish(const RelayMessage&) override { return {}; }
  void setSink(RelaySink*) override {}
  bool connected() const override { return false; }
};
}  // namespace

std::unique_ptr<Relay> makeLogOnlyRelay() { return std::make_unique<LogOnlyRelay>(); }

}  // namespace ymy::bus
