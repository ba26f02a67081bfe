#pragma once
// Google's Gemini API: POST {url}/v1beta/models/{model}:generateContent, or
// :streamGenerateContent?alt=sse when the request has onDelta, with
//   {"systemInstruction": {"parts": [{"text"}]},          (system messages)
//    "contents": [{"role": "user"|"model", "parts": [{"text"}]}],
//    "generationConfig": {"temperature", "maxOutputTokens",
//                         "responseMimeType": "application/json",
//                         "responseSchema": <the schema in Gemini's form>}}
// The key goes in the x-goog-api-key header, never in the URL. Usage comes
// from usageMetadata (promptTokenCount, candidatesTokenCount). A stream is
// SSE `data: {GenerateContentResponse}` events; one that ends before a
// candidate's finishReason is kIo (truncated), retryable.

#include <chrono>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "llm/http_transport.hpp"
#include "llm/provider.hpp"
#include "llm/sse.hpp"
#include "model/clock.hpp"

namespace ymy::llm {

struct GeminiOptions {
  std::string baseUrl = "https://generativelanguage.googleapis.com";
  std::string apiKey;
  std::chrono::milliseconds timeout{120'000};
  std::string name = "gemini";
};

// JSON Schema to Gemini's Schema object (an OpenAPI 3.0 subset): type names
// upper-cased, a ["string", "null"] type as nullable, and only the fields
// Gemini accepts kept (type, format, description, nullable, enum, properties,
// required, items, minItems, maxItems, propertyOrdering). Properties keep
// their order, also as propertyOrdering.
boost::json::value toGeminiSchema(const boost::json::value& schema);

class GeminiStreamDecoder {
 public:
  // Appends the event's text to `result` (and to onDelta), keeps the last
  // usageMetadata and finishReason.
  Result<void> onEvent(const SseEvent& event, ChatResult& result, const std::function<void(const Delta&)>& onDelta,
                       std::string_view provider);
  bool finished() const { return finished_; }

 private:
  bool finished_ = false;
};

class GeminiProvider final : public LlmProvider {
 public:
  GeminiProvider(GeminiOptions options, HttpTransport& transport, const Clock& clock);

  Result<ChatResult> complete(const ChatRequest& request) override;
  std::string_view name() const override { return options_.name; }

  static std::string endpoint(std::string_view baseUrl, std::string_view model, bool stream);
  static boost::json::object requestBody(const ChatRequest& request);

 private:
  const GeminiOptions options_;
  HttpTransport& transport_;
  const Clock& clock_;
};

}  // namespace ymy::llm
