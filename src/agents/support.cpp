#include "agents/support.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "intent/requested_items.hpp"

namespace ymy::agents::detail {

bool isServiceNode(const CanvasNode& node) {
  static constexpr std::string_view kInfrastructure[] = {"database", "cache",   "queue",      "storage",  "search",
                                                         "cdn",      "gateway", "frontend",   "monitoring",
                                                         "load_balancer"};
  return std::find(std::begin(kInfrastructure), std::end(kInfrastructure), node.type) == std::end(kInfrastructure);
}

const CanvasNode* canvasNodeFor(const AgentEnvironment& env, const Canvas& canvas, const Component& c) {
  for (const auto& n : canvas.nodes) {
    const auto* declared = n.config.if_contains("component");
    if (n.id == c.nodeId || (declared && declared->is_string() && declared->get_string() == c.id) ||
        env.matcher.componentOf(n.label) == c.id || env.matcher.componentOf(n.id) == c.id) {
      return &n;
    }
  }
  return nullptr;
}

std::string slug(std::string_view text) {
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "item" : out;
}

std::string titleCase(std::string_view text) {
  std::string out(text);
  bool start = true;
  for (auto& ch : out) {
    auto c = static_cast<unsigned char>(ch);
    if (start && std::isalpha(c)) ch = static_cast<char>(std::toupper(c));
    start = ch == ' ' || ch == '-' || ch == '_';
  }
  return out;
}

bool containsWord(std::string_view haystack, std::string_view needle) {
  auto same = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), same) != haystack.end();
}

bool step(executor::TaskContext& ctx, std::string text, double fraction) {
  ctx.progress(std::move(text));
  return ctx.simulateWork(fraction);
}

PromptServices servicesInPrompt(const AgentEnvironment& env, std::string_view prompt) {
  PromptServices out;
  // The first sentence says what to build; the rest are instructions
  // ("Include database design, API structure, ...").
  auto end = prompt.find(". ");
  auto items = intent::findRequestedItems(prompt.substr(0, end), env.matcher, env.catalog);
  std::set<std::string> seen;
  for (const auto& [pos, id] : items.components) {
    if (!seen.insert(id).second) continue;
    const auto* c = env.catalog.find(id);
    (c->isService() ? out.services : out.infrastructure).push_back(c);
  }
  out.features = items.features;
  return out;
}

std::string codeStackFor(const std::vector<std::string>& preferences) {
  // The backends planner::stackFor knows, so the plan's stated stack and the
  // generated code agree on which preference wins.
  static const std::set<std::string> kPython = {"Python", "FastAPI", "Django", "Flask"};
  static const std::set<std::string> kOtherBackends = {
      "Node.js", "Express",       "NestJS", "TypeScript", "Go",      "Java", "Spring Boot", "Kotlin",
      "Rust",    "Ruby on Rails", "Ruby",   "PHP",        "Laravel", ".NET", "Elixir",      "Phoenix"};
  for (const auto& p : preferences) {
    if (kPython.count(p)) return codegen::kPythonFastapi;
    if (kOtherBackends.count(p)) return codegen::kNodeExpress;
  }
  return codegen::kNodeExpress;
}

codegen::ServiceSpec serviceSpec(const AgentEnvironment& env, const ServicePlan& plan, const Schema* schema,
                                 const std::vector<std::string>& preferences) {
  codegen::ServiceSpec spec;
  spec.stack = codeStackFor(preferences);
  spec.id = plan.id;
  spec.name = plan.name;
  spec.nodeId = plan.nodeId;
  spec.description = plan.description;
  spec.port = plan.port;
  spec.calls = plan.calls;
  spec.issuesTokens = plan.issuesTokens;
  spec.requiresAuth = plan.requiresAuth;
  const Component* component = env.catalog.find(plan.id);
  if (component) spec.endpoints = component->endpoints;
  if (schema) {
    for (const auto& t : schema->tables) {
      auto it = schema->owner.find(t.name);
      if (it != schema->owner.end() && it->second == plan.nodeId) spec.entities.push_back(t);
    }
  }
  if (spec.entities.empty()) {
    if (component) {
      spec.entities = component->entities;
    } else {
      for (const auto& table : plan.tables) spec.entities.push_back(codegen::synthesizeEntity(table, false));
    }
  }
  return spec;
}

Architecture fallbackArchitecture(const AgentEnvironment& env, const executor::ExecutionInput& input) {
  Architecture a;
  a.target = input.frame.target;
  std::vector<std::string> ids;
  for (const auto& node : input.baseCanvas.nodes) {
    if (node.type != "service") continue;
    auto id = env.matcher.componentOf(node.label);
    if (id.empty()) id = env.matcher.componentOf(node.id);
    if (!id.empty()) ids.push_back(id);
  }
  for (const auto& id : input.frame.components) ids.push_back(id);
  int port = 3001;
  for (const auto& id : ids) {
    const auto* c = env.catalog.find(id);
    if (!c || !c->isService() || a.findById(id)) continue;
    ServicePlan p;
    p.id = c->id;
    p.name = c->name;
    p.nodeId = c->nodeId;
    if (const auto* node = input.baseCanvas.findNode(c->nodeId); !node) {
      for (const auto& n : input.baseCanvas.nodes) {
        if (env.matcher.componentOf(n.label) == id) p.nodeId = n.id;
      }
    }
    p.description = c->description;
    p.port = port++;
    p.issuesTokens = c->id == "auth";
    p.requiresAuth = !p.issuesTokens;
    for (const auto& e : c->entities) p.tables.push_back(e.name);
    a.services.push_back(std::move(p));
  }
  return a;
}

Architecture architectureFor(const AgentEnvironment& env, const executor::TaskContext& context) {
  auto found = findArchitecture(context);
  return found ? std::move(*found) : fallbackArchitecture(env, context.input());
}

std::string targetNode(const executor::ExecutionInput& input) {
  return input.frame.target.empty() ? "system" : input.frame.target;
}

double targetRps(const executor::ExecutionInput& input) {
  const auto& p = input.frame.params;
  if (p.rps) return *p.rps;
  if (p.users) return *p.users * 0.0005;  // ~0.05% of users active in the same second at peak
  if (p.connections) return *p.connections * 0.1;
  return 1000;
}

std::optional<boost::json::object> capacityOf(const executor::TaskContext& ctx) {
  std::optional<boost::json::object> found;
  for (const auto& [task, result] : ctx.ancestors()) {
    auto it = result->output.find("capacity");
    if (it != result->output.end() && it->value().is_object()) found = it->value().get_object();
  }
  return found;
}

}  // namespace ymy::agents::detail
