#pragma once
// Sizing a component for a target load: app instances, load balancers, a
// distributed session store, cache nodes, database primaries and read
// replicas, each from the baselines at the target utilisation; then the
// queueing check, which adds units until the design supports the target (or
// the claim is lowered to what it does support, with a note saying why).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capacity/baselines.hpp"
#include "capacity/component.hpp"
#include "model/error.hpp"

namespace ymy::capacity {

struct Target {
  double rps = 0;                       // requests per second the component must serve
  std::optional<double> p99Ms;          // end-to-end p99 bound, when the user gave one
  std::optional<double> readRatio;      // default: the workload's (baselines.traffic)
  std::optional<double> cacheHitRatio;  // default: the workload's; used when a cache is planned
};

// One tier of the sized design. Rates in work items per second for the unit
// figures, in requests per second (of the component) for the capacities.
struct TierSizing {
  std::string tier;  // kTierApp, kTierDatabaseReplicas, ... (capacity/tiers.hpp)
  std::string what;  // for people: "cpu_bound app instances", "Redis Cluster nodes for sessions"
  int count = 0;
  int serversPerUnit = 1;
  double perUnitRps = 0;   // work one unit completes per second when saturated
  double loadRps = 0;      // work per second arriving at the tier at the target
  double capacityRps = 0;  // requests/s of the component the tier carries at the target utilisation
                           // (+infinity when the tier gets no work)
  double utilisation = 0;  // at the target
  double p50Ms = 0;        // response time of the tier at the target (M/M/c)
  double p99Ms = 0;
};

struct SizingResult {
  std::string component;
  Workload workload = Workload::kIoBound;
  double targetRps = 0;
  std::optional<double> targetP99Ms;
  double readRatio = 0;
  double cacheHitRatio = 0;  // 0 when no cache is planned
  double targetUtilisation = 0;
  double currentCapacityRps = 0;

  std::vector<TierSizing> tiers;  // in request order: load balancer, app, session store, cache, database, queue
  // The largest load the queueing check supports with every tier at or under
  // the target utilisation (and the path p99 under the target, when given).
  double estimatedCapacityRps = 0;
  std::string limitingTier;  // the tier that caps estimatedCapacityRps
  std::string limitedBy;     // "utilisation" or "p99"
  double headroom = 0;       // 1 - the busiest tier's utilisation at the target
  double pathP50Ms = 0;      // a request's response time through every tier it visits, at the
  double pathP99Ms = 0;      // target (queueing.hpp: pathQuantileMs)
  bool meetsTarget = false;  // estimatedCapacityRps >= targetRps
  std::vector<std::string> notes;

  const TierSizing* find(std::string_view tier) const;
  int countOf(std::string_view tier) const;  // 0 when the tier is absent
};

// Sizes `current` for `target`. The workload, the presence of a database,
// cache and queue, and the session store come from `current` (adjust it
// first to size something else, e.g. the catalog's workload). Errors name the
// bad field of the target ("target.rps: must be a positive number").
Result<SizingResult> sizeComponent(const CurrentConfig& current, const Target& target, const Baselines& baselines);

}  // namespace ymy::capacity
