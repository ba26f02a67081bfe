#include "planner/validation.hpp"

#include <gtest/gtest.h>

#include "planner/planner.hpp"

namespace ymy::planner {
namespace {

Task task(std::string id, std::vector<std::string> deps, int time = 10) {
  Task t;
  t.id = std::move(id);
  t.name = "Task " + t.id;
  t.type = TaskType::kCodeGeneration;
  t.dependencies = std::move(deps);
  t.estimatedTime = time;
  t.agent = "code-001";
  t.prompt = "do " + t.id;
  return t;
}

TEST(Validation, AcceptsADag) {
  Plan p{{task("a", {}), task("b", {"a"}), task("c", {"a"}), task("d", {"b", "c"})}};
  EXPECT_TRUE(validatePlan(p));
  EXPECT_EQ(topologicalOrder(p), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(Validation, NamesTheCycle) {
  Plan p{{task("task_1", {"task_3"}), task("task_2", {"task_1"}), task("task_3", {"task_2"}), task("task_4", {})}};
  auto r = validatePlan(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidPlan);
  EXPECT_NE(r.error().message.find("dependency cycle: task_1 -> task_3 -> task_2 -> task_1"), std::string::npos)
      << r.error().message;
}

TEST(Validation, ReportsEveryProblemByTaskAndField) {
  Plan p{{task("a", {"a"}), task("a", {}), task("", {}), task("c", {"ghost", "ghost"})}};
  p.tasks[1].agent = "wizard-9";
  p.tasks[3].prompt = "  ";
  p.tasks[3].estimatedTime = 0;
  auto problems = planProblems(p);
  auto has = [&](const std::string& s) {
    return std::any_of(problems.begin(), problems.end(), [&](const auto& p) { return p.find(s) != std::string::npos; });
  };
  EXPECT_TRUE(has("a.id: duplicate id"));
  EXPECT_TRUE(has("plan[2].id: must not be empty"));
  EXPECT_TRUE(has("a.agent: unknown agent 'wizard-9'"));
  EXPECT_TRUE(has("c.prompt: must not be empty"));
  EXPECT_TRUE(has("c.estimatedTime: must be between 1 and 86400 seconds"));
  EXPECT_TRUE(has("c.dependencies: unknown task 'ghost'"));
  EXPECT_TRUE(has("c.dependencies: 'ghost' listed twice"));
  EXPECT_TRUE(has("a.dependencies: depends on itself (cycle a -> a)"));
}

TEST(Validation, EmptyPlanIsInvalid) { EXPECT_FALSE(validatePlan(Plan{})); }

TEST(Validation, CriticalPathIsTheLongestChain) {
  Plan p{{task("a", {}, 45), task("b", {"a"}, 30), task("c", {"b"}, 60), task("d", {"b"}, 50), task("e", {"c", "d"}, 40),
          task("f", {}, 70)}};
  EXPECT_EQ(criticalPathSeconds(p), 45 + 30 + 60 + 40);
}

TEST(Parallelism, DerivedFromTheGraph) {
  Plan p{{task("a", {}), task("b", {"a"}), task("c", {"b"}), task("x", {})}};
  p.tasks[2].isolation = Isolation::kFinal;
  deriveParallelism(p);
  EXPECT_EQ(p.tasks[0].isolation, Isolation::kIndependent);
  EXPECT_EQ(p.tasks[1].isolation, Isolation::kDependent);
  EXPECT_EQ(p.tasks[2].isolation, Isolation::kFinal);
  for (const auto& t : p.tasks) EXPECT_TRUE(t.canRunInParallel) << t.id;  // x overlaps everything
  Plan chain{{task("a", {}), task("b", {"a"})}};
  deriveParallelism(chain);
  EXPECT_FALSE(chain.tasks[0].canRunInParallel);
  EXPECT_FALSE(chain.tasks[1].canRunInParallel);
}

}  // namespace
}  // namespace ymy::planner
