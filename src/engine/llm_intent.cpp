#include "engine/llm_intent.hpp"

#include <cstdio>

#include <boost/json.hpp>

#include "model/json_io.hpp"

namespace ymy::engine {

namespace {

namespace js = boost::json;

constexpr const char* kParamNames[] = {"rps", "latencyMs", "users", "connections", "availability"};

constexpr const char* kSystemPrompt =
    "You analyse requests to YouMeYou, a system-design service. Analyze this request and classify intent. Return "
    "JSON with intent, complexity, target, components and params, matching the given schema:\n"
    "- intent: BUILD_FROM_SCRATCH (a new system), ADD_COMPONENT, SCALE_COMPONENT (a load target for one "
    "component), MODIFY_COMPONENT, REMOVE_COMPONENT, OPTIMIZE, ANALYZE (questions, no change)\n"
    "- complexity: 0 to 1; a whole platform is about 0.9, changing one component about 0.6 or less\n"
    "- target: what the request is about: an existing canvas node id, a component's node id, or "
    "\"<domain>-platform\" for a new system\n"
    "- components: the catalog component ids the request asks for, in order of mention\n"
    "- params: the numbers the request states (requests per second, p-latency in milliseconds, users, concurrent "
    "connections, availability in percent); 0 for each it does not state";

double paramOf(const js::object& params, const char* name) {
  const auto* v = params.if_contains(name);
  return v && v->is_number() ? v->to_number<double>() : 0;
}

}  // namespace

js::value intentAnswerSchema(const Catalog& catalog) {
  js::array intents, components;
  for (auto i : kAllIntents) intents.emplace_back(intentName(i));
  for (const auto& c : catalog.components()) components.emplace_back(c.id);
  js::object params{{"type", "object"}, {"additionalProperties", false}};
  js::object paramProperties;
  js::array paramRequired;
  for (const char* name : kParamNames) {
    paramProperties[name] = js::object{{"type", "number"}};
    paramRequired.emplace_back(name);
  }
  params["properties"] = std::move(paramProperties);
  params["required"] = std::move(paramRequired);
  return js::object{
      {"type", "object"},
      {"properties",
       {{"intent", {{"type", "string"}, {"enum", std::move(intents)}}},
        {"complexity", {{"type", "number"}}},
        {"target", {{"type", "string"}}},
        {"components", {{"type", "array"}, {"items", {{"type", "string"}, {"enum", std::move(components)}}}}},
        {"params", std::move(params)}}},
      {"required", js::array{"intent", "complexity", "target", "components", "params"}},
      {"additionalProperties", false},
  };
}

llm::ChatRequest makeIntentRequest(std::string_view request, const Analysis& builtin, const std::string& model,
                                   const Catalog& catalog) {
  std::string user = "Request: '" + std::string(request) + "'\n";
  if (builtin.context.empty) {
    user += "Canvas: empty (new project)\n";
  } else {
    user += "Canvas nodes:";
    for (const auto& c : builtin.context.components) user += " " + c.nodeId + (c.component.empty() ? "" : "(" + c.component + ")");
    user += "\n";
  }
  user += "Catalog components:";
  for (const auto& c : catalog.components()) user += " " + c.id;
  user += "\n";
  llm::ChatRequest r;
  r.model = model;
  r.messages = {{"system", kSystemPrompt}, {"user", std::move(user)}};
  r.schema = intentAnswerSchema(catalog);
  r.schemaName = "intent";
  r.temperature = 0;
  return r;
}

std::vector<std::string> intentAnswerProblems(const js::value& answer, const Catalog& catalog) {
  std::vector<std::string> problems;
  const auto* o = answer.if_object();
  if (!o) return {"$: an object is required"};
  const auto* intent = o->if_contains("intent");
  if (!intent || !intent->is_string() || !intentFromName(intent->as_string())) {
    problems.push_back("$.intent: " + (intent ? js::serialize(*intent) : std::string("missing")) +
                       " is not one of the intents");
  }
  const auto* complexity = o->if_contains("complexity");
  if (!complexity || !complexity->is_number()) {
    problems.emplace_back("$.complexity: a number is required");
  } else if (double c = complexity->to_number<double>(); !(c >= 0 && c <= 1)) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", c);
    problems.push_back("$.complexity: " + std::string(text) + " is outside [0, 1]");
  }
  const auto* target = o->if_contains("target");
  if (!target || !target->is_string() || target->as_string().empty()) {
    problems.emplace_back("$.target: a non-empty string is required");
  }
  const auto* components = o->if_contains("components");
  if (!components || !components->is_array()) {
    problems.emplace_back("$.components: an array is required");
  } else {
    const auto& list = components->as_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_string() || !catalog.find(list[i].as_string())) {
        problems.push_back("$.components[" + std::to_string(i) + "]: " + js::serialize(list[i]) +
                           " is not a catalog component");
      }
    }
  }
  const auto* params = o->if_contains("params");
  if (!params || !params->is_object()) {
    problems.emplace_back("$.params: an object is required");
  } else {
    for (const char* name : kParamNames) {
      if (paramOf(params->as_object(), name) < 0) problems.push_back(std::string("$.params.") + name + ": negative");
    }
  }
  return problems;
}

LlmIntentResult analyzeWithModel(const LlmIntentStage& stage, const Engine& engine, const Analysis& builtin,
                                 std::string_view request) {
  LlmIntentResult out;
  out.model = stage.config.model;
  if (!stage.provider) {
    out.error = Error(ErrorCode::kInternal, "no provider for the intent stage");
    return out;
  }
  const auto& catalog = engine.catalog();
  auto chat = makeIntentRequest(request, builtin, stage.config.model, catalog);
  stage.bound(chat);
  auto outcome = llm::completeWithRepair(*stage.provider, chat,
                                         [&](const js::value& answer) { return intentAnswerProblems(answer, catalog); });
  out.status = outcome.status;
  out.usage = outcome.usage;
  out.calls = outcome.calls;
  if (outcome.result && !outcome.result->model.empty()) out.model = outcome.result->model;
  if (stage.prices) out.costUsd = stage.prices->costUsd(out.model, out.usage);
  if (outcome.status == llm::RepairOutcome::Status::kFallback) {
    out.error = llm::fallbackError(outcome, stage.provider->name(), "intent");
    out.providerFailed = outcome.error.has_value();
    return out;
  }
  const auto& a = outcome.result->parsed->as_object();
  IntentFrame frame = builtin.frame;
  const Intent intent = *intentFromName(a.at("intent").as_string());
  if (intent != frame.intent) frame.confidence = 0;  // the classifier's probability was for another intent
  frame.intent = intent;
  frame.complexity = a.at("complexity").to_number<double>();
  const std::string target(a.at("target").as_string());
  if (target != frame.target) {
    frame.target = target;
    frame.targetOnCanvas = false;
    for (const auto& c : builtin.context.components) frame.targetOnCanvas = frame.targetOnCanvas || c.nodeId == target;
  }
  frame.components.clear();
  for (const auto& c : a.at("components").as_array()) frame.components.emplace_back(c.as_string());
  const auto& params = a.at("params").as_object();
  auto set = [&](std::optional<double>& field, const char* name) {
    if (double v = paramOf(params, name); v > 0) field = v;
  };
  set(frame.params.rps, "rps");
  set(frame.params.latencyMs, "latencyMs");
  set(frame.params.users, "users");
  set(frame.params.connections, "connections");
  set(frame.params.availability, "availability");
  out.frame = std::move(frame);
  return out;
}

}  // namespace ymy::engine
