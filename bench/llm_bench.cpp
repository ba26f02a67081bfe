// The llm module's own costs, without any model: decoding a streamed answer
// of N chunks (SSE framing + chunk JSON + deltas), and one complete() round
// trip through libcurl against a local fake server (loopback, a fresh
// connection per call, as CurlTransport makes them), next to the bare
// transport round trip it is built on.
//
//   build/bench/youmeyou_llm_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <chrono>
#include <string>

#include "llm/fake_http_server.hpp"
#include "llm/gemini.hpp"
#include "llm/http_transport.hpp"
#include "llm/openai.hpp"
#include "llm/sse.hpp"
#include "model/clock.hpp"

namespace {

using namespace ymy;
using namespace ymy::llm;
using namespace std::chrono_literals;

// N OpenAI chunks of ~6 tokens each, the usage chunk and [DONE], in one string.
std::string openAiStream(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += R"(data: {"id":"chatcmpl-B1","object":"chat.completion.chunk","created":1764400010,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_0ba0d124f1","choices":[{"index":0,"delta":{"content":"\"name\":\"task )" +
         std::to_string(i) + R"(\","},"logprobs":null,"finish_reason":null}],"usage":null})" + "\n\n";
  }
  s += R"(data: {"id":"chatcmpl-B1","object":"chat.completion.chunk","created":1764400010,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":405,"completion_tokens":31,"total_tokens":436}})"
       "\n\ndata: [DONE]\n\n";
  return s;
}

std::string geminiStream(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += R"(data: {"candidates": [{"content": {"parts": [{"text": "\"name\": \"task )" + std::to_string(i) +
         R"(\", "}],"role": "model"},"index": 0)" + (i + 1 == n ? R"(,"finishReason": "STOP")" : "") +
         R"(}],"usageMetadata": {"promptTokenCount": 398,"candidatesTokenCount": 29,"totalTokenCount": 427},"modelVersion": "gemini-2.5-flash","responseId": "s1"})" +
         "\r\n\r\n";
  }
  return s;
}

// The body arrives in 1,400-byte pieces (a TCP segment), split anywhere.
constexpr std::size_t kPiece = 1400;

void BM_Llm_OpenAiStreamDecode(benchmark::State& state) {
  const std::string body = openAiStream(static_cast<int>(state.range(0)));
  std::size_t deltas = 0;
  for (auto _ : state) {
    ChatResult result;
    OpenAiStreamDecoder decoder;
    auto onDelta = [&](const Delta&) { ++deltas; };
    SseParser parser([&](const SseEvent& e) { return static_cast<bool>(decoder.onEvent(e, result, onDelta, "openai")); });
    for (std::size_t at = 0; at < body.size(); at += kPiece) parser.feed(std::string_view(body).substr(at, kPiece));
    if (!decoder.done()) state.SkipWithError("not done");
    benchmark::DoNotOptimize(result.text.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Llm_OpenAiStreamDecode)->Arg(10)->Arg(100)->Arg(1000);

void BM_Llm_GeminiStreamDecode(benchmark::State& state) {
  const std::string body = geminiStream(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    ChatResult result;
    GeminiStreamDecoder decoder;
    SseParser parser([&](const SseEvent& e) { return static_cast<bool>(decoder.onEvent(e, result, nullptr, "gemini")); });
    for (std::size_t at = 0; at < body.size(); at += kPiece) parser.feed(std::string_view(body).substr(at, kPiece));
    if (!decoder.finished()) state.SkipWithError("not finished");
    benchmark::DoNotOptimize(result.text.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Llm_GeminiStreamDecode)->Arg(10)->Arg(100)->Arg(1000);

ChatRequest planRequest(bool stream) {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages = {{"system", "You plan software design work as a DAG of tasks. Answer with JSON only."},
                {"user", "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and "
                         "payment processing"}};
  r.schema = boost::json::parse(testing::fixture("plan_schema.json"));
  r.schemaName = "plan";
  if (stream) r.onDelta = [](const Delta&) {};
  return r;
}

// The bare transport: POST a small body, read a small answer.
void BM_Llm_TransportRoundTrip(benchmark::State& state) {
  testing::FakeHttpServer server;
  server.setDefault(testing::ScriptedResponse::json(200, R"({"ok":true})"));
  CurlTransport transport;
  HttpRequest request{server.url() + "/v1/chat/completions", {{"Content-Type", "application/json"}}, "{}", 5000ms,
                      nullptr};
  for (auto _ : state) {
    auto r = transport.post(request);
    if (!r || r->status != 200) state.SkipWithError("post failed");
  }
}
BENCHMARK(BM_Llm_TransportRoundTrip)->UseRealTime();

// complete(): build the request JSON, POST, parse, validate against the schema.
void BM_Llm_OpenAiCompleteRoundTrip(benchmark::State& state) {
  const bool stream = state.range(0) != 0;
  testing::FakeHttpServer server;
  server.setDefault(stream ? testing::ScriptedResponse::sse(testing::fixture("openai/stream_plan.sse"))
                           : testing::ScriptedResponse::json(200, testing::fixture("openai/response_plan.json")));
  CurlTransport transport;
  SystemClock clock;
  OpenAiProvider provider(OpenAiOptions{server.url(), "sk-bench", 5000ms, "openai"}, transport, clock);
  const ChatRequest request = planRequest(stream);
  for (auto _ : state) {
    auto r = provider.complete(request);
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
}
BENCHMARK(BM_Llm_OpenAiCompleteRoundTrip)->ArgName("stream")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
