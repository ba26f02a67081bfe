#include "model/summary.hpp"

#include <boost/json/object.hpp>

namespace ymy {

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
