#include "agents/builtin.hpp"

namespace ymy::agents {

std::unique_ptr<executor::Agent> makeArchitectAgent(const AgentEnvironment& env);
std::unique_ptr<executor::Agent> makeDatabaseAgent(const AgentEnvironment& env);
std::unique_ptr<executor::Agent> makeCodeAgent(const AgentEnvironment& env);
std::unique_ptr<executor::Agent> makeCapacityAgent(const AgentEnvironment& env);
std::unique_ptr<executor::Agent> makeOpsAgent(const AgentEnvironment& env);
std::unique_ptr<executor::Agent> makeTestAgent(const AgentEnvironment& env);

void registerBuiltinAgents(executor::AgentRegistry& registry, const AgentEnvironment& env) {
  registry.add(makeArchitectAgent(env));
  registry.add(makeDatabaseAgent(env));
  registry.add(makeCodeAgent(env));
  registry.add(makeCapacityAgent(env));
  registry.add(makeOpsAgent(env));
  registry.add(makeTestAgent(env));
}

}  // namespace ymy::agents
