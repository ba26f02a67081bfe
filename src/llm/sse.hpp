#pragma once
// Incremental Server-Sent Events parser (the WHATWG event-stream format, as
// OpenAI and Gemini stream): feed it body chunks as they arrive, split
// anywhere, and it hands out each complete event. Lines end in \n, \r\n or \r;
// `data:` lines join with \n; comments (`:`) and unknown fields are skipped.
// Not thread-safe; one per stream.

#include <functional>
#include <string>
#include <string_view>

namespace ymy::llm {

struct SseEvent {
  std::string event;  // the `event:` field, empty when absent
  std::string data;
  std::string id;
};

class SseParser {
 public:
  // Called for each complete event; return false to stop parsing (feed()
  // then returns false too).
  using OnEvent = std::function<bool(const SseEvent&)>;
  explicit SseParser(OnEvent onEvent) : onEvent_(std::move(onEvent)) {}

  bool feed(std::string_view chunk);
  // True when bytes of an unfinished event are pending: the stream was cut
  // mid-event.
  bool midEvent() const { return !line_.empty() || hasFields_; }

 private:
  bool line(std::string_view text);

  OnEvent onEvent_;
  std::string line_;
  bool lastWasCr_ = false;
  bool hasFields_ = false;
  SseEvent current_;
};

}  // namespace ymy::llm
