#include "model/plan.hpp"

#include <array>

#include "model/json_io.hpp"

namespace ymy {

namespace {
constexpr std::array<std::string_view, 5> kTaskTypeNames = {
    "ARCHITECTURE", "CODE_GENERATION", "TESTING", "CONFIGURATION", "ANALYSIS"};
constexpr std::array<std::string_view, 3> kIsolationNames = {"INDEPENDENT", "DEPENDENT", "FINAL"};

template <class Enum, std::size_t N>
std::optional<Enum> lookup(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

template <std::size_t N>
std::string joined(const std::array<std::string_view, N>& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}
}  // namespace

std::string_view taskTypeName(TaskType type) { return kTaskTypeNames[static_cast<std::size_t>(type)]; }
std::optional<TaskType> taskTypeFromName(std::string_view name) {
  return lookup<TaskType>(kTaskTypeNames, name);
}
std::string_view isolationName(Isolation isolation) {
  return kIsolationNames[static_cast<std::size_t>(isolation)];
}
std::optional<Isolation> isolationFromName(std::string_view name) {
  return lookup<Isolation>(kIsolationNames, name);
}
std::string_view routeName(Route route) { return route == Route::kStatic ? "STATIC" : "DYNAMIC"; }

const std::vector<std::string_view>& knownAgents() {
  static const std::vector<std::string_view> agents = {kArchitectAgent, kDatabaseAgent, kCodeAgent,
                                                       kTestAgent,      kCapacityAgent, kOpsAgent};
  return agents;
}

bool isKnownAgent(std::string_view agent) {
  for (auto a : knownAgents()) {
    if (a == agent) return true;
  }
  return false;
}

const Task* Plan::find(std::string_view id) const {
  for (const auto& t : tasks) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

boost::json::value toJson(const Task& t) {
  boost::json::array deps;
  for (const auto& d : t.dependencies) deps.emplace_back(d);
  return boost::json::object{
      {"id", t.id},
      {"name", t.name},
      {"description", t.description},
      {"type", taskTypeName(t.type)},
      {"dependencies", std::move(deps)},
      {"estimatedTime", t.estimatedTime},
      {"isolation", isolationName(t.isolation)},
      {"agent", t.agent},
      {"prompt", t.prompt},
      {"canRunInParallel", t.canRunInParallel},
  };
}

boost::json::value toJson(const Plan& plan) {
  boost::json::array out;
  for (const auto& t : plan.tasks) out.push_back(toJson(t));
  return out;
}

Result<Plan> planFromJson(const boost::json::value& value, std::string_view path) {
  return json::guarded([&] {
    json::Reader root(value, std::string(path));
    Plan plan;
    for (const auto& r : root.items()) {
      Task t;
      t.id = r.at("id").str();
      t.name = r.at("name").str();
      t.description = r.strOr("description", "");
      auto type = r.at("type").str();
      auto parsedType = taskTypeFromName(type);
      if (!parsedType) {
        r.at("type").fail("unknown task type '" + type + "' (expected one of " + joined(kTaskTypeNames) + ")");
      }
      t.type = *parsedType;
      t.dependencies = r.at("dependencies").strings();
      auto time = r.at("estimatedTime");
      t.estimatedTime = static_cast<int>(time.integer());
      auto isolation = r.strOr("isolation", "DEPENDENT");
      auto parsedIsolation = isolationFromName(isolation);
      if (!parsedIsolation) {
        r.at("isolation").fail("unknown isolation '" + isolation + "' (expected one of " +
                               joined(kIsolationNames) + ")");
      }
      t.isolation = *parsedIsolation;
      t.agent = r.at("agent").str();
      t.prompt = r.at("prompt").str();
      t.canRunInParallel = r.booleanOr("canRunInParallel", false);
      plan.tasks.push_back(std::move(t));
    }
    return plan;
  });
}

}  // namespace ymy
