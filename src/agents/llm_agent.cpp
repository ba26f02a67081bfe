#include "agents/llm_agent.hpp"

#include <atomic>
#include <cstdio>

#include <boost/json.hpp>

#include "agents/support.hpp"
#include "llm/plan_repair.hpp"
#include "model/json_io.hpp"

namespace ymy::agents {

namespace {

namespace js = boost::json;

constexpr std::size_t kAncestorOutputChars = 3000;  // per completed ancestor
constexpr std::size_t kStructureChars = 6000;
constexpr std::size_t kListedPaths = 64;

constexpr const char* kAnswerRules =
    "Answer with JSON only, matching the given schema: {\"summary\": \"...\", \"files\": [{\"path\": \"...\", "
    "\"content\": \"...\"}]}.\n"
    "- summary: one line saying what was produced (\"Architecture designed with 4 microservices\").\n"
    "- files: every file this task produces, each with its complete content. Paths are relative, '/'-separated, "
    "without '..' or a leading '/', and unique; JSON files must parse.\n"
    "- Keep to the services, tables and paths of the structure given below; use its listed paths where they fit.";

std::string roleOf(const std::string& agent) {
  if (agent == "arch-001") {
    return "You are arch-001, the architecture agent of YouMeYou, a system-design service. You write the "
           "architecture's documents: an overview of the services and how they talk, API contracts (OpenAPI), and "
           "deployment descriptions.";
  }
  if (agent == "db-001") {
    return "You are db-001, the database agent of YouMeYou, a system-design service. You write relational schemas "
           "(SQL DDL with keys, constraints and indexes) and their migrations.";
  }
  if (agent == "code-001") {
    return "You are code-001, the code agent of YouMeYou, a system-design service. You write runnable service and "
           "frontend code with its configuration and tests.";
  }
  return "You are " + agent + ", an agent of YouMeYou, a system-design service. You write the files the task asks for.";
}

std::string cut(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  text.resize(max);
  return text + " ... (cut)";
}

bool hasControlCharacters(std::string_view content) {
  for (unsigned char c : content) {
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return true;
    if (c == 0x7f) return true;
  }
  return false;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<GeneratedFile> filesOf(const js::value& answer) {
  std::vector<GeneratedFile> out;
  for (const auto& f : answer.at("files").as_array()) {
    out.push_back({std::string(f.at("path").as_string()), std::string(f.at("content").as_string())});
  }
  return out;
}

// Counts the provider's complete() calls, so the stream can tell the repair
// round from the first answer (both start at attempt 1).
class CallCounter final : public llm::LlmProvider {
 public:
  explicit CallCounter(llm::LlmProvider& inner) : inner_(inner) {}
  Result<llm::ChatResult> complete(const llm::ChatRequest& request) override {
    ++calls_;
    return inner_.complete(request);
  }
  std::string_view name() const override { return inner_.name(); }
  int calls() const { return calls_.load(); }

 private:
  llm::LlmProvider& inner_;
  std::atomic<int> calls_{0};
};

// Turns the streamed answer into taskProgress (every `every` characters: how
// much has arrived and the file being written) and iterationProgress (files
// so far). Each call, and each retried attempt, is an iteration.
class StreamReporter {
 public:
  StreamReporter(executor::TaskContext& context, const CallCounter& calls, std::size_t every)
      : context_(context), calls_(calls), every_(std::max<std::size_t>(every, 1)) {}

  void onDelta(const llm::Delta& delta) {
    if (calls_.calls() != call_ || delta.attempt != attempt_) {
      call_ = calls_.calls();
      attempt_ = delta.attempt;
      ++iteration_;
      text_.clear();
      reported_ = 0;
      context_.iterationStarted(iteration_, call_ > 1 ? "repair" : attempt_ > 1 ? "retry" : "model_answer");
    }
    text_ += delta.text;
    if (text_.size() - reported_ >= every_) report();
  }

  int iteration() const { return iteration_; }

 private:
  void report() {
    reported_ = text_.size();
    int files = 0;
    std::string current;
    constexpr std::string_view kPath = "\"path\"";
    for (auto at = text_.find(kPath); at != std::string::npos; at = text_.find(kPath, at + kPath.size())) {
      ++files;
      const auto open = text_.find('"', text_.find(':', at + kPath.size()));
      const auto close = open == std::string::npos ? open : text_.find('"', open + 1);
      current = close == std::string::npos ? std::string() : text_.substr(open + 1, close - open - 1);
    }
    char size[32];
    std::snprintf(size, sizeof size, "%.1f kB", static_cast<double>(text_.size()) / 1000.0);
    context_.progress(current.empty() ? std::string("Model answering (") + size + " streamed)"
                                      : "Writing " + current + " (" + size + " streamed)");
    context_.iterationProgress(iteration_, std::string(size) + " streamed", files);
  }

  executor::TaskContext& context_;
  const CallCounter& calls_;
  const std::size_t every_;
  int call_ = 0, attempt_ = 0, iteration_ = 0;
  std::string text_;
  std::size_t reported_ = 0;
};

// The builtin agent's run for its structure: the same task, input and
// ancestors, its domain events, but no progress of its own (the model's
// stream is the task's progress) and no simulated latency (the model's is real).
class StructureContext final : public executor::TaskContext {
 public:
  explicit StructureContext(executor::TaskContext& inner) : inner_(inner) {}
  const Task& task() const override { return inner_.task(); }
  int generation() const override { return inner_.generation(); }
  const executor::ExecutionInput& input() const override { return inner_.input(); }
  std::vector<std::pair<const Task*, const executor::TaskResult*>> ancestors() const override {
    return inner_.ancestors();
  }
  void progress(std::string) override {}
  void iterationStarted(int, std::string) override {}
  void iterationProgress(int, std::string, int) override {}
  void emit(std::string type, boost::json::object fields) override { inner_.emit(std::move(type), std::move(fields)); }
  bool simulateWork(double) override { return !inner_.cancelled(); }
  bool cancelled() const override { return inner_.cancelled(); }
  const CancellationToken* cancellation() const override { return inner_.cancellation(); }
  void cpuBound(const std::function<void()>& work) override { inner_.cpuBound(work); }

 private:
  executor::TaskContext& inner_;
};

class LlmAgent final : public executor::Agent {
 public:
  LlmAgent(executor::Agent& builtin, const LlmAgentStage& stage) : builtin_(builtin), stage_(stage) {}

  std::string_view id() const override { return builtin_.id(); }
  executor::TaskFlow flow(const executor::TaskContext& context) const override { return builtin_.flow(context); }

  std::optional<double> inFlightCostUsd(const executor::TaskContext& context) const override {
    if (!stage_.prices) return std::nullopt;
    const auto price = stage_.prices->find(stage_.config.model);
    if (!price) return std::nullopt;
    std::size_t chars = 0;
    for (const auto& m : makeAgentRequest(context, {}, stage_.config.model).messages) chars += m.content.size();
    return static_cast<double>(chars) / 4.0 * price->promptPerMillion / 1e6;  // ~4 characters a token
  }

  Result<executor::TaskResult> run(executor::TaskContext& context) override {
    StructureContext quiet(context);
    auto structure = builtin_.run(quiet);
    if (!structure || context.cancelled()) return structure;

    CallCounter counter(*stage_.provider);
    StreamReporter reporter(context, counter, stage_.progressChars);
    auto request = makeAgentRequest(context, *structure, stage_.config.model);
    request.cancel = context.cancellation();
    request.onDelta = [&reporter](const llm::Delta& d) { reporter.onDelta(d); };
    auto outcome = llm::completeWithRepair(counter, request, agentAnswerProblems);
    if (context.cancelled()) return detail::cancelled();

    const char* kind = llm::providerKindName(stage_.config.kind);
    if (outcome.calls > 0) {
      std::string model = outcome.result && !outcome.result->model.empty() ? outcome.result->model : stage_.config.model;
      std::optional<double> cost = stage_.prices ? stage_.prices->costUsd(model, outcome.usage) : std::nullopt;
      structure->llm = LlmStageUsage{llm::stageName(llm::Stage::kAgents), kind, std::move(model), outcome.calls,
                                     outcome.usage.promptTokens, outcome.usage.completionTokens, cost};
    }
    if (outcome.status != llm::RepairOutcome::Status::kFallback) {
      structure->summary = std::string(outcome.result->parsed->at("summary").as_string());
      structure->files = filesOf(*outcome.result->parsed);
      context.iterationProgress(std::max(reporter.iteration(), 1),
                                "Model wrote " + std::to_string(structure->files.size()) + " files",
                                static_cast<int>(structure->files.size()));
      return structure;
    }

    const Error error = llm::fallbackError(outcome, stage_.provider->name(), "answer");
    const bool fallBack = llm::shouldFallBack(outcome, stage_.config.strict);
    if (!fallBack) {
      return tl::unexpected(llm::noFallbackError(llm::Stage::kAgents, stage_.config, error,
                                                 "answer for " + context.task().id));
    }
    context.emit("llmFallback", llm::fallbackFields(llm::Stage::kAgents, stage_.config, error));
    return structure;
  }

 private:
  executor::Agent& builtin_;
  const LlmAgentStage stage_;  // a copy: the registry may outlive the caller's
};

// Forwards to a builtin agent the registry does not own.
class ForwardingAgent final : public executor::Agent {
 public:
  explicit ForwardingAgent(executor::Agent& inner) : inner_(inner) {}
  std::string_view id() const override { return inner_.id(); }
  Result<executor::TaskResult> run(executor::TaskContext& context) override { return inner_.run(context); }
  executor::TaskFlow flow(const executor::TaskContext& context) const override { return inner_.flow(context); }
  std::optional<double> inFlightCostUsd(const executor::TaskContext& context) const override {
    return inner_.inFlightCostUsd(context);
  }

 private:
  executor::Agent& inner_;
};

}  // namespace

js::value agentAnswerSchema() {
  js::object file{{"type", "object"},
                  {"properties", {{"path", {{"type", "string"}}}, {"content", {{"type", "string"}}}}},
                  {"required", js::array{"path", "content"}},
                  {"additionalProperties", false}};
  return js::object{{"type", "object"},
                    {"properties",
                     {{"summary", {{"type", "string"}}}, {"files", {{"type", "array"}, {"items", std::move(file)}}}}},
                    {"required", js::array{"summary", "files"}},
                    {"additionalProperties", false}};
}

std::vector<std::string> agentAnswerProblems(const js::value& answer) {
  std::vector<std::string> problems;
  const auto* object = answer.if_object();
  const auto* summary = object ? object->if_contains("summary") : nullptr;
  const auto* files = object ? object->if_contains("files") : nullptr;
  if (!summary || !summary->is_string()) problems.emplace_back("$.summary: a string is required");
  if (!files || !files->is_array()) problems.emplace_back("$.files: an array is required");
  if (!problems.empty()) return problems;
  if (summary->as_string().empty()) problems.emplace_back("$.summary: must not be empty");
  const auto& list = files->as_array();
  if (list.empty()) problems.emplace_back("$.files: no files given");
  if (list.size() > kMaxAnswerFiles) {
    problems.push_back("$.files: " + std::to_string(list.size()) + " files, at most " +
                       std::to_string(kMaxAnswerFiles) + " allowed");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = "$.files[" + std::to_string(i) + "]";
    const auto* f = list[i].if_object();
    const auto* path = f ? f->if_contains("path") : nullptr;
    const auto* content = f ? f->if_contains("content") : nullptr;
    if (!path || !path->is_string() || !content || !content->is_string()) {
      problems.push_back(at + ": needs a string path and a string content");
      continue;
    }
    const std::string p(path->as_string());
    const std::string_view c = content->as_string();
    if (!isSafeRelativePath(p)) {
      problems.push_back(at + ".path: \"" + cut(p, 120) + "\" is not a safe relative path");
    } else if (!seen.insert(p).second) {
      problems.push_back(at + ".path: \"" + p + "\" appears more than once");
    }
    if (c.empty()) problems.push_back(at + ".content: " + p + " is empty");
    if (c.size() > kMaxAnswerFileBytes) {
      problems.push_back(at + ".content: " + p + " has " + std::to_string(c.size()) + " bytes, at most " +
                         std::to_string(kMaxAnswerFileBytes) + " allowed");
    }
    if (hasControlCharacters(c)) problems.push_back(at + ".content: " + p + " contains control characters");
    if (endsWith(p, ".json") && !c.empty()) {
      boost::system::error_code ec;
      (void)js::parse(c, ec);
      if (ec) problems.push_back(at + ".content: " + p + " is not valid JSON (" + ec.message() + ")");
    }
  }
  return problems;
}

llm::ChatRequest makeAgentRequest(const executor::TaskContext& context, const executor::TaskResult& structure,
                                  const std::string& model) {
  const Task& task = context.task();
  const auto& input = context.input();
  std::string user = "Task " + task.id + ": " + task.name + " (" + std::string(taskTypeName(task.type)) +
                     ")\nPrompt: " + task.prompt + "\n\nRequest: " + input.request +
                     "\n\nIntent frame: " + json::compact(toJson(input.frame)) + "\n";
  if (!input.preferences.empty()) {
    user += "\nPreferred stack:";
    for (const auto& p : input.preferences) user += " " + p;
    user += "\n";
  }
  const auto ancestors = context.ancestors();
  if (!ancestors.empty()) {
    user += "\nCompleted tasks this one builds on:\n";
    for (const auto& [t, r] : ancestors) {
      user += "- " + t->id + " " + t->name + ": " + r->summary + "\n";
      if (!r->output.empty()) user += "  output: " + cut(json::compact(r->output), kAncestorOutputChars) + "\n";
    }
  }
  if (!structure.output.empty()) {
    user += "\nStructure of this task (from the component catalog): " +
            cut(json::compact(structure.output), kStructureChars) + "\n";
  }
  if (!structure.files.empty()) {
    user += "\nPaths expected:";
    for (std::size_t i = 0; i < structure.files.size() && i < kListedPaths; ++i) user += " " + structure.files[i].path;
    user += "\n";
  }
  llm::ChatRequest r;
  r.model = model;
  r.messages = {{"system", roleOf(task.agent) + "\n" + kAnswerRules}, {"user", std::move(user)}};
  r.schema = agentAnswerSchema();
  r.schemaName = "task_files";
  r.temperature = 0.2;
  return r;
}

std::unique_ptr<executor::Agent> makeLlmAgent(executor::Agent& builtin, const LlmAgentStage& stage) {
  return std::make_unique<LlmAgent>(builtin, stage);
}

executor::AgentRegistry withModelAgents(const executor::AgentRegistry& builtin, const LlmAgentStage& stage) {
  executor::AgentRegistry out;
  for (const auto& id : builtin.ids()) {
    executor::Agent& agent = *builtin.find(id);
    if (stage.provider && stage.agents.count(id)) {
      out.add(makeLlmAgent(agent, stage));
    } else {
      out.add(std::make_unique<ForwardingAgent>(agent));
    }
  }
  return out;
}

}  // namespace ymy::agents
