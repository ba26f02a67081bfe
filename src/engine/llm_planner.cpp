#include "engine/llm_planner.hpp"

#include <boost/json.hpp>

#include "model/json_io.hpp"
#include "planner/planner.hpp"
#include "planner/validation.hpp"

namespace ymy::engine {

namespace {

constexpr const char* kSystemPrompt =
    "You are the planner of YouMeYou, a system-design service. Turn the user's request into a plan: a DAG of "
    "tasks that design the architecture, generate code, schemas and configuration, and test it. Answer with JSON "
    "only, matching the given schema: {\"tasks\": [...]}.\n"
    "Each task has exactly these fields:\n"
    "- id: unique, short (\"task_1\", ...)\n"
    "- name, description: what the task does\n"
    "- type: ARCHITECTURE, CODE_GENERATION, TESTING, CONFIGURATION or ANALYSIS\n"
    "- dependencies: ids of tasks that must finish first (no cycles, only ids of this plan)\n"
    "- estimatedTime: seconds, 1 to 86400\n"
    "- isolation: INDEPENDENT (no dependencies), DEPENDENT, or FINAL (the one task integrating everything)\n"
    "- agent: who runs it, one of the agents listed below\n"
    "- prompt: the instruction the agent receives, never empty\n"
    "- canRunInParallel: whether it may overlap with other tasks\n"
    "Agents: arch-001 designs architecture and the canvas; db-001 designs database schemas; code-001 generates "
    "service and frontend code; test-001 writes tests; cap-001 sizes capacity and scaling; ops-001 writes "
    "deployment and configuration.";

std::string describeCanvas(const context::Context& context) {
  if (context.empty) return "The canvas is empty.";
  std::string out = "The canvas has " + std::to_string(context.components.size()) + " components and " +
                    std::to_string(context.edgeCount) + " connections:\n";
  for (const auto& c : context.components) {
    out += "- " + c.nodeId + " (" + c.type + (c.component.empty() ? "" : ", " + c.component) + ")";
    if (!c.label.empty() && c.label != c.nodeId) out += " \"" + c.label + "\"";
    if (!c.callees.empty()) {
      out += " -> ";
      for (std::size_t i = 0; i < c.callees.size(); ++i) out += (i ? ", " : "") + c.callees[i];
    }
    out += "\n";
  }
  return out;
}

boost::json::array namesOf(std::initializer_list<std::string_view> names) {
  boost::json::array out;
  for (auto n : names) out.emplace_back(n);
  return out;
}

}  // namespace

std::vector<std::string> plannableAgents(const executor::AgentRegistry& agents) {
  std::vector<std::string> out;
  for (auto id : knownAgents()) {
    if (agents.find(id)) out.emplace_back(id);
  }
  return out;
}

boost::json::value planAnswerSchema(const std::vector<std::string>& agents) {
  boost::json::array agentEnum(agents.begin(), agents.end());
  boost::json::object task{
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"name", {{"type", "string"}}},
        {"description", {{"type", "string"}}},
        {"type",
         {{"type", "string"},
          {"enum", namesOf({taskTypeName(TaskType::kArchitecture), taskTypeName(TaskType::kCodeGeneration),
                            taskTypeName(TaskType::kTesting), taskTypeName(TaskType::kConfiguration),
                            taskTypeName(TaskType::kAnalysis)})}}},
        {"dependencies", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"estimatedTime", {{"type", "integer"}}},
        {"isolation",
         {{"type", "string"},
          {"enum", namesOf({isolationName(Isolation::kIndependent), isolationName(Isolation::kDependent),
                            isolationName(Isolation::kFinal)})}}},
        {"agent", {{"type", "string"}, {"enum", std::move(agentEnum)}}},
        {"prompt", {{"type", "string"}}},
        {"canRunInParallel", {{"type", "boolean"}}}}},
      {"required", namesOf({"id", "name", "description", "type", "dependencies", "estimatedTime", "isolation",
                            "agent", "prompt", "canRunInParallel"})},
      {"additionalProperties", false},
  };
  return boost::json::object{
      {"type", "object"},
      // No minItems/maxItems: not every provider's strict mode takes them; the
      // plan validation reports an empty or oversized plan for the repair.
      {"properties", {{"tasks", {{"type", "array"}, {"items", std::move(task)}}}}},
      {"required", namesOf({"tasks"})},
      {"additionalProperties", false},
  };
}

llm::ChatRequest makePlanRequest(const Analysis& analysis, std::string_view request, const std::string& model,
                                 const std::vector<std::string>& agents) {
  llm::ChatRequest r;
  r.model = model;
  std::string user = "Request: " + std::string(request) + "\n\nIntent frame: " + json::compact(toJson(analysis.frame)) +
                     "\n\n" + describeCanvas(analysis.context);
  if (!analysis.context.userPreferences.empty()) {
    user += "\nPreferred stack:";
    for (const auto& p : analysis.context.userPreferences) user += " " + p;
    user += "\n";
  }
  r.messages = {{"system", kSystemPrompt}, {"user", std::move(user)}};
  r.schema = planAnswerSchema(agents);
  r.schemaName = "plan";
  r.temperature = 0.2;
  return r;
}

std::vector<std::string> modelPlanProblems(const boost::json::value& answer, const executor::AgentRegistry& agents) {
  const auto* object = answer.if_object();
  const auto* tasks = object ? object->if_contains("tasks") : nullptr;
  if (!tasks) return {"$.tasks: required field is missing"};
  auto plan = planFromJson(*tasks, "tasks");
  if (!plan) return {plan.error().message};
  auto problems = planner::planProblems(*plan);
  for (const auto& t : plan->tasks) {
    if (isKnownAgent(t.agent) && !agents.find(t.agent)) {
      problems.push_back(t.id + ".agent: agent '" + t.agent + "' is not registered");
    }
  }
  return problems;
}

LlmPlanResult planWithModel(const LlmPlanStage& stage, const Engine& engine, const Analysis& analysis,
                            std::string_view request) {
  LlmPlanResult out;
  out.model = stage.config.model;
  if (!stage.provider) {
    out.error = Error(ErrorCode::kInternal, "no provider for the plan stage");
    return out;
  }
  const auto& registry = engine.agents();
  auto chat = makePlanRequest(analysis, request, stage.config.model, plannableAgents(registry));
  stage.bound(chat);
  auto outcome = llm::completeWithRepair(
      *stage.provider, chat, [&](const boost::json::value& answer) { return modelPlanProblems(answer, registry); });
  out.status = outcome.status;
  out.usage = outcome.usage;
  out.calls = outcome.calls;
  if (outcome.result && !outcome.result->model.empty()) out.model = outcome.result->model;
  if (stage.prices) out.costUsd = stage.prices->costUsd(out.model, out.usage);
  if (outcome.status == llm::RepairOutcome::Status::kFallback) {
    out.error = llm::fallbackError(outcome, stage.provider->name(), "plan");
    out.providerFailed = outcome.error.has_value();
    return out;
  }
  auto plan = planFromJson(outcome.result->parsed->as_object().at("tasks"), "tasks");
  if (!plan) {  // the validator accepted it, so this does not happen
    out.status = llm::RepairOutcome::Status::kFallback;
    out.error = plan.error();
    return out;
  }
  planner::deriveParallelism(*plan);
  out.plan = std::move(*plan);
  return out;
}

}  // namespace ymy::engine
