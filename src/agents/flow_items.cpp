#include "agents/flow_items.hpp"

#include <algorithm>

namespace ymy::agents::flow {
namespace {

std::string join(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + b.size());
  out.append(a).append(b);
  return out;
}

bool hasColumn(const Entity& e, std::string_view name) {
  return std::any_of(e.columns.begin(), e.columns.end(), [&](const Column& c) { return c.name == name; });
}

// The generator serves these through /auth on a token issuer, not as CRUD:
// the users table (email, password_hash) and the token tables (token_hash).
bool isIdentityTable(const Entity& e) {
  return (hasColumn(e, "email") && hasColumn(e, "password_hash")) || hasColumn(e, "token_hash");
}

}  // namespace

std::string service(std::string_view nodeId) { return join(kAnyService, nodeId); }

std::string table(std::string_view owner, std::string_view table) {
  std::string out = tablesOf(owner);
  out.append(table);
  return out;
}

std::string tablesOf(std::string_view owner) { return join(kAnyTable, owner) + '/'; }

std::string api(std::string_view nodeId, std::string_view method, std::string_view path) {
  std::string out = apisOf(nodeId);
  out.append(method).append(" ").append(path);
  return out;
}

std::string apisOf(std::string_view nodeId) { return join(kAnyApi, nodeId) + '/'; }
std::string code(std::string_view nodeId) { return join("code:", nodeId); }
std::string capacity(std::string_view target) { return join(kAnyCapacity, target); }
std::string findings(std::string_view target) { return join("findings:", target); }

void addEndpoints(const codegen::ServiceSpec& spec, std::set<std::string>& items) {
  const std::string prefix = apisOf(spec.nodeId);
  auto add = [&](std::string_view method, std::string_view path) {
    std::string item = prefix;
    item.append(method).append(" ").append(path);
    items.insert(std::move(item));
  };
  for (const auto& ep : spec.endpoints) add(ep.method, ep.path);
  bool issuer = false;
  for (const auto& e : spec.entities) {
    if (spec.issuesTokens && isIdentityTable(e)) {
      issuer = true;
      continue;
    }
    std::string path = "/" + e.name;
    std::replace(path.begin(), path.end(), '_', '-');  // the generator's kebab-case route
    const std::string item = path + "/{id}";
    add("GET", path);
    add("POST", path);
    add("GET", item);
    add("PUT", item);
    add("PATCH", item);
    add("DELETE", item);
  }
  if (issuer) {
    add("POST", "/auth/register");
    add("POST", "/auth/login");
    add("GET", "/auth/me");
  }
}

}  // namespace ymy::agents::flow
