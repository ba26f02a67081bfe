#pragma once
// Throughput baselines: what one unit of each tier (app instance, database
// primary or replica, cache node, load balancer, queue broker) serves, with the
// mean service time the queueing check needs, plus the traffic mix per workload
// and the sizing policy. Loaded from data/capacity/baselines.json, optionally
// with a user override merged on top; immutable afterwards.

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy::capacity {

// What dominates a service's time per request. The names match the catalog's
// `workload` field (data/catalog/catalog.json) plus `static` for file serving.
enum class Workload { kCpuBound, kIoBound, kMemoryBound, kStreaming, kStatic };
inline constexpr std::size_t kWorkloadCount = 5;

const char* workloadName(Workload workload);  // "cpu_bound", ...
// Accepts the names above and common spellings ("cpu-bound", "CPU", "io",
// "memory", "stream"); nullopt for anything else.
std::optional<Workload> parseWorkload(std::string_view text);

// One unit of a tier. A unit is `serversPerUnit` parallel servers (workers,
// vCPUs, connections), each taking serviceTimeMs per request on average, so
// that together they complete rpsPerUnit requests per second when saturated.
struct UnitBaseline {
  double rpsPerUnit = 0;
  double serviceTimeMs = 0;
  int serversPerUnit = 1;  // derived: round(rpsPerUnit * serviceTimeMs / 1000), at least 1
  std::string source;      // where the figure comes from

  // Service rate of one server (per second), chosen so that serversPerUnit
  // servers complete exactly rpsPerUnit per second.
  double serviceRatePerServer() const { return rpsPerUnit / serversPerUnit; }
};

struct TrafficProfile {
  double readRatio = 0.9;      // share of requests that only read
  double cacheHitRatio = 0.8;  // share of reads a cache in front of the database answers
};

struct SizingPolicy {
  int minAppInstances = 2;
  int minSessionStoreNodes = 3;
  int minReadReplicas = 1;
  double cacheWhenReadRatioAtLeast = 0.7;
  int maxUnitsPerTier = 5000;
};

struct Baselines {
  std::string note;
  double targetUtilisation = 0.8;  // every tier is planned to stay at or below this
  std::array<UnitBaseline, kWorkloadCount> app;
  std::array<TrafficProfile, kWorkloadCount> traffic;
  double sessionOpsPerRequest = 1;
  UnitBaseline primaryReads;
  UnitBaseline primaryWrites;
  UnitBaseline replicaReads;
  UnitBaseline cacheNode;  // also a session store node (Redis)
  UnitBaseline loadBalancer;
  UnitBaseline queueBroker;
  SizingPolicy policy;

  const UnitBaseline& appFor(Workload w) const { return app[static_cast<std::size_t>(w)]; }
  const TrafficProfile& trafficFor(Workload w) const { return traffic[static_cast<std::size_t>(w)]; }
};

// data/capacity/baselines.json under a data directory.
std::filesystem::path defaultBaselinesPath(const std::filesystem::path& dataDir);

// Merges `override` onto `defaults` key by key (objects recursively, other
// values replaced). Every key of the override must exist in the defaults and
// keep its JSON kind; errors name the path ("override.app.cpu_bound.rpsPerUnt:
// unknown key ...").
Result<boost::json::value> mergeOverride(const boost::json::value& defaults, const boost::json::object& override,
                                         std::string_view path = "override");

// Reads baselines: every field is required, unknown keys are rejected, figures
// must be positive and ratios within [0, 1]. Errors name the field path
// ("baselines.database.replicaReads.rpsPerUnit: must be positive").
Result<Baselines> baselinesFromJson(const boost::json::value& defaults, const boost::json::object& override = {});
// Reads the file (kNotFound when missing), then as baselinesFromJson.
Result<Baselines> loadBaselines(const std::filesystem::path& file, const boost::json::object& override = {});

boost::json::value toJson(const UnitBaseline& unit);

}  // namespace ymy::capacity
