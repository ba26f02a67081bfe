// code-001: generates a service (models, routes with validation, JWT
// middleware, tests, package.json or requirements.txt: Node.js + Express, or
// Python + FastAPI when the run's preferences name Python), the React
// frontend (in three iterations, as in the spec), or the integration test
// suite, from the architecture and schema its ancestors produced. Static-path
// code tasks get a change plan against the existing service; scaling one
// gets its configuration for the scaled deployment instead (config.js).

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <sstream>

#include <boost/json/serialize.hpp>

#include "agents/flow_items.hpp"
#include "agents/support.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;

bool endsWith(const std::string& s, const char* suffix) { return s.ends_with(suffix); }

// ---- The scaled configuration (static path, scale intent) --------------------

// Scaling a component of the design: its configuration for the scaled
// deployment, not a regenerated service. ops-001's docker-compose.yml sets
// every variable config.js reads; the defaults here only serve development.
bool scalesACanvasNode(const executor::ExecutionInput& input) {
  return input.frame.intent == Intent::kScaleComponent && input.baseCanvas.findNode(detail::targetNode(input));
}

std::optional<double> sizingNumber(const std::optional<boost::json::object>& sizing, std::string_view key) {
  if (!sizing) return std::nullopt;
  auto it = sizing->find(key);
  if (it == sizing->end() || !it->value().is_number()) return std::nullopt;
  const auto& v = it->value();
  return v.is_int64()    ? static_cast<double>(v.get_int64())
         : v.is_uint64() ? static_cast<double>(v.get_uint64())
                         : v.get_double();
}

std::string sizingString(const std::optional<boost::json::object>& sizing, std::string_view key) {
  if (!sizing) return {};
  auto it = sizing->find(key);
  return it != sizing->end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

std::string configString(const CanvasNode* node, std::string_view key) {
  if (!node) return {};
  auto it = node->config.find(key);
  return it != node->config.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

// "MySQL single instance" -> "mysql"; "" when the text names neither engine.
std::string engineIn(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text.find("mysql") != std::string::npos || text.find("maria") != std::string::npos) return "mysql";
  if (text.find("postgres") != std::string::npos) return "postgresql";
  return {};
}

// The database node the target uses: joined to it by an edge, target -> db first.
const CanvasNode* databaseOf(const Canvas& canvas, const std::string& target) {
  auto usable = [&](const std::string& id) -> const CanvasNode* {
    const auto* n = canvas.findNode(id);
    if (!n || n->id == target || configString(n, "role") == "read-replica") return nullptr;
    std::string type = n->type;
    for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* mark : {"database", "sql", "postgres", "mongo", "maria"}) {
      if (type.find(mark) != std::string::npos) return n;
    }
    return nullptr;
  };
  for (bool outgoing : {true, false}) {
    for (const auto& e : canvas.edges) {
      if ((outgoing ? e.source : e.target) != target) continue;
      if (const auto* n = usable(outgoing ? e.target : e.source)) return n;
    }
  }
  return nullptr;
}

// "users-db" -> "users_db": the database and user names compose creates.
std::string sqlName(const std::string& id) {
  std::string out = detail::slug(id);
  std::replace(out.begin(), out.end(), '-', '_');
  return out.substr(0, 32);
}

boost::json::object scaledConfigView(const executor::ExecutionInput& input,
                                     const std::optional<boost::json::object>& sizing) {
  const std::string target = detail::targetNode(input);
  const CanvasNode* node = input.baseCanvas.findNode(target);
  const double rps = sizingNumber(sizing, "rps").value_or(detail::targetRps(input));
  const auto instances = sizingNumber(sizing, "instances").value_or(std::max(2.0, std::ceil(rps * 1.1 / 500)));
  const bool sessions =
      sizingString(sizing, "sessionStore") != "none" && sizingNumber(sizing, "sessionNodes").value_or(3) > 0;
  const bool cache = sizingNumber(sizing, "cacheNodes").value_or(1) > 0;
  int port = 3000;
  if (node) {
    auto it = node->config.find("port");
    if (it != node->config.end() && it->value().is_int64()) port = static_cast<int>(it->value().get_int64());
  }
  boost::json::object view{{"target", target},
                           {"rps", std::lround(rps)},
                           {"instances", std::lround(instances)},
                           {"port", port},
                           {"sessionStore", sessions ? "redis-cluster" : "none"},
                           {"devCacheNodes", cache ? "127.0.0.1:6379" : ""}};
  const CanvasNode* db = databaseOf(input.baseCanvas, target);
  const bool sizedDatabase =
      sizingNumber(sizing, "databasePrimaries").value_or(0) > 0 || sizingNumber(sizing, "readReplicas").value_or(0) > 0;
  if (db || sizedDatabase) {
    std::string engine;
    for (const auto& text :
         {sizingString(sizing, "databaseEngine"), configString(db, "engine"), db ? db->label : std::string(),
          configString(node, "database"), sizingString(sizing, "database")}) {
      engine = engineIn(text);
      if (!engine.empty()) break;
    }
    if (engine.empty()) engine = "postgresql";
    const bool mysql = engine == "mysql";
    view["database"] = boost::json::object{{"engine", engine},
                                           {"engineName", mysql ? "MySQL" : "PostgreSQL"},
                                           {"defaultPort", mysql ? 3306 : 5432},
                                           {"maxConnections", mysql ? 500 : 300},
                                           {"databaseName", sqlName(db ? db->id : target + "-db")},
                                           {"appUser", sqlName(target)}};
  }
  return view;
}

class CodeAgent final : public executor::Agent {
 public:
  explicit CodeAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kCodeAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    const auto& task = ctx.task();
    const Architecture arch = detail::architectureFor(env_, ctx);
    switch (workOf(task)) {
      case Work::kIntegrationTests: {
        auto schema = findSchema(ctx);
        return integrationTests(ctx, arch, schema ? &*schema : nullptr);
      }
      case Work::kFrontend: {
        auto schema = findSchema(ctx);
        return frontend(ctx, arch, schema ? &*schema : nullptr);
      }
      case Work::kServiceOrChange:
        break;
    }
    if (scalesACanvasNode(ctx.input())) return scaledConfig(ctx);
    if (const ServicePlan* plan = serviceFor(task, arch)) return service(ctx, *plan);
    return changePlan(ctx);
  }

  // A service: its endpoints and code, built from its tables and its place in
  // the architecture, integrating with the services it calls. The frontend
  // and the integration tests: built on every service, the tests also on
  // every table. A change plan: about the frame's target.
  executor::TaskFlow flow(const executor::TaskContext& ctx) const override {
    const auto& task = ctx.task();
    executor::TaskFlow out;
    out.known = true;
    switch (workOf(task)) {
      case Work::kIntegrationTests:
        out.produces.insert(std::string(flow::kIntegrationTests));
        out.consumes.insert(std::string(flow::kAnyApi));
        out.consumes.insert(std::string(flow::kAnyTable));
        return out;
      case Work::kFrontend:
        out.produces.insert(std::string(flow::kFrontend));
        out.consumes.insert(std::string(flow::kAnyService));
        out.uses.insert(std::string(flow::kAnyApi));
        return out;
      case Work::kServiceOrChange:
        break;
    }
    if (scalesACanvasNode(ctx.input())) {  // the scaled configuration: from the sizing
      const std::string target = detail::targetNode(ctx.input());
      out.produces.insert(flow::code(target));
      out.consumes.insert(flow::service(target));
      out.consumes.insert(flow::capacity(target));
      return out;
    }
    const Architecture arch = detail::architectureFor(env_, ctx);
    if (const ServicePlan* plan = serviceFor(task, arch)) {
      flow::addEndpoints(specFor(ctx, *plan, true), out.produces);
      out.produces.insert(flow::code(plan->nodeId));
      out.consumes.insert(flow::tablesOf(plan->nodeId));
      out.consumes.insert(flow::service(plan->nodeId));
      for (const auto& callee : plan->calls) out.uses.insert(flow::apisOf(callee));
      return out;
    }
    const std::string target = detail::targetNode(ctx.input());
    out.produces.insert(flow::code(target));
    out.consumes.insert(flow::service(target));
    out.consumes.insert(flow::tablesOf(target));
    return out;
  }

 private:
  // What a task asks for: the integration tests (a TESTING task), the
  // frontend (named in its name or prompt), else a service of the
  // architecture or, when it names none, a change plan.
  enum class Work { kIntegrationTests, kFrontend, kServiceOrChange };
  static Work workOf(const Task& task) {
    if (task.type == TaskType::kTesting) return Work::kIntegrationTests;
    if (detail::containsWord(task.name, "frontend") || detail::containsWord(task.prompt, " frontend")) {
      return Work::kFrontend;
    }
    return Work::kServiceOrChange;
  }

  // The service a code task is about: by the catalog component its name
  // names, then by the service name it contains.
  const ServicePlan* serviceFor(const Task& task, const Architecture& arch) const {
    auto named = detail::servicesInPrompt(env_, task.name);
    for (const auto* c : named.services) {
      if (const auto* s = arch.findById(c->id)) return s;
    }
    for (const auto& s : arch.services) {
      if (detail::containsWord(task.name, s.name) || detail::containsWord(task.name, s.nodeId)) return &s;
    }
    // "Core API Service Implementation" for "Core Service": every word of
    // the service's name but the generic ones is in the task's name.
    static constexpr std::string_view kGeneric[] = {"service", "api", "server", "backend", "microservice"};
    for (const auto& s : arch.services) {
      bool all = true, any = false;
      std::istringstream words(s.name);
      for (std::string w; words >> w;) {
        std::string lower = w;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (std::find(std::begin(kGeneric), std::end(kGeneric), lower) != std::end(kGeneric)) continue;
        any = true;
        all = all && detail::containsWord(task.name, w);
      }
      if (any && all) return &s;
    }
    return nullptr;
  }

  // What a service is generated from: its plan, the tables it owns in the
  // newest schema (their outline is enough for flow()), the run's stack.
  codegen::ServiceSpec specFor(const executor::TaskContext& ctx, const ServicePlan& plan, bool outline = false) const {
    auto schema = outline ? findSchemaOutlineOf(ctx, plan.nodeId) : findSchemaOf(ctx, plan.nodeId);
    return detail::serviceSpec(env_, plan, schema ? &*schema : nullptr, ctx.input().preferences);
  }

  Result<executor::TaskResult> service(executor::TaskContext& ctx, const ServicePlan& plan) {
    auto spec = specFor(ctx, plan);
    if (!step(ctx, "Generating models for " + std::to_string(spec.entities.size()) + " table(s)...", 0.3)) {
      return cancelled();
    }
    Result<std::vector<GeneratedFile>> files = fail(ErrorCode::kInternal, "not generated");
    ctx.cpuBound([&] { files = env_.generator.service(spec); });
    if (!files) return tl::unexpected(files.error());
    if (!step(ctx, "Generating routes, validation and middleware...", 0.4)) return cancelled();
    if (!step(ctx, "Generating tests...", 0.3)) return cancelled();
    executor::TaskResult result;
    result.files = std::move(*files);
    std::size_t routes = 0;
    for (const auto& f : result.files) {
      const bool route = f.path.find("/src/routes/") != std::string::npos ||
                         (f.path.find("/app/routes/") != std::string::npos && !f.path.ends_with("/__init__.py"));
      routes += route;
    }
    result.summary = plan.name + " generated: " + std::to_string(result.files.size()) + " files, " +
                     std::to_string(routes) + " route modules over " + std::to_string(spec.entities.size()) + " tables";
    return result;
  }

  std::vector<codegen::ServiceSpec> specs(const Architecture& arch, const Schema* schema) const {
    std::vector<codegen::ServiceSpec> out;
    for (const auto& s : arch.services) out.push_back(detail::serviceSpec(env_, s, schema));
    return out;
  }

  Result<executor::TaskResult> frontend(executor::TaskContext& ctx, const Architecture& arch, const Schema* schema) {
    codegen::FrontendSpec spec;
    spec.appName = arch.target.empty() ? "app" : arch.target;
    std::replace(spec.appName.begin(), spec.appName.end(), '-', ' ');
    spec.services = specs(arch, schema);
    Result<std::vector<GeneratedFile>> files = fail(ErrorCode::kInternal, "not generated");
    ctx.cpuBound([&] { files = env_.generator.frontend(spec); });
    if (!files) return tl::unexpected(files.error());
    // Three passes as the spec shows: structure, then state and API, then the rest.
    std::vector<GeneratedFile> structure, state, finish;
    for (auto& f : *files) {
      if (endsWith(f.path, ".jsx") && f.path.find("/components/") != std::string::npos) {
        structure.push_back(std::move(f));
      } else if (f.path.find("api") != std::string::npos || f.path.find("App") != std::string::npos ||
                 f.path.find("main") != std::string::npos) {
        state.push_back(std::move(f));
      } else {
        finish.push_back(std::move(f));
      }
    }
    executor::TaskResult result;
    struct Pass {
      const char* focus;
      const char* progress;
      std::vector<GeneratedFile>* files;
    };
    int iteration = 0;
    for (Pass pass : {Pass{"basic_structure", "Generated basic components", &structure},
                      Pass{"state_management", "Added state management and API integration", &state},
                      Pass{"styling_optimization", "Finalized with styling and build setup", &finish}}) {
      ++iteration;
      ctx.iterationStarted(iteration, pass.focus);
      if (!ctx.simulateWork(1.0 / 3)) return cancelled();
      for (auto& f : *pass.files) result.files.push_back(std::move(f));
      ctx.iterationProgress(iteration, pass.progress, static_cast<int>(result.files.size()));
    }
    auto components = std::count_if(result.files.begin(), result.files.end(),
                                    [](const GeneratedFile& f) { return endsWith(f.path, ".jsx"); });
    result.summary = std::to_string(components) + " React components generated";
    return result;
  }

  Result<executor::TaskResult> integrationTests(executor::TaskContext& ctx, const Architecture& arch,
                                                const Schema* schema) {
    if (!step(ctx, "Generating API integration layer...", 0.5)) return cancelled();
    Result<std::vector<GeneratedFile>> files = fail(ErrorCode::kInternal, "not generated");
    ctx.cpuBound([&] { files = env_.generator.integrationTests(specs(arch, schema)); });
    if (!files) return tl::unexpected(files.error());
    if (!step(ctx, "Generating end-to-end scenarios...", 0.5)) return cancelled();
    executor::TaskResult result;
    result.files = std::move(*files);
    result.summary = "Integration tests for " + std::to_string(arch.services.size()) + " services";
    return result;
  }

  // The target's config.js for its scaled deployment: instances, JWT secret,
  // session store, database primary and read replicas, cache.
  Result<executor::TaskResult> scaledConfig(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Writing the scaled configuration of " + target + "...", 1.0)) return cancelled();
    const auto view = scaledConfigView(input, detail::capacityOf(ctx));
    auto text = env_.generator.render("deploy/scaled-config.js", view);
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({target + "/config.js", std::move(*text)});
    result.summary = "config.js of " + target + " for " + boost::json::serialize(view.at("instances")) +
                     " stateless instances: sessions " +
                     (view.at("sessionStore") == "none" ? std::string("none") : "in a Redis Cluster") +
                     (view.contains("database") ? ", reads from the read replicas" : "");
    return result;
  }

  // Static-path code tasks (configuration updates, callers to adapt): a
  // concrete change plan against the canvas node.
  Result<executor::TaskResult> changePlan(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Planning code changes for " + target + "...", 1.0)) return cancelled();
    std::ostringstream md;
    md << "# " << ctx.task().name << "\n\n" << ctx.task().prompt << "\n\n## Current configuration of `" << target << "`\n\n";
    if (const auto* node = input.baseCanvas.findNode(target); node && !node->config.empty()) {
      for (const auto& kv : node->config) md << "- " << kv.key() << ": " << boost::json::serialize(kv.value()) << "\n";
    } else {
      md << "- (not on the canvas)\n";
    }
    md << "\n## Callers\n\n";
    for (const auto& e : input.baseCanvas.edges) {
      if (e.target == target) md << "- " << e.source << " (" << e.type << ")\n";
    }
    executor::TaskResult result;
    result.files.push_back({"changes/" + detail::slug(ctx.task().id + " " + ctx.task().name) + ".md", md.str()});
    result.summary = "Change plan for " + target;
    return result;
  }

  const AgentEnvironment& env_;
};

}  // namespace

std::unique_ptr<executor::Agent> makeCodeAgent(const AgentEnvironment& env) {
  return std::make_unique<CodeAgent>(env);
}

}  // namespace ymy::agents
