#include "llm/provider.hpp"

#include <boost/json.hpp>

#include "llm/json_schema.hpp"

namespace ymy::llm {

Failure classify(const Error& error) {
  switch (error.code) {
    case ErrorCode::kIo: return Failure::kUnavailable;
    case ErrorCode::kTooSoon: return Failure::kRateLimited;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kForbidden: return Failure::kRejectedKey;
    case ErrorCode::kUnprocessable: return Failure::kBadAnswer;
    case ErrorCode::kConflict: return Failure::kCancelled;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kInvalidPlan:
    case ErrorCode::kInternal: return Failure::kBadRequest;
  }
  return Failure::kBadRequest;
}

const char* failureName(Failure failure) {
  switch (failure) {
    case Failure::kUnavailable: return "unavailable";
    case Failure::kRateLimited: return "rate_limited";
    case Failure::kRejectedKey: return "rejected_key";
    case Failure::kBadRequest: return "bad_request";
    case Failure::kBadAnswer: return "bad_answer";
    case Failure::kCancelled: return "cancelled";
  }
  return "bad_request";
}

bool shouldFallBack(const Error& error, bool strict) {
  if (strict) return false;
  const Failure f = classify(error);
  return f != Failure::kCancelled && f != Failure::kBadRequest;
}

Result<void> checkRequest(const ChatRequest& request, std::string_view provider) {
  const std::string p(provider);
  if (request.model.empty()) return fail(ErrorCode::kInvalidArgument, p + ": no model given");
  if (request.messages.empty()) return fail(ErrorCode::kInvalidArgument, p + ": no messages given");
  for (std::size_t i = 0; i < request.messages.size(); ++i) {
    const auto& role = request.messages[i].role;
    if (role != "system" && role != "user" && role != "assistant")
      return fail(ErrorCode::kInvalidArgument,
                  p + ": messages[" + std::to_string(i) + "].role: unknown role \"" + role + "\"");
  }
  if (request.schema && !request.schema->is_object())
    return fail(ErrorCode::kInvalidArgument, p + ": the schema must be a JSON object");
  return {};
}

Result<boost::json::value> parseAnswer(const ChatRequest& request, std::string_view provider,
                                       const std::string& text) {
  auto keep = [&] {
    if (request.failureDetail) request.failureDetail->answerText = text;
  };
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec);
  if (ec) {
    keep();
    return fail(ErrorCode::kUnprocessable,
                std::string(provider) + ": the answer is not valid JSON (" + ec.message() + ")");
  }
  if (request.schema) {
    auto errors = validateJson(parsed, *request.schema);
    if (!errors.empty()) {
      keep();
      std::string message = std::string(provider) + ": the answer does not match the schema: ";
      for (std::size_t i = 0; i < errors.size(); ++i) message += (i ? "; " : "") + errors[i];
      return fail(ErrorCode::kUnprocessable, message);
    }
  }
  return parsed;
}

tl::unexpected<Error> cancelledError(std::string_view provider) {
  return fail(ErrorCode::kConflict, std::string(provider) + ": cancelled");
}

void ScriptedProvider::push(Answer answer) {
  std::lock_guard lock(mutex_);
  answers_.push_back(std::move(answer));
}

void ScriptedProvider::pushText(std::string text, Usage usage) {
  ChatResult r;
  r.text = std::move(text);
  r.usage = usage;
  r.finishReason = "stop";
  push(Answer{std::move(r), {}, std::nullopt, 0});
}

void ScriptedProvider::pushError(ErrorCode code, std::string message, int httpStatus,
                                 std::optional<Clock::Duration> retryAfter) {
  push(Answer{tl::unexpected(Error{code, std::move(message)}), {}, retryAfter, httpStatus});
}

Result<ChatResult> ScriptedProvider::complete(const ChatRequest& request) {
  Answer answer;
  {
    std::lock_guard lock(mutex_);
    ChatRequest copy = request;
    copy.onDelta = nullptr;
    copy.cancel = nullptr;
    copy.failureDetail = nullptr;
    requests_.push_back(std::move(copy));
    if (answers_.empty()) return fail(ErrorCode::kInternal, name_ + ": no scripted answer left");
    answer = std::move(answers_.front());
    answers_.pop_front();
  }
  if (request.cancel && request.cancel->cancelled()) return cancelledError(name_);
  if (!answer.result) {
    if (request.failureDetail) {
      request.failureDetail->httpStatus = answer.httpStatus;
      request.failureDetail->retryAfter = answer.retryAfter;
    }
    return tl::unexpected(answer.result.error());
  }
  ChatResult result = std::move(*answer.result);
  if (result.model.empty()) result.model = request.model;
  if (request.onDelta) {
    if (answer.pieces.empty()) answer.pieces.push_back(result.text);
    for (const auto& piece : answer.pieces) {
      request.onDelta(Delta{piece, 1});
      if (request.cancel && request.cancel->cancelled()) return cancelledError(name_);
    }
  }
  // A rejected answer's tokens are paid for too: the caller counts them.
  if (request.failureDetail) request.failureDetail->usage = result.usage;
  if (request.schema) {
    auto parsed = parseAnswer(request, name_, result.text);
    if (!parsed) return tl::unexpected(parsed.error());
    result.parsed = std::move(*parsed);
  }
  return result;
}

std::vector<ChatRequest> ScriptedProvider::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t ScriptedProvider::remaining() const {
  std::lock_guard lock(mutex_);
  return answers_.size();
}

}  // namespace ymy::llm
