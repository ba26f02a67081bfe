#include "capacity/baselines.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>

#include "model/json_io.hpp"

namespace ymy::capacity {

namespace bj = boost::json;

namespace {

constexpr std::array<Workload, kWorkloadCount> kWorkloads = {
    Workload::kCpuBound, Workload::kIoBound, Workload::kMemoryBound, Workload::kStreaming, Workload::kStatic};

std::string joined(const bj::object& object) {
  std::string out;
  for (const auto& kv : object) {
    if (!out.empty()) out += ", ";
    out += kv.key();
  }
  return out;
}

// A typo in the data file must not silently fall back to nothing.
void rejectUnknownKeys(const json::Reader& r, std::initializer_list<std::string_view> known) {
  for (const auto& kv : r.object()) {
    if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
      r.at(kv.key()).fail("unknown key");
    }
  }
}

double positive(const json::Reader& r) {
  double v = r.number();
  if (!(v > 0) || !std::isfinite(v)) r.fail("must be positive");
  return v;
}

double ratio(const json::Reader& r) {
  double v = r.number();
  if (!(v >= 0 && v <= 1)) r.fail("must be between 0 and 1");
  return v;
}

int count(const json::Reader& r, int minimum) {
  auto v = r.integer();
  if (v < minimum) r.fail("must be at least " + std::to_string(minimum));
  if (v > 1'000'000) r.fail("must be at most 1000000");
  return static_cast<int>(v);
}

UnitBaseline readUnit(const json::Reader& r) {
  rejectUnknownKeys(r, {"rpsPerUnit", "serviceTimeMs", "source"});
  UnitBaseline unit;
  unit.rpsPerUnit = positive(r.at("rpsPerUnit"));
  unit.serviceTimeMs = positive(r.at("serviceTimeMs"));
  unit.source = r.at("source").str();
  if (unit.source.empty()) r.at("source").fail("must say where the figure comes from");
  double concurrent = unit.rpsPerUnit * unit.serviceTimeMs / 1000.0;
  if (concurrent > 100'000) r.fail("rpsPerUnit x serviceTimeMs implies more than 100000 parallel servers");
  unit.serversPerUnit = std::max(1, static_cast<int>(std::lround(concurrent)));
  return unit;
}

Baselines readBaselines(const json::Reader& root) {
  rejectUnknownKeys(
      root, {"note", "headroom", "app", "traffic", "database", "cacheNode", "loadBalancer", "queueBroker", "policy"});
  Baselines b;
  b.note = root.at("note").str();

  auto headroom = root.at("headroom");
  rejectUnknownKeys(headroom, {"targetUtilisation", "source"});
  b.targetUtilisation = ratio(headroom.at("targetUtilisation"));
  if (b.targetUtilisation <= 0 || b.targetUtilisation >= 1) {
    headroom.at("targetUtilisation").fail("must be above 0 and below 1");
  }
  headroom.at("source").str();

  auto app = root.at("app");
  rejectUnknownKeys(app, {"cpu_bound", "io_bound", "memory_bound", "streaming", "static"});
  auto traffic = root.at("traffic");
  rejectUnknownKeys(traffic,
                    {"source", "sessionOpsPerRequest", "cpu_bound", "io_bound", "memory_bound", "streaming", "static"});
  traffic.at("source").str();
  b.sessionOpsPerRequest = traffic.at("sessionOpsPerRequest").number();
  if (!(b.sessionOpsPerRequest >= 0 && b.sessionOpsPerRequest <= 100)) {
    traffic.at("sessionOpsPerRequest").fail("must be between 0 and 100");
  }
  for (Workload w : kWorkloads) {
    auto i = static_cast<std::size_t>(w);
    b.app[i] = readUnit(app.at(workloadName(w)));
    auto profile = traffic.at(workloadName(w));
    rejectUnknownKeys(profile, {"readRatio", "cacheHitRatio"});
    b.traffic[i].readRatio = ratio(profile.at("readRatio"));
    b.traffic[i].cacheHitRatio = ratio(profile.at("cacheHitRatio"));
    if (b.traffic[i].cacheHitRatio >= 1) profile.at("cacheHitRatio").fail("must be below 1");
  }

  auto db = root.at("database");
  rejectUnknownKeys(db, {"primaryReads", "primaryWrites", "replicaReads"});
  b.primaryReads = readUnit(db.at("primaryReads"));
  b.primaryWrites = readUnit(db.at("primaryWrites"));
  b.replicaReads = readUnit(db.at("replicaReads"));
  b.cacheNode = readUnit(root.at("cacheNode"));
  b.loadBalancer = readUnit(root.at("loadBalancer"));
  b.queueBroker = readUnit(root.at("queueBroker"));

  auto policy = root.at("policy");
  rejectUnknownKeys(policy, {"note", "minAppInstances", "minSessionStoreNodes", "minReadReplicas",
                             "cacheWhenReadRatioAtLeast", "maxUnitsPerTier"});
  b.policy.minAppInstances = count(policy.at("minAppInstances"), 1);
  b.policy.minSessionStoreNodes = count(policy.at("minSessionStoreNodes"), 1);
  b.policy.minReadReplicas = count(policy.at("minReadReplicas"), 0);
  b.policy.cacheWhenReadRatioAtLeast = ratio(policy.at("cacheWhenReadRatioAtLeast"));
  b.policy.maxUnitsPerTier = count(policy.at("maxUnitsPerTier"), 1);
  if (b.policy.maxUnitsPerTier <
      std::max({b.policy.minAppInstances, b.policy.minSessionStoreNodes, b.policy.minReadReplicas})) {
    policy.at("maxUnitsPerTier").fail("must not be below the minimum counts");
  }
  return b;
}

bool sameKind(const bj::value& a, const bj::value& b) {
  auto numeric = [](const bj::value& v) { return v.is_number(); };
  return a.kind() == b.kind() || (numeric(a) && numeric(b));
}

void mergeInto(bj::object& target, const bj::object& override, const std::string& path) {
  for (const auto& kv : override) {
    std::string child = path + "." + std::string(kv.key());
    auto it = target.find(kv.key());
    if (it == target.end()) {
      throw json::ShapeError(child + ": unknown key; known keys here: " + joined(target));
    }
    if (!sameKind(it->value(), kv.value())) {
      throw json::ShapeError(child + ": expected " + json::kindName(it->value()) + ", got " +
                             json::kindName(kv.value()));
    }
    if (it->value().is_object()) {
      mergeInto(it->value().get_object(), kv.value().get_object(), child);
    } else {
      it->value() = kv.value();
    }
  }
}

}  // namespace

const char* workloadName(Workload workload) {
  switch (workload) {
    case Workload::kCpuBound:
      return "cpu_bound";
    case Workload::kIoBound:
      return "io_bound";
    case Workload::kMemoryBound:
      return "memory_bound";
    case Workload::kStreaming:
      return "streaming";
    case Workload::kStatic:
      return "static";
  }
  return "io_bound";
}

std::optional<Workload> parseWorkload(std::string_view text) {
  std::string key;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (key.size() > 5 && key.compare(key.size() - 5, 5, "bound") == 0) key.resize(key.size() - 5);
  if (key == "cpu" || key == "compute") return Workload::kCpuBound;
  if (key == "io" || key == "network") return Workload::kIoBound;
  if (key == "memory" || key == "mem") return Workload::kMemoryBound;
  if (key == "streaming" || key == "stream") return Workload::kStreaming;
  if (key == "static" || key == "staticfiles" || key == "assets") return Workload::kStatic;
  return std::nullopt;
}

std::filesystem::path defaultBaselinesPath(const std::filesystem::path& dataDir) {
  return dataDir / "capacity" / "baselines.json";
}

Result<bj::value> mergeOverride(const bj::value& defaults, const bj::object& override, std::string_view path) {
  return json::guarded([&] {
    if (!defaults.is_object())
      throw json::ShapeError("baselines: expected an object, got " + std::string(json::kindName(defaults)));
    bj::value merged = defaults;
    mergeInto(merged.get_object(), override, std::string(path));
    return merged;
  });
}

Result<Baselines> baselinesFromJson(const bj::value& defaults, const bj::object& override) {
  auto merged = mergeOverride(defaults, override);
  if (!merged) return tl::unexpected(merged.error());
  return json::guarded([&] { return readBaselines(json::Reader(*merged, "baselines")); });
}

Result<Baselines> loadBaselines(const std::filesystem::path& file, const bj::object& override) {
  auto value = json::parseFile(file, "capacity baselines", 1u << 20);
  if (!value) return tl::unexpected(value.error());
  return baselinesFromJson(*value, override);
}

bj::value toJson(const UnitBaseline& unit) {
  return bj::object{{"rpsPerUnit", unit.rpsPerUnit},
                    {"serviceTimeMs", unit.serviceTimeMs},
                    {"serversPerUnit", unit.serversPerUnit},
                    {"source", unit.source}};
}

}  // namespace ymy::capacity
