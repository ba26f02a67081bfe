#include "llm/http_common.hpp"

#include <boost/json.hpp>

#include "llm/config.hpp"
#include "llm/resilience.hpp"

namespace ymy::llm::detail {

Result<std::chrono::milliseconds> transferTimeout(const ChatRequest& request, const Clock& clock,
                                                   std::chrono::milliseconds fallback, std::string_view provider) {
  if (!request.deadline) return fallback;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*request.deadline - clock.now());
  if (left <= std::chrono::milliseconds::zero())
    return fail(ErrorCode::kIo, std::string(provider) + ": the deadline has passed");
  return std::min(left, fallback);
}

std::string providerMessage(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (!ec) {
    // {"error":{"message":...}} (OpenAI, Gemini, vLLM); llama.cpp and Ollama
    // sometimes send {"error":"text"}; some proxies send a list.
    const boost::json::value* e = nullptr;
    if (v.is_object()) e = v.as_object().if_contains("error");
    if (v.is_array() && !v.as_array().empty() && v.as_array()[0].is_object())
      e = v.as_array()[0].as_object().if_contains("error");
    if (e && e->is_string()) return std::string(e->as_string());
    if (e && e->is_object()) {
      if (const auto* m = e->as_object().if_contains("message"); m && m->is_string()) return std::string(m->as_string());
    }
  }
  std::string text(body.substr(0, 300));
  for (auto& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

Error httpError(std::string_view provider, const HttpResponse& response, const ChatRequest& request,
                const Clock& clock, std::string_view secret) {
  const int s = response.status;
  ErrorCode code = ErrorCode::kInvalidArgument;
  if (s == 429) code = ErrorCode::kTooSoon;
  else if (s == 401) code = ErrorCode::kUnauthenticated;
  else if (s == 403) code = ErrorCode::kForbidden;
  else if (s == 408 || s >= 500) code = ErrorCode::kIo;

  std::optional<Clock::Duration> retryAfter;
  if (auto h = response.header("retry-after")) retryAfter = parseRetryAfter(*h, clock.epochMillis());
  if (request.failureDetail) {
    request.failureDetail->httpStatus = s;
    request.failureDetail->retryAfter = retryAfter;
  }
  std::string message = std::string(provider) + ": HTTP " + std::to_string(s);
  const std::string said = providerMessage(response.body);
  if (!said.empty()) message += ": " + said;
  if (retryAfter) {
    message += " (retry after " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*retryAfter).count()) + " ms)";
  }
  return Error{code, redact(message, secret)};
}

Error transportError(std::string_view provider, const Error& error, std::string_view secret) {
  return Error{error.code, redact(std::string(provider) + ": " + error.message, secret)};
}

}  // namespace ymy::llm::detail
