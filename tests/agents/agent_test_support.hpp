#pragma once
// Shared by the agents' tests: a sink that records events, and a context for
// calling one agent directly.

#include <mutex>
#include <utility>
#include <vector>

#include "executor/executor.hpp"

namespace ymy::test {

class RecordingSink final : public executor::EventSink {
 public:
  void publish(const Event& e) override {
    std::lock_guard lock(mutex);
    events.push_back(e);
  }
  std::mutex mutex;
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
