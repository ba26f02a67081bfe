#include "server/execution_writer.hpp"

#include <spdlog/spdlog.h>

namespace ymy::server {

namespace {
bool isFenced(const Error& e) { return e.code == ErrorCode::kConflict && e.message.rfind("fenced:", 0) == 0; }
}  // namespace

Result<void> ExecutionWriter::apply(const Item& item) {
  const store::Fence* fence = fence_ ? &*fence_ : nullptr;
  if (item.event) return bus_.publish(*item.event, fence);
  return item.write(store_, fence);
}

// Applies queued writes in order until one must wait (kIo) or the writer is fenced.
void ExecutionWriter::drainLocked() {
  while (!queue_.empty() && !fenced_) {
    const Item& front = queue_.front();
    auto ok = apply(front);
    if (!ok && ok.error().code == ErrorCode::kIo) return;  // the store is away: keep it and what follows
    if (!ok && isFenced(ok.error())) {
      spdlog::warn("execution writes stop here: {}", ok.error().message);
      fenced_ = true;
      queue_.clear();
      return;
    }
    if (!ok) {
      // Not the store's availability: retrying would not help (a seq the log
      // already has, a row it refuses). Logged and dropped, as before writers.
      ++failed_;
      spdlog::error("a write of {} was refused: {}",
                    front.event ? front.event->type + " #" + std::to_string(front.event->seq) : front.what,
                    ok.error().message);
    }
    queue_.pop_front();
  }
}

void ExecutionWriter::publish(const Event& event) {
  std::lock_guard lock(mutex_);
  if (fenced_) return;
  queue_.push_back(Item{event, {}, {}});
  drainLocked();
}

void ExecutionWriter::write(std::string what, Write write) {
  std::lock_guard lock(mutex_);
  if (fenced_) return;
  queue_.push_back(Item{std::nullopt, std::move(what), std::move(write)});
  drainLocked();
}

bool ExecutionWriter::flush() {
  std::lock_guard lock(mutex_);
  drainLocked();
  return queue_.empty();
}

void ExecutionWriter::fenceWith(store::Fence fence) {
  std::lock_guard lock(mutex_);
  fence_ = std::move(fence);
}

std::optional<store::Fence> ExecutionWriter::fence() const {
  std::lock_guard lock(mutex_);
  return fence_;
}

bool ExecutionWriter::fenced() const {
  std::lock_guard lock(mutex_);
  return fenced_;
}

std::size_t ExecutionWriter::pending() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t ExecutionWriter::failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

}  // namespace ymy::server
