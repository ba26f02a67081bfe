#pragma once
// What the HTTP providers (openai.cpp, gemini.cpp) share: the transfer
// timeout from a request's deadline, and errors from HTTP answers.
// Internal to src/llm.

#include <chrono>
#include <string>
#include <string_view>

#include "llm/http_transport.hpp"
#include "llm/provider.hpp"
#include "model/clock.hpp"

namespace ymy::llm::detail {

// The transfer timeout: the time left before the request's deadline (kIo
// when it has passed), or `fallback` without one.
Result<std::chrono::milliseconds> transferTimeout(const ChatRequest& request, const Clock& clock,
                                                   std::chrono::milliseconds fallback, std::string_view provider);

// An error for a non-2xx answer: the code by status (see provider.hpp), the
// message "<provider>: HTTP <status>: <the provider's error.message>", the
// Retry-After (seconds or HTTP date, relative to clock.epochMillis()) in the
// request's FailureDetail. `secret` is redacted from the message.
Error httpError(std::string_view provider, const HttpResponse& response, const ChatRequest& request,
                const Clock& clock, std::string_view secret);

// The provider's message inside an error body ({"error":{"message":...}}, as
// OpenAI and Gemini send), or the start of the body when it is not that.
std::string providerMessage(std::string_view body);

// Stamps the transport's errors with the provider's name (and redacts).
Error transportError(std::string_view provider, const Error& error, std::string_view secret);

}  // namespace ymy::llm::detail
