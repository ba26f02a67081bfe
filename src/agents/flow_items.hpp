#pragma once
// The names of what flows between the builtin agents' tasks (executor::TaskFlow
// items), in one place so producers and consumers agree:
//
//   service:<nodeId>                   a service of the architecture (arch-001)
//   table:<ownerNodeId>/<table>        a table and the service owning it (db-001)
//   api:<nodeId>/<METHOD> <path>       an endpoint of a generated service (code-001)
//   code:<nodeId>                      a service's generated code or change plan (code-001)
//   frontend, tests                    the React app, the integration tests (code-001)
//   capacity:<target>                  a capacity sizing (cap-001)
//   deploy                             deployment and monitoring configuration (ops-001)
//   tests:load, tests:regression       load and regression tests (test-001)
//   findings:<target>                  an analysis report (arch-001; nothing consumes it)
//
// A consumed item matches itself, and one ending in ':' or '/' matches every
// item under it, so the "any" forms below ("table:", "api:<nodeId>/") cover a
// whole family while "service:cart" does not cover "service:cart-v2".

#include <set>
#include <string>
#include <string_view>

#include "codegen/codegen.hpp"

namespace ymy::agents::flow {

inline constexpr std::string_view kAnyService = "service:";
inline constexpr std::string_view kAnyTable = "table:";
inline constexpr std::string_view kAnyApi = "api:";
inline constexpr std::string_view kAnyCapacity = "capacity:";
inline constexpr std::string_view kFrontend = "frontend";
inline constexpr std::string_view kIntegrationTests = "tests";
inline constexpr std::string_view kLoadTests = "tests:load";
inline constexpr std::string_view kRegressionTests = "tests:regression";
inline constexpr std::string_view kDeploy = "deploy";

std::string service(std::string_view nodeId);
std::string table(std::string_view owner, std::string_view table);
std::string tablesOf(std::string_view owner);  // "table:<owner>/": every table it owns
std::string api(std::string_view nodeId, std::string_view method, std::string_view path);
std::string apisOf(std::string_view nodeId);  // "api:<nodeId>/": every endpoint it serves
std::string code(std::string_view nodeId);
std::string capacity(std::string_view target);
std::string findings(std::string_view target);

// Adds one api item per endpoint the generator gives `spec`: the endpoints it
// documents (the catalog's), the CRUD routes of each table it owns
// (GET and POST /<kebab-table>, GET, PUT, PATCH and DELETE /<kebab-table>/{id}),
// and for a token issuer the /auth routes in place of CRUD over its identity
// tables (users and token tables). Paths use the catalog's {param} style.
void addEndpoints(const codegen::ServiceSpec& spec, std::set<std::string>& items);

}  // namespace ymy::agents::flow
