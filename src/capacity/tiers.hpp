#pragma once
// A design as unit counts per tier, and how it turns into the queueing check's
// tiers: which baseline serves each tier and how much work one request brings
// it. Shared by the analysis of a current config and by the sizing, so both
// judge a design the same way.

#include <optional>
#include <string_view>
#include <vector>

#include "capacity/baselines.hpp"
#include "capacity/queueing.hpp"

namespace ymy::capacity {

// Tier names, as they appear in TierSizing::tier and in JSON.
inline constexpr std::string_view kTierLoadBalancer = "load_balancer";
inline constexpr std::string_view kTierApp = "app";
inline constexpr std::string_view kTierSessionStore = "session_store";
inline constexpr std::string_view kTierCache = "cache";
inline constexpr std::string_view kTierDatabasePrimary = "database_primary";
inline constexpr std::string_view kTierDatabaseReplicas = "database_replicas";
inline constexpr std::string_view kTierQueue = "queue";

// Unit counts; 0 means the tier is absent. More than one primary means the
// writes need that many primary-sized servers: a bigger primary or shards.
struct Design {
  int appInstances = 1;
  int loadBalancers = 0;
  int sessionNodes = 0;  // a distributed session store; in-process sessions are no tier
  int cacheNodes = 0;
  int primaries = 0;
  int replicas = 0;  // read replicas; when present they take every database read
  int queueNodes = 0;
};

struct TrafficMix {
  double readRatio = 0.9;
  double cacheHitRatio = 0;  // only counts when the design has cache nodes
  double sessionOpsPerRequest = 1;
  std::optional<double> appRpsPerInstance;  // measured figure that replaces the baseline
};

// Work per request: the load balancer and app see every request; the session
// store sessionOpsPerRequest; the cache a lookup per read plus a fill per miss;
// the database the writes on the primary and the reads that miss the cache on
// the replicas (or on the primary when there are none); the queue one message
// per write, off the response path. A request waits on a tier when it visits
// it: every request the load balancer, app and session store, reads the
// cache, misses a replica, writes the primary.
std::vector<TierLoad> tierLoads(const Design& design, Workload workload, const TrafficMix& mix,
                                const Baselines& baselines);

// The app baseline, with a measured per-instance figure in place of the
// baseline's when one is given (the service time scales with it).
UnitBaseline appUnit(Workload workload, const TrafficMix& mix, const Baselines& baselines);

// Count of a tier's units in `design` (0 for unknown names), and the way to grow it.
int unitsOf(const Design& design, std::string_view tier);
int* unitsOf(Design& design, std::string_view tier);

}  // namespace ymy::capacity
