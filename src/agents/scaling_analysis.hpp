#pragma once
// The static path's analysis of a scaling request (the spec's "CPU model
// processing" step), rule-based and local: what kind of scaling is asked for,
// the current deployment in one phrase, what to change, and what the change
// means for security.

#include <string>
#include <vector>

#include "capacity/capacity.hpp"
#include "executor/agent.hpp"
#include "model/catalog.hpp"

namespace ymy::agents {

struct ScalingAnalysis {
  std::string requirement;    // "high_throughput_auth"
  std::string currentConfig;  // "single_instance_bottleneck"
  std::string security;       // "maintain_jwt_security"
  std::vector<std::string> recommendations;
  std::vector<std::string> securityImplications;
};

ScalingAnalysis analyseScaling(const Catalog& catalog, const executor::ExecutionInput& input,
                               const capacity::CurrentConfig& current, double targetRps);

}  // namespace ymy::agents
