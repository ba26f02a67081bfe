#pragma once
// Cooperative cancellation. A CancellationSource hands out tokens; cancel()
// flips them all and wakes anything waiting on them (Clock::sleepFor).
// Thread-safe; tokens are cheap to copy.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace ymy {

namespace detail {
struct CancellationState {
  std::mutex mutex;
  std::condition_variable cv;
  bool cancelled = false;  // guarded by mutex
  std::string reason;      // guarded by mutex
};
}  // namespace detail

class CancellationToken {
 public:
  CancellationToken() : state_(std::make_shared<detail::CancellationState>()) {}

  bool cancelled() const {
    std::lock_guard lock(state_->mutex);
    return state_->cancelled;
  }
  std::string reason() const {
    std::lock_guard lock(state_->mutex);
    return state_->reason;
  }
  detail::CancellationState& state() const { return *state_; }
  std::shared_ptr<detail::CancellationState> sharedState() const { return state_; }

 private:
  friend class CancellationSource;
  std::shared_ptr<detail::CancellationState> state_;
};

class CancellationSource {
 public:
  CancellationToken token() const { return token_; }
  void cancel(std::string reason) {
    auto& s = token_.state();
    {
      std::lock_guard lock(s.mutex);
      if (s.cancelled) return;
      s.cancelled = true;
      s.reason = std::move(reason);
    }
    s.cv.notify_all();
  }
  bool cancelled() const { return token_.cancelled(); }

 private:
  CancellationToken token_;
};

}  // namespace ymy
