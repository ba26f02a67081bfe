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

// The whole schema, or with `onlyOwner` the tables that service owns (the
// others are not parsed: a dependent's flow() reads one service's tables).
Schema readSchema(const json::Reader& r, const std::string* onlyOwner = nullptr) {
  Schema s;
  if (auto owners = r.find("owners")) {
    for (const auto& kv : owners->object()) {
      if (!kv.value().is_string()) continue;
      std::string owner(kv.value().get_string());
      if (!onlyOwner || owner == *onlyOwner) s.owner[std::string(kv.key())] = std::move(owner);
    }
  }
  for (const auto& t : r.at("tables").items()) {
    if (onlyOwner) {
      const auto* table = t.value().if_object();
      const auto* name = table ? table->if_contains("name") : nullptr;
      if (name && name->is_string() && !s.owner.count(std::string(name->get_string()))) continue;
    }
    auto e = entityFromJson(t.value(), t.path());
    if (!e) t.fail(e.error().message);
    s.tables.push_back(std::move(*e));
  }
  return s;
}

// The outline of the tables `owner` owns: names and column names, read
// straight from the JSON (no field paths, no validation of the rest).
Schema readSchemaOutline(const boost::json::value& value, const std::string& owner) {
  Schema s;
  const auto* schema = value.if_object();
  if (!schema) return s;
  if (const auto* owners = schema->if_contains("owners"); owners && owners->is_object()) {
    for (const auto& kv : owners->get_object()) {
      if (kv.value().is_string() && kv.value().get_string() == owner) s.owner[std::string(kv.key())] = owner;
    }
  }
  const auto* tables = schema->if_contains("tables");
  if (!tables || !tables->is_array()) return s;
  for (const auto& t : tables->get_array()) {
    const auto* table = t.if_object();
    const auto* name = table ? table->if_contains("name") : nullptr;
    if (!name || !name->is_string() || !s.owner.count(std::string(name->get_string()))) continue;
    Entity e;
    e.name = std::string(name->get_string());
    if (const auto* columns = table->if_contains("columns"); columns && columns->is_array()) {
      for (const auto& c : columns->get_array()) {
        const auto* column = c.if_object();
        const auto* columnName = column ? column->if_contains("name") : nullptr;
        if (!columnName || !columnName->is_string()) continue;
        Column col;
        col.name = std::string(columnName->get_string());
        e.columns.push_back(std::move(col));
      }
    }
    s.tables.push_back(std::move(e));
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
  return newest<Schema>(context, "schema", [](const json::Reader& r) { return readSchema(r); });
}

std::optional<Schema> findSchemaOf(const executor::TaskContext& context, const std::string& owner) {
  return newest<Schema>(context, "schema", [&](const json::Reader& r) { return readSchema(r, &owner); });
}

std::optional<Schema> findSchemaOutlineOf(const executor::TaskContext& context, const std::string& owner) {
  return newest<Schema>(context, "schema", [&](const json::Reader& r) { return readSchemaOutline(r.value(), owner); });
}

}  // namespace ymy::agents
