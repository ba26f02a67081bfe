// The DYNAMIC path: compose a DAG from the catalog. For a build this is the
// spec's Example 1 shape: architecture -> schema -> one code task per service
// (ordered by the services' own dependencies) -> integration tests, with the
// frontend starting at once beside the architecture. For other intents routed
// here (several components at once), the same shape integrates them into the
// existing design.

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <unordered_map>

#include "planner/plan_builder.hpp"

namespace ymy::planner::detail {

namespace {

// A unit of generated code: a catalog service or a feature the catalog does
// not know ("loyalty points"), which becomes a small service of its own.
struct ServiceUnit {
  std::string name;        // "Auth Service", "Loyalty Points Service"
  std::string key;         // catalog id or feature slug
  const Component* component = nullptr;
  std::vector<std::string> dependsOn;  // keys of other units
  std::size_t mention = 0;
};

std::string titleCase(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (auto& c : out) {
    if (start && std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(std::toupper(c));
    start = c == ' ' || c == '-';
  }
  return out;
}

// "Product Catalog Service" -> "product catalog service", keeping acronyms
// and brands as written ("JWT tokens", "Stripe" stays capitalised only when
// the whole word is an acronym).
std::string lowerFirstWordsOf(const std::string& name) {
  std::string out = name;
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t end = out.find(' ', start);
    if (end == std::string::npos) end = out.size();
    bool acronym = end - start > 1 && std::all_of(out.begin() + static_cast<long>(start), out.begin() + static_cast<long>(end),
                                                  [](char c) { return !std::islower(static_cast<unsigned char>(c)); });
    if (!acronym) out[start] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[start])));
    start = end + 1;
  }
  return out;
}

std::vector<ServiceUnit> serviceUnits(const PlanRequest& request) {
  const auto& frame = request.frame;
  std::vector<ServiceUnit> units;
  std::set<std::string> requested;
  for (const auto& id : frame.components) {
    const auto* c = request.catalog.find(id);
    if (c && c->isService()) requested.insert(id);
  }
  for (const auto& id : frame.components) {
    if (!requested.count(id)) continue;
    const auto* c = request.catalog.find(id);
    ServiceUnit u;
    u.name = c->name;
    u.key = c->id;
    u.component = c;
    u.mention = units.size();
    // Nearest requested ancestors through dependsOn: cart -> {auth, catalog}.
    std::set<std::string> visited;
    std::function<void(const Component&)> walk = [&](const Component& from) {
      for (const auto& dep : from.dependsOn) {
        if (!visited.insert(dep).second) continue;
        if (requested.count(dep)) {
          if (std::find(u.dependsOn.begin(), u.dependsOn.end(), dep) == u.dependsOn.end()) u.dependsOn.push_back(dep);
        } else if (const auto* next = request.catalog.find(dep)) {
          walk(*next);
        }
      }
    };
    walk(*c);
    units.push_back(std::move(u));
  }
  for (const auto& feature : frame.features) {
    ServiceUnit u;
    u.name = titleCase(feature) + " Service";
    u.key = "feature:" + feature;
    u.mention = units.size();
    if (requested.count("auth")) u.dependsOn.push_back("auth");
    units.push_back(std::move(u));
  }
  if (units.empty()) {
    // Nothing the catalog or the request names: one core service for the target.
    ServiceUnit u;
    u.name = "Core API Service";
    u.key = "feature:core";
    units.push_back(std::move(u));
  }
  // Order: dependencies first, otherwise order of mention (Kahn with priority).
  std::vector<ServiceUnit> ordered;
  std::set<std::string> placed;
  while (ordered.size() < units.size()) {
    bool progressed = false;
    for (const auto& u : units) {
      if (placed.count(u.key)) continue;
      bool ready = std::all_of(u.dependsOn.begin(), u.dependsOn.end(), [&](const auto& d) { return placed.count(d) > 0; });
      if (ready) {
        ordered.push_back(u);
        placed.insert(u.key);
        progressed = true;
        break;
      }
    }
    if (!progressed) break;  // the catalog is acyclic (checked at load), so this cannot happen
  }
  return ordered;
}

std::string codePrompt(const ServiceUnit& u, const std::vector<ServiceUnit>& units, const Stack& stack,
                       const std::string& targetText, bool authPresent) {
  std::string prompt;
  if (u.component) {
    prompt = "Generate the " + lowerFirstWordsOf(u.name) + " for " + targetText + " with " +
             joinList(u.component->features) + ".";
    if (!u.component->endpoints.empty()) {
      std::vector<std::string> endpoints;
      for (const auto& e : u.component->endpoints) endpoints.push_back(e.method + " " + e.path);
      prompt += " Expose " + joinList(endpoints) + ".";
    }
  } else {
    std::string feature = u.key.substr(std::string("feature:").size());
    if (feature == "core") {
      prompt = "Generate the core API service for " + targetText +
               " with CRUD endpoints for its main resources, pagination, and input validation.";
    } else {
      prompt = "Generate a " + lowerFirstWordsOf(u.name) + " for " + targetText + " that stores " + feature +
               " records, with create, read, update, and delete endpoints and input validation.";
    }
  }
  std::vector<std::string> deps;
  for (const auto& d : u.dependsOn) {
    for (const auto& other : units) {
      if (other.key == d) deps.push_back(lowerFirstWordsOf(other.name));
    }
  }
  if (!deps.empty()) prompt += " Integrate with the " + joinList(deps) + ".";
  prompt += " Include database models, routes and controllers with input validation";
  if (authPresent && u.key != "auth") prompt += ", JWT authentication middleware";
  prompt += ", and unit tests. Stack: " + stack.backend + " with " + stack.database + ".";
  return prompt;
}

}  // namespace

PlanOutcome dynamicPlan(const PlanRequest& request) {
  const auto& frame = request.frame;
  const bool build = frame.intent == Intent::kBuildFromScratch;
  const Stack stack = stackFor(request.context.userPreferences);
  const auto units = serviceUnits(request);
  const int n = static_cast<int>(std::min<std::size_t>(units.size(), 8));
  const std::string targetText = build ? humanize(frame.target) : "the existing design";
  bool authPresent = std::any_of(units.begin(), units.end(), [](const auto& u) { return u.key == "auth"; }) ||
                     request.context.hasComponent("auth");

  std::vector<std::string> serviceNames, infraNames, entityNames;
  for (const auto& u : units) serviceNames.push_back(lowerFirstWordsOf(u.name));
  for (const auto& id : frame.components) {
    const auto* c = request.catalog.find(id);
    if (c && !c->isService()) infraNames.push_back(lowerFirstWordsOf(c->name));
  }
  for (const auto& u : units) {
    if (u.component) {
      for (const auto& e : u.component->entities) entityNames.push_back(e.name);
    } else if (u.key != "feature:core") {
      entityNames.push_back(u.key.substr(8));
    }
  }

  PlanBuilder b;
  std::string archPrompt =
      build ? "Design microservices architecture for " + targetText + " with " + joinList(serviceNames)
            : "Update the existing architecture (" + std::to_string(request.context.components.size()) +
                  " components) to add " + joinList(serviceNames);
  if (!infraNames.empty()) archPrompt += ", using " + joinList(infraNames);
  archPrompt += ". Include database design, API structure, and scalability considerations." + scaleClause(frame.params);
  if (!request.context.userPreferences.empty()) archPrompt += " Stack: " + stack.describe() + ".";
  std::string arch = b.add(build ? "Architecture Design" : "Architecture Update",
                           build ? "Design overall system architecture and microservices structure"
                                 : "Fit the new services into the existing architecture",
                           TaskType::kArchitecture, kArchitectAgent, 25 + 5 * n, archPrompt);

  std::string schema = b.add(
      build ? "Database Schema Design" : "Database Schema Changes",
      build ? "Design database schemas for all entities" : "Design the tables the new services need",
      TaskType::kArchitecture, kDatabaseAgent, 10 + 5 * n,
      "Create comprehensive database schema for " + targetText + " including " + joinList(entityNames) +
          ". Include relationships, indexes, and constraints for " + stack.database + ".",
      {arch});

  std::unordered_map<std::string, std::string> taskOf;  // unit key -> task id
  std::vector<std::string> codeTasks;
  for (const auto& u : units) {
    std::vector<std::string> deps;
    for (const auto& d : u.dependsOn) deps.push_back(taskOf.at(d));
    if (deps.empty()) deps.push_back(schema);
    std::string description = u.component ? u.component->description : "Service for " + u.key.substr(8);
    int time = u.component ? u.component->estimatedTime : 45;
    std::string name = u.name + (u.name.ends_with("Service") ? " Implementation" : " Service");
    auto id = b.add(name, description, TaskType::kCodeGeneration, kCodeAgent, time,
                    codePrompt(u, units, stack, targetText, authPresent), deps);
    taskOf[u.key] = id;
    codeTasks.push_back(id);
  }

  bool wantsFrontend = build || std::find(frame.components.begin(), frame.components.end(), "frontend") != frame.components.end();
  if (wantsFrontend) {
    std::vector<std::string> screens;
    for (const auto& u : units) {
      std::string s = u.name;
      if (s.ends_with(" Service")) s.resize(s.size() - 8);
      screens.push_back(lowerFirstWordsOf(s));
    }
    b.add("Frontend " + stack.frontend + " Components", "Generate " + stack.frontend + " frontend components",
          TaskType::kCodeGeneration, kCodeAgent, 40 + static_cast<int>(std::lround(7.5 * n)),
          "Generate " + stack.frontend + " components for the " + targetText + " frontend including " +
              joinList(screens) + " views, navigation, API client, and form validation.");
  }

  b.add(build ? "API Integration & Testing" : "Integration Testing", "Generate API integration and test suites",
        TaskType::kTesting, kCodeAgent, 15 + 5 * n,
        "Generate API integration layer, test suites for the " + joinList(serviceNames) +
            ", and end-to-end testing scenarios across them.",
        codeTasks, /*final=*/true);

  PlanOutcome outcome;
  outcome.route = Route::kDynamic;
  outcome.approach = "dynamic-dag";
  outcome.plan = b.finish();
  return outcome;
}

}  // namespace ymy::planner::detail

namespace ymy::planner::detail {

bool hasServiceWork(const PlanRequest& request) {
  if (request.frame.intent != Intent::kAddComponent) return false;
  if (!request.frame.features.empty()) return true;
  return std::any_of(request.frame.components.begin(), request.frame.components.end(), [&](const auto& id) {
    const auto* c = request.catalog.find(id);
    return c && c->isService();
  });
}

}  // namespace ymy::planner::detail
