#pragma once
// A plan is a DAG of tasks with exactly the spec's fields:
//   id, name, description, type, dependencies, estimatedTime, isolation,
//   agent, prompt, canRunInParallel

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy {

enum class TaskType { kArchitecture, kCodeGeneration, kTesting, kConfiguration, kAnalysis };

// INDEPENDENT: no dependencies; DEPENDENT: waits for other tasks;
// FINAL: the sink that integrates every generated service.
enum class Isolation { kIndependent, kDependent, kFinal };

enum class Route { kStatic, kDynamic };

std::string_view taskTypeName(TaskType type);
std::optional<TaskType> taskTypeFromName(std::string_view name);
std::string_view isolationName(Isolation isolation);
std::optional<Isolation> isolationFromName(std::string_view name);
std::string_view routeName(Route route);  // "STATIC", "DYNAMIC"

// Agents the builtin engine has. Plans from any source may only name these.
inline constexpr std::string_view kArchitectAgent = "arch-001";
inline constexpr std::string_view kDatabaseAgent = "db-001";
inline constexpr std::string_view kCodeAgent = "code-001";
inline constexpr std::string_view kTestAgent = "test-001";
inline constexpr std::string_view kCapacityAgent = "cap-001";
inline constexpr std::string_view kOpsAgent = "ops-001";
bool isKnownAgent(std::string_view agent);
const std::vector<std::string_view>& knownAgents();

struct Task {
  std::string id;
  std::string name;
  std::string description;
  TaskType type = TaskType::kArchitecture;
  std::vector<std::string> dependencies;
  int estimatedTime = 0;  // seconds
  Isolation isolation = Isolation::kIndependent;
  std::string agent;
  std::string prompt;
  bool canRunInParallel = false;
};

struct Plan {
  std::vector<Task> tasks;

  const Task* find(std::string_view id) const;
};

boost::json::value toJson(const Task& task);
boost::json::value toJson(const Plan& plan);  // a JSON array of tasks
// Parses the shape only (fields, types, enum names); graph rules are
// planner::validatePlan's job.
Result<Plan> planFromJson(const boost::json::value& value, std::string_view path = "plan");

}  // namespace ymy
