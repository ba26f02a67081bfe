#include "capacity/tiers.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace ymy::capacity {

namespace {

// A primary serving both reads and writes: one "operation" is a read with
// probability readShare, so its mean cost is the mix of the two costs.
UnitBaseline mixedPrimary(const Baselines& b, double reads, double writes) {
  const double total = reads + writes;
  const double r = reads / total;
  const double w = writes / total;
  UnitBaseline unit;
  unit.rpsPerUnit = 1.0 / (r / b.primaryReads.rpsPerUnit + w / b.primaryWrites.rpsPerUnit);
  unit.serviceTimeMs = r * b.primaryReads.serviceTimeMs + w * b.primaryWrites.serviceTimeMs;
  unit.serversPerUnit = std::max(1, static_cast<int>(std::lround(unit.rpsPerUnit * unit.serviceTimeMs / 1000.0)));
  unit.source = "mix of database.primaryReads and database.primaryWrites";
  return unit;
}

TierLoad tier(std::string_view name, int units, const UnitBaseline& unit, double perRequest, double visitShare) {
  TierLoad t;
  t.tier = std::string(name);
  t.units = units;
  t.serversPerUnit = unit.serversPerUnit;
  t.unitRps = unit.rpsPerUnit;
  t.perRequest = perRequest;
  t.visitShare = visitShare;
  return t;
}

}  // namespace

UnitBaseline appUnit(Workload workload, const TrafficMix& mix, const Baselines& baselines) {
  UnitBaseline unit = baselines.appFor(workload);
  if (mix.appRpsPerInstance && *mix.appRpsPerInstance > 0) {
    // Same parallelism, different speed: the measured figure changes the service time.
    unit.serviceTimeMs *= unit.rpsPerUnit / *mix.appRpsPerInstance;
    unit.rpsPerUnit = *mix.appRpsPerInstance;
    unit.source = "measured per-instance figure from the component's config";
  }
  return unit;
}

std::vector<TierLoad> tierLoads(const Design& d, Workload workload, const TrafficMix& mix, const Baselines& b) {
  std::vector<TierLoad> tiers;
  const double reads = mix.readRatio;
  const double writes = 1 - mix.readRatio;
  const double hit = d.cacheNodes > 0 ? mix.cacheHitRatio : 0;
  const double databaseReads = reads * (1 - hit);

  if (d.loadBalancers > 0) tiers.push_back(tier(kTierLoadBalancer, d.loadBalancers, b.loadBalancer, 1, 1));
  tiers.push_back(tier(kTierApp, d.appInstances, appUnit(workload, mix, b), 1, 1));
  if (d.sessionNodes > 0) {
    const double ops = mix.sessionOpsPerRequest;
    tiers.push_back(tier(kTierSessionStore, d.sessionNodes, b.cacheNode, ops, std::min(1.0, ops)));
  }
  if (d.cacheNodes > 0) {
    tiers.push_back(tier(kTierCache, d.cacheNodes, b.cacheNode, reads * (1 + (1 - hit)), reads));
  }
  if (d.primaries > 0) {
    if (d.replicas > 0) {
      tiers.push_back(tier(kTierDatabasePrimary, d.primaries, b.primaryWrites, writes, writes));
      tiers.push_back(tier(kTierDatabaseReplicas, d.replicas, b.replicaReads, databaseReads, databaseReads));
    } else if (databaseReads + writes > 0) {
      tiers.push_back(tier(kTierDatabasePrimary, d.primaries, mixedPrimary(b, databaseReads, writes),
                           databaseReads + writes, databaseReads + writes));
    } else {
      tiers.push_back(tier(kTierDatabasePrimary, d.primaries, b.primaryWrites, 0, 0));
    }
  }
  if (d.queueNodes > 0) tiers.push_back(tier(kTierQueue, d.queueNodes, b.queueBroker, writes, 0));
  return tiers;
}

int* unitsOf(Design& d, std::string_view tier) {
  if (tier == kTierLoadBalancer) return &d.loadBalancers;
  if (tier == kTierApp) return &d.appInstances;
  if (tier == kTierSessionStore) return &d.sessionNodes;
  if (tier == kTierCache) return &d.cacheNodes;
  if (tier == kTierDatabasePrimary) return &d.primaries;
  if (tier == kTierDatabaseReplicas) return &d.replicas;
  if (tier == kTierQueue) return &d.queueNodes;
  return nullptr;
}

int unitsOf(const Design& d, std::string_view tier) {
  Design copy = d;
  const int* units = unitsOf(copy, tier);
  return units ? *units : 0;
}

}  // namespace ymy::capacity
