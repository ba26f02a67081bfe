#include "context/context.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <utility>

namespace ymy::context {

namespace {

// Whole-word aliases of stack choices, lowercased; multi-word aliases allowed.
const std::vector<std::pair<std::string, std::string>>& stackAliases() {
  static const std::vector<std::pair<std::string, std::string>> aliases = {
      {"node.js", "Node.js"}, {"nodejs", "Node.js"}, {"node", "Node.js"}, {"express", "Express"},
      {"nestjs", "NestJS"}, {"typescript", "TypeScript"}, {"javascript", "JavaScript"},
      {"react", "React"}, {"next.js", "Next.js"}, {"nextjs", "Next.js"}, {"vue", "Vue"},
      {"angular", "Angular"}, {"svelte", "Svelte"}, {"golang", "Go"}, {"go", "Go"},
      {"python", "Python"}, {"django", "Django"}, {"fastapi", "FastAPI"}, {"flask", "Flask"},
      {"java", "Java"}, {"spring boot", "Spring Boot"}, {"spring", "Spring Boot"}, {"kotlin", "Kotlin"},
      {"rust", "Rust"}, {"ruby on rails", "Ruby on Rails"}, {"rails", "Ruby on Rails"}, {"ruby", "Ruby"},
      {"php", "PHP"}, {"laravel", "Laravel"}, {".net", ".NET"}, {"dotnet", ".NET"}, {"c#", ".NET"},
      {"elixir", "Elixir"}, {"phoenix", "Phoenix"}, {"postgresql", "PostgreSQL"}, {"postgres", "PostgreSQL"},
      {"mysql", "MySQL"}, {"mariadb", "MariaDB"}, {"mongodb", "MongoDB"}, {"mongo", "MongoDB"},
      {"sqlite", "SQLite"}, {"dynamodb", "DynamoDB"}, {"cassandra", "Cassandra"}, {"redis", "Redis"},
      {"kafka", "Kafka"}, {"rabbitmq", "RabbitMQ"}, {"graphql", "GraphQL"}, {"grpc", "gRPC"},
      {"kubernetes", "Kubernetes"}, {"k8s", "Kubernetes"}, {"docker", "Docker"}, {"aws", "AWS"},
      {"gcp", "GCP"}, {"azure", "Azure"}, {"flutter", "Flutter"}, {"react native", "React Native"},
  };
  return aliases;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '.' || c == '#' || c == '+') {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  for (auto& w : out) {
    while (!w.empty() && w.back() == '.') w.pop_back();  // sentence full stops
  }
  return out;
}

}  // namespace

std::vector<std::string> detectStack(std::string_view text) {
  auto ws = words(text);
  std::vector<std::string> found;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    for (const auto& [alias, name] : stackAliases()) {
      auto parts = words(alias);
      if (parts.empty() || i + parts.size() > ws.size()) continue;
      bool match = true;
      for (std::size_t k = 0; match && k < parts.size(); ++k) match = ws[i + k] == parts[k];
      // "go" is a verb far more often than a language: only "in go", "using go", "with go".
      if (match && alias == "go") {
        match = i > 0 && (ws[i - 1] == "in" || ws[i - 1] == "using" || ws[i - 1] == "with" ||
                          ws[i - 1] == "on" || ws[i - 1] == "and");
      }
      if (match && alias == "node") match = i + 1 >= ws.size() || ws[i + 1] != "type";
      if (match) {
        if (std::find(found.begin(), found.end(), name) == found.end()) found.push_back(name);
        i += parts.size() - 1;
        break;
      }
    }
  }
  return found;
}

const CanvasComponent* Context::find(std::string_view nodeId) const {
  for (const auto& c : components) {
    if (c.nodeId == nodeId) return &c;
  }
  return nullptr;
}

const CanvasComponent* Context::findComponent(std::string_view catalogId) const {
  for (const auto& c : components) {
    if (c.component == catalogId) return &c;
  }
  return nullptr;
}

bool Context::hasNodeType(std::string_view type) const {
  return std::any_of(components.begin(), components.end(), [&](const auto& c) { return c.type == type; });
}

Context extractContextImpl(const Canvas* canvas, std::string_view request,
                           const std::vector<std::string>& explicitPreferences,
                           const std::vector<std::string>& nodeComponents) {
  Context ctx;
  for (const auto& p : explicitPreferences) {
    for (const auto& name : detectStack(p)) {
      if (std::find(ctx.userPreferences.begin(), ctx.userPreferences.end(), name) == ctx.userPreferences.end()) {
        ctx.userPreferences.push_back(name);
      }
    }
  }
  for (const auto& name : detectStack(request)) {
    if (std::find(ctx.userPreferences.begin(), ctx.userPreferences.end(), name) == ctx.userPreferences.end()) {
      ctx.userPreferences.push_back(name);
    }
  }
  if (!canvas || canvas->nodes.empty()) return ctx;

  ctx.empty = false;
  ctx.edgeCount = canvas->edges.size();
  for (std::size_t i = 0; i < canvas->nodes.size(); ++i) {
    const auto& node = canvas->nodes[i];
    CanvasComponent c;
    c.nodeId = node.id;
    c.type = node.type;
    c.label = node.label;
    c.component = i < nodeComponents.size() ? nodeComponents[i] : "";
    c.config = node.config;
    for (const auto& e : canvas->edges) {
      if (e.target == node.id) c.callers.push_back(e.source);
      if (e.source == node.id) c.callees.push_back(e.target);
    }
    ctx.components.push_back(std::move(c));
  }
  // A canvas of ~40 nodes and ~60 edges is as complex as designs here get.
  double nodes = static_cast<double>(canvas->nodes.size());
  double edges = static_cast<double>(canvas->edges.size());
  ctx.complexity = std::min(1.0, std::round((0.6 * nodes / 40.0 + 0.4 * edges / 60.0) * 100) / 100);
  return ctx;
}

boost::json::value toJson(const Context& ctx) {
  boost::json::array components;
  for (const auto& c : ctx.components) {
    boost::json::array callers(c.callers.begin(), c.callers.end());
    boost::json::array callees(c.callees.begin(), c.callees.end());
    components.push_back(boost::json::object{
        {"id", c.nodeId},
        {"type", c.type},
        {"label", c.label},
        {"component", c.component},
        {"config", c.config},
        {"callers", std::move(callers)},
        {"callees", std::move(callees)},
    });
  }
  boost::json::array prefs(ctx.userPreferences.begin(), ctx.userPreferences.end());
  return boost::json::object{
      {"type", ctx.empty ? "empty" : "existing"},
      {"components", std::move(components)},
      {"connections", ctx.edgeCount},
      {"user_preferences", std::move(prefs)},
      {"complexity", ctx.complexity},
  };
}

}  // namespace ymy::context
