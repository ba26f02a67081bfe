#pragma once
// Every write a running execution makes — its events (through the bus, so
// they are logged before anyone sees them), finished tasks, files, plan
// changes, its final record — goes through one ExecutionWriter, in the order
// made. When the store is unavailable (kIo: PostgreSQL down), the write and
// everything after it wait in the writer, in order, and flush() retries them:
// nothing the run produced is lost, and no event is logged out of order.
//
// With a fence (the execution's lease, see store::Lease), every write carries
// it; once the store says "fenced" (another instance took the execution
// over) the writer drops what it holds, refuses everything after, and
// fenced() turns true: the run must stop here without another write.
//
// Thread-safe; writes are serialised by one lock, held across the store call.

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "bus/event_bus.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

namespace ymy::server {

class ExecutionWriter {
 public:
  using Write = std::function<Result<void>(store::Store&, const store::Fence*)>;

  ExecutionWriter(store::Store& store, bus::EventBus& bus, std::optional<store::Fence> fence = std::nullopt)
      : store_(store), bus_(bus), fence_(std::move(fence)) {}

  // Publishes now, or after what is already waiting.
  void publish(const Event& event);
  // `what` names the write in logs ("task db-001", "files").
  void write(std::string what, Write write);
  // Retries what waits; true when nothing is left (or the writer is fenced).
  bool flush();

  bool fenced() const;
  std::size_t pending() const;
  // Writes refused for good (not kIo, not fenced): counted, then dropped.
  std::size_t failed() const;
  // Fences every write from now on; before the first one (a new run gets
  // its lease once it is certain to start).
  void fenceWith(store::Fence fence);
  std::optional<store::Fence> fence() const;

 private:
  struct Item {
    std::optional<Event> event;  // else `write`
    std::string what;
    Write write;
  };
  Result<void> apply(const Item& item);
  void drainLocked();

  store::Store& store_;
  bus::EventBus& bus_;
  mutable std::mutex mutex_;
  std::optional<store::Fence> fence_;  // guarded by mutex_
  std::deque<Item> queue_;  // guarded by mutex_: writes waiting for the store
  bool fenced_ = false;     // guarded by mutex_
  std::size_t failed_ = 0;  // guarded by mutex_
};

}  // namespace ymy::server
