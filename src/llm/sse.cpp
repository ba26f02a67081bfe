#include "llm/sse.hpp"

namespace ymy::llm {

bool SseParser::feed(std::string_view chunk) {
  for (char c : chunk) {
    if (lastWasCr_) {
      lastWasCr_ = false;
      if (c == '\n') continue;  // the \n of a \r\n
    }
    if (c == '\r' || c == '\n') {
      lastWasCr_ = c == '\r';
      std::string text;
      text.swap(line_);
      if (!line(text)) return false;
      continue;
    }
    line_.push_back(c);
  }
  return true;
}

bool SseParser::line(std::string_view text) {
  if (text.empty()) {  // a blank line dispatches the event
    if (!hasFields_) return true;
    SseEvent event = std::move(current_);
    current_ = {};
    hasFields_ = false;
    if (!event.data.empty() && event.data.back() == '\n') event.data.pop_back();
    return onEvent_(event);
  }
  if (text.front() == ':') return true;  // a comment (keep-alive)
  const auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    current_.data.append(value);
    current_.data.push_back('\n');
    hasFields_ = true;
  } else if (field == "event") {
    current_.event.assign(value);
    hasFields_ = true;
  } else if (field == "id") {
    current_.id.assign(value);
    hasFields_ = true;
  }
  return true;
}

}  // namespace ymy::llm
