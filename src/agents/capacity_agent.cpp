// cap-001: sizing the target component for the requested load.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "agents/flow_items.hpp"
#include "agents/support.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;

// Requests per second one instance sustains by workload, measured for a typical
// Node.js service on one vCPU (JWT verification and hashing dominate cpu_bound).
// The capacity module replaces these with a checked model.
double perInstanceRps(const std::string& workload) {
  if (workload == "cpu_bound") return 550;
  if (workload == "memory_bound") return 5000;
  if (workload == "streaming") return 300;
  return 800;  // io_bound
}

std::string workloadOf(const AgentEnvironment& env, const executor::ExecutionInput& input) {
  for (const auto& id : input.frame.components) {
    if (const auto* c = env.catalog.find(id); c && c->isService()) return c->workload;
  }
  return "io_bound";
}

class CapacityAgent final : public executor::Agent {
 public:
  explicit CapacityAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kCapacityAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Deriving per-instance throughput...", 0.5)) return cancelled();
    const double rps = detail::targetRps(input);
    const std::string workload = workloadOf(env_, input);
    const double perInstance = perInstanceRps(workload);
    const int instances = std::max(2, static_cast<int>(std::ceil(rps * 1.1 / perInstance)));
    const double readRps = rps * 0.8;
    const int replicas = std::max(1, static_cast<int>(std::ceil(readRps / 2500)));
    const int cacheNodes = rps >= 1000 ? 3 : 1;
    const double capacity = instances * perInstance;
    if (!step(ctx, "Sizing instances, replicas and cache...", 0.5)) return cancelled();
    std::ostringstream md;
    md << "# Capacity for " << target << "\n\n"
       << "- target: " << rps << " RPS\n- workload: " << workload << " (" << perInstance << " RPS per instance)\n"
       << "- instances: " << instances << " (10% headroom)\n- database read replicas: " << replicas
       << " (80% reads at 2500 RPS per replica)\n- cache nodes: " << cacheNodes << "\n- estimated capacity: " << capacity
       << " RPS\n";
    executor::TaskResult result;
    result.files.push_back({"capacity/" + detail::slug(target) + ".md", md.str()});
    result.output["capacity"] = boost::json::object{{"target", target},         {"rps", rps},
                                                    {"instances", instances},   {"perInstanceRps", perInstance},
                                                    {"readReplicas", replicas}, {"cacheNodes", cacheNodes},
                                                    {"estimatedCapacity", capacity}};
    result.summary = std::to_string(instances) + " instances, " + std::to_string(replicas) + " read replicas, " +
                     std::to_string(cacheNodes) + " cache nodes: about " + std::to_string(static_cast<int>(capacity)) +
                     " RPS";
    return result;
  }

  // The sizing of the target, from the target service (every service when
  // the frame names none).
  executor::TaskFlow flow(const executor::TaskContext& ctx) const override {
    const auto& input = ctx.input();
    executor::TaskFlow out;
    out.known = true;
    out.produces.insert(flow::capacity(detail::targetNode(input)));
    out.consumes.insert(input.frame.target.empty() ? std::string(flow::kAnyService)
                                                   : flow::service(input.frame.target));
    return out;
  }

 private:
  const AgentEnvironment& env_;
};

}  // namespace

std::unique_ptr<executor::Agent> makeCapacityAgent(const AgentEnvironment& env) { return std::make_unique<CapacityAgent>(env); }

}  // namespace ymy::agents
