#pragma once
// The executionSummary of the spec:
//   {"totalTime","tasksCompleted","success","canvasChanges":{...},
//    "codeGeneration":{...},"nextSteps":[...]}
// plus what failed and why.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace ymy {

struct CanvasChanges {
  int componentsAdded = 0;     // nodes added to the canvas
  int componentsUpdated = 0;   // existing nodes whose config or label changed
  int connectionsCreated = 0;  // edges added
  int nodesGenerated = 0;      // nodes the run produced, new or updated
};

struct CodeGeneration {
  int filesGenerated = 0;
  int linesOfCode = 0;
  int services = 0;    // service folders with code
  int components = 0;  // frontend components (.jsx)
};

struct TaskFailure {
  std::string taskId;
  std::string name;
  std::string error;
};

// Tokens and cost of one stage's model calls (the plan stage's, or the
// agents' of one task or of a whole run).
struct LlmStageUsage {
  std::string stage;     // "plan", "agents"
  std::string provider;  // "openai", "gemini"
  std::string model;     // as the provider reported it
  int calls = 0;
  std::int64_t promptTokens = 0;
  std::int64_t completionTokens = 0;
  std::optional<double> costUsd;  // unset when the model is not in the price table
};

// {"stage", "provider", "model", "calls", "promptTokens", "completionTokens",
// "costUsd" (when priced)}: the summary's llm.stages[], taskCompleted's llm.
boost::json::object toJson(const LlmStageUsage& usage);
// Tolerant: nullopt when the token counts are missing; other fields default.
std::optional<LlmStageUsage> llmStageUsageFromJson(const boost::json::value& value);

struct ExecutionSummary {
  std::int64_t totalTimeMs = 0;
  int tasksCompleted = 0;
  int tasksFailed = 0;
  int tasksSkipped = 0;
  int tasksCancelled = 0;
  bool success = false;
  bool cancelled = false;
  CanvasChanges canvasChanges;
  CodeGeneration codeGeneration;
  std::vector<std::string> nextSteps;
  std::vector<TaskFailure> failures;
  // Step modifications: how many were applied, the tasks they re-ran, and the
  // tasks that kept their first run.
  int modifications = 0;
  std::vector<std::string> regeneratedTasks;
  std::vector<std::string> keptTasks;
  // Model calls made for this run; empty when everything ran builtin. In the
  // JSON: "llm": {promptTokens, completionTokens, costUsd (when every stage is
  // priced), model, stages: [...]}.
  std::vector<LlmStageUsage> llm;
};

// Event fields of executionSummary (without the event envelope).
boost::json::object toJsonFields(const ExecutionSummary& summary);

}  // namespace ymy
