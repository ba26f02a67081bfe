#pragma once
// A bound on how many callers may be inside a section at once (a counting
// semaphore that can say how many are inside). The password hasher uses one
// so that a burst of logins cannot allocate Argon2's memory for all of them.
//
// acquire() waits up to `timeout` (real time: this is a bound on memory, not
// scheduling, and waiting on an injected clock would need someone to move it)
// and returns a Permit, released when it is destroyed, or nullopt when no
// slot freed up in time. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>

namespace ymy::auth {

class ConcurrencyLimit {
 public:
  class Permit {
   public:
    Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Permit& operator=(Permit&&) = delete;
    Permit(const Permit&) = delete;
    ~Permit();

   private:
    friend class ConcurrencyLimit;
    explicit Permit(ConcurrencyLimit* owner) : owner_(owner) {}
    ConcurrencyLimit* owner_;
  };

  // `slots` must be at least 1.
  explicit ConcurrencyLimit(std::size_t slots) : slots_(slots == 0 ? 1 : slots) {}

  std::optional<Permit> acquire(std::chrono::milliseconds timeout);
  std::size_t inUse() const;
  std::size_t slots() const { return slots_; }

 private:
  void release();

  const std::size_t slots_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t inUse_ = 0;  // guarded by mutex_
};

}  // namespace ymy::auth
