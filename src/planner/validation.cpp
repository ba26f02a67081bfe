#include "planner/validation.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace ymy::planner {

std::vector<std::string> planProblems(const Plan& plan) {
  std::vector<std::string> problems;
  if (plan.tasks.empty()) problems.push_back("plan has no tasks");
  if (plan.tasks.size() > 200) problems.push_back("plan has " + std::to_string(plan.tasks.size()) + " tasks; the limit is 200");

  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    const auto& t = plan.tasks[i];
    std::string where = t.id.empty() ? "plan[" + std::to_string(i) + "]" : t.id;
    if (t.id.empty()) problems.push_back(where + ".id: must not be empty");
    if (!t.id.empty() && !index.emplace(t.id, i).second) problems.push_back(where + ".id: duplicate id");
    if (t.name.empty()) problems.push_back(where + ".name: must not be empty");
    if (t.prompt.find_first_not_of(" \t\r\n") == std::string::npos) problems.push_back(where + ".prompt: must not be empty");
    if (!isKnownAgent(t.agent)) {
      std::string known;
      for (auto a : knownAgents()) known += (known.empty() ? "" : ", ") + std::string(a);
      problems.push_back(where + ".agent: unknown agent '" + t.agent + "' (known: " + known + ")");
    }
    if (t.estimatedTime <= 0 || t.estimatedTime > 24 * 3600) {
      problems.push_back(where + ".estimatedTime: must be between 1 and 86400 seconds");
    }
  }
  for (const auto& t : plan.tasks) {
    std::unordered_set<std::string> seen;
    for (const auto& d : t.dependencies) {
      if (!seen.insert(d).second) problems.push_back(t.id + ".dependencies: '" + d + "' listed twice");
      if (d == t.id) {
        problems.push_back(t.id + ".dependencies: depends on itself (cycle " + t.id + " -> " + t.id + ")");
      } else if (!index.count(d)) {
        problems.push_back(t.id + ".dependencies: unknown task '" + d + "'");
      }
    }
  }
  if (!problems.empty()) return problems;

  // Cycle search by depth-first colouring; the reported cycle is the path on the stack.
  enum class Mark { kNone, kActive, kDone };
  std::vector<Mark> marks(plan.tasks.size(), Mark::kNone);
  std::vector<std::string> stack;
  std::function<bool(std::size_t)> visit = [&](std::size_t i) -> bool {
    marks[i] = Mark::kActive;
    stack.push_back(plan.tasks[i].id);
    for (const auto& d : plan.tasks[i].dependencies) {
      std::size_t j = index.at(d);
      if (marks[j] == Mark::kActive) {
        auto from = std::find(stack.begin(), stack.end(), d);
        std::string cycle;
        for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
        problems.push_back("dependency cycle: " + cycle + d);
        return true;
      }
      if (marks[j] == Mark::kNone && visit(j)) return true;
    }
    stack.pop_back();
    marks[i] = Mark::kDone;
    return false;
  };
  for (std::size_t i = 0; i < plan.tasks.size(); ++i) {
    if (marks[i] == Mark::kNone && visit(i)) break;
  }
  return problems;
}

Result<void> validatePlan(const Plan& plan) {
  auto problems = planProblems(plan);
  if (problems.empty()) return {};
  std::string message = "invalid plan: ";
  for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  return fail(ErrorCode::kInvalidPlan, message);
}

std::vector<std::string> topologicalOrder(const Plan& plan) {
  std::unordered_map<std::string, std::size_t> remaining;
  std::unordered_map<std::string, std::vector<std::string>> dependents;
  for (const auto& t : plan.tasks) {
    remaining[t.id] = t.dependencies.size();
    for (const auto& d : t.dependencies) dependents[d].push_back(t.id);
  }
  std::vector<std::string> order;
  for (const auto& t : plan.tasks) {
    if (t.dependencies.empty()) order.push_back(t.id);
  }
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (const auto& next : dependents[order[i]]) {
      if (--remaining[next] == 0) order.push_back(next);
    }
  }
  return order;
}

int criticalPathSeconds(const Plan& plan) {
  std::unordered_map<std::string, int> finish;
  int longest = 0;
  for (const auto& id : topologicalOrder(plan)) {
    const Task* t = plan.find(id);
    int start = 0;
    for (const auto& d : t->dependencies) start = std::max(start, finish[d]);
    finish[id] = start + t->estimatedTime;
    longest = std::max(longest, finish[id]);
  }
  return longest;
}

}  // namespace ymy::planner
