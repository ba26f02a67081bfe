#include "planner/planner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "planner/plan_builder.hpp"
#include "planner/validation.hpp"

namespace ymy::planner {

Route chooseRoute(const IntentFrame& frame, double staticThreshold) {
  return frame.complexity < staticThreshold ? Route::kStatic : Route::kDynamic;
}

Result<PlanOutcome> makePlan(const PlanRequest& request) {
  const Route route = chooseRoute(request.frame, request.staticThreshold);
  PlanOutcome outcome;
  if (route == Route::kStatic) {
    outcome = detail::staticPlan(request);
  } else if (request.frame.intent == Intent::kBuildFromScratch || detail::hasServiceWork(request)) {
    outcome = detail::dynamicPlan(request);
  } else {
    // Several components at once but no new code to compose: the intent's
    // template covers each of them.
    outcome = detail::staticPlan(request);
    outcome.route = Route::kDynamic;
  }
  if (auto ok = validatePlan(outcome.plan); !ok) return tl::unexpected(ok.error());
  return outcome;
}

std::string Stack::describe() const { return backend + ", " + frontend + ", " + database; }

Stack stackFor(const std::vector<std::string>& preferences) {
  Stack stack;
  bool backendSet = false, frontendSet = false, databaseSet = false;
  static const std::unordered_map<std::string, std::string> kBackends = {
      {"Node.js", "Node.js + Express"}, {"Express", "Node.js + Express"}, {"NestJS", "Node.js + NestJS"},
      {"TypeScript", "Node.js + Express (TypeScript)"}, {"Go", "Go"}, {"Python", "Python + FastAPI"},
      {"Django", "Python + Django"}, {"FastAPI", "Python + FastAPI"}, {"Flask", "Python + Flask"},
      {"Java", "Java + Spring Boot"}, {"Spring Boot", "Java + Spring Boot"}, {"Kotlin", "Kotlin + Spring Boot"},
      {"Rust", "Rust + Axum"}, {"Ruby on Rails", "Ruby on Rails"}, {"Ruby", "Ruby on Rails"},
      {"PHP", "PHP + Laravel"}, {"Laravel", "PHP + Laravel"}, {".NET", "C# + ASP.NET Core"},
      {"Elixir", "Elixir + Phoenix"}, {"Phoenix", "Elixir + Phoenix"},
  };
  static const std::unordered_map<std::string, std::string> kFrontends = {
      {"React", "React"}, {"Next.js", "Next.js"}, {"Vue", "Vue"}, {"Angular", "Angular"},
      {"Svelte", "Svelte"}, {"Flutter", "Flutter"}, {"React Native", "React Native"},
  };
  static const std::vector<std::string> kDatabases = {"PostgreSQL", "MySQL",     "MariaDB", "MongoDB",
                                                      "SQLite",     "DynamoDB", "Cassandra"};
  for (const auto& p : preferences) {
    if (auto it = kBackends.find(p); it != kBackends.end() && !backendSet) {
      stack.backend = it->second;
      backendSet = true;
    } else if (auto f = kFrontends.find(p); f != kFrontends.end() && !frontendSet) {
      stack.frontend = f->second;
      frontendSet = true;
    } else if (std::find(kDatabases.begin(), kDatabases.end(), p) != kDatabases.end() && !databaseSet) {
      stack.database = p;
      databaseSet = true;
    }
  }
  return stack;
}

void deriveParallelism(Plan& plan) {
  const std::size_t n = plan.tasks.size();
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < n; ++i) index[plan.tasks[i].id] = i;
  // reach[i][j]: j is an ancestor of i (i transitively depends on j).
  std::vector<std::vector<bool>> reach(n, std::vector<bool>(n, false));
  for (const auto& id : topologicalOrder(plan)) {
    std::size_t i = index.at(id);
    for (const auto& d : plan.tasks[i].dependencies) {
      std::size_t j = index.at(d);
      reach[i][j] = true;
      for (std::size_t k = 0; k < n; ++k) {
        if (reach[j][k]) reach[i][k] = true;
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto& t = plan.tasks[i];
    if (t.isolation != Isolation::kFinal) {
      t.isolation = t.dependencies.empty() ? Isolation::kIndependent : Isolation::kDependent;
    }
    t.canRunInParallel = false;
    for (std::size_t j = 0; j < n && !t.canRunInParallel; ++j) {
      t.canRunInParallel = j != i && !reach[i][j] && !reach[j][i];
    }
  }
}

namespace detail {

std::string PlanBuilder::add(std::string name, std::string description, TaskType type, std::string_view agent,
                             int estimatedTime, std::string prompt, std::vector<std::string> dependencies,
                             bool final) {
  Task t;
  t.id = "task_" + std::to_string(plan_.tasks.size() + 1);
  t.name = std::move(name);
  t.description = std::move(description);
  t.type = type;
  t.agent = std::string(agent);
  t.estimatedTime = std::max(1, estimatedTime);
  t.prompt = std::move(prompt);
  t.dependencies = std::move(dependencies);
  t.isolation = final ? Isolation::kFinal : Isolation::kDependent;
  plan_.tasks.push_back(std::move(t));
  return plan_.tasks.back().id;
}

Plan PlanBuilder::finish() {
  deriveParallelism(plan_);
  return std::move(plan_);
}

std::string joinList(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  if (items.size() == 1) return items[0];
  if (items.size() == 2) return items[0] + " and " + items[1];
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += items[i];
    if (i + 2 < items.size()) out += ", ";
    if (i + 2 == items.size()) out += ", and ";
  }
  return out;
}

std::string humanize(std::string_view id) {
  std::string out(id);
  // Keep "e-commerce" whole; other hyphens become spaces.
  std::size_t keep = out.find("e-commerce");
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '-' && !(keep != std::string::npos && i == keep + 1)) out[i] = ' ';
  }
  return out;
}

std::string formatCount(double value) {
  char buf[64];
  if (value >= 1e9 && std::fmod(value, 1e8) == 0) {
    std::snprintf(buf, sizeof buf, "%g billion", value / 1e9);
  } else if (value >= 1e6 && std::fmod(value, 1e5) == 0) {
    std::snprintf(buf, sizeof buf, "%g million", value / 1e6);
  } else if (value == std::floor(value)) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f", value);
  }
  return buf;
}

std::string scaleClause(const Params& p) {
  std::vector<std::string> parts;
  if (p.users) parts.push_back(formatCount(*p.users) + " users");
  if (p.rps) parts.push_back(formatCount(*p.rps) + " RPS");
  if (p.connections) parts.push_back(formatCount(*p.connections) + " concurrent connections");
  std::string out;
  if (!parts.empty()) out += " Size it for " + joinList(parts) + ".";
  if (p.latencyMs) {
    out += " Keep " + std::string(p.percentile ? "p" + formatCount(*p.percentile) + " " : "") + "latency under " +
           formatCount(*p.latencyMs) + " ms.";
  }
  if (p.availability) out += " Target " + formatCount(*p.availability) + "% availability.";
  return out;
}

std::string describeConfig(const context::CanvasComponent& c) {
  std::string out;
  for (const auto& kv : c.config) {
    if (!out.empty()) out += ", ";
    out += std::string(kv.key()) + ": ";
    const auto& v = kv.value();
    if (v.is_string()) {
      out += std::string(v.get_string());
    } else if (v.is_int64()) {
      out += std::to_string(v.get_int64());
    } else if (v.is_uint64()) {
      out += std::to_string(v.get_uint64());
    } else if (v.is_double()) {
      out += formatCount(v.get_double());
    } else if (v.is_bool()) {
      out += v.get_bool() ? "true" : "false";
    } else {
      out += "(structured)";
    }
  }
  return out;
}

TargetInfo resolveTarget(const PlanRequest& request, std::string_view componentId) {
  TargetInfo info;
  info.component = componentId.empty() ? nullptr : request.catalog.find(componentId);
  if (info.component) {
    info.onCanvas = request.context.findComponent(info.component->id);
  }
  if (!info.onCanvas && !request.frame.target.empty()) {
    const auto* node = request.context.find(request.frame.target);
    if (node && (!info.component || node->component == info.component->id || node->component.empty())) {
      info.onCanvas = node;
    }
  }
  if (info.onCanvas) {
    info.nodeId = info.onCanvas->nodeId;
    info.label = info.onCanvas->label.empty() ? humanize(info.nodeId) : info.onCanvas->label;
  } else if (info.component) {
    info.nodeId = info.component->nodeId;
    info.label = info.component->name;
  } else {
    info.nodeId = request.frame.target.empty() ? "system" : request.frame.target;
    info.label = info.nodeId == "system" ? "the system" : humanize(info.nodeId);
  }
  return info;
}

}  // namespace detail
}  // namespace ymy::planner
