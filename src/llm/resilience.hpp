#pragma once
// Retries with exponential backoff and full jitter, honouring Retry-After; a
// circuit breaker; and ResilientProvider, the decorator that puts both around
// any LlmProvider. All waiting goes through the injected Clock with the
// request's cancellation token, so tests on a ManualClock see exact delays.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "llm/provider.hpp"
#include "model/clock.hpp"

namespace ymy::llm {

// Diagnostics (retries, breaker transitions). Messages are already redacted.
using LogSink = std::function<void(std::string_view)>;

// A Retry-After value: delta-seconds ("7") or an HTTP date ("Wed, 21 Oct 2015
// 07:28:00 GMT", also the obsolete RFC 850 and asctime forms), relative to
// `nowEpochMillis`. A date in the past is zero; anything else unparsable is nullopt.
std::optional<Clock::Duration> parseRetryAfter(std::string_view value, std::int64_t nowEpochMillis);

struct RetryPolicy {
  int maxAttempts = 4;  // including the first
  std::chrono::milliseconds baseDelay{500};
  std::chrono::milliseconds maxDelay{8'000};
  bool jitter = true;  // full jitter: uniform in [0, the exponential delay]
  // A Retry-After longer than this is not waited for: the provider is
  // reported unavailable at once.
  std::chrono::milliseconds maxRetryAfter{60'000};
};

// The delays of a RetryPolicy. `uniform` returns numbers in [0, 1); by
// default a std::mt19937_64 seeded from `seed` (the same seed gives the same
// delays). Thread-safe.
class Backoff {
 public:
  explicit Backoff(RetryPolicy policy, std::uint64_t seed = std::random_device{}());
  Backoff(RetryPolicy policy, std::function<double()> uniform);

  // The wait after failed attempt `attempt` (1-based): min(maxDelay,
  // baseDelay * 2^(attempt-1)), times a uniform draw when jittering, in whole
  // milliseconds.
  std::chrono::milliseconds delayAfter(int attempt);
  const RetryPolicy& policy() const { return policy_; }

 private:
  const RetryPolicy policy_;
  std::mutex mutex_;
  std::mt19937_64 rng_;              // guarded by mutex_
  std::function<double()> uniform_;  // guarded by mutex_; empty: rng_
};

// closed -> open after `failureThreshold` consecutive failures -> half-open
// once `coolDown` has passed (one probe at a time) -> closed on the probe's
// success, open again (a new cool-down) on its failure. Thread-safe.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Options {
    int failureThreshold = 5;
    std::chrono::milliseconds coolDown{30'000};
  };

  CircuitBreaker(Options options, const Clock& clock, LogSink log = {}, std::string name = "llm");

  // Whether a call may go ahead now. In half-open, true for one caller at a
  // time (the probe); it must then call recordSuccess() or recordFailure().
  bool allow();
  void recordSuccess();
  void recordFailure();
  // Ends a probe without a verdict (a cancelled call).
  void release();

  State state() const;
  int consecutiveFailures() const;
  // When an open circuit lets a probe through; nullopt unless open.
  std::optional<Clock::TimePoint> reopensAt() const;

 private:
  void moveTo(State next, const std::string& why);  // requires mutex_

  const Options options_;
  const Clock& clock_;
  const LogSink log_;
  const std::string name_;
  mutable std::mutex mutex_;
  State state_ = State::kClosed;  // guarded by mutex_
  int failures_ = 0;              // guarded by mutex_
  Clock::TimePoint openedAt_{};   // guarded by mutex_
  bool probeInFlight_ = false;    // guarded by mutex_
};
const char* stateName(CircuitBreaker::State state);

// Retries a wrapped provider's unavailable (kIo: 5xx, timeouts, connection
// errors, cut streams) and rate-limited (429) answers, waiting Retry-After
// when given and the backoff otherwise; never retries a bad request, a
// rejected key, a bad answer or a cancelled call. Returns:
//   - the wrapped provider's result, with ChatResult::attempts set;
//   - kIo "<name> unavailable: ..." when the circuit is open, the attempts are
//     exhausted, a Retry-After is too long, or the next wait would pass the
//     request's deadline (classify() == kUnavailable: fall back to builtin);
//   - the wrapped provider's own error when it is not retryable;
//   - kConflict when cancelled, also while waiting between attempts.
// Streaming: each attempt's deltas reach onDelta with that attempt's number.
class ResilientProvider final : public LlmProvider {
 public:
  struct Options {
    RetryPolicy retry;
    CircuitBreaker::Options breaker;
    std::uint64_t seed = std::random_device{}();
    std::function<double()> uniform;  // overrides seed when set (tests)
    LogSink log;
    std::string secret;  // redacted from every log line and error, belt and braces
  };

  ResilientProvider(std::unique_ptr<LlmProvider> inner, Options options, Clock& clock);

  Result<ChatResult> complete(const ChatRequest& request) override;
  std::string_view name() const override { return inner_->name(); }

  const CircuitBreaker& breaker() const { return breaker_; }
  LlmProvider& inner() { return *inner_; }

 private:
  void log(const std::string& message) const;
  tl::unexpected<Error> unavailable(const std::string& why) const;

  const std::unique_ptr<LlmProvider> inner_;
  const Options options_;
  Clock& clock_;
  Backoff backoff_;
  CircuitBreaker breaker_;
};

}  // namespace ymy::llm
