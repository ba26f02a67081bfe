#include "model/clock.hpp"

#include <algorithm>

namespace ymy {

Clock::TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

std::int64_t SystemClock::epochMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool SystemClock::sleepFor(Duration d, const CancellationToken& token) {
  auto& s = token.state();
  std::unique_lock lock(s.mutex);
  if (d <= Duration::zero()) return !s.cancelled;
  return !s.cv.wait_for(lock, d, [&] { return s.cancelled; });
}

bool ManualClock::sleepFor(Duration d, const CancellationToken& token) {
  const std::int64_t deadline = nanos_.load() + d.count();
  auto shared = token.sharedState();
  auto& s = *shared;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    id = nextSleeperId_++;
    sleeping_.push_back({shared, deadline, id});
    ++changes_;
  }
  sleepersChanged_.notify_all();
  bool completed;
  {
    std::unique_lock lock(s.mutex);
    s.cv.wait(lock, [&] { return s.cancelled || nanos_.load() >= deadline; });
    completed = !s.cancelled;
  }
  {
    std::lock_guard lock(mutex_);
    sleeping_.erase(std::find_if(sleeping_.begin(), sleeping_.end(), [&](const Sleeper& x) { return x.id == id; }));
    ++changes_;
  }
  sleepersChanged_.notify_all();
  return completed;
}

void ManualClock::advance(Duration d) {
  const std::int64_t now = nanos_.fetch_add(d.count()) + d.count();
  std::vector<Sleeper> due;
  {
    std::lock_guard lock(mutex_);
    for (const auto& x : sleeping_) {
      if (x.deadline <= now) due.push_back(x);
    }
  }
  for (const auto& x : due) {
    // Taking the sleeper's mutex orders the time update before its re-check.
    { std::lock_guard lock(x.state->mutex); }
    x.state->cv.notify_all();
  }
  std::unique_lock lock(mutex_);
  sleepersChanged_.wait(lock, [&] {
    return std::none_of(due.begin(), due.end(), [&](const Sleeper& d) {
      return std::any_of(sleeping_.begin(), sleeping_.end(), [&](const Sleeper& x) { return x.id == d.id; });
    });
  });
}

std::optional<Clock::TimePoint> ManualClock::nextDeadline() const {
  std::lock_guard lock(mutex_);
  if (sleeping_.empty()) return std::nullopt;
  std::int64_t earliest = sleeping_.front().deadline;
  for (const auto& x : sleeping_) earliest = std::min(earliest, x.deadline);
  return TimePoint(Duration(earliest));
}

void ManualClock::waitUntil(const std::function<bool()>& condition) const {
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard lock(mutex_);
      seen = changes_;
    }
    if (condition()) return;
    std::unique_lock lock(mutex_);
    sleepersChanged_.wait(lock, [&] { return changes_ != seen; });
  }
}

void ManualClock::notify() const {
  {
    std::lock_guard lock(mutex_);
    ++changes_;
  }
  sleepersChanged_.notify_all();
}

std::size_t ManualClock::sleepers() const {
  std::lock_guard lock(mutex_);
  return sleeping_.size();
}

}  // namespace ymy
