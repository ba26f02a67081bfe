#include "capacity/sizing.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "capacity/queueing.hpp"
#include "capacity/tiers.hpp"

namespace ymy::capacity {

namespace {

std::string rps(double value) {
  std::ostringstream out;
  out << static_cast<long long>(std::floor(value + 1e-6)) << " RPS";  // 899.9999 is 900
  return out.str();
}

std::string counted(int n, const std::string& singular, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

std::string percent(double ratio) { return std::to_string(static_cast<int>(std::lround(ratio * 100))) + "%"; }

std::string ms(double value) {
  std::ostringstream out;
  out.precision(3);
  out << value << " ms";
  return out.str();
}

Result<Target> validated(const Target& t) {
  if (!(t.rps > 0) || !std::isfinite(t.rps))
    return fail(ErrorCode::kInvalidArgument, "target.rps: must be a positive number");
  if (t.rps > 1e9)
    return fail(ErrorCode::kInvalidArgument, "target.rps: above 1e9 requests per second, beyond this model");
  if (t.p99Ms && (!(*t.p99Ms > 0) || !std::isfinite(*t.p99Ms))) {
    return fail(ErrorCode::kInvalidArgument, "target.p99Ms: must be a positive number of milliseconds");
  }
  if (t.readRatio && !(*t.readRatio >= 0 && *t.readRatio <= 1)) {
    return fail(ErrorCode::kInvalidArgument, "target.readRatio: must be between 0 and 1");
  }
  if (t.cacheHitRatio && !(*t.cacheHitRatio >= 0 && *t.cacheHitRatio < 1)) {
    return fail(ErrorCode::kInvalidArgument, "target.cacheHitRatio: must be at least 0 and below 1");
  }
  return t;
}

// Sizes every tier from the baselines alone: the fewest units that keep each
// tier at or under the target utilisation, within the policy's bounds.
class FirstCut {
 public:
  FirstCut(const CurrentConfig& current, const Target& target, const Baselines& b, double readRatio,
           std::vector<std::string>& notes)
      : current_(current), target_(target), b_(b), readRatio_(readRatio), notes_(notes) {}

  Design design(TrafficMix& mix) {
    const double t = target_.rps;
    const SizingPolicy& policy = b_.policy;
    const UnitBaseline app = appUnit(current_.workload, mix, b_);
    Design d;
    d.appInstances = units("app", t, app, policy.minAppInstances);
    notes_.push_back(counted(d.appInstances, std::string(workloadName(current_.workload)) + " instance",
                             std::string(workloadName(current_.workload)) + " instances") +
                     " at " + rps(app.rpsPerUnit) + " each, planned at " + percent(b_.targetUtilisation) + " busy");
    if (d.appInstances < current_.instances) {
      notes_.push_back("the current " + std::to_string(current_.instances) +
                       " instances are more than the target needs");
    }
    if (d.appInstances > 1 || current_.hasLoadBalancer) d.loadBalancers = units("load balancer", t, b_.loadBalancer, 1);

    if (current_.sessionStore != SessionStore::kNone) {
      if (d.appInstances > 1 || current_.sessionStore == SessionStore::kDistributed) {
        d.sessionNodes = units("session store", t * b_.sessionOpsPerRequest, b_.cacheNode, policy.minSessionStoreNodes);
        if (current_.sessionStore == SessionStore::kInMemory) {
          notes_.push_back("sessions move from process memory to a " + std::to_string(d.sessionNodes) +
                           "-node Redis Cluster (at least " + std::to_string(policy.minSessionStoreNodes) +
                           " nodes) so that any instance can serve any user");
        }
      } else {
        notes_.push_back("sessions stay in process memory: one instance suffices for this target");
      }
    }

    const double reads = t * readRatio_;
    const double writes = t - reads;
    const bool hotReads =
        readRatio_ >= policy.cacheWhenReadRatioAtLeast && reads > b_.replicaReads.rpsPerUnit * b_.targetUtilisation;
    const bool cache = current_.hasCache || (current_.hasDatabase && hotReads);
    if (cache) {
      mix.cacheHitRatio = target_.cacheHitRatio.value_or(b_.trafficFor(current_.workload).cacheHitRatio);
      d.cacheNodes = units("cache", reads * (2 - mix.cacheHitRatio), b_.cacheNode, 1);
    }
    if (current_.hasDatabase) {
      const double databaseReads = reads * (1 - mix.cacheHitRatio);
      if (cache && !current_.hasCache) {
        notes_.push_back("a cache in front of the database (hit ratio " + percent(mix.cacheHitRatio) +
                         " assumed) takes database reads from " + rps(reads) + " to " + rps(databaseReads));
      }
      d.primaries = units("database primary", writes, b_.primaryWrites, 1);
      const bool primaryAlone =
          d.primaries == 1 && policy.minReadReplicas == 0 &&
          writes / b_.primaryWrites.rpsPerUnit + databaseReads / b_.primaryReads.rpsPerUnit <= b_.targetUtilisation;
      if (!primaryAlone) {
        d.replicas =
            units("read replica", databaseReads, b_.replicaReads, std::max(1, policy.minReadReplicas * d.primaries));
        notes_.push_back(counted(d.replicas, "read replica takes", "read replicas take") + " the " +
                         rps(databaseReads) + " of database reads; the primary takes the " + rps(writes) +
                         " of writes");
      }
      if (d.primaries > 1) {
        notes_.push_back("writes (" + rps(writes) + ") need " + std::to_string(d.primaries) +
                         " primary-sized database servers: give the primary that many times the resources or "
                         "shard the data by key");
      }
    } else {
      notes_.push_back("no database on the component: the database tiers are not sized");
    }
    if (current_.hasQueue) d.queueNodes = units("queue", writes, b_.queueBroker, 1);
    return d;
  }

 private:
  int units(const std::string& what, double work, const UnitBaseline& unit, int minimum) {
    double needed = std::ceil(work / (unit.rpsPerUnit * b_.targetUtilisation) - 1e-9);
    int count = std::max(minimum, static_cast<int>(std::min(needed, 1e9)));
    if (count > b_.policy.maxUnitsPerTier) {
      notes_.push_back(what + " needs " + std::to_string(count) + " units, more than the " +
                       std::to_string(b_.policy.maxUnitsPerTier) +
                       " this model plans per tier: capped, and the capacity claim is lowered accordingly");
      count = b_.policy.maxUnitsPerTier;
    }
    return count;
  }

  const CurrentConfig& current_;
  const Target& target_;
  const Baselines& b_;
  double readRatio_;
  std::vector<std::string>& notes_;
};

std::string describe(const TierLoad& tier, const CurrentConfig& current, const Design& design) {
  if (tier.tier == kTierLoadBalancer) {
    return current.hasLoadBalancer ? "load balancer (" + current.loadBalancer + ")"
                                   : "load balancer (NGINX-class reverse proxy, round-robin)";
  }
  if (tier.tier == kTierApp) return std::string(workloadName(current.workload)) + " app instances";
  if (tier.tier == kTierSessionStore) return "Redis Cluster nodes holding sessions";
  if (tier.tier == kTierCache) return "cache nodes (Redis) in front of database reads";
  if (tier.tier == kTierDatabasePrimary) {
    return design.replicas > 0 ? "database primary (writes)" : "database primary (reads and writes)";
  }
  if (tier.tier == kTierDatabaseReplicas) return "database read replicas";
  if (tier.tier == kTierQueue) return "queue broker nodes (asynchronous work)";
  return tier.tier;
}

}  // namespace

const TierSizing* SizingResult::find(std::string_view tier) const {
  for (const auto& t : tiers) {
    if (t.tier == tier) return &t;
  }
  return nullptr;
}

int SizingResult::countOf(std::string_view tier) const {
  const auto* t = find(tier);
  return t ? t->count : 0;
}

Result<SizingResult> sizeComponent(const CurrentConfig& current, const Target& rawTarget, const Baselines& b) {
  auto target = validated(rawTarget);
  if (!target) return tl::unexpected(target.error());
  const double u = b.targetUtilisation;

  SizingResult result;
  result.component = current.component;
  result.workload = current.workload;
  result.targetRps = target->rps;
  result.targetP99Ms = target->p99Ms;
  result.readRatio = target->readRatio.value_or(b.trafficFor(current.workload).readRatio);
  result.targetUtilisation = u;
  result.currentCapacityRps = current.currentCapacityRps;

  TrafficMix mix{result.readRatio, 0, b.sessionOpsPerRequest, current.rpsPerInstance};
  Design design = FirstCut(current, *target, b, result.readRatio, result.notes).design(mix);
  result.cacheHitRatio = design.cacheNodes > 0 ? mix.cacheHitRatio : 0;

  // The queueing check may not support what the first cut claims (a p99
  // target, units capped by policy). Grow the tier that lowers the path p99
  // the most, one unit at a time, while that still helps.
  std::map<std::string, int> added;
  const auto p99Target = target->p99Ms;
  const double floorP99 = checkDesign(tierLoads(design, current.workload, mix, b), 0, u, p99Target).pathP99Ms;
  if (p99Target && floorP99 > *p99Target) {
    result.notes.push_back("the p99 target of " + ms(*p99Target) + " is below " + ms(floorP99) +
                           ", the p99 of this design's request path with no waiting at all (service times alone); "
                           "more units cannot reach it, so no capacity is claimed for it");
  } else {
    for (int step = 0; step < 2000; ++step) {
      // The check passes at the target exactly when the supported load reaches it.
      auto tiers = tierLoads(design, current.workload, mix, b);
      auto now = checkDesign(tiers, target->rps, u, p99Target);
      if (now.passes()) break;
      std::string best;
      double bestScore = 0;
      for (std::size_t i = 0; i < tiers.size(); ++i) {
        Design grown = design;
        int* units = unitsOf(grown, tiers[i].tier);
        if (!units || *units >= b.policy.maxUnitsPerTier) continue;
        ++*units;
        auto after = checkDesign(tierLoads(grown, current.workload, mix, b), target->rps, u, p99Target);
        // Over the utilisation target first; then the p99.
        double score = now.tiers[i].stats.utilisation > u ? 1e12 + now.tiers[i].stats.utilisation
                                                          : now.pathP99Ms - after.pathP99Ms;
        if (!std::isfinite(now.pathP99Ms) && std::isfinite(after.pathP99Ms)) score = 1e12;
        if (score > bestScore) {
          bestScore = score;
          best = tiers[i].tier;
        }
      }
      if (best.empty() || bestScore < 1e-3) {
        result.notes.push_back("more units no longer improve the check: the claim is lowered to what it supports");
        break;
      }
      ++*unitsOf(design, best);
      ++added[best];
    }
  }
  for (const auto& [tier, count] : added) {
    result.notes.push_back("the queueing check added " + counted(count, "unit", "units") + " to " + tier +
                           (p99Target ? " to keep the p99 under " + ms(*p99Target) : std::string()));
  }

  auto tiers = tierLoads(design, current.workload, mix, b);
  auto check = checkDesign(tiers, target->rps, u, p99Target);
  auto supported = supportedLoad(tiers, u, p99Target);
  double busiest = 0;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const auto& load = tiers[i];
    const auto& stats = check.tiers[i].stats;
    TierSizing t;
    t.tier = load.tier;
    t.what = describe(load, current, design);
    t.count = load.units;
    t.serversPerUnit = load.serversPerUnit;
    t.perUnitRps = load.unitRps;
    t.loadRps = check.tiers[i].offeredRps;
    t.capacityRps = load.requestRpsAt(u);
    t.utilisation = stats.utilisation;
    t.p50Ms = stats.p50Ms;
    t.p99Ms = stats.p99Ms;
    busiest = std::max(busiest, stats.utilisation);
    result.tiers.push_back(std::move(t));
  }
  result.estimatedCapacityRps = supported.requestRps;
  result.limitingTier = supported.limitingTier;
  result.limitedBy = supported.limitedBy;
  result.headroom = 1 - busiest;
  result.pathP50Ms = check.pathP50Ms;
  result.pathP99Ms = check.pathP99Ms;
  result.meetsTarget = supported.requestRps >= target->rps * (1 - 1e-9);
  if (!result.meetsTarget) {
    result.notes.push_back("the design supports " + rps(supported.requestRps) + ", below the target of " +
                           rps(target->rps) + " (limited by " + supported.limitingTier + ", " + supported.limitedBy +
                           ")");
  }
  return result;
}

}  // namespace ymy::capacity
