#include "model/catalog.hpp"

#include <functional>
#include <set>

#include "model/json_io.hpp"

namespace ymy {

namespace {

Column readColumn(const json::Reader& r) {
  Column c;
  c.name = r.at("name").str();
  c.type = r.at("type").str();
  static const std::set<std::string> kTypes = {"uuid",    "text",    "integer",   "bigint",
                                               "decimal", "boolean", "timestamp", "json"};
  if (!kTypes.count(c.type)) r.at("type").fail("unknown column type '" + c.type + "'");
  c.primaryKey = r.booleanOr("primaryKey", false);
  c.unique = r.booleanOr("unique", false);
  c.nullable = r.booleanOr("nullable", false);
  c.defaultValue = r.strOr("default", "");
  c.references = r.strOr("references", "");
  return c;
}

Entity readEntity(const json::Reader& e) {
  Entity entity;
  entity.name = e.at("name").str();
  for (const auto& col : e.at("columns").items()) entity.columns.push_back(readColumn(col));
  if (auto idx = e.find("indexes")) {
    for (const auto& i : idx->items()) entity.indexes.push_back(i.strings());
  }
  return entity;
}

Component readComponent(const json::Reader& r) {
  Component c;
  c.id = r.at("id").str();
  c.name = r.at("name").str();
  c.nodeId = r.at("nodeId").str();
  c.nodeType = r.at("nodeType").str();
  auto kind = r.at("kind").str();
  if (kind == "service") {
    c.kind = ComponentKind::kService;
  } else if (kind == "infrastructure") {
    c.kind = ComponentKind::kInfrastructure;
  } else {
    r.at("kind").fail("expected 'service' or 'infrastructure', got '" + kind + "'");
  }
  c.synonyms = r.at("synonyms").strings();
  c.description = r.at("description").str();
  c.features = r.at("features").strings();
  c.dependsOn = r.at("dependsOn").strings();
  c.estimatedTime = static_cast<int>(r.at("estimatedTime").integer());
  c.workload = r.at("workload").str();
  for (const auto& e : r.at("entities").items()) c.entities.push_back(readEntity(e));
  for (const auto& e : r.at("endpoints").items()) {
    c.endpoints.push_back({e.at("method").str(), e.at("path").str(), e.strOr("summary", "")});
  }
  return c;
}

}  // namespace

boost::json::value toJson(const Entity& entity) {
  boost::json::array columns;
  for (const auto& c : entity.columns) {
    boost::json::object col{{"name", c.name}, {"type", c.type}};
    if (c.primaryKey) col["primaryKey"] = true;
    if (c.unique) col["unique"] = true;
    if (c.nullable) col["nullable"] = true;
    if (!c.defaultValue.empty()) col["default"] = c.defaultValue;
    if (!c.references.empty()) col["references"] = c.references;
    columns.push_back(std::move(col));
  }
  boost::json::array indexes;
  for (const auto& idx : entity.indexes) indexes.push_back(boost::json::array(idx.begin(), idx.end()));
  return boost::json::object{{"name", entity.name}, {"columns", std::move(columns)}, {"indexes", std::move(indexes)}};
}

Result<Entity> entityFromJson(const boost::json::value& value, std::string_view path) {
  return json::guarded([&] { return readEntity(json::Reader(value, std::string(path))); });
}

Result<Catalog> Catalog::fromJson(const boost::json::value& value) {
  return json::guarded([&]() -> Catalog {
    json::Reader root(value, "catalog");
    Catalog catalog;
    for (const auto& r : root.at("components").items()) {
      auto c = readComponent(r);
      if (!catalog.byId_.emplace(c.id, catalog.components_.size()).second) {
        r.at("id").fail("duplicate component id '" + c.id + "'");
      }
      catalog.components_.push_back(std::move(c));
    }
    for (const auto& r : root.at("domains").items()) {
      Domain d;
      d.id = r.at("id").str();
      d.target = r.at("target").str();
      d.synonyms = r.at("synonyms").strings();
      d.components = r.at("components").strings();
      for (const auto& id : d.components) {
        if (!catalog.find(id)) r.at("components").fail("unknown component '" + id + "'");
      }
      catalog.domains_.push_back(std::move(d));
    }

    // dependsOn must name known components and form a DAG.
    json::Reader components = root.at("components");
    enum class Mark { kNone, kVisiting, kDone };
    std::vector<Mark> marks(catalog.components_.size(), Mark::kNone);
    std::vector<std::string> stack;
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
      const auto& c = catalog.components_[i];
      marks[i] = Mark::kVisiting;
      stack.push_back(c.id);
      for (const auto& dep : c.dependsOn) {
        auto it = catalog.byId_.find(dep);
        if (it == catalog.byId_.end()) {
          components.fail("component '" + c.id + "' depends on unknown component '" + dep + "'");
        }
        if (marks[it->second] == Mark::kVisiting) {
          std::string cycle;
          bool in = false;
          for (const auto& s : stack) {
            in = in || s == dep;
            if (in) cycle += s + " -> ";
          }
          components.fail("dependsOn has a cycle: " + cycle + dep);
        }
        if (marks[it->second] == Mark::kNone) visit(it->second);
      }
      stack.pop_back();
      marks[i] = Mark::kDone;
    };
    for (std::size_t i = 0; i < catalog.components_.size(); ++i) {
      if (marks[i] == Mark::kNone) visit(i);
    }

    // A column may reference a table of its own component or of one it can reach.
    for (const auto& c : catalog.components_) {
      std::set<std::string> reachable;
      std::function<void(const Component&)> collect = [&](const Component& from) {
        for (const auto& e : from.entities) reachable.insert(e.name);
        for (const auto& dep : from.dependsOn) collect(*catalog.find(dep));
      };
      collect(c);
      for (const auto& e : c.entities) {
        for (const auto& col : e.columns) {
          if (col.references.empty()) continue;
          auto table = col.references.substr(0, col.references.find('.'));
          if (!reachable.count(table)) {
            components.fail("component '" + c.id + "' table '" + e.name + "' column '" + col.name +
                            "' references '" + col.references + "', which it cannot reach");
          }
        }
      }
    }
    return catalog;
  });
}

Result<Catalog> Catalog::load(const std::filesystem::path& path) {
  auto value = json::parseFile(path, "catalog file");
  if (!value) return tl::unexpected(value.error());
  return fromJson(*value);
}

const Component* Catalog::find(std::string_view id) const {
  auto it = byId_.find(std::string(id));
  return it == byId_.end() ? nullptr : &components_[it->second];
}

const Component* Catalog::findByNodeId(std::string_view nodeId) const {
  for (const auto& c : components_) {
    if (c.nodeId == nodeId) return &c;
  }
  return nullptr;
}

const Domain* Catalog::findDomain(std::string_view id) const {
  for (const auto& d : domains_) {
    if (d.id == id) return &d;
  }
  return nullptr;
}

}  // namespace ymy
