#include "progress_view.hpp"

#include "model/json_io.hpp"

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <ostream>

namespace ymy::app {

namespace {
std::string str(const boost::json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end()) return "";
  if (it->value().is_string()) return std::string(it->value().get_string());
  return json::compact(it->value());
}

std::string seconds(std::int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

const char* icon(const std::string& status) {
  if (status == "running") return "~";
  if (status == "completed") return "+";
  if (status == "failed") return "x";
  if (status == "skipped") return "-";
  if (status == "cancelled") return "/";
  return ".";
}
}  // namespace

void JsonLinesView::publish(const Event& event) {
  std::lock_guard lock(mutex_);
  out_ << json::compact(toJson(event)) << '\n';
  out_.flush();
}

ProgressView::ProgressView(std::ostream& out, const Plan& plan, bool live) : out_(out), live_(live) {
  for (const auto& t : plan.tasks) {
    index_[t.id] = rows_.size();
    rows_.push_back(Row{t.id, t.name, t.agent, "pending", ""});
  }
}

void ProgressView::publish(const Event& e) {
  std::lock_guard lock(mutex_);
  if (!firstTs_) firstTs_ = e.ts;
  const auto& f = e.fields;
  auto row = index_.find(str(f, "taskId"));
  Row* r = row == index_.end() ? nullptr : &rows_[row->second];
  if (e.type == "taskStarted" && r) {
    r->status = "running";
    r->startedTs = e.ts;
  } else if ((e.type == "taskProgress" || e.type == "iterationProgress") && r) {
    r->progress = str(f, "progress");
  } else if (e.type == "iterationStarted" && r) {
    r->progress = "iteration " + str(f, "iteration") + ": " + str(f, "focus");
  } else if (e.type == "taskCompleted" && r) {
    r->status = "completed";
    r->finishedTs = e.ts;
    r->progress = str(f, "result");
  } else if ((e.type == "taskFailed" || e.type == "taskSkipped" || e.type == "taskCancelled") && r) {
    r->status = e.type == "taskFailed" ? "failed" : e.type == "taskSkipped" ? "skipped" : "cancelled";
    r->finishedTs = e.ts;
    r->progress = e.type == "taskFailed" ? str(f, "error") : str(f, "reason");
  } else if (e.type == "intentAnalyzed") {
    headline_ = str(f, "intent") + " -> " + str(f, "target");
  } else if (e.type == "planGenerated") {
    headline_ += " | " + str(f, "route") + " route, " + str(f, "taskCount") + " tasks, critical path " +
                 str(f, "criticalPath") + " s";
  }
  if (live_) {
    redraw(e.ts);
  } else {
    line(e);
  }
}

void ProgressView::line(const Event& e) {
  const auto& f = e.fields;
  std::string at = seconds(e.ts - firstTs_);
  std::string task = str(f, "taskId");
  if (e.type == "intentAnalyzed") {
    out_ << at << "  intent " << str(f, "intent") << ", target " << str(f, "target") << ", complexity "
         << str(f, "complexity") << "\n";
  } else if (e.type == "contextExtracted") {
    out_ << at << "  context: " << (f.at("isEmpty").as_bool() ? "empty canvas" : str(f, "components") + " components")
         << "\n";
  } else if (e.type == "llmFallback") {
    const std::string stage = str(f, "stage");
    const std::string who = str(f, "provider") + " (" + str(f, "model") + ")";
    if (stage == "agents") {
      out_ << at << "  " << str(f, "taskId") << ": " << who << " gave no usable files, using the builtin agent's: "
           << str(f, "reason") << "\n";
    } else {
      out_ << at << "  " << stage << ": " << who << " gave no " << stage << ", using the builtin one: "
           << str(f, "reason") << "\n";
    }
  } else if (e.type == "planGenerated") {
    std::string by;
    if (f.contains("repaired")) {
      by = ", by " + str(f, "planner") + (f.at("repaired").as_bool() ? " (repaired once)" : "");
    }
    out_ << at << "  plan: " << str(f, "taskCount") << " tasks, " << str(f, "route") << " route (" << str(f, "approach")
         << "), critical path " << str(f, "criticalPath") << " s" << by << "\n";
  } else if (e.type == "executionStarted") {
    out_ << at << "  started " << str(f, "parallelTasks") << " task(s) in parallel\n";
  } else if (e.type == "taskStarted") {
    out_ << at << "  " << task << " started   " << str(f, "name") << " (" << str(f, "agent") << ")\n";
  } else if (e.type == "taskProgress" || e.type == "iterationProgress") {
    out_ << at << "  " << task << " ...       " << str(f, "progress") << "\n";
  } else if (e.type == "iterationStarted") {
    out_ << at << "  " << task << " iteration " << str(f, "iteration") << ": " << str(f, "focus") << "\n";
  } else if (e.type == "taskCompleted") {
    out_ << at << "  " << task << " completed " << str(f, "result") << "\n";
  } else if (e.type == "taskFailed") {
    out_ << at << "  " << task << " FAILED    " << str(f, "error") << "\n";
  } else if (e.type == "taskSkipped" || e.type == "taskCancelled") {
    out_ << at << "  " << task << (e.type == "taskSkipped" ? " skipped   " : " cancelled ") << str(f, "reason") << "\n";
  } else if (e.type == "executionFailed") {
    out_ << at << "  execution failed: " << str(f, "reason") << "\n";
  } else if (e.type == "executionSummary") {
    out_ << at << "  done: " << str(f, "tasksCompleted") << " tasks completed, success " << str(f, "success") << "\n";
  }
  out_.flush();
}

void ProgressView::redraw(std::int64_t now) {
  if (drawn_ > 0) out_ << "\x1b[" << drawn_ << "F";
  int lines = 0;
  auto put = [&](const std::string& text) {
    out_ << "\x1b[2K" << text.substr(0, 150) << "\n";
    ++lines;
  };
  put(headline_);
  std::size_t done = 0;
  for (const auto& r : rows_) {
    if (r.status != "pending" && r.status != "running") ++done;
    std::int64_t elapsed = r.startedTs ? ((r.finishedTs ? r.finishedTs : now) - r.startedTs) : 0;
    char head[96];
    std::snprintf(head, sizeof head, " %s %-8s %-40.40s %-9s %s  ", icon(r.status), r.id.c_str(), r.name.c_str(),
                  r.status.c_str(), r.startedTs ? seconds(elapsed).c_str() : "       ");
    put(head + r.progress);
  }
  const int width = 40;
  int filled = rows_.empty() ? width : static_cast<int>(done * width / rows_.size());
  put(" [" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), ' ') +
      "] " + std::to_string(done) + "/" + std::to_string(rows_.size()) + " tasks  " + seconds(now - firstTs_));
  drawn_ = lines;
  out_.flush();
}

}  // namespace ymy::app
