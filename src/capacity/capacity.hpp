#pragma once
// The capacity model: the one header to include.
//
//   auto model = capacity::CapacityModel::load(capacity::defaultBaselinesPath(dataDir), userOverride);
//   auto current = model->analyse(node, &canvas);  // CurrentConfig: capacity now, bottlenecks
//   capacity::Target target;
//   target.rps = 5000;                             // optionally p99Ms, readRatio, cacheHitRatio
//   auto sized = model->size(*current, target);    // SizingResult: tiers, capacity, limiting tier
//   publish(toJson(*sized));
//
// Pieces, each usable alone:
//   baselines.hpp  per-unit throughput and service times (data/capacity/baselines.json), overrides
//   component.hpp  a canvas node's current deployment, its capacity and bottlenecks
//   sizing.hpp     units per tier for a target, checked by the queueing model
//   queueing.hpp   M/M/c (Erlang C) per tier; the largest load a design supports
//   tiers.hpp      how a design's unit counts become queueing tiers
//
// Everything here is a value computed from its inputs: no I/O after loading,
// no shared state; a CapacityModel is immutable and safe to share between threads.

#include <filesystem>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "capacity/baselines.hpp"
#include "capacity/component.hpp"
#include "capacity/queueing.hpp"
#include "capacity/sizing.hpp"
#include "capacity/tiers.hpp"
#include "model/canvas.hpp"
#include "model/error.hpp"

namespace ymy::capacity {

class CapacityModel {
 public:
  // Reads the baselines file with `override` merged on top (see baselines.hpp):
  // kNotFound for a missing file, kInvalidArgument naming the path otherwise.
  static Result<CapacityModel> load(const std::filesystem::path& baselinesFile,
                                    const boost::json::object& override = {});
  explicit CapacityModel(Baselines baselines) : baselines_(std::move(baselines)) {}

  const Baselines& baselines() const { return baselines_; }

  Result<CurrentConfig> analyse(const CanvasNode& node, const Canvas* canvas = nullptr) const;
  Result<SizingResult> size(const CurrentConfig& current, const Target& target) const;
  // analyse, then size.
  Result<SizingResult> size(const CanvasNode& node, const Target& target, const Canvas* canvas = nullptr) const;

 private:
  Baselines baselines_;
};

// JSON for events, camelCase like the rest of the API. Rates are whole
// requests per second rounded down (never over-claiming), utilisation to 3
// decimals, times to 2; an unbounded capacity (a tier without work) is null.
boost::json::value toJson(const Bottleneck& bottleneck);
boost::json::value toJson(const CurrentConfig& current);
boost::json::value toJson(const TierSizing& tier);
boost::json::value toJson(const SizingResult& result);
boost::json::value toJson(const QueueStats& stats);

}  // namespace ymy::capacity
