#pragma once
// The builtin engine's agents: real work from the catalog and the task's own
// prompt, no network.
//   arch-001  architecture and canvas updates; analysis reports
//   db-001    relational schema (SQL) and migrations
//   code-001  services, frontend and integration tests (Node.js + Express, React)
//   cap-001   capacity sizing for a target load
//   ops-001   deployment, load balancer and monitoring configuration
//   test-001  load, regression and benchmark tests

#include "capacity/capacity.hpp"
#include "codegen/codegen.hpp"
#include "executor/agent.hpp"
#include "intent/catalog_matcher.hpp"
#include "model/catalog.hpp"

namespace ymy::agents {

// Shared, read-only after construction; must outlive the agents.
struct AgentEnvironment {
  const Catalog& catalog;
  const intent::CatalogMatcher& matcher;
  const codegen::Generator& generator;
  const capacity::CapacityModel& capacity;
};

void registerBuiltinAgents(executor::AgentRegistry& registry, const AgentEnvironment& environment);

}  // namespace ymy::agents
