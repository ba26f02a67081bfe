#pragma once
// How `youmeyou design` shows a run: the raw event stream (--json), plain
// lines (not a terminal), or a live view redrawn in place (a terminal).

#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "executor/executor.hpp"

namespace ymy::app {

// One JSON object per line, exactly the events.
class JsonLinesView final : public executor::EventSink {
 public:
  explicit JsonLinesView(std::ostream& out) : out_(out) {}
  void publish(const Event& event) override;

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

// A line per event for logs and pipes; or, with `live`, one line per task and
// a progress bar redrawn in place with ANSI escapes.
class ProgressView final : public executor::EventSink {
 public:
  ProgressView(std::ostream& out, const Plan& plan, bool live);
  void publish(const Event& event) override;

 private:
  struct Row {
    std::string id, name, agent, status = "pending", progress;
    std::int64_t startedTs = 0, finishedTs = 0;
  };
  void line(const Event& e);
  void redraw(std::int64_t now);

  std::mutex mutex_;
  std::ostream& out_;
  const bool live_;
  std::vector<Row> rows_;
  std::map<std::string, std::size_t> index_;
  std::int64_t firstTs_ = 0;
  int drawn_ = 0;
  std::string headline_;
};

}  // namespace ymy::app
