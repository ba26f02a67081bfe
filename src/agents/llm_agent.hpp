#pragma once
// The agents stage backed by a model: the agents that write content
// (arch-001, db-001, code-001 by default) ask the stage's LlmProvider for the
// task's files, streaming the answer as taskProgress / iterationProgress.
//
// What the model decides and what stays builtin: the builtin agent runs first
// (quietly, with no simulated latency) and gives the run's structure, the
// canvas update and the structured output dependents and the merger read
// (architecture, schema); that structure goes into the request, so the
// model's files name the same services and tables. The model writes the
// task's summary and files: {"summary", "files": [{"path", "content"}]},
// checked like the builtin files (safe relative paths, unique, no control
// characters, .json files parse, size limits), with one repair round naming
// the problems. When the provider is unavailable or the answer is still
// unusable, the task keeps the builtin agent's result and an llmFallback event
// (with the task's id) says why; in strict mode the task fails instead. A
// cancelled context (a step modification, a cancel, a shutdown) aborts the
// request in flight through TaskContext::cancellation().
//
// The tokens of every call (a rejected answer's too) go on the result
// (TaskResult::llm), priced from the table.

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "executor/agent.hpp"
#include "llm/config.hpp"
#include "llm/provider.hpp"

namespace ymy::agents {

// The agents stage's provider. Copied into each agent; everything pointed to must outlive the agents
// made from it; the provider is shared across tasks and executions.
struct LlmAgentStage {
  llm::LlmProvider* provider = nullptr;     // null: builtin agents only
  llm::ProviderConfig config{};             // kind and model for requests and events; strict
  const llm::PriceTable* prices = nullptr;  // null or model not listed: no cost
  std::set<std::string> agents{"arch-001", "db-001", "code-001"};  // the agents that ask the model
  std::size_t progressChars = 512;  // a taskProgress every this many streamed characters (at least 1)
};

// Limits on an answer, checked with the builtin files' rules.
inline constexpr std::size_t kMaxAnswerFiles = 64;
inline constexpr std::size_t kMaxAnswerFileBytes = 256 * 1024;

// {"summary": string, "files": [{"path": string, "content": string}]}, all
// required, nothing else.
boost::json::value agentAnswerSchema();

// Problems with an answer, each naming where ("files[2].path: ..."); empty
// when usable.
std::vector<std::string> agentAnswerProblems(const boost::json::value& answer);

// The request for one task: the agent's role, the task's prompt, the user's
// request, the intent frame, the completed ancestors' summaries and outputs
// (each cut to a few kB) and the builtin structure `structure` (its output
// and file paths).
llm::ChatRequest makeAgentRequest(const executor::TaskContext& context, const executor::TaskResult& structure,
                                  const std::string& model);

// `builtin` (not owned, must outlive it) does the structure and the fallback.
std::unique_ptr<executor::Agent> makeLlmAgent(executor::Agent& builtin, const LlmAgentStage& stage);

// A registry with every agent of `builtin`: those in stage.agents backed by
// the stage's model, the others forwarding to the builtin ones. `builtin`
// must outlive it. Without a provider, every agent forwards.
executor::AgentRegistry withModelAgents(const executor::AgentRegistry& builtin, const LlmAgentStage& stage);

}  // namespace ymy::agents
