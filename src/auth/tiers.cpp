#include "auth/tiers.hpp"

#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace ymy::auth {

namespace {

tl::unexpected<Error> bad(const std::string& path, const std::string& what) {
  return fail(ErrorCode::kInvalidArgument, path + " " + what);
}

Result<std::int64_t> positive(const boost::json::object& o, const std::string& path, const char* key) {
  const auto* v = o.if_contains(key);
  const std::string at = path + "." + key;
  if (v == nullptr) return bad(at, "is missing");
  if (v->is_int64() && v->get_int64() > 0) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return bad(at, "must be a positive integer");
}

Result<std::optional<std::int64_t>> positiveOrUnlimited(const boost::json::object& o, const std::string& path,
                                                        const char* key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return bad(path + "." + key, "is missing (null means unlimited)");
  if (v->is_null()) return std::optional<std::int64_t>();
  auto n = positive(o, path, key);
  if (!n) return bad(path + "." + key, "must be a positive integer or null (unlimited)");
  return std::optional<std::int64_t>(*n);
}

Result<TierLimits> parseTier(const std::string& name, const boost::json::value& v, const std::string& path) {
  if (!v.is_object()) return bad(path, "must be an object");
  const auto& o = v.get_object();
  static const char* const kKeys[] = {"requestsPerMinute",    "burst",        "requestsPerDay", "designRunsPerDay",
                                      "concurrentExecutions", "maxPlanTasks", "permissions"};
  for (const auto& [key, unused] : o) {
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    if (!known) return bad(path + "." + std::string(key), "is not a known field");
  }
  TierLimits t;
  t.name = name;
  auto rpm = positive(o, path, "requestsPerMinute");
  if (!rpm) return tl::unexpected(rpm.error());
  t.requestsPerMinute = *rpm;
  auto burst = positive(o, path, "burst");
  if (!burst) return tl::unexpected(burst.error());
  t.burst = *burst;
  auto perDay = positiveOrUnlimited(o, path, "requestsPerDay");
  if (!perDay) return tl::unexpected(perDay.error());
  t.requestsPerDay = *perDay;
  auto runs = positiveOrUnlimited(o, path, "designRunsPerDay");
  if (!runs) return tl::unexpected(runs.error());
  t.designRunsPerDay = *runs;
  auto concurrent = positive(o, path, "concurrentExecutions");
  if (!concurrent) return tl::unexpected(concurrent.error());
  t.concurrentExecutions = *concurrent;
  auto tasks = positive(o, path, "maxPlanTasks");
  if (!tasks) return tl::unexpected(tasks.error());
  t.maxPlanTasks = *tasks;
  const auto* permissions = o.if_contains("permissions");
  if (permissions == nullptr) return bad(path + ".permissions", "is missing");
  if (!permissions->is_array()) return bad(path + ".permissions", "must be an array of strings");
  std::size_t i = 0;
  for (const auto& p : permissions->get_array()) {
    if (!p.is_string() || p.get_string().empty()) {
      return bad(path + ".permissions[" + std::to_string(i) + "]", "must be a non-empty string");
    }
    t.permissions.emplace_back(p.get_string());
    ++i;
  }
  return t;
}

}  // namespace

const TierLimits* TierTable::find(std::string_view name) const {
  for (const auto& t : tiers_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<TierTable> parseTiers(std::string_view json) {
  boost::system::error_code ec;
  auto root = boost::json::parse(json, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "tiers: not JSON: " + ec.message());
  if (!root.is_object()) return fail(ErrorCode::kInvalidArgument, "tiers: the top level must be an object");
  const auto& o = root.get_object();
  for (const auto& [key, unused] : o) {
    if (key != "defaultTier" && key != "tiers") return bad(std::string(key), "is not a known field");
  }
  const auto* tiers = o.if_contains("tiers");
  if (tiers == nullptr) return bad("tiers", "is missing");
  if (!tiers->is_object() || tiers->get_object().empty()) return bad("tiers", "must be a non-empty object");
  TierTable table;
  for (const auto& [name, value] : tiers->get_object()) {
    auto tier = parseTier(std::string(name), value, "tiers." + std::string(name));
    if (!tier) return tl::unexpected(tier.error());
    table.tiers_.push_back(std::move(*tier));
  }
  const auto* def = o.if_contains("defaultTier");
  if (def == nullptr) return bad("defaultTier", "is missing");
  if (!def->is_string()) return bad("defaultTier", "must be a string");
  const auto* found = table.find(def->get_string());
  if (found == nullptr) return bad("defaultTier", "'" + std::string(def->get_string()) + "' is not one of the tiers");
  table.defaultIndex_ = static_cast<std::size_t>(found - table.tiers_.data());
  return table;
}

Result<TierTable> loadTiers(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read tiers file " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  auto table = parseTiers(text.str());
  if (!table) return fail(table.error().code, file.string() + ": " + table.error().message);
  return table;
}

}  // namespace ymy::auth
