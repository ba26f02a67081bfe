#pragma once
// What a request means: the IntentFrame of DESIGN.md.
//   {"intent","complexity","target","components":[...],"params":{"rps":5000,...},
//    "estimatedTasks"}

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy {

enum class Intent {
  kBuildFromScratch,
  kAddComponent,
  kScaleComponent,
  kModifyComponent,
  kRemoveComponent,
  kOptimize,
  kAnalyze,
};

inline constexpr std::array<Intent, 7> kAllIntents = {
    Intent::kBuildFromScratch, Intent::kAddComponent,    Intent::kScaleComponent,
    Intent::kModifyComponent,  Intent::kRemoveComponent, Intent::kOptimize,
    Intent::kAnalyze,
};

// "BUILD_FROM_SCRATCH", ...
std::string_view intentName(Intent intent);
std::optional<Intent> intentFromName(std::string_view name);

// Intents that act on one component of an existing design.
bool isComponentIntent(Intent intent);

// Numbers the request states, normalised to one unit each.
struct Params {
  std::optional<double> rps;            // requests per second (rpm, rph converted)
  std::optional<double> latencyMs;      // latency bound in milliseconds
  std::optional<double> percentile;     // which percentile the bound is for (99 for "p99")
  std::optional<double> users;          // users, DAU/MAU, customers
  std::optional<double> connections;    // concurrent connections
  std::optional<double> availability;   // percent, 99.99

  bool empty() const {
    return !rps && !latencyMs && !percentile && !users && !connections && !availability;
  }
};

struct IntentFrame {
  Intent intent = Intent::kAnalyze;
  double confidence = 0;           // classifier probability of `intent`
  double complexity = 0;           // [0,1]; the router sends < 0.7 down the static path
  std::string target;              // canvas node id, catalog node id, or "<domain>-platform"
  std::vector<std::string> components;  // catalog ids, in order of mention
  std::vector<std::string> excluded;    // catalog ids the request rules out ("without chat")
  std::vector<std::string> features;    // things asked for that the catalog does not know
  Params params;
  int estimatedTasks = 0;
  bool targetOnCanvas = false;     // target resolved to an existing canvas node
};

boost::json::value toJson(const Params& params);
boost::json::value toJson(const IntentFrame& frame);
Result<IntentFrame> intentFrameFromJson(const boost::json::value& value,
                                        std::string_view path = "intent");

}  // namespace ymy
