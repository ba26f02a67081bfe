#pragma once
// Shared by the agents' tests: a sink that records events, and a context for
// calling one agent directly.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "executor/executor.hpp"

namespace ymy::test {

class RecordingSink final : public executor::EventSink {
 public:
  void publish(const Event& e) override {
    {
      std::lock_guard lock(mutex);
      events.push_back(e);
    }
    changed.notify_all();
  }
  // Blocks until `done(events)` holds (true) or `timeout` passes (false).
  bool waitFor(const std::function<bool(const std::vector<Event>&)>& done,
               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return done(events); });
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Event> events;
};

// The task, the run's input and the completed ancestors (none: the agent
// works from its fallbacks); no waiting, progress dropped.
class DirectContext final : public executor::QuietContext {
 public:
  DirectContext(const Task& task, const executor::ExecutionInput& input,
                std::vector<std::pair<const Task*, const executor::TaskResult*>> ancestors = {})
      : task_(task), input_(input), ancestors_(std::move(ancestors)) {}
  const Task& task() const override { return task_; }
  const executor::ExecutionInput& input() const override { return input_; }
  std::vector<std::pair<const Task*, const executor::TaskResult*>> ancestors() const override { return ancestors_; }

 private:
  const Task& task_;
  const executor::ExecutionInput& input_;
  std::vector<std::pair<const Task*, const executor::TaskResult*>> ancestors_;
};

}  // namespace ymy::test
