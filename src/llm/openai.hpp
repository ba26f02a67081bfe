#pragma once
// OpenAI-compatible chat completions (OpenAI, llama.cpp's server, vLLM,
// Ollama's /v1): POST {url}/v1/chat/completions with
//   {"model", "messages": [{"role", "content"}], "temperature", "max_tokens",
//    "response_format": {"type": "json_schema",
//                        "json_schema": {"name", "schema", "strict": true}},
//    "stream": true, "stream_options": {"include_usage": true}}
// (the last two only when the request has onDelta). The key goes in
// "Authorization: Bearer ..." and nowhere else; no key, no header (local servers).
// Streaming answers are SSE `data: {chunk}` events ending with `data: [DONE]`;
// a stream that ends before [DONE] is kIo (truncated), retryable.

#include <chrono>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "llm/http_transport.hpp"
#include "llm/provider.hpp"
#include "llm/sse.hpp"
#include "model/clock.hpp"

namespace ymy::llm {

struct OpenAiOptions {
  std::string baseUrl = "https://api.openai.com";  // "/v1" at its end is accepted too
  std::string apiKey;                             // empty: no Authorization header
  std::chrono::milliseconds timeout{120'000};     // per call, capped by the request's deadline
  std::string name = "openai";
};

// Decodes a streamed answer, event by event (public for the benchmark).
class OpenAiStreamDecoder {
 public:
  // Appends to `result`, calls onDelta with each piece. Returns true once
  // [DONE] arrives; an error when a chunk is not JSON or carries an error.
  Result<bool> onEvent(const SseEvent& event, ChatResult& result, const std::function<void(const Delta&)>& onDelta,
                       std::string_view provider);
  bool done() const { return done_; }

 private:
  bool done_ = false;
};

class OpenAiProvider final : public LlmProvider {
 public:
  // `transport` and `clock` must outlive the provider.
  OpenAiProvider(OpenAiOptions options, HttpTransport& transport, const Clock& clock);

  Result<ChatResult> complete(const ChatRequest& request) override;
  std::string_view name() const override { return options_.name; }

  // The endpoint and body complete() sends (for tests and dry runs).
  static std::string endpoint(std::string_view baseUrl);
  static boost::json::object requestBody(const ChatRequest& request);

 private:
  Headers headers() const;

  const OpenAiOptions options_;
  HttpTransport& transport_;
  const Clock& clock_;
};

}  // namespace ymy::llm
