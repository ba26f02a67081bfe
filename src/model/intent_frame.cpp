#include "model/intent_frame.hpp"

#include <cmath>

#include "model/json_io.hpp"

namespace ymy {

namespace {
constexpr std::array<std::string_view, 7> kIntentNames = {
    "BUILD_FROM_SCRATCH", "ADD_COMPONENT", "SCALE_COMPONENT", "MODIFY_COMPONENT",
    "REMOVE_COMPONENT",   "OPTIMIZE",      "ANALYZE",
};

boost::json::array toArray(const std::vector<std::string>& items) {
  boost::json::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

// Whole numbers print as integers ("5000", not "5000.0").
boost::json::value number(double v) {
  if (v == static_cast<double>(static_cast<long long>(v)) && v < 9e15 && v > -9e15) {
    return static_cast<long long>(v);
  }
  return v;
}
}  // namespace

std::string_view intentName(Intent intent) { return kIntentNames[static_cast<std::size_t>(intent)]; }

std::optional<Intent> intentFromName(std::string_view name) {
  for (std::size_t i = 0; i < kIntentNames.size(); ++i) {
    if (kIntentNames[i] == name) return static_cast<Intent>(i);
  }
  return std::nullopt;
}

bool isComponentIntent(Intent intent) {
  return intent == Intent::kAddComponent || intent == Intent::kScaleComponent ||
         intent == Intent::kModifyComponent || intent == Intent::kRemoveComponent;
}

boost::json::value toJson(const Params& p) {
  boost::json::object out;
  if (p.rps) out["rps"] = number(*p.rps);
  if (p.latencyMs) out["latency_ms"] = number(*p.latencyMs);
  if (p.percentile) out["percentile"] = number(*p.percentile);
  if (p.users) out["users"] = number(*p.users);
  if (p.connections) out["connections"] = number(*p.connections);
  if (p.availability) out["availability"] = number(*p.availability);
  return out;
}

boost::json::value toJson(const IntentFrame& f) {
  boost::json::object out{
      {"intent", intentName(f.intent)},
      {"confidence", std::round(f.confidence * 1000) / 1000},
      {"complexity", std::round(f.complexity * 100) / 100},
      {"target", f.target},
      {"targetOnCanvas", f.targetOnCanvas},
      {"components", toArray(f.components)},
  };
  if (!f.excluded.empty()) out["excluded"] = toArray(f.excluded);
  if (!f.features.empty()) out["features"] = toArray(f.features);
  out["params"] = toJson(f.params);
  out["estimatedTasks"] = f.estimatedTasks;
  return out;
}

Result<IntentFrame> intentFrameFromJson(const boost::json::value& value, std::string_view path) {
  return json::guarded([&] {
    json::Reader r(value, std::string(path));
    IntentFrame f;
    auto name = r.at("intent").str();
    auto intent = intentFromName(name);
    if (!intent) r.at("intent").fail("unknown intent '" + name + "'");
    f.intent = *intent;
    f.confidence = r.numberOr("confidence", 1.0);
    f.complexity = r.at("complexity").number();
    if (f.complexity < 0 || f.complexity > 1) r.at("complexity").fail("must be within [0, 1]");
    f.target = r.strOr("target", "");
    f.targetOnCanvas = r.booleanOr("targetOnCanvas", false);
    f.components = r.stringsOr("components");
    f.excluded = r.stringsOr("excluded");
    f.features = r.stringsOr("features");
    if (auto p = r.find("params")) {
      auto get = [&](std::string_view key) -> std::optional<double> {
        if (auto v = p->find(key)) return v->number();
        return std::nullopt;
      };
      f.params.rps = get("rps");
      f.params.latencyMs = get("latency_ms");
      f.params.percentile = get("percentile");
      f.params.users = get("users");
      f.params.connections = get("connections");
      f.params.availability = get("availability");
    }
    f.estimatedTasks = static_cast<int>(r.numberOr("estimatedTasks", 0));
    return f;
  });
}

}  // namespace ymy
