#pragma once
// Time, injected. Production code uses SystemClock; tests use ManualClock and
// move time themselves, so scheduling tests are exact and never sleep.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <mutex>
#include <vector>

#include "model/cancellation.hpp"

namespace ymy {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  // Monotonic time for measuring durations.
  virtual TimePoint now() const = 0;
  // Milliseconds since the Unix epoch, for event timestamps.
  virtual std::int64_t epochMillis() const = 0;
  // Blocks until `d` has passed on this clock; returns false early when the
  // token is cancelled.
  virtual bool sleepFor(Duration d, const CancellationToken& token) = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
  std::int64_t epochMillis() const override;
  bool sleepFor(Duration d, const CancellationToken& token) override;
};

// Time moves only when advance() is called. Sleepers wake when their deadline
// has passed or their token is cancelled.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t epochMillisAtZero = 1'700'000'000'000) : epochAtZero_(epochMillisAtZero) {}

  TimePoint now() const override { return TimePoint(Duration(nanos_.load())); }
  std::int64_t epochMillis() const override { return epochAtZero_ + nanos_.load() / 1'000'000; }
  bool sleepFor(Duration d, const CancellationToken& token) override;

  // Moves time forward and returns once every sleeper it woke has left sleepFor.
  void advance(Duration d);
  std::size_t sleepers() const;
  // The earliest deadline among current sleepers, if any.
  std::optional<TimePoint> nextDeadline() const;
  // Blocks until `condition` holds, re-checking whenever a thread starts or
  // stops sleeping and whenever notify() is called: lets a test act while
  // tasks "run" without guessing with real sleeps. `condition` runs without
  // the clock's lock held.
  void waitUntil(const std::function<bool()>& condition) const;
  void notify() const;

 private:
  const std::int64_t epochAtZero_;
  std::atomic<std::int64_t> nanos_{0};
  mutable std::mutex mutex_;
  mutable std::condition_variable sleepersChanged_;
  mutable std::uint64_t changes_ = 0;  // guarded by mutex_; bumped on every sleeper change and notify()
  struct Sleeper {
    std::shared_ptr<detail::CancellationState> state;
    std::int64_t deadline;
    std::uint64_t id;
  };
  std::vector<Sleeper> sleeping_;  // guarded by mutex_
  std::uint64_t nextSleeperId_ = 0;  // guarded by mutex_
};

}  // namespace ymy
