#pragma once
// The component catalog: what the builtin engine knows about services and
// infrastructure (synonyms, tables, endpoints, dependencies) and about whole
// domains ("e-commerce" -> auth, catalog, cart, order, payment).
// Loaded once from data/catalog/catalog.json; immutable afterwards, so it is
// safe to share between threads.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy {

struct Column {
  std::string name;
  std::string type;  // uuid, text, integer, bigint, decimal, boolean, timestamp, json
  bool primaryKey = false;
  bool unique = false;
  bool nullable = false;
  std::string defaultValue;  // SQL literal, empty for none
  std::string references;    // "table.column", empty for none
};

struct Entity {
  std::string name;  // table name
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> indexes;
};

struct Endpoint {
  std::string method;
  std::string path;
  std::string summary;
};

enum class ComponentKind { kService, kInfrastructure };

struct Component {
  std::string id;
  std::string name;
  std::string nodeId;
  std::string nodeType;
  ComponentKind kind = ComponentKind::kService;
  std::vector<std::string> synonyms;
  std::string description;
  std::vector<std::string> features;
  std::vector<std::string> dependsOn;
  int estimatedTime = 0;
  std::string workload;
  std::vector<Entity> entities;
  std::vector<Endpoint> endpoints;

  bool isService() const { return kind == ComponentKind::kService; }
};

struct Domain {
  std::string id;
  std::string target;
  std::vector<std::string> synonyms;
  std::vector<std::string> components;
};

// Entities travel between agents as JSON (the schema agent's output).
boost::json::value toJson(const Entity& entity);
Result<Entity> entityFromJson(const boost::json::value& value, std::string_view path = "entity");

class Catalog {
 public:
  // Validates: unique ids, known dependsOn ids, dependsOn acyclic, references
  // to tables the component can reach, domain components known.
  static Result<Catalog> fromJson(const boost::json::value& value);
  static Result<Catalog> load(const std::filesystem::path& path);

  const std::vector<Component>& components() const { return components_; }
  const std::vector<Domain>& domains() const { return domains_; }
  const Component* find(std::string_view id) const;
  const Component* findByNodeId(std::string_view nodeId) const;
  const Domain* findDomain(std::string_view id) const;

 private:
  std::vector<Component> components_;
  std::vector<Domain> domains_;
  std::unordered_map<std::string, std::size_t> byId_;
};

}  // namespace ymy
