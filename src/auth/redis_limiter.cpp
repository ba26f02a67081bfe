#include "auth/redis_limiter.hpp"

#include <algorithm>
#include <string_view>

namespace ymy::auth {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// KEYS[1]: the key. ARGV[1]: emission interval (µs), ARGV[2]: burst.
// Returns {allowed, remaining, retryAfter µs, resetAfter µs}. The TAT is
// written with %d: Redis turns a Lua number argument into text with 14
// significant digits, which would round a microsecond timestamp.
constexpr const char* kScript = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
local base = math.max(tat, now)
local newTat = base + interval
local tolerance = interval * burst
if newTat - now > tolerance then
  return {0, 0, newTat - now - tolerance, base - now}
end
redis.call('SET', KEYS[1], string.format('%d', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, math.floor((tolerance - (newTat - now)) / interval), 0, newTat - now}
)lua";

using redis::Connection;
using redis::ReplyType;
using redis::SteadyTime;

redis::PoolOptions poolOptions(const RedisLimiterOptions& o) {
  redis::PoolOptions p;
  p.endpoint.host = o.host;
  p.endpoint.port = o.port;
  p.endpoint.username = o.username;
  p.endpoint.password = o.password;
  p.endpoint.db = o.db;
  p.size = o.poolSize;
  p.prefill = false;  // one connection on reconnect, more on demand
  p.connectTimeout = o.connectTimeout;
  p.minReconnectInterval = o.minReconnectInterval;
  p.maxReconnectInterval = o.maxReconnectInterval;
  p.maxReplyBytes = 64 * 1024;  // four integers, or an error line
  return p;
}

}  // namespace

const char* RedisLimiter::script() { return kScript; }

Result<std::unique_ptr<RedisLimiter>> RedisLimiter::create(RedisLimiterOptions options, const Clock& clock) {
  if (options.host.empty()) return fail(ErrorCode::kInvalidArgument, "redis limiter: host is empty");
  if (options.port == 0) return fail(ErrorCode::kInvalidArgument, "redis limiter: port must not be 0");
  if (options.poolSize == 0) return fail(ErrorCode::kInvalidArgument, "redis limiter: poolSize must be at least 1");
  if (options.instanceCount < 1) {
    return fail(ErrorCode::kInvalidArgument, "redis limiter: instanceCount must be at least 1");
  }
  if (options.commandTimeout <= std::chrono::microseconds::zero() ||
      options.connectTimeout <= std::chrono::milliseconds::zero()) {
    return fail(ErrorCode::kInvalidArgument, "redis limiter: commandTimeout and connectTimeout must be positive");
  }
  if (options.minReconnectInterval <= std::chrono::milliseconds::zero() ||
      options.maxReconnectInterval < options.minReconnectInterval) {
    return fail(ErrorCode::kInvalidArgument,
                "redis limiter: minReconnectInterval must be positive and at most maxReconnectInterval");
  }
  return std::unique_ptr<RedisLimiter>(new RedisLimiter(std::move(options), clock));
}

RedisLimiter::RedisLimiter(RedisLimiterOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), fallback_(clock, options_.fallback), pool_([this] {
        auto p = poolOptions(options_);
        // Loads the script on each new connection; EVALSHA uses the hash Redis answers.
        p.onOpen = [this](Connection& c, SteadyTime deadline) -> Result<void> {
          auto loaded = c.command({"SCRIPT", "LOAD", kScript}, deadline);
          if (loaded.status != Connection::Status::kReply || loaded.reply->type != ReplyType::kString) {
            return fail(ErrorCode::kIo, "SCRIPT LOAD failed: " + (loaded.status == Connection::Status::kReply
                                                                      ? std::string(loaded.reply->str())
                                                                      : loaded.error));
          }
          std::lock_guard lock(shaMutex_);
          sha_ = std::string(loaded.reply->str());
          return {};
        };
        return p;
      }(), clock) {}

RedisLimiter::~RedisLimiter() = default;

std::string RedisLimiter::scriptSha() const {
  std::lock_guard lock(shaMutex_);
  return sha_;
}

Decision RedisLimiter::fallback(std::string_view key, const Limit& limit) {
  ++fallbackDecisions_;
  const auto n = options_.instanceCount;
  const Limit share{limit.rate, limit.period * n, std::max<std::int64_t>(1, limit.burst / n)};
  return fallback_.decide(key, share);
}

Decision RedisLimiter::decide(std::string_view key, const Limit& limit) {
  if (!validateLimit(limit)) return fallback_.decide(key, limit);  // denies; nothing to ask Redis
  if (!pool_.up() && !pool_.reconnect()) {
    ++unavailable_;
    return fallback(key, limit);
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.commandTimeout;
  auto connection = pool_.acquire(deadline);
  if (!connection) {
    ++timeouts_;
    return fallback(key, limit);
  }
  const std::string fullKey = options_.keyPrefix + std::string(key);
  const auto intervalMicros = std::max<std::int64_t>(1, (limit.interval().count() + 999) / 1000);
  const std::string interval = std::to_string(intervalMicros);
  const std::string burst = std::to_string(limit.burst);
  auto outcome = connection->command({"EVALSHA", scriptSha(), "1", fullKey, interval, burst}, deadline);
  if (outcome.status == Connection::Status::kReply && outcome.reply->type == ReplyType::kError &&
      outcome.reply->str().starts_with("NOSCRIPT")) {
    ++noscript_;
    outcome = connection->command({"EVAL", kScript, "1", fullKey, interval, burst}, deadline);
  }
  if (outcome.status == Connection::Status::kTimeout) {
    ++timeouts_;
    pool_.markDown(connection->generation(), "rate limit script: " + outcome.error);
    return fallback(key, limit);
  }
  if (outcome.status != Connection::Status::kReply) {
    ++errors_;
    pool_.markDown(connection->generation(), "rate limit script: " + outcome.error);
    return fallback(key, limit);
  }
  const redis::Reply& r = *outcome.reply;
  const bool wellFormed = r.type == ReplyType::kArray && r.elements.size() == 4 &&
                          std::all_of(r.elements.begin(), r.elements.end(), [](const redis::ReplyPtr& e) {
                            return e != nullptr && e->type == ReplyType::kInteger;
                          });
  if (!wellFormed) {
    // An error reply (OOM, BUSY, a read-only replica) leaves the stream usable.
    ++errors_;
    pool_.recordError("rate limit script answered " +
                (r.type == ReplyType::kError ? std::string(r.str()) : std::string("an unexpected reply")));
    pool_.release(std::move(connection));
    return fallback(key, limit);
  }
  Decision d;
  d.allowed = r.elements[0]->integer == 1;
  d.limit = limit.burst;
  d.remaining = r.elements[1]->integer;
  d.retryAfter = std::chrono::microseconds(r.elements[2]->integer);
  d.resetAfter = std::chrono::microseconds(r.elements[3]->integer);
  pool_.release(std::move(connection));
  ++redisDecisions_;
  return d;
}

RedisLimiterStats RedisLimiter::stats() const {
  RedisLimiterStats s;
  s.redisDecisions = redisDecisions_.load();
  s.fallbackDecisions = fallbackDecisions_.load();
  s.errors = errors_.load();
  s.timeouts = timeouts_.load();
  s.unavailable = unavailable_.load();
  s.noscript = noscript_.load();
  const auto pool = pool_.stats();
  s.connects = pool.connects;
  s.connectFailures = pool.connectFailures;
  s.connected = pool.connected;
  s.lastError = pool.lastError;
  return s;
}

}  // namespace ymy::auth
