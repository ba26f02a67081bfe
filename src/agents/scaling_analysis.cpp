#include "agents/scaling_analysis.hpp"

#include <algorithm>

namespace ymy::agents {

namespace {

// The catalog component the request is about, if it names one.
const Component* componentOf(const Catalog& catalog, const executor::ExecutionInput& input) {
  for (const auto& id : input.frame.components) {
    if (const auto* c = catalog.find(id); c && c->isService()) return c;
  }
  return nullptr;
}

bool has(const capacity::CurrentConfig& c, capacity::BottleneckKind kind) {
  return std::any_of(c.bottlenecks.begin(), c.bottlenecks.end(),
                     [&](const capacity::Bottleneck& b) { return b.kind == kind; });
}

}  // namespace

ScalingAnalysis analyseScaling(const Catalog& catalog, const executor::ExecutionInput& input,
                               const capacity::CurrentConfig& current, double targetRps) {
  using capacity::BottleneckKind;
  ScalingAnalysis a;
  const Component* component = componentOf(catalog, input);
  const std::string kind = component ? component->id : capacity::workloadName(current.workload);
  const bool issuesTokens =
      component && (component->id == "auth" ||
                    std::any_of(component->entities.begin(), component->entities.end(),
                                [](const Entity& e) { return e.name.find("token") != std::string::npos; }));
  const bool payments = component && component->id.find("payment") != std::string::npos;
  a.requirement = std::string(targetRps >= 2000 ? "high" : targetRps >= 200 ? "moderate" : "low") + "_throughput_" + kind;
  a.currentConfig = current.bottlenecks.empty()
                        ? "no_structural_bottleneck"
                        : std::string(capacity::bottleneckKindName(current.bottlenecks.front().kind)) + "_bottleneck";
  a.security = issuesTokens ? "maintain_jwt_security" : payments ? "maintain_payment_data_scope" : "maintain_service_security";

  const std::string id = current.component;
  if (has(current, BottleneckKind::kSingleInstance) || targetRps > current.currentCapacityRps) {
    a.recommendations.push_back("Run " + id + " as stateless instances behind a load balancer (round-robin, health checks)");
  }
  if (has(current, BottleneckKind::kInMemorySessions)) {
    a.recommendations.push_back("Move sessions from process memory to a Redis Cluster shared by every instance");
  }
  if (current.hasDatabase && current.readReplicas == 0) {
    a.recommendations.push_back("Add read replicas to " + (current.database.empty() ? "the database" : current.database) +
                                " and route reads to them; writes stay on the primary");
  }
  if (!current.hasCache) {
    a.recommendations.push_back(issuesTokens ? "Cache token validation and user lookups in Redis"
                                             : "Cache hot reads in Redis with short TTLs");
  }
  a.recommendations.push_back("Add monitoring and alerts on request rate, errors, p99 latency and saturation per tier");

  if (issuesTokens) {
    a.securityImplications.push_back(
        "Every instance must sign and verify tokens with the same secret (or key pair) from one secret store; rotate it "
        "by accepting the previous key for a grace period");
    a.securityImplications.push_back(
        "Rate-limit login, registration and token refresh at the load balancer: more instances must not mean more "
        "brute-force capacity");
  }
  if (current.sessionStore == capacity::SessionStore::kInMemory) {
    a.securityImplications.push_back(
        "Sessions in Redis are credentials: require AUTH/ACLs and TLS on the cluster; sticky sessions are no longer "
        "needed at the load balancer");
  }
  a.securityImplications.push_back(
      "TLS terminates at the load balancer: keep the hop to the instances on a private network (or re-encrypt) and "
      "forward X-Forwarded-For/Proto for audit logs and rate limits");
  if (current.hasDatabase) {
    a.securityImplications.push_back(
        "Give read replicas a read-only database user, and keep writes that must be read back at once (password "
        "changes, revocations) on the primary");
  }
  return a;
}

}  // namespace ymy::agents
