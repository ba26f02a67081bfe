#pragma once
// Account tiers and their limits, from a JSON file (data/auth/tiers.json):
//
//   {"defaultTier": "free",
//    "tiers": {"free": {"requestsPerMinute": 60, "burst": 20, "requestsPerDay": 1000,
//                       "designRunsPerDay": 20, "concurrentExecutions": 1,
//                       "maxPlanTasks": 12, "permissions": ["design:run", ...]}, ...}}
//
// requestsPerDay and designRunsPerDay may be null: unlimited (the spec's
// premium user has "45/unlimited requests today"). Every other field is
// required; numbers are positive integers; unknown keys are refused (a typo
// must not silently become "no limit"). Errors are kInvalidArgument naming
// the field path ("tiers.premium.burst must be a positive integer").

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace ymy::auth {

struct TierLimits {
  std::string name;
  std::int64_t requestsPerMinute = 0;
  std::int64_t burst = 0;                        // requests allowed at once from an idle start
  std::optional<std::int64_t> requestsPerDay;    // nullopt: unlimited
  std::optional<std::int64_t> designRunsPerDay;  // nullopt: unlimited
  std::int64_t concurrentExecutions = 0;
  std::int64_t maxPlanTasks = 0;
  std::vector<std::string> permissions;
};

class TierTable {
 public:
  // nullptr when there is no such tier.
  const TierLimits* find(std::string_view name) const;
  const TierLimits& defaultTier() const { return tiers_.at(defaultIndex_); }
  const std::vector<TierLimits>& all() const { return tiers_; }

 private:
  friend Result<TierTable> parseTiers(std::string_view json);
  std::vector<TierLimits> tiers_;  // in the file's order
  std::size_t defaultIndex_ = 0;
};

Result<TierTable> parseTiers(std::string_view json);
// Reads and parses the file; kNotFound/kIo name the path, parse errors are
// prefixed with it.
Result<TierTable> loadTiers(const std::filesystem::path& file);

}  // namespace ymy::auth
