// cap-001: sizing the target component for the requested load with the
// capacity model (src/capacity): the component's current deployment from its
// canvas node, units per tier for the target, checked by the queueing model.
// Dependents read output["capacity"]; the run gets configurationGenerated.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "agents/flow_items.hpp"
#include "agents/support.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;

// The target's canvas node, or one made from the catalog when the design
// does not have it yet (a single instance with the catalog's workload).
CanvasNode targetNodeOf(const AgentEnvironment& env, const executor::ExecutionInput& input, const std::string& target) {
  if (const auto* node = input.baseCanvas.findNode(target)) return *node;
  CanvasNode node{target, "service", target, {}, {}};
  for (const auto& id : input.frame.components) {
    if (const auto* c = env.catalog.find(id); c && c->isService()) {
      node.label = c->name;
      if (!c->workload.empty()) node.config["workload"] = c->workload;
      break;
    }
  }
  return node;
}

std::string databaseEngine(const std::string& database) {
  std::string lower = database;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("mysql") != std::string::npos || lower.find("maria") != std::string::npos) return "mysql";
  return "postgresql";
}

std::string report(const capacity::CurrentConfig& current, const capacity::SizingResult& sized) {
  std::ostringstream md;
  md << "# Capacity for " << sized.component << "\n\n"
     << "Target: " << sized.targetRps << " RPS (" << capacity::workloadName(sized.workload) << " workload, "
     << std::lround(sized.readRatio * 100) << "% reads). Current capacity: " << std::lround(current.currentCapacityRps)
     << " RPS.\n\n"
     << "| tier | units | per unit (work/s) | utilisation at target | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& t : sized.tiers) {
    md << "| " << t.what << " | " << t.count << " | " << std::lround(t.perUnitRps) << " | "
       << std::lround(t.utilisation * 100) << "% | " << std::round(t.p50Ms * 100) / 100 << " ms | "
       << std::round(t.p99Ms * 100) / 100 << " ms |\n";
  }
  md << "\nEstimated capacity: **" << std::lround(sized.estimatedCapacityRps) << " RPS**, limited by the "
     << sized.limitingTier << " tier (" << sized.limitedBy << "); a request's p50/p99 through every tier at the target: "
     << std::round(sized.pathP50Ms * 100) / 100 << " / " << std::round(sized.pathP99Ms * 100) / 100 << " ms.\n";
  if (!sized.meetsTarget) md << "\n**The checked design does not reach the target.**\n";
  for (const auto& n : sized.notes) md << "\n- " << n;
  md << "\n";
  return md.str();
}

// Per tier, what the queueing check says at the target load.
boost::json::array tiersOf(const capacity::SizingResult& sized) {
  boost::json::array out;
  for (const auto& t : sized.tiers) {
    out.push_back(boost::json::object{{"tier", t.tier},
                                      {"count", t.count},
                                      {"utilisation", std::round(t.utilisation * 1000) / 1000},
                                      {"p50Ms", std::round(t.p50Ms * 100) / 100},
                                      {"p99Ms", std::round(t.p99Ms * 100) / 100}});
  }
  return out;
}

class CapacityAgent final : public executor::Agent {
 public:
  explicit CapacityAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kCapacityAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Reading the current deployment of " + target + "...", 0.3)) return cancelled();
    const CanvasNode node = targetNodeOf(env_, input, target);
    auto current = env_.capacity.analyse(node, &input.baseCanvas);
    if (!current) return tl::unexpected(current.error());
    capacity::Target goal;
    goal.rps = detail::targetRps(input);
    if (input.frame.params.latencyMs) goal.p99Ms = *input.frame.params.latencyMs;
    if (!step(ctx, "Sizing instances, replicas and cache, checked with a queueing model...", 0.7)) return cancelled();
    auto sized = env_.capacity.size(*current, goal);
    if (!sized) return tl::unexpected(sized.error());

    using namespace capacity;
    const int instances = std::max(1, sized->countOf(kTierApp));
    const int sessionNodes = sized->countOf(kTierSessionStore);
    const long estimated = std::lround(std::floor(sized->estimatedCapacityRps));
    const auto* app = sized->find(kTierApp);
    executor::TaskResult result;
    result.files.push_back({"capacity/" + detail::slug(target) + ".md", report(*current, *sized)});
    result.output["capacity"] = boost::json::object{
        {"target", target},
        {"rps", goal.rps},
        {"workload", workloadName(sized->workload)},
        {"instances", instances},
        {"loadBalancers", sized->countOf(kTierLoadBalancer)},
        {"sessionNodes", sessionNodes},
        {"cacheNodes", sized->countOf(kTierCache)},
        {"databasePrimaries", sized->countOf(kTierDatabasePrimary)},
        {"readReplicas", sized->countOf(kTierDatabaseReplicas)},
        {"database", current->database},
        {"databaseEngine", databaseEngine(current->database)},
        {"sessionStore", sessionNodes > 0 ? "redis-cluster" : "none"},
        {"estimatedCapacity", estimated},
        {"limitingTier", sized->limitingTier},
        {"perInstanceRps", app ? app->perUnitRps : 0.0},
        {"meetsTarget", sized->meetsTarget},
        {"sizing", toJson(*sized)},
    };
    ctx.emit("configurationGenerated",
             boost::json::object{{"component", target},
                                 {"newCapacity", std::to_string(estimated) + " RPS"},
                                 {"instances", instances},
                                 {"loadBalancer", sized->countOf(kTierLoadBalancer) > 0 ? "NGINX with round-robin" : ""},
                                 {"sessionStore", sessionNodes > 0 ? "Redis Cluster (" + std::to_string(sessionNodes) +
                                                                         " nodes)"
                                                                   : std::string("none")},
                                 {"readReplicas", sized->countOf(kTierDatabaseReplicas)},
                                 {"cacheNodes", sized->countOf(kTierCache)},
                                 {"limitingTier", sized->limitingTier},
                                 {"meetsTarget", sized->meetsTarget},
                                 {"p99Ms", std::round(sized->pathP99Ms * 100) / 100},
                                 {"tiers", tiersOf(*sized)}});
    result.summary = std::to_string(instances) + " instances, " + std::to_string(sized->countOf(kTierDatabaseReplicas)) +
                     " read replicas, " + std::to_string(sessionNodes) + " session nodes: " +
                     std::to_string(estimated) + " RPS, limited by " + sized->limitingTier;
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

std::unique_ptr<executor::Agent> makeCapacityAgent(const AgentEnvironment& env) {
  return std::make_unique<CapacityAgent>(env);
}

}  // namespace ymy::agents
