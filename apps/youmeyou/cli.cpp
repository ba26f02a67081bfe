#include "cli.hpp"
#include "http_client.hpp"

#include <cmath>
#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <unistd.h>
#include <thread>
#include <iomanip>
#include <iostream>
#include <fstream>
#include <optional>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <sodium.h>
#include "auth/auth_service.hpp"
#include "auth/redis_limiter.hpp"
#include "auth/secret.hpp"
#include "auth/tiers.hpp"
#include "cache/design_cache.hpp"
#include "codegen/codegen.hpp"
#include "engine/design.hpp"
#include "bus/relay.hpp"
#include "server/server.hpp"
#include "store/store.hpp"
#include "engine/engine.hpp"
#include "progress_view.hpp"
#include "intent/classifier.hpp"
#include "llm/config.hpp"
#include "llm/http_transport.hpp"
#include "model/json_io.hpp"
#include "planner/validation.hpp"

namespace ymy::app {

using namespace ymy::engine;

namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kBadInput = 2;

const char* kExample1 =
    "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
const char* kExample2 = "Fix the auth service in my design and make it scalable to 5000 RPS";

struct Options {
  std::string dataDir;
  std::string capacityOverrides;
  std::string request;
  std::string requestFile;
  std::string canvasFile;
  std::string stack;
  std::string planFile;
  std::string modelOut;
  std::string datasetDir;
  double threshold = planner::kDefaultStaticThreshold;
  bool full = false;
  bool showMistakes = false;
  std::string outDir;
  bool jsonEvents = false;
  double simulateLatency = 0;
  std::size_t parallel = 0;
  intent::TrainOptions train;
  std::string bind = "127.0.0.1";
  unsigned short port = 4000;
  std::string data = "youmeyou-data";
  bool memory = false;
  double modificationCooldown = 10;  // seconds
  std::string cache = "on";
  std::string redis;              // redis://[user:password@]host[:port][/db]; empty: no L2
  double cacheTtl = 24 * 3600;    // seconds
  std::size_t cacheMemoryMb = 64;
  std::string url = "http://127.0.0.1:4000";
  std::string web;  // the built web app; empty: web/dist beside the data directory
  std::string auth = "auto";  // on | off | auto (on unless bound to loopback)
  std::string tiersFile;      // empty: DATA_DIR/auth/tiers.json
  std::string jwtSecretFile;  // empty: created under --data (or per process with --memory)
  int instances = 1;
  std::string postgres;    // a libpq URL: state shared by several instances; empty: SQLite under --data
  std::string instanceId;  // in a cluster; empty: HOSTNAME-PORT
  std::string advertise;   // in a cluster; empty: http://BIND:PORT (the host name when bound to all addresses)
  double leaseTtl = 5;     // seconds
  std::string token;  // for `cache` against a server with auth on
  std::string llm = "builtin";  // builtin | openai | gemini: the plan stage's provider
  std::string llmUrl;
  std::string llmModel;
  bool llmStrict = false;
  std::string llmConfig;  // a JSON file per stage (llm::LlmConfig::fromJson)
};

int error(std::ostream& err, const std::string& message, int code = kBadInput) {
  err << "youmeyou: error: " << message << "\n";
  return code;
}

std::vector<std::string> splitList(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// The request comes from the positional argument, --file, or stdin ("-").
Result<std::string> readRequest(const Options& o, std::istream& in) {
  std::string text = o.request;
  if (!o.requestFile.empty() || o.request == "-") {
    std::ostringstream buffer;
    if (o.request == "-" && o.requestFile.empty()) {
      buffer << in.rdbuf();
    } else {
      std::ifstream file(o.requestFile, std::ios::binary);
      if (!file) return fail(ErrorCode::kNotFound, "request file '" + o.requestFile + "' cannot be read");
      buffer << file.rdbuf();
    }
    text = buffer.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  }
  if (auto ok = intent::validateRequestText(text); !ok) return tl::unexpected(ok.error());
  return text;
}

struct Loaded {
  std::unique_ptr<Engine> engine;
  std::optional<Canvas> canvas;
  std::string request;
};

std::filesystem::path dataDirOf(const Options& o) {
  return o.dataDir.empty() ? defaultDataDir() : std::filesystem::path(o.dataDir);
}

Result<Loaded> loadInputs(const Options& o, std::istream& in) {
  Loaded l;
  auto request = readRequest(o, in);
  if (!request) return tl::unexpected(request.error());
  l.request = std::move(*request);
  if (!o.canvasFile.empty()) {
    auto canvas = loadCanvasFile(o.canvasFile);
    if (!canvas) return tl::unexpected(canvas.error());
    l.canvas = std::move(*canvas);
  }
  auto engine = Engine::load(dataDirOf(o), o.capacityOverrides);
  if (!engine) return tl::unexpected(engine.error());
  l.engine = std::move(*engine);
  return l;
}

int exitFor(const Error& e) { return e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kNotFound ? kBadInput : kFailed; }

std::string routeLine(const Analysis& a, const planner::PlanOutcome& p, double threshold) {
  std::ostringstream line;
  line << std::fixed << std::setprecision(2) << "route: " << routeName(p.route) << " (complexity "
       << a.frame.complexity << (p.route == Route::kStatic ? " < " : " >= ") << threshold << "), approach: "
       << p.approach << ", " << p.plan.tasks.size() << " tasks, critical path "
       << planner::criticalPathSeconds(p.plan) << " s";
  return line.str();
}

int cmdAnalyze(const Options& o, std::istream& in, std::ostream& out, std::ostream& err) {
  auto l = loadInputs(o, in);
  if (!l) return error(err, l.error().message, exitFor(l.error()));
  auto a = l->engine->analyze(l->request, l->canvas ? &*l->canvas : nullptr, splitList(o.stack));
  if (!a) return error(err, a.error().message, exitFor(a.error()));
  if (o.full) {
    out << json::pretty(boost::json::object{{"intent", toJson(a->frame)}, {"context", context::toJson(a->context)}})
        << "\n";
  } else {
    out << json::pretty(toJson(a->frame)) << "\n";
  }
  return kOk;
}

int cmdPlan(const Options& o, std::istream& in, std::ostream& out, std::ostream& err) {
  auto l = loadInputs(o, in);
  if (!l) return error(err, l.error().message, exitFor(l.error()));
  auto a = l->engine->analyze(l->request, l->canvas ? &*l->canvas : nullptr, splitList(o.stack));
  if (!a) return error(err, a.error().message, exitFor(a.error()));
  auto p = l->engine->plan(*a, l->request, o.threshold);
  if (!p) return error(err, p.error().message, kFailed);
  if (o.full) {
    out << json::pretty(boost::json::object{
               {"intent", toJson(a->frame)},
               {"context", context::toJson(a->context)},
               {"route", routeName(p->route)},
               {"approach", p->approach},
               {"criticalPath", planner::criticalPathSeconds(p->plan)},
               {"plan", toJson(p->plan)},
           })
        << "\n";
  } else {
    out << json::pretty(toJson(p->plan)) << "\n";
  }
  err << routeLine(*a, *p, o.threshold) << "\n";
  return kOk;
}

int cmdValidatePlan(const Options& o, std::ostream& out, std::ostream& err) {
  auto value = json::parseFile(o.planFile, "plan file");
  if (!value) return error(err, value.error().message);
  auto plan = planFromJson(*value);
  if (!plan) return error(err, "plan file '" + o.planFile + "': " + plan.error().message);
  if (auto ok = planner::validatePlan(*plan); !ok) return error(err, ok.error().message);
  out << "valid: " << plan->tasks.size() << " tasks, critical path " << planner::criticalPathSeconds(*plan) << " s\n";
  return kOk;
}


int cmdTrain(const Options& o, std::ostream& out, std::ostream& err) {
  auto dataDir = dataDirOf(o);
  auto datasetDir = o.datasetDir.empty() ? dataDir / "intent" : std::filesystem::path(o.datasetDir);
  auto examples = intent::loadDataset(datasetDir);
  if (!examples) return error(err, examples.error().message);
  auto split = intent::splitDataset(*examples);
  out << "training on " << split.train.size() << " examples, holding out " << split.test.size() << "\n";
  auto model = intent::IntentClassifier::train(split.train, o.train);
  auto evaluation = model.evaluate(split.test);
  out << "held-out " << evaluation.report();
  auto target = o.modelOut.empty() ? dataDir / "models" / "intent.model" : std::filesystem::path(o.modelOut);
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (auto saved = model.save(target); !saved) return error(err, saved.error().message, kFailed);
  out << "saved " << model.featureCount() << " features to " << target.string() << "\n";
  return kOk;
}

int cmdEval(const Options& o, std::ostream& out, std::ostream& err) {
  auto dataDir = dataDirOf(o);
  auto datasetDir = o.datasetDir.empty() ? dataDir / "intent" : std::filesystem::path(o.datasetDir);
  auto examples = intent::loadDataset(datasetDir);
  if (!examples) return error(err, examples.error().message);
  auto modelPath = o.modelOut.empty() ? dataDir / "models" / "intent.model" : std::filesystem::path(o.modelOut);
  auto model = intent::IntentClassifier::load(modelPath);
  if (!model) return error(err, model.error().message);
  auto evaluation = model->evaluate(intent::splitDataset(*examples).test);
  out << "held-out " << evaluation.report();
  if (o.showMistakes) {
    for (const auto& [example, predicted] : evaluation.mistakes) {
      out << "  " << intentName(example.label) << " -> " << intentName(predicted) << ": " << example.text << "\n";
    }
  }
  return kOk;
}

void printDemo(std::ostream& out, const char* title, const std::string& request, const Analysis& a,
               const planner::PlanOutcome& p, double threshold) {
  out << "== " << title << "\n> " << request << "\n\n";
  out << "intent: " << intentName(a.frame.intent) << " (confidence " << std::fixed << std::setprecision(2)
      << a.frame.confidence << "), target: " << a.frame.target << ", components: ";
  for (std::size_t i = 0; i < a.frame.components.size(); ++i) out << (i ? ", " : "") << a.frame.components[i];
  out << "\nparams: " << boost::json::serialize(toJson(a.frame.params)) << "\n";
  out << "context: " << (a.context.empty ? "empty canvas" : std::to_string(a.context.components.size()) + " components on the canvas") << "\n";
  out << routeLine(a, p, threshold) << "\n\n";
  for (const auto& t : p.plan.tasks) {
    out << "  " << std::left << std::setw(8) << t.id << std::setw(44) << t.name << std::setw(9) << t.agent
        << std::right << std::setw(4) << t.estimatedTime << " s  after: ";
    if (t.dependencies.empty()) out << "-";
    for (std::size_t i = 0; i < t.dependencies.size(); ++i) out << (i ? ", " : "") << t.dependencies[i];
    out << "\n";
  }
  out << "\n";
}

int cmdDemo(const Options& o, std::ostream& out, std::ostream& err) {
  auto dataDir = dataDirOf(o);
  auto engine = Engine::load(dataDir, o.capacityOverrides);
  if (!engine) return error(err, engine.error().message, kFailed);
  auto canvas = loadCanvasFile(dataDir / "examples" / "ecommerce-basic-auth.canvas.json");
  if (!canvas) return error(err, canvas.error().message, kFailed);
  struct Case {
    const char* title;
    const char* request;
    const Canvas* canvas;
  };
  for (const Case& c : {Case{"Example 1: build from scratch (empty canvas)", kExample1, nullptr},
                        Case{"Example 2: scale one component (existing canvas)", kExample2, &*canvas}}) {
    auto a = (*engine)->analyze(c.request, c.canvas);
    if (!a) return error(err, a.error().message, kFailed);
    auto p = (*engine)->plan(*a, c.request, o.threshold);
    if (!p) return error(err, p.error().message, kFailed);
    printDemo(out, c.title, c.request, *a, *p, o.threshold);
  }
  out << "Try your own: build/youmeyou plan \"add a recommendation engine\" --canvas "
      << (dataDir / "examples" / "ecommerce-basic-auth.canvas.json").string() << "\n";
  return kOk;
}


Result<void> writeFile(const std::filesystem::path& path, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !(out << content) || !out.flush()) {
    return fail(ErrorCode::kIo, "cannot write '" + path.string() + "'");
  }
  return {};
}

// DIR/plan.json, canvas.json, summary.json, architecture.mmd and files/**.
Result<std::size_t> writeOutputs(const std::filesystem::path& dir, const Design& design) {
  const auto& ex = design.execution();
  const auto& assembly = ex.assembly();
  boost::json::object summary = toJsonFields(ex.summary());
  summary["intent"] = toJson(design.analysis().frame);
  summary["route"] = routeName(design.planned().route);
  summary["approach"] = design.planned().approach;
  summary["planner"] = design.provenance().planner;
  boost::json::array tasks;
  for (const auto& t : ex.snapshot()) {
    boost::json::object o{{"id", t.task.id}, {"status", executor::taskStatusName(t.status)}};
    if (t.startedMs) o["startedMs"] = *t.startedMs;
    if (t.finishedMs) o["finishedMs"] = *t.finishedMs;
    if (!t.resultSummary.empty()) o["result"] = t.resultSummary;
    if (!t.error.empty()) o["error"] = t.error;
    tasks.push_back(std::move(o));
  }
  summary["tasks"] = std::move(tasks);
  for (const auto& [name, content] : std::vector<std::pair<std::string, std::string>>{
           {"plan.json", json::pretty(toJson(ex.plan()))},
           {"canvas.json", json::pretty(toJson(assembly.canvas))},
           {"summary.json", json::pretty(summary)},
           {"architecture.mmd", codegen::mermaid(assembly.canvas)},
       }) {
    if (auto ok = writeFile(dir / name, content + (content.ends_with("\n") ? "" : "\n")); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& f : assembly.files) {
    if (!isSafeRelativePath(f.path)) return fail(ErrorCode::kInternal, "refusing to write unsafe path '" + f.path + "'");
    if (auto ok = writeFile(dir / "files" / f.path, f.content); !ok) return tl::unexpected(ok.error());
  }
  return assembly.files.size();
}

// The plan stage's model for `design` and `serve`, created once per process
// (its circuit breaker persists across designs). The key is read from the
// environment by makeProvider() and held only by the provider.
struct LlmSetup {
  llm::LlmConfig config;
  std::unique_ptr<llm::CurlTransport> transport;
  std::unique_ptr<llm::LlmProvider> intent, plan, agents;  // one per model stage (each with its own breaker)
  std::optional<llm::PriceTable> prices;
  LlmIntentStage intentStage;         // no provider: the builtin analyzer
  LlmPlanStage stage;                 // no provider: the builtin planner
  agents::LlmAgentStage agentsStage;  // no provider: builtin agents
};

Result<std::unique_ptr<LlmSetup>> makeLlmSetup(const Options& o, std::ostream& err) {
  auto setup = std::make_unique<LlmSetup>();
  if (!o.llmConfig.empty()) {
    auto value = json::parseFile(o.llmConfig, "--llm-config");
    if (!value) return tl::unexpected(value.error());
    auto config = llm::LlmConfig::fromJson(*value);
    if (!config) return fail(config.error().code, "--llm-config " + o.llmConfig + ": " + config.error().message);
    setup->config = std::move(*config);
  } else {
    auto kind = llm::parseProviderKind(o.llm);
    if (!kind) return fail(ErrorCode::kInvalidArgument, "--llm: " + kind.error().message);
    llm::ProviderConfig config;
    config.kind = *kind;
    config.url = o.llmUrl;
    config.model = o.llmModel;
    setup->config = llm::LlmConfig::allStages(config);
  }
  if (o.llmStrict) {
    for (auto stage : {llm::Stage::kIntent, llm::Stage::kPlan, llm::Stage::kAgents}) {
      setup->config.forStage(stage).strict = true;
    }
  }
  const auto& intent = setup->config.intent;
  const auto& plan = setup->config.plan;
  const auto& agentsConfig = setup->config.agents;
  if (intent.kind == llm::ProviderKind::kBuiltin && plan.kind == llm::ProviderKind::kBuiltin &&
      agentsConfig.kind == llm::ProviderKind::kBuiltin) {
    return setup;
  }
  static SystemClock clock;  // outlives every provider
  setup->transport = std::make_unique<llm::CurlTransport>();
  auto make = [&](const llm::ProviderConfig& config) {
    return llm::makeProvider(config, *setup->transport, clock, llm::processEnv(),
                             [&err](std::string_view line) { err << "youmeyou: llm: " << line << "\n"; });
  };
  if (auto prices = llm::PriceTable::load(dataDirOf(o) / "llm" / "models.json")) {
    setup->prices = std::move(*prices);
  } else {
    err << "youmeyou: note: no prices (" << prices.error().message << "); costs are not reported\n";
  }
  const llm::PriceTable* prices = setup->prices ? &*setup->prices : nullptr;
  if (intent.kind != llm::ProviderKind::kBuiltin) {
    auto provider = make(intent);
    if (!provider) return tl::unexpected(provider.error());
    setup->intent = std::move(*provider);
    setup->intentStage = LlmIntentStage{setup->intent.get(), intent, prices, &clock, nullptr};
  }
  if (plan.kind != llm::ProviderKind::kBuiltin) {
    auto provider = make(plan);
    if (!provider) return tl::unexpected(provider.error());
    setup->plan = std::move(*provider);
    setup->stage = LlmPlanStage{setup->plan.get(), plan, prices, &clock, nullptr};
  }
  if (agentsConfig.kind != llm::ProviderKind::kBuiltin) {
    auto provider = make(agentsConfig);
    if (!provider) return tl::unexpected(provider.error());
    setup->agents = std::move(*provider);
    setup->agentsStage.provider = setup->agents.get();
    setup->agentsStage.config = agentsConfig;
    setup->agentsStage.prices = prices;
  }
  return setup;
}

// "llm plan: 412 prompt + 87 completion tokens, $0.000114 (gpt-4o-mini)".
std::string llmUsageLine(const LlmStageUsage& usage) {
  std::ostringstream line;
  line << "llm " << usage.stage << ": " << usage.promptTokens << " prompt + " << usage.completionTokens
       << " completion tokens";
  if (usage.costUsd) line << ", $" << std::fixed << std::setprecision(6) << *usage.costUsd;
  line << " (" << usage.model << ")";
  return line.str();
}

// Cancels the design on SIGINT/SIGTERM; stops quietly when the run ends.
class SignalWatcher {
 public:
  explicit SignalWatcher(Design& design) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    thread_ = std::thread([this, &design] {
      int signal = 0;
      sigwait(&set_, &signal);
      if (signal != SIGUSR1) design.cancel(signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t set_{}, previous_{};
  std::thread thread_;
};

int cmdDesign(const Options& o, std::istream& in, std::ostream& out, std::ostream& err, const CliEnvironment& env) {
  auto l = loadInputs(o, in);
  if (!l) return error(err, l.error().message, exitFor(l.error()));
  auto llmSetup = makeLlmSetup(o, err);
  if (!llmSetup) return error(err, llmSetup.error().message, exitFor(llmSetup.error()));
  SystemClock clock;
  // The view needs the plan, which prepare() makes; events only flow after start().
  struct ForwardingSink final : executor::EventSink {
    executor::EventSink* target = nullptr;
    void publish(const Event& e) override { target->publish(e); }
  } sink;
  DesignOptions options;
  options.simulateLatency = o.simulateLatency;
  options.parallel = o.parallel;
  options.staticThreshold = o.threshold;
  options.llmIntent = (*llmSetup)->intentStage;
  options.llmPlan = (*llmSetup)->stage;
  options.llmAgents = (*llmSetup)->agentsStage;
  auto design = Design::prepare(*l->engine, l->request, l->canvas, splitList(o.stack), options, clock, sink);
  if (!design) return error(err, design.error().message, exitFor(design.error()));
  std::unique_ptr<executor::EventSink> view;
  if (o.jsonEvents) {
    view = std::make_unique<JsonLinesView>(out);
  } else {
    view = std::make_unique<ProgressView>(out, (*design)->planned().plan, env.terminal);
  }
  sink.target = view.get();
  {
    std::optional<SignalWatcher> watcher;
    if (env.handleSignals) watcher.emplace(**design);
    (*design)->start();
    (*design)->wait();
  }
  const auto& summary = (*design)->execution().summary();
  std::ostream& report = o.jsonEvents ? err : out;
  if (!o.outDir.empty()) {
    auto written = writeOutputs(o.outDir, **design);
    if (!written) return error(err, written.error().message, kFailed);
    report << "wrote plan.json, canvas.json, summary.json, architecture.mmd and " << *written << " files under "
           << (std::filesystem::path(o.outDir) / "files").string() << "\n";
  } else if (!o.jsonEvents) {
    report << "(add --out DIR to write the plan, canvas and " << summary.codeGeneration.filesGenerated << " files)\n";
  }
  if (!o.jsonEvents) {
    report << (summary.success ? "success" : "failed") << ": " << summary.tasksCompleted << " tasks in "
           << std::fixed << std::setprecision(2) << static_cast<double>(summary.totalTimeMs) / 1000.0 << " s, "
           << summary.canvasChanges.componentsAdded << " components and " << summary.canvasChanges.connectionsCreated
           << " connections added, " << summary.codeGeneration.filesGenerated << " files ("
           << summary.codeGeneration.linesOfCode << " lines)\n";
    for (const auto& f : summary.failures) report << "  " << f.taskId << " (" << f.name << "): " << f.error << "\n";
    for (const auto& usage : summary.llm) report << llmUsageLine(usage) << "\n";
  }
  return summary.success ? kOk : kFailed;
}


// The design cache for `serve`: nullptr inside when --cache off; nullopt
// (after printing why) when it cannot be opened.
std::optional<std::unique_ptr<cache::DesignCache>> openCache(const Options& o, const Engine& engine, std::ostream& err) {
  if (o.cache == "off") return std::unique_ptr<cache::DesignCache>();
  cache::DesignCacheOptions options;
  options.engineVersion = engine.version();
  options.ttl = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(o.cacheTtl * 1000)));
  options.l1Bytes = o.cacheMemoryMb << 20;
  if (!o.memory) options.l3Path = std::filesystem::path(o.data) / "cache-l3.idx";
  if (!o.redis.empty()) {
    auto endpoint = cache::parseRedisUrl(o.redis);
    if (!endpoint) {
      error(err, "--redis: " + endpoint.error().message);
      return std::nullopt;
    }
    cache::RedisTierOptions redis;
    redis.endpoint = *endpoint;
    options.l2 = redis;
  }
  std::error_code ec;
  if (!o.memory) std::filesystem::create_directories(o.data, ec);
  static SystemClock clock;  // outlives every cache
  auto opened = cache::DesignCache::create(engine.catalog(), options, clock);
  if (!opened) {
    error(err, opened.error().message + (options.l3Path.empty() ? "" : " (move the file away to start with an empty cache)"),
          kFailed);
    return std::nullopt;
  }
  return std::move(*opened);
}

// Accounts, tokens and limits for `serve` with auth on.
struct AuthStack {
  auth::TierTable tiers;
  std::unique_ptr<auth::PasswordHasher> hasher;
  std::unique_ptr<auth::JwtCodec> jwt;
  std::unique_ptr<auth::AuthService> service;
  std::unique_ptr<auth::RateLimiter> limiter;
};

bool isLoopback(const std::string& bind) {
  return bind == "127.0.0.1" || bind == "::1" || bind == "localhost" || bind.rfind("127.", 0) == 0;
}

std::optional<std::unique_ptr<AuthStack>> openAuth(const Options& o, store::Store& store, const Clock& clock,
                                                   std::ostream& err) {
  const bool on = o.auth == "on" || (o.auth == "auto" && !isLoopback(o.bind));
  if (!on) return std::unique_ptr<AuthStack>();
  auto fail = [&](const std::string& message) {
    error(err, message, kFailed);
    return std::nullopt;
  };
  auto stack = std::make_unique<AuthStack>();
  const auto tiersPath = o.tiersFile.empty() ? dataDirOf(o) / "auth" / "tiers.json" : std::filesystem::path(o.tiersFile);
  auto tiers = auth::loadTiers(tiersPath);
  if (!tiers) return fail(tiers.error().message);
  stack->tiers = std::move(*tiers);
  Result<auth::Secret> secret = tl::unexpected(Error(ErrorCode::kInternal, "no secret"));
  if (!o.jwtSecretFile.empty()) {
    secret = auth::loadSecretFile(o.jwtSecretFile);
  } else if (const char* text = std::getenv("YOUMEYOU_JWT_SECRET"); text && *text) {
    secret = auth::secretFromText(text);
  } else if (o.memory) {
    auth::Secret ephemeral(48);
    randombytes_buf(ephemeral.data(), ephemeral.size());  // tokens die with the process, as the state does
    secret = std::move(ephemeral);
  } else {
    secret = auth::loadOrCreateSecret(o.data);
  }
  if (!secret) return fail("the token secret: " + secret.error().message);
  auto hasher = auth::PasswordHasher::create(auth::PasswordHashOptions::interactive());
  if (!hasher) return fail(hasher.error().message);
  stack->hasher = std::move(*hasher);
  auto jwt = auth::JwtCodec::create(*secret, auth::JwtOptions{}, clock);
  if (!jwt) return fail(jwt.error().message);
  stack->jwt = std::move(*jwt);
  auto service = auth::AuthService::create(store, *stack->hasher, *stack->jwt, stack->tiers, clock);
  if (!service) return fail(service.error().message);
  stack->service = std::move(*service);
  if (!o.redis.empty()) {
    auto endpoint = cache::parseRedisUrl(o.redis);
    if (!endpoint) return fail("--redis: " + endpoint.error().message);
    auth::RedisLimiterOptions redis;
    redis.host = endpoint->host;
    redis.port = endpoint->port;
    redis.username = endpoint->username;
    redis.password = endpoint->password;
    redis.db = endpoint->db;
    redis.instanceCount = o.instances;
    auto limiter = auth::RedisLimiter::create(redis, clock);
    if (!limiter) return fail(limiter.error().message);
    stack->limiter = std::move(*limiter);
  } else {
    stack->limiter = std::make_unique<auth::InProcessLimiter>(clock);
  }
  return stack;
}

int cmdServe(const Options& o, std::ostream& out, std::ostream& err, const CliEnvironment& env) {
  auto engine = Engine::load(dataDirOf(o), o.capacityOverrides);
  if (!engine) return error(err, engine.error().message, kFailed);
  std::unique_ptr<store::Store> store;
  if (!o.postgres.empty()) {
    if (o.memory) return error(err, "--memory and --postgres: choose one place for the state");
    auto opened = store::openPostgresStore(o.postgres);
    if (!opened) return error(err, "--postgres: " + opened.error().message, kFailed);
    store = std::move(*opened);
  } else if (o.memory) {
    store = store::makeMemoryStore();
  } else {
    auto opened = store::openSqliteStore(std::filesystem::path(o.data) / "youmeyou.db");
    if (!opened) return error(err, opened.error().message, kFailed);
    store = std::move(*opened);
  }
  server::ServerOptions options;
  if (!o.web.empty()) {
    if (!std::filesystem::is_regular_file(std::filesystem::path(o.web) / "index.html")) {
      return error(err, "--web " + o.web + " has no index.html (build the web app with `make build`)");
    }
    options.webRoot = o.web;
  } else if (auto dist = (std::filesystem::path(dataDirOf(o)) / ".." / "web" / "dist").lexically_normal();
             std::filesystem::is_regular_file(dist / "index.html")) {
    options.webRoot = dist.string();
  }
  options.bind = o.bind;
  options.port = o.port;
  if (!o.postgres.empty()) {
    // Shared state: this instance is one of several.
    options.instanceId = o.instanceId;
    if (options.instanceId.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      options.instanceId = std::string(host) + "-" + std::to_string(o.port);
    }
    options.advertiseAddress = o.advertise;  // empty: the server names its bound address
    options.leaseTtl = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(o.leaseTtl * 1000)));
  } else if (!o.instanceId.empty() || !o.advertise.empty()) {
    return error(err, "--instance-id and --advertise name this instance among several sharing --postgres");
  }
  options.modificationCooldown =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(o.modificationCooldown * 1000)));
  // Block the stop signals before the server's threads start, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (env.handleSignals) pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto cache = openCache(o, **engine, err);
  if (!cache) return kFailed;
  auto llmSetup = makeLlmSetup(o, err);
  if (!llmSetup) return error(err, llmSetup.error().message, exitFor(llmSetup.error()));
  static SystemClock authClock;
  auto authStack = openAuth(o, *store, authClock, err);
  if (!authStack) return kFailed;
  server::ServerServices services;
  // Instances sharing --postgres hear each other's events through --redis;
  // without it, each follows the others' runs from the log (slower).
  std::unique_ptr<bus::Relay> relay;
  if (!o.postgres.empty() && !o.redis.empty()) {
    auto made = bus::makeRedisRelay(o.redis);
    if (!made) return error(err, "--redis: " + made.error().message);
    relay = std::move(*made);
  } else if (!o.postgres.empty()) {
    relay = bus::makeLogOnlyRelay();
  }
  services.relay = relay.get();
  services.cache = cache->get();
  services.llmIntent = (*llmSetup)->intentStage;
  services.llmPlan = (*llmSetup)->stage;
  services.llmAgents = (*llmSetup)->agentsStage;
  if (*authStack) {
    services.auth = (*authStack)->service.get();
    services.limiter = (*authStack)->limiter.get();
    services.tiers = &(*authStack)->tiers;
  }
  server::Server server(options, **engine, *store, services);
  auto port = server.start();
  if (!port) return error(err, port.error().message, kFailed);
  out << "YouMeYou is serving on http://" << o.bind << ":" << *port << " (data: "
      << (!o.postgres.empty() ? "PostgreSQL, as instance " + options.instanceId
          : o.memory          ? std::string("in memory")
                              : (std::filesystem::path(o.data) / "youmeyou.db").string())
      << "; accounts " << (*authStack ? "on" : "off: single user") << "). Ctrl-C stops it." << std::endl;
  if (const auto& plan = (*llmSetup)->stage; plan.provider) {
    out << "Plans come from " << llm::providerKindName(plan.config.kind) << " (" << plan.config.model << ", "
        << plan.config.effectiveUrl() << ")"
        << (plan.config.strict ? "; no builtin fallback (strict)." : ", falling back to builtin when it gives none.")
        << std::endl;
  }
  if (const auto& intent = (*llmSetup)->intentStage; intent.provider) {
    out << "Intents come from " << llm::providerKindName(intent.config.kind) << " (" << intent.config.model << ", "
        << intent.config.effectiveUrl() << ")"
        << (intent.config.strict ? "; no builtin fallback (strict)." : ", falling back to builtin when it gives none.")
        << std::endl;
  }
  if (const auto& agents = (*llmSetup)->agentsStage; agents.provider) {
    out << "Files of the architecture, schema and code tasks come from " << llm::providerKindName(agents.config.kind)
        << " (" << agents.config.model << ", " << agents.config.effectiveUrl() << ")"
        << (agents.config.strict ? "; no builtin fallback (strict)." : ", falling back to builtin per task.")
        << std::endl;
  }
  if (!env.handleSignals) return kOk;  // tests start the server themselves
  int signal = 0;
  sigwait(&signals, &signal);
  out << "stopping (" << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ")..." << std::endl;
  server.stop("server shutting down");
  server.wait();
  if (*cache) {
    if (auto saved = (*cache)->save(); !saved) err << "youmeyou: warning: the cache index was not saved: " << saved.error().message << "\n";
  }
  return kOk;
}

int cmdCache(const Options& o, const std::string& action, std::ostream& out, std::ostream& err) {
  std::string token = o.token;
  if (const char* env = std::getenv("YOUMEYOU_TOKEN"); token.empty() && env) token = env;
  auto reply = httpRequest(action == "clear" ? "DELETE" : "GET", o.url, "/api/cache", token);
  if (!reply) {
    return error(err, reply.error().message + " (is 'youmeyou serve' running there? --url sets where)",
                 reply.error().code == ErrorCode::kInvalidArgument ? kBadInput : kFailed);
  }
  if (reply->status != 200) return error(err, "the server answered " + std::to_string(reply->status) + ": " + reply->body, kFailed);
  boost::system::error_code ec;
  auto v = boost::json::parse(reply->body, ec);
  if (ec) return error(err, "the server's answer is not JSON: " + reply->body, kFailed);
  if (action == "clear") {
    const auto& c = v.at("cleared");
    out << "cleared: L1 " << c.at("L1") << " entries, L2 " << c.at("L2") << " keys, L3 " << c.at("L3") << " templates\n";
    return kOk;
  }
  out << "engine " << v.at("engineVersion").as_string().c_str() << "\n";
  out << "tier   hits     misses   false-hit reports  stale\n";
  for (const auto& [tier, t] : v.at("tiers").as_object()) {
    char line[128];
    std::snprintf(line, sizeof line, "%-6s %-8lld %-8lld %-18lld %lld\n", std::string(tier).c_str(),
                  static_cast<long long>(t.at("hits").to_number<std::int64_t>()),
                  static_cast<long long>(t.at("misses").to_number<std::int64_t>()),
                  static_cast<long long>(t.at("falseHitReports").to_number<std::int64_t>()),
                  static_cast<long long>(t.at("stale").to_number<std::int64_t>()));
    out << line;
  }
  const auto& l1 = v.at("l1");
  out << "L1: " << l1.at("entries") << " entries, " << l1.at("bytes") << " of " << l1.at("capacityBytes") << " bytes\n";
  if (const auto* l2 = v.as_object().if_contains("l2")) {
    out << "L2: " << (l2->at("connected").as_bool() ? "connected" : "not connected") << ", " << l2->at("errors")
        << " errors, " << l2->at("timeouts") << " timeouts\n";
  }
  const auto& l3 = v.at("l3");
  out << "L3: " << l3.at("entries") << " templates (" << l3.at("pending") << " pending)"
      << (l3.at("loadedAtStart").as_bool() ? ", loaded from " : ", saved to ") << l3.at("path").as_string().c_str() << "\n";
  return kOk;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err,
           CliEnvironment environment) {
  CLI::App app{"YouMeYou: describe a system, get an architecture, a plan of parallel tasks, and the files.",
               "youmeyou"};
  app.set_version_flag("--version", "youmeyou 0.1.0");
  app.require_subcommand(1);
  Options o;
  app.add_option("--data-dir", o.dataDir, "Directory with catalog/, models/ and intent/ (default: found beside the binary)");
  app.add_option("--capacity-overrides", o.capacityOverrides,
                 "JSON file merged over the capacity baselines (data/capacity/baselines.json), e.g. "
                 "{\"app\":{\"cpu_bound\":{\"rpsPerUnit\":900}}}");

  auto addRequestOptions = [&](CLI::App* cmd) {
    cmd->add_option("request", o.request, "The request in plain words (\"-\" reads standard input)");
    cmd->add_option("--file", o.requestFile, "Read the request from a file");
    cmd->add_option("--canvas", o.canvasFile, "The existing design: a canvas JSON file {nodes, edges}");
    cmd->add_option("--stack", o.stack, "Preferred stack, comma-separated (e.g. \"go,postgres,vue\")");
  };

  auto* analyze = app.add_subcommand("analyze", "Print the intent frame of a request as JSON");
  addRequestOptions(analyze);
  analyze->add_flag("--context", o.full, "Also print the extracted context");

  auto* plan = app.add_subcommand("plan", "Print the plan (tasks as JSON) for a request; the route goes to stderr");
  addRequestOptions(plan);
  plan->add_flag("--full", o.full, "Print intent, context, route and plan as one JSON object");
  plan->add_option("--static-threshold", o.threshold, "Complexity below which the static path is taken")
      ->check(CLI::Range(0.0, 1.0))
      ->default_val(planner::kDefaultStaticThreshold);

  auto* design = app.add_subcommand("design", "Analyse, plan and execute a request, showing live progress; write the result");
  addRequestOptions(design);
  design->add_option("--out", o.outDir, "Write plan.json, canvas.json, summary.json, architecture.mmd and files/ here");
  design->add_flag("--json", o.jsonEvents, "Print exactly the event stream, one JSON object per line");
  design->add_option("--simulate-latency", o.simulateLatency,
                     "Builtin agents take estimatedTime x F seconds (0: as fast as they can)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  design->add_option("--parallel", o.parallel, "Run at most N tasks at once (0: no limit)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  design->add_option("--static-threshold", o.threshold, "Complexity below which the static path is taken")
      ->check(CLI::Range(0.0, 1.0))
      ->default_val(planner::kDefaultStaticThreshold);

  auto addLlmOptions = [&](CLI::App* cmd) {
    auto* kind = cmd->add_option("--llm", o.llm, "Who analyses the request and writes the plan and the "
                                                 "architecture, schema and code files: builtin (offline, deterministic), openai (any "
                                                 "OpenAI-compatible server) or gemini")
                     ->check(CLI::IsMember({"builtin", "openai", "gemini"}))
                     ->capture_default_str();
    cmd->add_option("--llm-url", o.llmUrl, "The provider's base URL (default: the provider's public endpoint)");
    cmd->add_option("--llm-model", o.llmModel, "The model, e.g. gpt-4o-mini or gemini-2.5-flash");
    cmd->add_flag("--llm-strict", o.llmStrict, "Fail instead of falling back to builtin when the model gives no usable answer");
    cmd->add_option("--llm-config", o.llmConfig,
                    "A JSON file choosing the provider per stage ({\"default\":{...},\"intent\":{...},"
                    "\"plan\":{...},\"agents\":{...}}); "
                    "keys come from the environment (OPENAI_API_KEY, GEMINI_API_KEY or apiKeyEnv)")
        ->excludes(kind);
  };
  addLlmOptions(design);

  auto* serve = app.add_subcommand("serve", "Run the design service: HTTP API, WebSocket, SSE and long-poll streams");
  addLlmOptions(serve);
  serve->add_option("--port", o.port, "Port to listen on (0 picks a free one)")->capture_default_str();
  serve->add_option("--bind", o.bind, "Address to listen on")->capture_default_str();
  serve->add_option("--data", o.data, "Directory for the SQLite database")->capture_default_str();
  serve->add_flag("--memory", o.memory, "Keep state in memory only (nothing survives a restart)");
  serve->add_option("--modification-cooldown", o.modificationCooldown,
                    "Seconds a task's prompt must rest between two modifications (0: no cooldown)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  serve->add_option("--cache", o.cache, "Serve repeated and similar requests from the cache (on|off)")
      ->check(CLI::IsMember({"on", "off"}))
      ->capture_default_str();
  serve->add_option("--auth", o.auth,
                    "Accounts, tokens and rate limits: on, off (one local user), or auto (on unless bound to loopback)")
      ->check(CLI::IsMember({"on", "off", "auto"}))
      ->capture_default_str();
  serve->add_option("--tiers", o.tiersFile, "Tier limits and permissions (default: DATA_DIR/auth/tiers.json)");
  serve->add_option("--jwt-secret-file", o.jwtSecretFile,
                    "The token signing secret (32+ bytes, mode 0600; default: created under --data, or "
                    "$YOUMEYOU_JWT_SECRET)");
  serve->add_option("--instances", o.instances,
                    "How many instances share --redis: each one's own limits while Redis is down are divided by it")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  serve->add_option("--postgres", o.postgres,
                    "Keep state in PostgreSQL, shared by several instances behind a load balancer, instead of SQLite "
                    "under --data (e.g. postgresql://youmeyou@db.internal/youmeyou); each execution then runs on "
                    "one instance under a lease and moves to another if that one dies");
  serve->add_option("--instance-id", o.instanceId,
                    "This instance's name in a cluster: unique, and the same across its restarts (default: HOST-PORT)");
  serve->add_option("--advertise", o.advertise,
                    "Where the other instances reach this one, for commands on executions it runs (default: "
                    "http://BIND:PORT)");
  serve->add_option("--lease-ttl", o.leaseTtl,
                    "Seconds an instance's hold on an execution lasts unrenewed: a dead instance's runs move to "
                    "another after this (renewed every fifth of it)")
      ->check(CLI::Range(1.0, 600.0))
      ->capture_default_str();
  serve->add_option("--web", o.web, "The built web app to serve at / (default: web/dist beside the data directory)");
  serve->add_option("--redis", o.redis, "Redis shared by instances: the cache's L2, with accounts the rate limits, and with --postgres the events between instances (e.g. redis://127.0.0.1:6379/0)");
  serve->add_option("--cache-ttl", o.cacheTtl, "Seconds a cached answer is served (L1, L2)")
      ->check(CLI::Range(1.0, 365.0 * 86400))
      ->capture_default_str();
  serve->add_option("--cache-memory", o.cacheMemoryMb, "Megabytes for the in-process cache (L1)")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();

  std::string cacheAction;
  auto* cacheCmd = app.add_subcommand("cache", "Show or clear a running server's cache: youmeyou cache stats|clear");
  cacheCmd->add_option("action", cacheAction, "stats: hits, misses and false-hit reports per tier; clear: empty every tier")
      ->required()
      ->check(CLI::IsMember({"stats", "clear"}));
  cacheCmd->add_option("--url", o.url, "The server")->capture_default_str();
  cacheCmd->add_option("--token", o.token, "A bearer token with admin:cache, when the server has accounts on "
                                           "(default: $YOUMEYOU_TOKEN)");

  auto* validate = app.add_subcommand("validate-plan", "Check a plan JSON file: fields, agents, dependencies, cycles");
  validate->add_option("plan", o.planFile, "Plan file (a JSON array of tasks)")->required();

  auto* train = app.add_subcommand("train-intent", "Train the intent classifier on data/intent and save the model");
  train->add_option("--dataset", o.datasetDir, "Directory of <INTENT>.txt files (default: DATA_DIR/intent)");
  train->add_option("--out", o.modelOut, "Model file to write (default: DATA_DIR/models/intent.model)");
  train->add_option("--epochs", o.train.epochs, "Passes over the training split")->capture_default_str()->check(CLI::Range(1, 1000));
  train->add_option("--learning-rate", o.train.learningRate, "Initial SGD step")->capture_default_str()->check(CLI::Range(1e-6, 10.0));
  train->add_option("--l2", o.train.l2, "L2 penalty on touched weights")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  train->add_option("--min-count", o.train.minFeatureCount, "Drop features seen in fewer training examples")->capture_default_str()->check(CLI::Range(1, 100));

  auto* eval = app.add_subcommand("eval-intent", "Report the model's accuracy on the held-out split");
  eval->add_option("--dataset", o.datasetDir, "Directory of <INTENT>.txt files (default: DATA_DIR/intent)");
  eval->add_option("--model", o.modelOut, "Model file (default: DATA_DIR/models/intent.model)");
  eval->add_flag("--mistakes", o.showMistakes, "List the misclassified held-out requests");

  auto* demo = app.add_subcommand("demo", "Analyse and plan the specification's two example requests");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kOk;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return kOk;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << "\n";
    return kOk;
  } catch (const CLI::ParseError& e) {
    for (auto* sub : app.get_subcommands()) {
      if (sub->parsed()) return error(err, std::string(e.what()) + " (see 'youmeyou " + sub->get_name() + " --help')");
    }
    return error(err, std::string(e.what()) + " (see 'youmeyou --help')");
  }

  auto needsRequest = [&]() { return o.request.empty() && o.requestFile.empty(); };
  if (analyze->parsed()) {
    if (needsRequest()) return error(err, "analyze needs a request, e.g. youmeyou analyze \"add a cache in front of the catalog\"");
    return cmdAnalyze(o, in, out, err);
  }
  if (plan->parsed()) {
    if (needsRequest()) return error(err, "plan needs a request, e.g. youmeyou plan \"build a ride-sharing backend\"");
    return cmdPlan(o, in, out, err);
  }
  if (design->parsed()) {
    if (needsRequest()) return error(err, "design needs a request, e.g. youmeyou design \"build a blog platform\" --out blog/");
    return cmdDesign(o, in, out, err, environment);
  }
  if (serve->parsed()) return cmdServe(o, out, err, environment);
  if (cacheCmd->parsed()) return cmdCache(o, cacheAction, out, err);
  if (validate->parsed()) return cmdValidatePlan(o, out, err);
  if (train->parsed()) return cmdTrain(o, out, err);
  if (eval->parsed()) return cmdEval(o, out, err);
  if (demo->parsed()) return cmdDemo(o, out, err);
  return error(err, "unknown command (see 'youmeyou --help')");
}

}  // namespace ymy::app
