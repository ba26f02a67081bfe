#include "model/summary.hpp"

#include <boost/json/object.hpp>

namespace ymy {

boost::json::object toJson(const LlmStageUsage& u) {
  boost::json::object out{{"stage", u.stage},
                          {"provider", u.provider},
                          {"model", u.model},
                          {"calls", u.calls},
                          {"promptTokens", u.promptTokens},
                          {"completionTokens", u.completionTokens}};
  if (u.costUsd) out["costUsd"] = *u.costUsd;
  return out;
}

std::optional<LlmStageUsage> llmStageUsageFromJson(const boost::json::value& value) {
  const auto* o = value.if_object();
  if (!o) return std::nullopt;
  auto text = [&](const char* key) {
    const auto* v = o->if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  auto number = [&](const char* key) -> std::optional<double> {
    const auto* v = o->if_contains(key);
    return v && v->is_number() ? std::optional<double>(v->to_number<double>()) : std::nullopt;
  };
  if (!number("promptTokens") || !number("completionTokens")) return std::nullopt;
  LlmStageUsage u;
  u.stage = text("stage");
  u.provider = text("provider");
  u.model = text("model");
  u.calls = static_cast<int>(number("calls").value_or(0));
  u.promptTokens = static_cast<std::int64_t>(*number("promptTokens"));
  u.completionTokens = static_cast<std::int64_t>(*number("completionTokens"));
  u.costUsd = number("costUsd");
  return u;
}

boost::json::object toJsonFields(const ExecutionSummary& s) {
  boost::json::array next;
  for (const auto& n : s.nextSteps) next.emplace_back(n);
  boost::json::array failures;
  for (const auto& f : s.failures) {
    failures.push_back(boost::json::object{{"taskId", f.taskId}, {"name", f.name}, {"error", f.error}});
  }
  boost::json::object out{
      {"totalTime", s.totalTimeMs},
      {"tasksCompleted", s.tasksCompleted},
      {"success", s.success},
      {"canvasChanges",
       {{"componentsAdded", s.canvasChanges.componentsAdded},
        {"componentsUpdated", s.canvasChanges.componentsUpdated},
        {"connectionsCreated", s.canvasChanges.connectionsCreated},
        {"nodesGenerated", s.canvasChanges.nodesGenerated}}},
      {"codeGeneration",
       {{"filesGenerated", s.codeGeneration.filesGenerated},
        {"linesOfCode", s.codeGeneration.linesOfCode},
        {"services", s.codeGeneration.services},
        {"components", s.codeGeneration.components}}},
      {"nextSteps", std::move(next)},
  };
  if (s.modifications > 0) {
    out["modifications"] = boost::json::object{
        {"count", s.modifications},
        {"regeneratedTasks", boost::json::array(s.regeneratedTasks.begin(), s.regeneratedTasks.end())},
        {"keptTasks", boost::json::array(s.keptTasks.begin(), s.keptTasks.end())}};
  }
  if (!s.llm.empty()) {
    std::int64_t prompt = 0, completion = 0;
    std::optional<double> cost = 0.0;
    boost::json::array stages;
    for (const auto& u : s.llm) {
      prompt += u.promptTokens;
      completion += u.completionTokens;
      cost = cost && u.costUsd ? std::optional<double>(*cost + *u.costUsd) : std::nullopt;
      stages.push_back(toJson(u));
    }
    boost::json::object llm{{"promptTokens", prompt}, {"completionTokens", completion}, {"model", s.llm.front().model}};
    if (cost) llm["costUsd"] = *cost;
    llm["stages"] = std::move(stages);
    out["llm"] = std::move(llm);
  }
  if (s.tasksFailed || s.tasksSkipped || s.tasksCancelled || s.cancelled) {
    out["tasksFailed"] = s.tasksFailed;
    out["tasksSkipped"] = s.tasksSkipped;
    out["tasksCancelled"] = s.tasksCancelled;
    out["cancelled"] = s.cancelled;
    out["failures"] = std::move(failures);
  }
  return out;
}

}  // namespace ymy
