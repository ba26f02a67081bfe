#include "redis/pool.hpp"

#include <utility>

namespace ymy::redis {

namespace {
std::int64_t nanosOf(Clock::TimePoint t) { return t.time_since_epoch().count(); }
}  // namespace

Pool::Pool(PoolOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      backoff_(options_.minReconnectInterval, options_.maxReconnectInterval) {
  retryAtNanos_ = nanosOf(clock_.now());  // the first attempt is due at once
}

Pool::~Pool() = default;

Result<std::unique_ptr<Connection>> Pool::open(std::uint64_t generation) {
  const auto deadline = std::chrono::steady_clock::now() + options_.connectTimeout;
  auto c = Connection::open(options_.endpoint, deadline, options_.maxReplyBytes, generation);
  if (!c) return fail(ErrorCode::kIo, "connect to " + options_.endpoint.describe() + ": " + c.error().message);
  if (options_.onOpen) {
    if (auto ok = options_.onOpen(**c, deadline); !ok) {
      return fail(ErrorCode::kIo, "connect to " + options_.endpoint.describe() + ": " + ok.error().message);
    }
  }
  return c;
}

bool Pool::reconnectDue() const {
  return !up() && !reconnecting_.load() && nanosOf(clock_.now()) >= retryAtNanos_.load();
}

bool Pool::reconnect() {
  if (up()) return true;
  if (nanosOf(clock_.now()) < retryAtNanos_.load()) return false;
  bool expected = false;
  if (!reconnecting_.compare_exchange_strong(expected, true)) return false;  // another caller is at it
  std::uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    generation = generation_ + 1;
  }
  std::vector<std::unique_ptr<Connection>> opened;
  const std::size_t count = options_.prefill ? options_.size : 1;
  for (std::size_t i = 0; i < count; ++i) {
    auto c = open(generation);
    if (!c) {
      connectFailures_.fetch_add(1, std::memory_order_relaxed);
      recordError(c.error().message);
      {
        std::lock_guard lock(mutex_);
        retryAtNanos_ = nanosOf(clock_.now() + backoff_.next());
      }
      reconnecting_.store(false);
      return false;
    }
    opened.push_back(std::move(*c));
  }
  std::vector<std::unique_ptr<Connection>> retired;  // closed after the lock
  {
    std::lock_guard lock(mutex_);
    generation_ = generation;
    retired.swap(idle_);
    open_ = opened.size();
    idle_ = std::move(opened);
    backoff_.reset();
    up_.store(true, std::memory_order_release);
  }
  connects_.fetch_add(1, std::memory_order_relaxed);
  reconnecting_.store(false);
  changed_.notify_all();
  return true;
}

std::unique_ptr<Connection> Pool::acquire(SteadyTime deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!up()) return nullptr;
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (!options_.prefill && open_ < options_.size) {
      ++open_;
      const std::uint64_t generation = generation_;
      lock.unlock();
      auto opened = open(generation);
      if (!opened) {
        connectFailures_.fetch_add(1, std::memory_order_relaxed);
        markDown(generation, opened.error().message);
        return nullptr;
      }
      connects_.fetch_add(1, std::memory_order_relaxed);
      return std::move(*opened);
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return nullptr;
  }
}

void Pool::release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(mutex_);
    if (up() && connection->generation() == generation_) idle_.push_back(std::move(connection));
  }
  connection.reset();  // a retired one closes here, outside the lock
  changed_.notify_one();
}

void Pool::markDown(std::uint64_t generation, const std::string& why) {
  recordError(why);
  std::vector<std::unique_ptr<Connection>> retired;  // closed after the lock
  {
    std::lock_guard lock(mutex_);
    if (generation != generation_ || !up()) return;  // someone else already did
    ++generation_;
    open_ = 0;
    up_.store(false, std::memory_order_release);
    retired.swap(idle_);
    retryAtNanos_ = nanosOf(clock_.now() + backoff_.next());
  }
  changed_.notify_all();  // waiters for a connection give up at once
}

Result<std::unique_ptr<Connection>> Pool::openDedicated() {
  const std::uint64_t generation = this->generation();
  auto c = open(generation);
  if (!c) {
    connectFailures_.fetch_add(1, std::memory_order_relaxed);
    markDown(generation, c.error().message);
  }
  return c;
}

std::uint64_t Pool::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void Pool::recordError(const std::string& why) {
  std::lock_guard lock(lastErrorMutex_);
  lastError_ = why;
}

std::string Pool::lastError() const {
  std::lock_guard lock(lastErrorMutex_);
  return lastError_;
}

PoolStats Pool::stats() const {
  PoolStats s;
  s.connects = connects_.load(std::memory_order_relaxed);
  s.connectFailures = connectFailures_.load(std::memory_order_relaxed);
  s.connected = up();
  s.lastError = lastError();
  return s;
}

}  // namespace ymy::redis
