#pragma once
// Wires the merger into the executor: the run's canvas is the base canvas with
// every completed task's canvas patch applied in plan order; files from later
// tasks replace earlier ones at the same path.

#include "executor/executor.hpp"
#include "merger/merger.hpp"

namespace ymy::engine {

class DesignAssembler final : public executor::ResultAssembler {
 public:
  executor::Assembly assemble(const executor::ExecutionInput& input, const Plan& plan,
                              const std::vector<std::pair<const Task*, const executor::TaskResult*>>& results) override;
};

// arch-001's output["scaled"] on a static scaling run, for the merger's
// REPLACE_COMPONENT: {target, config, instances, loadBalancer, sessionNodes,
// cacheNodes, readReplicas, monitoring}. Missing keys take the defaults.
merger::ScaledComponent scaledComponentFromJson(const boost::json::object& scaled);

}  // namespace ymy::engine
