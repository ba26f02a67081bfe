#include "cache/redis_tier.hpp"

#include <algorithm>
#include <utility>

namespace ymy::cache {

using redis::ReplyType;

Result<std::unique_ptr<RedisTier>> RedisTier::create(RedisTierOptions options, const Clock& clock) {
  auto bad = [](const std::string& what) { return fail(ErrorCode::kInvalidArgument, "redis cache: " + what); };
  if (options.endpoint.host.empty()) return bad("endpoint.host is empty");
  if (options.endpoint.port == 0) return bad("endpoint.port is 0");
  if (options.endpoint.db < 0) return bad("endpoint.db is negative");
  if (options.connectTimeout <= std::chrono::milliseconds::zero()) return bad("connectTimeout must be positive");
  if (options.commandTimeout <= std::chrono::microseconds::zero()) return bad("commandTimeout must be positive");
  if (options.putTimeout <= std::chrono::milliseconds::zero()) return bad("putTimeout must be positive");
  if (options.minReconnectInterval <= std::chrono::milliseconds::zero()) {
    return bad("minReconnectInterval must be positive");
  }
  if (options.maxReconnectInterval < options.minReconnectInterval) {
    return bad("maxReconnectInterval is below minReconnectInterval");
  }
  if (options.poolSize == 0) return bad("poolSize must be positive");
  if (options.putQueueEntries == 0) return bad("putQueueEntries must be positive");
  if (options.maxValueBytes == 0) return bad("maxValueBytes must be positive");
  if (options.putQueueBytes < options.maxValueBytes) return bad("putQueueBytes is below maxValueBytes");
  return std::unique_ptr<RedisTier>(new RedisTier(std::move(options), clock));
}

namespace {
redis::PoolOptions poolOptions(const RedisTierOptions& o) {
  redis::PoolOptions p;
  p.endpoint = o.endpoint;
  p.size = o.poolSize;
  p.prefill = true;
  p.connectTimeout = o.connectTimeout;
  p.minReconnectInterval = o.minReconnectInterval;
  p.maxReconnectInterval = o.maxReconnectInterval;
  p.maxReplyBytes = o.maxValueBytes;
  return p;
}
}  // namespace

RedisTier::RedisTier(RedisTierOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), pool_(poolOptions(options_), clock_) {
  reconnectPending_ = true;  // the worker's first job: connect
  worker_ = std::thread([this] { workerLoop(); });
}

RedisTier::~RedisTier() {
  {
    std::lock_guard lock(workMutex_);
    stopping_ = true;
  }
  workReady_.notify_all();
  workDone_.notify_all();
  worker_.join();
}

RedisTier::Value RedisTier::get(std::string_view key) {
  if (!pool_.up()) {
    unavailable_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    maybeRequestReconnect();
    return nullptr;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.commandTimeout;
  std::string fullKey;
  fullKey.reserve(options_.keyPrefix.size() + key.size());
  fullKey.append(options_.keyPrefix).append(key);

  auto connection = pool_.acquire(deadline);
  if (!connection) {
    (pool_.up() ? busy_ : unavailable_).fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto outcome = connection->command({"GET", fullKey}, deadline);
  Value value;
  switch (outcome.status) {
    case Connection::Status::kReply:
      if (outcome.reply->type == ReplyType::kString) {
        value = std::move(outcome.reply->text);
      } else if (outcome.reply->type == ReplyType::kError) {
        // Redis answered (WRONGTYPE, LOADING, NOAUTH, ...): the connection is fine.
        errors_.fetch_add(1, std::memory_order_relaxed);
        pool_.recordError("GET refused: " + std::string(outcome.reply->str()));
      } else if (outcome.reply->type != ReplyType::kNil) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        pool_.markDown(connection->generation(), "GET: unexpected reply type " + std::to_string(static_cast<int>(outcome.reply->type)));
        connection.reset();
      }
      break;
    case Connection::Status::kError:
    case Connection::Status::kInterrupted:  // not asked for: no interrupt fd
      errors_.fetch_add(1, std::memory_order_relaxed);
      pool_.markDown(connection->generation(), "GET: " + outcome.error);
      connection.reset();
      break;
    case Connection::Status::kTimeout:
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      pool_.markDown(connection->generation(),
               "GET timed out after " + std::to_string(options_.commandTimeout.count()) + " us");
      connection.reset();
      break;
  }
  if (connection) pool_.release(std::move(connection));
  (value ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return value;
}

Result<std::size_t> RedisTier::run(const std::function<Result<std::size_t>(Connection&, SteadyTime)>& work,
                                   std::chrono::milliseconds budget, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  auto connection = pool_.acquire(deadline);
  if (!connection) {
    const std::string last = pool_.lastError();
    return fail(ErrorCode::kIo, std::string(what) + ": Redis is unavailable" + (last.empty() ? "" : " (" + last + ")"));
  }
  const auto generation = connection->generation();
  auto result = work(*connection, deadline);
  if (result) {
    pool_.release(std::move(connection));
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
    pool_.markDown(generation, std::string(what) + ": " + result.error().message);
  }
  return result;
}

Result<void> RedisTier::erase(std::string_view key) {
  const std::string fullKey = options_.keyPrefix + std::string(key);
  auto done = run(
      [&](Connection& c, SteadyTime deadline) -> Result<std::size_t> {
        auto reply = c.call({"UNLINK", fullKey}, deadline);
        if (!reply) return tl::unexpected(reply.error());
        return static_cast<std::size_t>((*reply)->integer);
      },
      options_.putTimeout, "erase");
  if (!done) return tl::unexpected(done.error());
  return {};
}

Result<std::size_t> RedisTier::clear() {
  const std::string pattern = options_.keyPrefix + "*";
  return run(
      [&](Connection& c, SteadyTime deadline) -> Result<std::size_t> {
        std::size_t removed = 0;
        std::string cursor = "0";
        do {
          auto reply = c.call({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}, deadline);
          if (!reply) return tl::unexpected(reply.error());
          const redis::Reply& r = **reply;
          if (r.type != ReplyType::kArray || r.elements.size() != 2 || !r.elements[0] || !r.elements[1] ||
              r.elements[1]->type != ReplyType::kArray) {
            return fail(ErrorCode::kIo, "SCAN: unexpected reply");
          }
          cursor = std::string(r.elements[0]->str());
          std::vector<std::string_view> unlink{"UNLINK"};
          for (const auto& k : r.elements[1]->elements) {
            if (k) unlink.push_back(k->str());
          }
          if (unlink.size() > 1) {
            auto n = c.call(unlink, deadline);
            if (!n) return tl::unexpected(n.error());
            removed += static_cast<std::size_t>((*n)->integer);
          }
        } while (cursor != "0");
        return removed;
      },
      std::chrono::milliseconds(5'000), "clear");
}

bool RedisTier::put(std::string_view key, Value value, std::chrono::milliseconds ttl) {
  if (!value || ttl <= std::chrono::milliseconds::zero() || value->size() > options_.maxValueBytes) {
    putsDropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const std::size_t bytes = options_.keyPrefix.size() + key.size() + value->size();
  {
    std::lock_guard lock(workMutex_);
    if (stopping_ || queue_.size() >= options_.putQueueEntries || queueBytes_ + bytes > options_.putQueueBytes) {
      putsDropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::string fullKey;
    fullKey.reserve(options_.keyPrefix.size() + key.size());
    fullKey.append(options_.keyPrefix).append(key);
    queue_.push_back(PendingPut{std::move(fullKey), std::move(value), ttl, bytes});
    queueBytes_ += bytes;
  }
  putsQueued_.fetch_add(1, std::memory_order_relaxed);
  workReady_.notify_one();
  return true;
}

void RedisTier::waitIdle() {
  std::unique_lock lock(workMutex_);
  workDone_.wait(lock, [&] { return stopping_ || (queue_.empty() && !reconnectPending_ && !working_); });
}

RedisTierStats RedisTier::stats() const {
  RedisTierStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.timeouts = timeouts_.load(std::memory_order_relaxed);
  s.unavailable = unavailable_.load(std::memory_order_relaxed);
  s.busy = busy_.load(std::memory_order_relaxed);
  const auto pool = pool_.stats();
  s.connects = pool.connects;
  s.connectFailures = pool.connectFailures;
  s.putsQueued = putsQueued_.load(std::memory_order_relaxed);
  s.putsWritten = putsWritten_.load(std::memory_order_relaxed);
  s.putsDropped = putsDropped_.load(std::memory_order_relaxed);
  s.putsFailed = putsFailed_.load(std::memory_order_relaxed);
  s.connected = pool.connected;
  s.lastError = pool.lastError;
  return s;
}

void RedisTier::maybeRequestReconnect() {
  if (reconnectPending_.load(std::memory_order_relaxed)) return;
  if (!pool_.reconnectDue()) return;
  {
    std::lock_guard lock(workMutex_);
    if (reconnectPending_ || stopping_) return;
    reconnectPending_ = true;
  }
  workReady_.notify_one();
}

void RedisTier::workerLoop() {
  std::unique_lock lock(workMutex_);
  for (;;) {
    workReady_.wait(lock, [&] { return stopping_ || reconnectPending_ || !queue_.empty(); });
    if (stopping_) break;
    working_ = true;
    if (reconnectPending_) {
      lock.unlock();
      reconnect();
      lock.lock();
      reconnectPending_ = false;
    } else {
      PendingPut next = std::move(queue_.front());
      queue_.pop_front();
      queueBytes_ -= next.bytes;
      lock.unlock();
      write(next);
      next.value.reset();  // the last reference may be ours: free it unlocked
      lock.lock();
    }
    working_ = false;
    workDone_.notify_all();
  }
  workerConnection_.reset();
}

void RedisTier::reconnect() {
  if (!pool_.reconnect()) return;  // the pool counted the failure and scheduled the next attempt
  if (workerConnection_ && workerGeneration_ == pool_.generation()) return;
  workerConnection_.reset();
  // The worker's own connection, so puts never take one from get().
  if (auto c = pool_.openDedicated(); c) {
    workerGeneration_ = (*c)->generation();
    workerConnection_ = std::move(*c);
  }
}

void RedisTier::write(const PendingPut& put) {
  const bool current = pool_.up() && workerConnection_ && workerGeneration_ == pool_.generation();
  if (!current) {
    workerConnection_.reset();
    putsFailed_.fetch_add(1, std::memory_order_relaxed);
    maybeRequestReconnect();
    return;
  }
  const std::string ttl = std::to_string(put.ttl.count());
  auto outcome = workerConnection_->command({"SET", put.key, *put.value, "PX", ttl},
                                            std::chrono::steady_clock::now() + options_.putTimeout);
  switch (outcome.status) {
    case Connection::Status::kReply:
      if (outcome.reply->type == ReplyType::kStatus) {
        putsWritten_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      putsFailed_.fetch_add(1, std::memory_order_relaxed);
      errors_.fetch_add(1, std::memory_order_relaxed);
      if (outcome.reply->type == ReplyType::kError) {
        pool_.recordError("SET refused: " + std::string(outcome.reply->str()));
        return;
      }
      pool_.markDown(workerGeneration_, "SET: unexpected reply type " + std::to_string(static_cast<int>(outcome.reply->type)));
      break;
    case Connection::Status::kError:
    case Connection::Status::kInterrupted:  // not asked for: no interrupt fd
      putsFailed_.fetch_add(1, std::memory_order_relaxed);
      errors_.fetch_add(1, std::memory_order_relaxed);
      pool_.markDown(workerGeneration_, "SET: " + outcome.error);
      break;
    case Connection::Status::kTimeout:
      putsFailed_.fetch_add(1, std::memory_order_relaxed);
      timeouts_.fetch_add(1, std::memory_order_relaxed);
      pool_.markDown(workerGeneration_, "SET timed out after " + std::to_string(options_.putTimeout.count()) + " ms");
      break;
  }
  workerConnection_.reset();
}

}  // namespace ymy::cache
