#pragma once
// The LLM provider boundary: one chat completion, optionally constrained to a
// JSON schema, optionally streamed, cancellable, with a deadline, reporting
// token usage. Implementations: OpenAiProvider (openai.hpp), GeminiProvider
// (gemini.hpp), the ResilientProvider decorator (resilience.hpp) and
// ScriptedProvider below, the in-memory fake other modules' tests use.
//
// How failures are reported (ErrorCode of the returned Error; the message
// always starts with the provider's name and, for HTTP errors, names the
// status and the provider's own message; it never contains the API key):
//   kIo              the provider is unavailable: connection refused or cut,
//                    timeout, a truncated stream, HTTP 5xx, the circuit open,
//                    retries exhausted. The caller may fall back to builtin.
//   kTooSoon         HTTP 429 (rate limited). Retryable; ResilientProvider
//                    turns it into kIo once its retries are exhausted.
//   kUnauthenticated HTTP 401 / kForbidden HTTP 403: the key is wrong.
//   kInvalidArgument the request itself is bad (HTTP 400/404/409/413/422, or
//                    our own checks: empty model or messages). Not retryable.
//   kUnprocessable   the provider answered, but the answer is not JSON or does
//                    not match the schema (FailureDetail::answerText has it).
//   kConflict        the request's CancellationToken was cancelled.
// classify() maps an Error to these categories.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "model/cancellation.hpp"
#include "model/clock.hpp"
#include "model/error.hpp"

namespace ymy::llm {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;

  bool operator==(const ChatMessage&) const = default;
};

// One piece of streamed output. `attempt` starts at 1; when a retried attempt
// streams again it starts over, so a consumer showing partial output resets
// it when the attempt number changes.
struct Delta {
  std::string_view text;
  int attempt = 1;
};

struct Usage {
  std::int64_t promptTokens = 0;
  std::int64_t completionTokens = 0;

  bool operator==(const Usage&) const = default;
};

// Filled in by a provider when a call fails, for the decorators above it
// (retries need the HTTP status and Retry-After; repair needs the answer).
struct FailureDetail {
  int httpStatus = 0;                              // 0 when no HTTP answer arrived
  std::optional<Clock::Duration> retryAfter;       // from a Retry-After header
  std::string answerText;                          // the model's text, when the answer was unusable
  Usage usage;                                     // the tokens of an unusable answer
};

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;
  // When set, the answer must be JSON matching this schema (a JSON Schema
  // subset: type, properties, required, items, enum, additionalProperties).
  std::optional<boost::json::value> schema;
  std::string schemaName = "answer";  // OpenAI's json_schema.name: [A-Za-z0-9_-]{1,64}
  std::optional<double> temperature;
  std::optional<int> maxTokens;
  // On the provider's Clock. Unset: the transport's default timeout only.
  std::optional<Clock::TimePoint> deadline;
  // Not owned; may be null. Cancelling aborts a transfer in flight.
  const CancellationToken* cancel = nullptr;
  // When set, the provider streams (SSE) and calls this with each piece of
  // text in order, on the calling thread, before complete() returns.
  std::function<void(const Delta&)> onDelta;
  // Not owned; may be null. See FailureDetail.
  FailureDetail* failureDetail = nullptr;
};

struct ChatResult {
  std::string text;                         // the whole answer (all deltas joined when streamed)
  std::optional<boost::json::value> parsed; // set when the request had a schema: the answer, validated
  Usage usage;
  std::string finishReason;                 // as the provider says it ("stop", "length", "STOP", ...)
  std::string model;                        // the model that answered, as reported
  int attempts = 1;                         // set by ResilientProvider
};

// Thread safety: complete() may be called from several threads at once on
// every provider in this module.
class LlmProvider {
 public:
  virtual ~LlmProvider() = default;
  virtual Result<ChatResult> complete(const ChatRequest& request) = 0;
  // "openai", "gemini", "scripted", ...: the prefix of every error message.
  virtual std::string_view name() const = 0;
};

enum class Failure {
  kUnavailable,   // kIo: fall back to builtin unless strict
  kRateLimited,   // kTooSoon
  kRejectedKey,   // kUnauthenticated, kForbidden
  kBadRequest,    // kInvalidArgument (and anything unexpected)
  kBadAnswer,     // kUnprocessable: repair, then fall back
  kCancelled,     // kConflict
};
Failure classify(const Error& error);
const char* failureName(Failure failure);

// Whether a caller that asked for a provider should run the builtin engine
// instead after this error: never when cancelled or when the user asked for
// the provider strictly; otherwise for every failure but a bad request.
bool shouldFallBack(const Error& error, bool strict);

// Common request checks (model and messages present, roles known).
Result<void> checkRequest(const ChatRequest& request, std::string_view provider);

// Parses `text` as JSON and validates it against the request's schema, for
// providers: kUnprocessable naming every problem, with the text kept in the
// request's FailureDetail.
Result<boost::json::value> parseAnswer(const ChatRequest& request, std::string_view provider,
                                       const std::string& text);

// Errors with the conventions above.
tl::unexpected<Error> cancelledError(std::string_view provider);

// The in-memory fake: answers from a queue and records every request.
// A scripted answer is either a ChatResult (its text is parsed and validated
// against the request's schema like a real provider would, and streamed to
// onDelta in the given pieces) or an Error (with an optional Retry-After).
class ScriptedProvider final : public LlmProvider {
 public:
  struct Answer {
    Result<ChatResult> result;
    std::vector<std::string> pieces;  // streamed pieces; empty: the whole text as one
    std::optional<Clock::Duration> retryAfter;
    int httpStatus = 0;
  };

  explicit ScriptedProvider(std::string name = "scripted") : name_(std::move(name)) {}

  void push(Answer answer);
  void pushText(std::string text, Usage usage = {});
  void pushError(ErrorCode code, std::string message, int httpStatus = 0,
                 std::optional<Clock::Duration> retryAfter = std::nullopt);

  // An empty queue answers kInternal ("no scripted answer left").
  Result<ChatResult> complete(const ChatRequest& request) override;
  std::string_view name() const override { return name_; }

  // Copies of the requests seen, without their callbacks and pointers.
  std::vector<ChatRequest> requests() const;
  std::size_t remaining() const;

 private:
  const std::string name_;
  mutable std::mutex mutex_;
  std::deque<Answer> answers_;         // guarded by mutex_
  std::vector<ChatRequest> requests_;  // guarded by mutex_
};

}  // namespace ymy::llm
