#include "llm/gemini.hpp"

#include <boost/json.hpp>

#include "llm/config.hpp"
#include "llm/http_common.hpp"

namespace ymy::llm {
namespace {

namespace js = boost::json;

std::int64_t integer(const js::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One GenerateContentResponse: its text, finishReason, usage, model version.
// An error when it carries an error or a blocked prompt.
Result<void> readResponse(const js::object& o, ChatResult& result, const std::function<void(const Delta&)>& onDelta,
                          bool& finished, std::string_view provider) {
  if (const auto* e = o.if_contains("error"); e && !e->is_null())
    return fail(ErrorCode::kIo, std::string(provider) + ": " + detail::providerMessage(js::serialize(o)));
  if (const auto* f = o.if_contains("promptFeedback"); f && f->is_object()) {
    if (const auto* b = f->as_object().if_contains("blockReason"); b && b->is_string())
      return fail(ErrorCode::kInvalidArgument,
                  std::string(provider) + ": the prompt was blocked (" + std::string(b->as_string()) + ")");
  }
  if (const auto* m = o.if_contains("modelVersion"); m && m->is_string()) result.model = m->as_string();
  if (const auto* u = o.if_contains("usageMetadata"); u && u->is_object()) {
    result.usage.promptTokens = integer(u->as_object(), "promptTokenCount");
    result.usage.completionTokens = integer(u->as_object(), "candidatesTokenCount");
  }
  const auto* candidates = o.if_contains("candidates");
  if (!candidates || !candidates->is_array() || candidates->as_array().empty()) return {};
  const auto& first = candidates->as_array()[0];
  if (!first.is_object()) return {};
  const auto& candidate = first.as_object();
  if (const auto* content = candidate.if_contains("content"); content && content->is_object()) {
    if (const auto* parts = content->as_object().if_contains("parts"); parts && parts->is_array()) {
      for (const auto& p : parts->as_array()) {
        if (!p.is_object()) continue;
        if (const auto* thought = p.as_object().if_contains("thought"); thought && thought->is_bool() &&
                                                                         thought->as_bool())
          continue;  // a thinking model's summary is not the answer
        if (const auto* t = p.as_object().if_contains("text"); t && t->is_string() && !t->as_string().empty()) {
          result.text.append(t->as_string());
          if (onDelta) onDelta(Delta{t->as_string(), 1});
        }
      }
    }
  }
  if (const auto* f = candidate.if_contains("finishReason"); f && f->is_string() && !f->as_string().empty()) {
    result.finishReason = f->as_string();
    finished = true;
  }
  return {};
}

}  // namespace

js::value toGeminiSchema(const js::value& schema) {
  if (!schema.is_object()) return schema;
  const auto& in = schema.as_object();
  js::object out;
  if (const auto* t = in.if_contains("type")) {
    if (t->is_string()) {
      out["type"] = upper(t->as_string());
    } else if (t->is_array()) {  // ["string", "null"]: STRING, nullable
      for (const auto& x : t->as_array()) {
        if (!x.is_string()) continue;
        if (x.as_string() == "null") out["nullable"] = true;
        else if (!out.contains("type")) out["type"] = upper(x.as_string());
      }
    }
  }
  for (const char* key : {"format", "description", "nullable", "enum", "required", "minItems", "maxItems",
                          "propertyOrdering"}) {
    if (const auto* v = in.if_contains(key)) out[key] = *v;
  }
  if (const auto* p = in.if_contains("properties"); p && p->is_object()) {
    js::object properties;
    js::array order;
    for (const auto& [name, sub] : p->as_object()) {
      properties[name] = toGeminiSchema(sub);
      order.emplace_back(name);
    }
    out["properties"] = std::move(properties);
    if (!out.contains("propertyOrdering")) out["propertyOrdering"] = std::move(order);
  }
  if (const auto* items = in.if_contains("items")) out["items"] = toGeminiSchema(*items);
  return out;
}

Result<void> GeminiStreamDecoder::onEvent(const SseEvent& event, ChatResult& result,
                                          const std::function<void(const Delta&)>& onDelta,
                                          std::string_view provider) {
  boost::system::error_code ec;
  js::value v = js::parse(event.data, ec);
  if (ec || !v.is_object())
    return fail(ErrorCode::kIo, std::string(provider) + ": a stream chunk is not a JSON object");
  return readResponse(v.as_object(), result, onDelta, finished_, provider);
}

GeminiProvider::GeminiProvider(GeminiOptions options, HttpTransport& transport, const Clock& clock)
    : options_(std::move(options)), transport_(transport), clock_(clock) {}

std::string GeminiProvider::endpoint(std::string_view baseUrl, std::string_view model, bool stream) {
  std::string url(baseUrl);
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string_view m = model;
  if (m.rfind("models/", 0) == 0) m.remove_prefix(7);  // the API's own full names
  url += "/v1beta/models/" + std::string(m);
  return url + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
}

js::object GeminiProvider::requestBody(const ChatRequest& request) {
  js::object body;
  std::string system;
  js::array contents;
  for (const auto& m : request.messages) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n\n") + m.content;
      continue;
    }
    contents.push_back(js::object{{"role", m.role == "assistant" ? "model" : "user"},
                                  {"parts", js::array{js::object{{"text", m.content}}}}});
  }
  if (!system.empty()) body["systemInstruction"] = js::object{{"parts", js::array{js::object{{"text", system}}}}};
  body["contents"] = std::move(contents);
  js::object config;
  if (request.temperature) config["temperature"] = *request.temperature;
  if (request.maxTokens) config["maxOutputTokens"] = *request.maxTokens;
  if (request.schema) {
    config["responseMimeType"] = "application/json";
    config["responseSchema"] = toGeminiSchema(*request.schema);
  }
  if (!config.empty()) body["generationConfig"] = std::move(config);
  return body;
}

Result<ChatResult> GeminiProvider::complete(const ChatRequest& request) {
  const std::string_view provider = options_.name;
  if (auto ok = checkRequest(request, provider); !ok) return tl::unexpected(ok.error());
  if (request.cancel && request.cancel->cancelled()) return cancelledError(provider);
  auto timeout = detail::transferTimeout(request, clock_, options_.timeout, provider);
  if (!timeout) return tl::unexpected(timeout.error());

  const bool stream = static_cast<bool>(request.onDelta);
  HttpRequest http;
  http.url = endpoint(options_.baseUrl, request.model, stream);
  http.headers = {{"Content-Type", "application/json"}};
  if (!options_.apiKey.empty()) http.headers.emplace_back("x-goog-api-key", options_.apiKey);
  http.body = js::serialize(requestBody(request));
  http.timeout = *timeout;
  http.cancel = request.cancel;

  ChatResult result;
  result.model = request.model;
  Result<HttpResponse> response;
  std::optional<Error> streamError;
  bool finished = false;
  if (stream) {
    http.headers.emplace_back("Accept", "text/event-stream");
    GeminiStreamDecoder decoder;
    SseParser parser([&](const SseEvent& event) {
      auto r = decoder.onEvent(event, result, request.onDelta, provider);
      if (!r) {
        streamError = r.error();
        return false;
      }
      return true;
    });
    response = transport_.postStreaming(http, [&](std::string_view chunk) { return parser.feed(chunk); });
    if (streamError) return tl::unexpected(Error{streamError->code, redact(streamError->message, options_.apiKey)});
    // The last event may end at the close without its blank line.
    if (response && response->status >= 200 && response->status < 300 && parser.midEvent()) parser.feed("\n\n");
    if (streamError) return tl::unexpected(Error{streamError->code, redact(streamError->message, options_.apiKey)});
    finished = decoder.finished();
  } else {
    response = transport_.post(http);
  }
  if (!response) {
    if (response.error().code == ErrorCode::kConflict) return cancelledError(provider);
    return tl::unexpected(detail::transportError(provider, response.error(), options_.apiKey));
  }
  if (response->status < 200 || response->status >= 300) {
    Error e = detail::httpError(provider, *response, request, clock_, options_.apiKey);
    // Gemini answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    if (response->status == 400 && response->body.find("API_KEY_INVALID") != std::string::npos)
      e.code = ErrorCode::kUnauthenticated;
    return tl::unexpected(std::move(e));
  }

  if (!stream) {
    boost::system::error_code ec;
    js::value v = js::parse(response->body, ec);
    if (ec || !v.is_object())
      return fail(ErrorCode::kIo, std::string(provider) + ": the response is not a JSON object");
    auto r = readResponse(v.as_object(), result, nullptr, finished, provider);
    if (!r) return tl::unexpected(Error{r.error().code, redact(r.error().message, options_.apiKey)});
  }
  if (!finished)
    return fail(ErrorCode::kIo, std::string(provider) + (stream ? ": the stream ended before a finishReason (truncated after "
                                                                : ": the response has no finished candidate (") +
                                    std::to_string(result.text.size()) + " bytes of answer)");
  if (result.text.empty() && result.finishReason != "STOP") {
    if (request.failureDetail) request.failureDetail->answerText.clear();
    return fail(ErrorCode::kUnprocessable,
                std::string(provider) + ": no answer (finishReason " + result.finishReason + ")");
  }
  // A rejected answer's tokens are paid for too: the caller counts them.
  if (request.failureDetail) request.failureDetail->usage = result.usage;
  if (request.schema) {
    auto parsed = parseAnswer(request, provider, result.text);
    if (!parsed) {
      Error e = parsed.error();
      if (result.finishReason == "MAX_TOKENS") e.message += " (the answer was cut at maxOutputTokens)";
      return tl::unexpected(std::move(e));
    }
    result.parsed = std::move(*parsed);
  }
  return result;
}

}  // namespace ymy::llm
