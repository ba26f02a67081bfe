#pragma once
// The structured outputs builtin agents hand to each other through
// TaskResult::output: the architecture (arch-001) and the schema (db-001).
// Later agents read the newest of each among their completed ancestors.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "executor/agent.hpp"
#include "model/catalog.hpp"

namespace ymy::agents {

struct ServicePlan {
  std::string id;      // catalog id, or a slug for a service made from a prompt feature
  std::string name;    // "Auth Service"
  std::string nodeId;  // "auth-service"
  std::string description;
  int port = 3000;
  bool issuesTokens = false;
  bool requiresAuth = true;
  std::vector<std::string> calls;   // nodeIds of services it calls
  std::vector<std::string> tables;  // tables it owns by default
};

struct Architecture {
  std::string target;
  std::vector<ServicePlan> services;
  std::vector<std::string> infrastructure;  // node ids of gateway, cache, queue, ...
  bool frontend = false;

  const ServicePlan* findById(const std::string& id) const;
  const ServicePlan* findByNodeId(const std::string& nodeId) const;
};

struct Schema {
  std::vector<Entity> tables;
  std::map<std::string, std::string> owner;  // table -> service nodeId
};

boost::json::object toJson(const Architecture& architecture);
boost::json::object toJson(const Schema& schema);

// The newest architecture / schema among the completed ancestors, if any.
std::optional<Architecture> findArchitecture(const executor::TaskContext& context);
std::optional<Schema> findSchema(const executor::TaskContext& context);
// The same schema with only the tables `owner` (a service nodeId) owns, and
// their owners: all a service's code is built from, for a fraction of the
// parsing.
std::optional<Schema> findSchemaOf(const executor::TaskContext& context, const std::string& owner);
// Only the outline of those tables: their names and their columns' names,
// without the rest of each column. Enough to know the routes a service gets
// (flow()), not to generate it; a few times cheaper to read.
std::optional<Schema> findSchemaOutlineOf(const executor::TaskContext& context, const std::string& owner);

}  // namespace ymy::agents
