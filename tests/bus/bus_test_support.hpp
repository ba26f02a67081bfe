#pragma once
// Shared by the bus and relay tests: events, a subscriber that records what
// it gets, and waiting on a condition (never sleeping for ordering).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/event_bus.hpp"

namespace ymy::bus::test {

inline Event event(const std::string& exec, std::uint64_t seq, std::string type = "taskProgress") {
  Event e;
  e.type = std::move(type);
  e.executionId = exec;
  e.seq = seq;
  e.fields["n"] = seq;
  return e;
}

// Records seqs; wait() blocks until it has `n` of them (or the timeout).
class Recorder final : public Subscriber {
 public:
  bool deliver(const Published& p) override {
    {
      std::lock_guard lock(mutex_);
      seqs_.push_back(p.seq);
    }
    changed_.notify_all();
    return true;
  }
  bool waitFor(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return seqs_.size() >= n; });
  }
  std::vector<std::uint64_t> seqs() const {
    std::lock_guard lock(mutex_);
    return seqs_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::uint64_t> seqs_;
};

inline std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> v;
  for (auto s = from; s <= to; ++s) v.push_back(s);
  return v;
}

// Polls `condition` every millisecond up to `timeout`: for state with no
// notification (a relay's connection); ordering never depends on it.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace ymy::bus::test
