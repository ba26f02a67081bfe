#pragma once
// Wires the merger into the executor: the run's canvas is the base canvas with
// every completed task's canvas patch applied in plan order; files from later
// tasks replace earlier ones at the same path.

#include "executor/executor.hpp"

namespace ymy::engine {

class DesignAssembler final : public executor::ResultAssembler {
 public:
  executor::Assembly assemble(const executor::ExecutionInput& input, const Plan& plan,
                              const std::vector<std::pair<const Task*, const executor::TaskResult*>>& results) override;
};

}  // namespace ymy::engine
