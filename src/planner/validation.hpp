#pragma once
// Plan validation, used on every plan from any source (builtin planner, LLM,
// a file): unique non-empty ids, known dependencies, known agents and types,
// positive time estimates, non-empty prompts, and no cycle (the error names it).

#include <string>
#include <vector>

#include "model/error.hpp"
#include "model/plan.hpp"

namespace ymy::planner {

// All problems found, each naming the task and field ("task_3.dependencies:
// unknown task 'task_9'"); empty when the plan is valid.
std::vector<std::string> planProblems(const Plan& plan);

// kInvalidPlan with every problem joined by "; ".
Result<void> validatePlan(const Plan& plan);

// Ids in an order where every task comes after its dependencies; the plan must
// be valid.
std::vector<std::string> topologicalOrder(const Plan& plan);

// Sum of estimatedTime along the longest dependency chain, in seconds.
int criticalPathSeconds(const Plan& plan);

}  // namespace ymy::planner
