#include "llm/resilience.hpp"

#include <time.h>

#include <algorithm>
#include <cmath>

#include "llm/config.hpp"

namespace ymy::llm {

using std::chrono::milliseconds;

std::optional<Clock::Duration> parseRetryAfter(std::string_view value, std::int64_t nowEpochMillis) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return std::nullopt;  // more than 31 years: nonsense
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  const std::string text(value);
  for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    struct tm tm {};
    const char* end = strptime(text.c_str(), format, &tm);
    if (!end || *end != '\0') continue;
    const std::int64_t at = static_cast<std::int64_t>(timegm(&tm)) * 1000;
    return milliseconds(std::max<std::int64_t>(0, at - nowEpochMillis));
  }
  return std::nullopt;
}

Backoff::Backoff(RetryPolicy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

Backoff::Backoff(RetryPolicy policy, std::function<double()> uniform)
    : policy_(policy), uniform_(std::move(uniform)) {}

milliseconds Backoff::delayAfter(int attempt) {
  const double base = static_cast<double>(policy_.baseDelay.count());
  const double cap = static_cast<double>(policy_.maxDelay.count());
  const double exponential = std::min(cap, base * std::ldexp(1.0, std::clamp(attempt - 1, 0, 60)));
  if (!policy_.jitter) return milliseconds(std::llround(exponential));
  double u;
  {
    std::lock_guard lock(mutex_);
    // 53 random bits: the same value from the same seed on every platform.
    u = uniform_ ? uniform_() : static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  }
  return milliseconds(std::llround(std::clamp(u, 0.0, 1.0) * exponential));
}

const char* stateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed: return "closed";
    case CircuitBreaker::State::kOpen: return "open";
    case CircuitBreaker::State::kHalfOpen: return "half-open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(Options options, const Clock& clock, LogSink log, std::string name)
    : options_(options), clock_(clock), log_(std::move(log)), name_(std::move(name)) {}

bool CircuitBreaker::allow() {
  std::lock_guard lock(mutex_);
  if (state_ == State::kOpen && clock_.now() - openedAt_ >= options_.coolDown)
    moveTo(State::kHalfOpen, "cool-down over, one probe goes through");
  switch (state_) {
    case State::kClosed: return true;
    case State::kOpen: return false;
    case State::kHalfOpen:
      if (probeInFlight_) return false;
      probeInFlight_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::recordSuccess() {
  std::lock_guard lock(mutex_);
  failures_ = 0;
  probeInFlight_ = false;
  if (state_ != State::kClosed) moveTo(State::kClosed, "the probe succeeded");
}

void CircuitBreaker::recordFailure() {
  std::lock_guard lock(mutex_);
  ++failures_;
  if (state_ == State::kHalfOpen) {
    probeInFlight_ = false;
    openedAt_ = clock_.now();
    moveTo(State::kOpen, "the probe failed");
  } else if (state_ == State::kClosed && failures_ >= options_.failureThreshold) {
    openedAt_ = clock_.now();
    moveTo(State::kOpen, std::to_string(failures_) + " consecutive failures");
  }
}

void CircuitBreaker::release() {
  std::lock_guard lock(mutex_);
  probeInFlight_ = false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  if (state_ == State::kOpen && clock_.now() - openedAt_ >= options_.coolDown) return State::kHalfOpen;
  return state_;
}

int CircuitBreaker::consecutiveFailures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

std::optional<Clock::TimePoint> CircuitBreaker::reopensAt() const {
  std::lock_guard lock(mutex_);
  if (state_ != State::kOpen) return std::nullopt;
  return openedAt_ + options_.coolDown;
}

void CircuitBreaker::moveTo(State next, const std::string& why) {
  const State previous = state_;
  state_ = next;
  if (log_) log_(name_ + ": circuit " + stateName(previous) + " -> " + stateName(next) + ": " + why);
}

ResilientProvider::ResilientProvider(std::unique_ptr<LlmProvider> inner, Options options, Clock& clock)
    : inner_(std::move(inner)),
      options_(std::move(options)),
      clock_(clock),
      backoff_(options_.uniform ? Backoff(options_.retry, options_.uniform) : Backoff(options_.retry, options_.seed)),
      breaker_(options_.breaker, clock, options_.log, std::string(inner_->name())) {}

void ResilientProvider::log(const std::string& message) const {
  if (options_.log) options_.log(redact(message, options_.secret));
}

tl::unexpected<Error> ResilientProvider::unavailable(const std::string& why) const {
  return fail(ErrorCode::kIo, redact(std::string(inner_->name()) + " unavailable: " + why, options_.secret));
}

namespace {
std::string inSeconds(Clock::Duration d) {
  const auto ms = std::chrono::duration_cast<milliseconds>(d).count();
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}
}  // namespace

Result<ChatResult> ResilientProvider::complete(const ChatRequest& request) {
  static const CancellationToken kNever;
  const CancellationToken& token = request.cancel ? *request.cancel : kNever;
  const RetryPolicy& policy = backoff_.policy();
  std::string lastError;

  for (int attempt = 1;; ++attempt) {
    if (token.cancelled()) return cancelledError(name());
    if (!breaker_.allow()) {
      std::string why = "circuit open after " + std::to_string(breaker_.consecutiveFailures()) +
                        " consecutive failures";
      if (auto at = breaker_.reopensAt()) why += "; next try in " + inSeconds(*at - clock_.now());
      if (!lastError.empty()) why += "; last error: " + lastError;
      return unavailable(why);
    }

    FailureDetail detail;
    ChatRequest copy = request;
    copy.failureDetail = &detail;
    if (request.onDelta) {
      copy.onDelta = [&request, attempt](const Delta& d) { request.onDelta(Delta{d.text, attempt}); };
    }
    auto result = inner_->complete(copy);
    if (result) {
      breaker_.recordSuccess();
      result->attempts = attempt;
      return result;
    }
    if (request.failureDetail) *request.failureDetail = detail;

    const Failure failure = classify(result.error());
    if (failure == Failure::kCancelled || token.cancelled()) {
      breaker_.release();
      return cancelledError(name());
    }
    if (failure != Failure::kUnavailable && failure != Failure::kRateLimited) {
      // The provider answered: it is up, the request or the answer is bad.
      breaker_.recordSuccess();
      return tl::unexpected(Error{result.error().code, redact(result.error().message, options_.secret)});
    }
    breaker_.recordFailure();
    lastError = result.error().message;
    if (attempt >= policy.maxAttempts) {
      return unavailable(std::to_string(attempt) + " attempt" + (attempt == 1 ? "" : "s") + " failed; last error: " +
                         lastError);
    }
    Clock::Duration wait = backoff_.delayAfter(attempt);
    if (detail.retryAfter) {
      if (*detail.retryAfter > policy.maxRetryAfter)
        return unavailable("it asks to retry after " + inSeconds(*detail.retryAfter) + ", longer than " +
                           inSeconds(policy.maxRetryAfter) + "; last error: " + lastError);
      wait = *detail.retryAfter;
    }
    if (request.deadline && clock_.now() + wait >= *request.deadline)
      return unavailable("the next attempt (in " + inSeconds(wait) + ") would pass the deadline; last error: " +
                         lastError);
    log(std::string(name()) + ": attempt " + std::to_string(attempt) + " failed (" + lastError + "); retrying in " +
        inSeconds(wait));
    if (!clock_.sleepFor(wait, token)) return cancelledError(name());
  }
}

}  // namespace ymy::llm
