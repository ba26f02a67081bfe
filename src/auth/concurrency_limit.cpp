#include "auth/concurrency_limit.hpp"

namespace ymy::auth {

ConcurrencyLimit::Permit::~Permit() {
  if (owner_ != nullptr) owner_->release();
}

std::optional<ConcurrencyLimit::Permit> ConcurrencyLimit::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!freed_.wait_for(lock, timeout, [&] { return inUse_ < slots_; })) return std::nullopt;
  ++inUse_;
  return Permit(this);
}

std::size_t ConcurrencyLimit::inUse() const {
  std::lock_guard lock(mutex_);
  return inUse_;
}

void ConcurrencyLimit::release() {
  {
    std::lock_guard lock(mutex_);
    --inUse_;
  }
  freed_.notify_one();
}

}  // namespace ymy::auth
