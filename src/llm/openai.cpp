#include "llm/openai.hpp"

#include <boost/json.hpp>

#include "llm/config.hpp"
#include "llm/http_common.hpp"

namespace ymy::llm {
namespace {

namespace js = boost::json;

std::string str(const js::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t integer(const js::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

void readUsage(const js::object& o, Usage& usage) {
  if (const auto* u = o.if_contains("usage"); u && u->is_object()) {
    usage.promptTokens = integer(u->as_object(), "prompt_tokens");
    usage.completionTokens = integer(u->as_object(), "completion_tokens");
  }
}

// An error object inside a 200 answer or a stream chunk.
std::optional<std::string> embeddedError(const js::object& o) {
  const auto* e = o.if_contains("error");
  if (!e || e->is_null()) return std::nullopt;
  return detail::providerMessage(js::serialize(o));
}

}  // namespace

Result<bool> OpenAiStreamDecoder::onEvent(const SseEvent& event, ChatResult& result,
                                          const std::function<void(const Delta&)>& onDelta,
                                          std::string_view provider) {
  if (event.data == "[DONE]") {
    done_ = true;
    return true;
  }
  boost::system::error_code ec;
  js::value v = js::parse(event.data, ec);
  if (ec || !v.is_object())
    return fail(ErrorCode::kIo, std::string(provider) + ": a stream chunk is not a JSON object");
  const auto& o = v.as_object();
  if (auto e = embeddedError(o)) return fail(ErrorCode::kIo, std::string(provider) + ": error in stream: " + *e);
  if (auto m = str(o, "model"); !m.empty()) result.model = std::move(m);
  readUsage(o, result.usage);
  if (const auto* choices = o.if_contains("choices"); choices && choices->is_array()) {
    for (const auto& c : choices->as_array()) {
      if (!c.is_object()) continue;
      const auto& choice = c.as_object();
      if (integer(choice, "index") != 0) continue;
      if (const auto* d = choice.if_contains("delta"); d && d->is_object()) {
        if (const auto* content = d->as_object().if_contains("content"); content && content->is_string()) {
          const std::string_view piece = content->as_string();
          if (!piece.empty()) {
            result.text.append(piece);
            if (onDelta) onDelta(Delta{piece, 1});
          }
        }
      }
      if (auto f = str(choice, "finish_reason"); !f.empty()) result.finishReason = std::move(f);
    }
  }
  return false;
}

OpenAiProvider::OpenAiProvider(OpenAiOptions options, HttpTransport& transport, const Clock& clock)
    : options_(std::move(options)), transport_(transport), clock_(clock) {}

std::string OpenAiProvider::endpoint(std::string_view baseUrl) {
  std::string url(baseUrl);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) return url + "/chat/completions";
  return url + "/v1/chat/completions";
}

js::object OpenAiProvider::requestBody(const ChatRequest& request) {
  js::object body;
  body["model"] = request.model;
  js::array messages;
  for (const auto& m : request.messages) messages.push_back(js::object{{"role", m.role}, {"content", m.content}});
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.maxTokens) body["max_tokens"] = *request.maxTokens;
  if (request.schema) {
    body["response_format"] = js::object{
        {"type", "json_schema"},
        {"json_schema", js::object{{"name", request.schemaName}, {"schema", *request.schema}, {"strict", true}}}};
  }
  if (request.onDelta) {
    body["stream"] = true;
    body["stream_options"] = js::object{{"include_usage", true}};
  }
  return body;
}

Headers OpenAiProvider::headers() const {
  Headers h{{"Content-Type", "application/json"}};
  if (!options_.apiKey.empty()) h.emplace_back("Authorization", "Bearer " + options_.apiKey);
  return h;
}

Result<ChatResult> OpenAiProvider::complete(const ChatRequest& request) {
  const std::string_view provider = options_.name;
  if (auto ok = checkRequest(request, provider); !ok) return tl::unexpected(ok.error());
  if (request.cancel && request.cancel->cancelled()) return cancelledError(provider);
  auto timeout = detail::transferTimeout(request, clock_, options_.timeout, provider);
  if (!timeout) return tl::unexpected(timeout.error());

  HttpRequest http;
  http.url = endpoint(options_.baseUrl);
  http.headers = headers();
  http.body = js::serialize(requestBody(request));
  http.timeout = *timeout;
  http.cancel = request.cancel;

  ChatResult result;
  result.model = request.model;
  Result<HttpResponse> response;
  std::optional<Error> streamError;
  OpenAiStreamDecoder decoder;
  if (request.onDelta) {
    http.headers.emplace_back("Accept", "text/event-stream");
    SseParser parser([&](const SseEvent& event) {
      if (decoder.done()) return true;  // anything after [DONE] is ignored
      auto r = decoder.onEvent(event, result, request.onDelta, provider);
      if (!r) {
        streamError = r.error();
        return false;
      }
      return true;
    });
    response = transport_.postStreaming(http, [&](std::string_view chunk) { return parser.feed(chunk); });
    if (streamError) return tl::unexpected(Error{streamError->code, redact(streamError->message, options_.apiKey)});
  } else {
    response = transport_.post(http);
  }
  if (!response) {
    if (response.error().code == ErrorCode::kConflict) return cancelledError(provider);
    return tl::unexpected(detail::transportError(provider, response.error(), options_.apiKey));
  }
  if (response->status < 200 || response->status >= 300)
    return tl::unexpected(detail::httpError(provider, *response, request, clock_, options_.apiKey));

  if (request.onDelta) {
    if (!decoder.done())
      return fail(ErrorCode::kIo, std::string(provider) + ": the stream ended before [DONE] (truncated after " +
                                      std::to_string(result.text.size()) + " bytes of answer)");
  } else {
    boost::system::error_code ec;
    js::value v = js::parse(response->body, ec);
    if (ec || !v.is_object())
      return fail(ErrorCode::kIo, std::string(provider) + ": the response is not a JSON object");
    const auto& o = v.as_object();
    if (auto e = embeddedError(o))
      return fail(ErrorCode::kIo, redact(std::string(provider) + ": " + *e, options_.apiKey));
    if (auto m = str(o, "model"); !m.empty()) result.model = std::move(m);
    readUsage(o, result.usage);
    const auto* choices = o.if_contains("choices");
    if (!choices || !choices->is_array() || choices->as_array().empty() || !choices->as_array()[0].is_object())
      return fail(ErrorCode::kIo, std::string(provider) + ": the response has no choices");
    const auto& choice = choices->as_array()[0].as_object();
    result.finishReason = str(choice, "finish_reason");
    if (const auto* m = choice.if_contains("message"); m && m->is_object()) {
      result.text = str(m->as_object(), "content");
      if (auto refusal = str(m->as_object(), "refusal"); !refusal.empty() && result.text.empty()) {
        if (request.failureDetail) request.failureDetail->answerText = refusal;
        return fail(ErrorCode::kUnprocessable, std::string(provider) + ": the model refused: " + refusal);
      }
    }
  }
  // A rejected answer's tokens are paid for too: the caller counts them.
  if (request.failureDetail) request.failureDetail->usage = result.usage;
  if (request.schema) {
    auto parsed = parseAnswer(request, provider, result.text);
    if (!parsed) {
      Error e = parsed.error();
      if (result.finishReason == "length") e.message += " (the answer was cut at max_tokens)";
      return tl::unexpected(std::move(e));
    }
    result.parsed = std::move(*parsed);
  }
  return result;
}

}  // namespace ymy::llm
