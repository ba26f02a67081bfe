#include "capacity/capacity.hpp"

#include <cmath>

namespace ymy::capacity {

namespace bj = boost::json;

namespace {

bj::value wholeRps(double rps) {
  if (!std::isfinite(rps)) return nullptr;
  return static_cast<std::int64_t>(std::floor(rps + 1e-9));
}

bj::value rounded(double value, int decimals) {
  if (!std::isfinite(value)) return nullptr;
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

bj::array strings(const std::vector<std::string>& items) { return bj::array(items.begin(), items.end()); }

}  // namespace

Result<CapacityModel> CapacityModel::load(const std::filesystem::path& baselinesFile, const bj::object& override) {
  auto baselines = loadBaselines(baselinesFile, override);
  if (!baselines) return tl::unexpected(baselines.error());
  return CapacityModel(std::move(*baselines));
}

Result<CurrentConfig> CapacityModel::analyse(const CanvasNode& node, const Canvas* canvas) const {
  return analyseComponent(node, baselines_, canvas);
}

Result<SizingResult> CapacityModel::size(const CurrentConfig& current, const Target& target) const {
  return sizeComponent(current, target, baselines_);
}

Result<SizingResult> CapacityModel::size(const CanvasNode& node, const Target& target, const Canvas* canvas) const {
  auto current = analyse(node, canvas);
  if (!current) return tl::unexpected(current.error());
  return size(*current, target);
}

bj::value toJson(const Bottleneck& b) {
  return bj::object{{"kind", bottleneckKindName(b.kind)}, {"component", b.component}, {"reason", b.reason}};
}

bj::value toJson(const CurrentConfig& c) {
  bj::array bottlenecks;
  for (const auto& b : c.bottlenecks) bottlenecks.push_back(toJson(b));
  bj::object out{
      {"component", c.component},
      {"label", c.label},
      {"workload", workloadName(c.workload)},
      {"workloadSource", c.workloadSource},
      {"instances", c.instances},
      {"loadBalancer", c.hasLoadBalancer ? bj::value(c.loadBalancer) : bj::value(nullptr)},
      {"sessionStore", sessionStoreName(c.sessionStore)},
      {"database", c.hasDatabase ? bj::value(c.database) : bj::value(nullptr)},
      {"readReplicas", c.readReplicas},
      {"cache", c.hasCache ? bj::value(c.cache) : bj::value(nullptr)},
      {"queue", c.hasQueue},
      {"statedCapacityRps", c.statedCapacityRps ? wholeRps(*c.statedCapacityRps) : bj::value(nullptr)},
      {"modelCapacityRps", wholeRps(c.modelCapacityRps)},
      {"modelLimitingTier", c.modelLimitingTier},
      {"currentCapacityRps", wholeRps(c.currentCapacityRps)},
      {"bottlenecks", std::move(bottlenecks)},
      {"notes", strings(c.notes)},
  };
  if (!c.sessionStoreText.empty()) out["sessionStoreText"] = c.sessionStoreText;
  if (c.rpsPerInstance) out["rpsPerInstance"] = *c.rpsPerInstance;
  return out;
}

bj::value toJson(const TierSizing& t) {
  return bj::object{
      {"tier", t.tier},
      {"what", t.what},
      {"count", t.count},
      {"serversPerUnit", t.serversPerUnit},
      {"perUnitRps", rounded(t.perUnitRps, 2)},
      {"loadRps", rounded(t.loadRps, 2)},
      {"capacityRps", wholeRps(t.capacityRps)},
      {"utilisation", rounded(t.utilisation, 3)},
      {"p50Ms", rounded(t.p50Ms, 2)},
      {"p99Ms", rounded(t.p99Ms, 2)},
  };
}

bj::value toJson(const SizingResult& r) {
  bj::array tiers;
  for (const auto& t : r.tiers) tiers.push_back(toJson(t));
  return bj::object{
      {"component", r.component},
      {"workload", workloadName(r.workload)},
      {"targetRps", rounded(r.targetRps, 2)},
      {"targetP99Ms", r.targetP99Ms ? rounded(*r.targetP99Ms, 2) : bj::value(nullptr)},
      {"readRatio", rounded(r.readRatio, 3)},
      {"cacheHitRatio", rounded(r.cacheHitRatio, 3)},
      {"targetUtilisation", rounded(r.targetUtilisation, 3)},
      {"currentCapacityRps", wholeRps(r.currentCapacityRps)},
      {"tiers", std::move(tiers)},
      {"estimatedCapacityRps", wholeRps(r.estimatedCapacityRps)},
      {"limitingTier", r.limitingTier},
      {"limitedBy", r.limitedBy},
      {"headroom", rounded(r.headroom, 3)},
      {"pathP50Ms", rounded(r.pathP50Ms, 2)},
      {"pathP99Ms", rounded(r.pathP99Ms, 2)},
      {"meetsTarget", r.meetsTarget},
      {"notes", strings(r.notes)},
  };
}

bj::value toJson(const QueueStats& s) {
  return bj::object{
      {"utilisation", rounded(s.utilisation, 3)},
      {"stable", s.stable},
      {"probWait", rounded(s.probWait, 4)},
      {"meanWaitMs", rounded(s.meanWaitMs, 3)},
      {"meanResponseMs", rounded(s.meanResponseMs, 3)},
      {"p50Ms", rounded(s.p50Ms, 2)},
      {"p99Ms", rounded(s.p99Ms, 2)},
  };
}

}  // namespace ymy::capacity
