#include "agents/design.hpp"

#include "model/json_io.hpp"

namespace ymy::agents {

const ServicePlan* Architecture::findById(const std::string& id) const {
  for (const auto& s : services) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const ServicePlan* Architecture::findByNodeId(const std::string& nodeId) const {
  for (const auto& s : services) {
    if (s.nodeId == nodeId) return &s;
  }
  return nullptr;
}

boost::json::object toJson(const Architecture& a) {
  boost::json::array services;
  for (const auto& s : a.services) {
    services.push_back(boost::json::object{
        {"id", s.id},
        {"name", s.name},
        {"nodeId", s.nodeId},
        {"description", s.description},
        {"port", s.port},
        {"issuesTokens", s.issuesTokens},
        {"requiresAuth", s.requiresAuth},
        {"calls", boost::json::array(s.calls.begin(), s.calls.end())},
        {"tables", boost::json::array(s.tables.begin(), s.tables.end())},
    });
  }
  return boost::json::object{
      {"target", a.target},
      {"services", std::move(services)},
      {"infrastructure", boost::json::array(a.infrastructure.begin(), a.infrastructure.end())},
      {"frontend", a.frontend},
  };
}

boost::json::object toJson(const Schema& s) {
  boost::json::array tables;
  for (const auto& t : s.tables) tables.push_back(ymy::toJson(t));
  boost::json::object owners;
  for (const auto& [table, owner] : s.owner) owners[table] = owner;
  return boost::json::object{{"tables", std::move(tables)}, {"owners", std::move(owners)}};
}

namespace {

Architecture readArchitecture(const json::Reader& r) {
  Architecture a;
  a.target = r.strOr("target", "");
  for (const auto& s : r.at("services").items()) {
    ServicePlan p;
    p.id = s.at("id").str();
    p.name = s.at("name").str();
    p.nodeId = s.at("nodeId").str();
    p.description = s.strOr("description", "");
    p.port = static_cast<int>(s.numberOr("port", 3000));
    p.issuesTokens = s.booleanOr("issuesTokens", false);
    p.requiresAuth = s.booleanOr("requiresAuth", true);
    p.calls = s.stringsOr("calls");
    p.tables = s.stringsOr("tables");
    a.services.push_back(std::move(p));
  }
  a.infrastructure = r.stringsOr("infrastructure");
  a.frontend = r.booleanOr("frontend", false);
  return a;
}

Schema readSchema(const json::Reader& r) {
  Schema s;
  for (const auto& t : r.at("tables").items()) {
    auto e = entityFromJson(t.value(), t.path());
    if (!e) t.fail(e.error().message);
    s.tables.push_back(std::move(*e));
  }
  if (auto owners = r.find("owners")) {
    for (const auto& kv : owners->object()) {
      if (kv.value().is_string()) s.owner[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  return s;
}

template <class T, class Read>
std::optional<T> newest(const executor::TaskContext& context, const char* key, Read read) {
  std::optional<T> found;
  for (const auto& [task, result] : context.ancestors()) {
    auto it = result->output.find(key);
    if (it == result->output.end()) continue;
    auto parsed = json::guarded([&] { return read(json::Reader(it->value(), key)); });
    if (parsed) found = std::move(*parsed);  // ancestors come in plan order: later wins
  }
  return found;
}

}  // namespace

std::optional<Architecture> findArchitecture(const executor::TaskContext& context) {
  return newest<Architecture>(context, "architecture", readArchitecture);
}

std::optional<Schema> findSchema(const executor::TaskContext& context) {
  return newest<Schema>(context, "schema", readSchema);
}

}  // namespace ymy::agents
