// End to end through the builtin agents: analyse, plan, execute, and judge
// every generated artifact with the tool that owns its format (sqlite3, node,
// esbuild, a YAML parser, a JSON parser), for several different requests.

#include "engine/design.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <set>

#include "codegen/test_util.hpp"
#include "model/json_io.hpp"
#include "agents/agent_test_support.hpp"
#include "test_data.hpp"

namespace ymy::engine {
namespace {



class DesignTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto engine = Engine::load(test::dataDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = engine->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  struct Outcome {
    std::unique_ptr<Design> design;
    std::vector<Event> events;
  };
  Outcome run(const std::string& request, const Canvas* canvas = nullptr) {
    auto sink = std::make_unique<test::RecordingSink>();
    std::optional<Canvas> c;
    if (canvas) c = *canvas;
    auto design = Design::prepare(*engine_, request, c, {}, {}, clock_, *sink);
    EXPECT_TRUE(design) << design.error().message;
    (*design)->start();
    (*design)->wait();
    sinks_.push_back(std::move(sink));
    return {std::move(*design), sinks_.back()->events};
  }

  static Canvas exampleCanvas() {
    return *loadCanvasFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json");
  }

  // Writes the files and checks each with its tool.
  static void expectValid(const std::vector<GeneratedFile>& files, const std::string& label) {
    test::TempDir dir("design");
    test::writeFiles(dir.path(), files);
    std::vector<std::string> js, jsx;
    for (const auto& f : files) {
      auto path = (dir.path() / f.path).string();
      if (f.path.ends_with(".sql")) {
        auto r = test::run("sqlite3 -bail :memory: < " + test::shellQuote(path), dir.path());
        EXPECT_EQ(r.exitCode, 0) << label << ": " << f.path << " does not load into sqlite3:\n" << r.output;
      } else if (f.path.ends_with(".json")) {
        EXPECT_TRUE(json::parse(f.content, f.path)) << label << ": " << f.path;
      } else if (f.path.ends_with(".yml") || f.path.ends_with(".yaml")) {
        EXPECT_NO_THROW(YAML::Load(f.content)) << label << ": " << f.path;
      } else if (f.path.ends_with(".js") && !f.path.starts_with("frontend/")) {
        js.push_back(test::shellQuote(path));  // CommonJS services and tests
      } else if (f.path.ends_with(".jsx") || f.path.ends_with(".js")) {  // the frontend is ES modules
        jsx.push_back(test::shellQuote(path));
      }
    }
    if (!js.empty()) {
      std::string cmd = "node " + test::shellQuote((std::filesystem::path(YOUMEYOU_SOURCE_DATA_DIR) / ".." / "tools" /
                                                   "validate" / "check-syntax.cjs")
                                                      .lexically_normal()
                                                      .string());
      for (const auto& f : js) cmd += " " + f;
      auto r = test::run(cmd, dir.path());
      EXPECT_EQ(r.exitCode, 0) << label << ": JavaScript does not parse:\n" << r.output;
    }
    auto esbuild = (std::filesystem::path(YOUMEYOU_SOURCE_DATA_DIR) / ".." / "tools" / "validate" / "node_modules" /
                    ".bin" / "esbuild")
                       .lexically_normal();
    if (!jsx.empty() && std::filesystem::exists(esbuild)) {
      for (const auto& f : jsx) {
        auto r = test::run(test::shellQuote(esbuild.string()) + " --loader:.jsx=jsx --log-level=error " + f +
                               " > /dev/null",
                           dir.path());
        EXPECT_EQ(r.exitCode, 0) << label << ": " << f << " does not parse:\n" << r.output;
      }
    }
  }

  static inline Engine* engine_ = nullptr;
  SystemClock clock_;
  std::vector<std::unique_ptr<test::RecordingSink>> sinks_;
};

TEST_F(DesignTest, Example1ProducesTheSpecsArchitectureAndValidFiles) {
  auto [design, events] = run(
      "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing");
  const auto& ex = design->execution();
  ASSERT_TRUE(ex.summary().success);
  EXPECT_EQ(ex.summary().tasksCompleted, 8);
  const auto& canvas = ex.assembly().canvas;
  for (const char* id : {"auth-service", "product-service", "cart-service", "payment-service", "api-gateway", "web-app"}) {
    EXPECT_NE(canvas.findNode(id), nullptr) << id;
  }
  // Real calls between services, as the catalog says: cart -> auth, cart -> catalog, payment -> auth.
  auto hasEdge = [&](const char* s, const char* t) {
    return std::any_of(canvas.edges.begin(), canvas.edges.end(),
                       [&](const CanvasEdge& e) { return e.source == s && e.target == t; });
  };
  EXPECT_TRUE(hasEdge("cart-service", "auth-service"));
  EXPECT_TRUE(hasEdge("cart-service", "product-service"));
  EXPECT_TRUE(hasEdge("payment-service", "auth-service"));
  // Layered layout: no two nodes overlap.
  for (std::size_t i = 0; i < canvas.nodes.size(); ++i) {
    for (std::size_t j = i + 1; j < canvas.nodes.size(); ++j) {
      const auto& a = canvas.nodes[i].position;
      const auto& b = canvas.nodes[j].position;
      EXPECT_FALSE(std::abs(a.x - b.x) < 160 && std::abs(a.y - b.y) < 60)
          << canvas.nodes[i].id << " overlaps " << canvas.nodes[j].id;
    }
  }
  const auto& code = ex.summary().codeGeneration;
  EXPECT_EQ(code.services, 4);
  EXPECT_GT(code.components, 4);
  EXPECT_GT(code.linesOfCode, 1000);
  std::set<std::string> paths;
  for (const auto& f : ex.assembly().files) paths.insert(f.path);
  for (const char* p : {"database/schema.sql", "auth-service/src/routes/auth.js", "auth-service/src/middleware/auth.js",
                        "product-service/package.json", "frontend/package.json", "integration-tests/package.json",
                        "docker-compose.yml"}) {
    EXPECT_TRUE(paths.count(p)) << p;
  }
  expectValid(ex.assembly().files, "example 1");
  // Events: intent, context, plan, then the executor's, seq contiguous, summary last.
  ASSERT_GE(events.size(), 20u);
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
  EXPECT_EQ(events[0].type, "intentAnalyzed");
  EXPECT_EQ(events[2].type, "planGenerated");
  EXPECT_EQ(events[3].type, "executionStarted");
  EXPECT_EQ(events.back().type, "executionSummary");
  std::set<std::string> types;
  for (const auto& e : events) types.insert(e.type);
  for (const char* t : {"tasksStarted", "taskStarted", "taskProgress", "iterationStarted", "iterationProgress", "taskCompleted"}) {
    EXPECT_TRUE(types.count(t)) << t;
  }
}

TEST_F(DesignTest, VariedRequestsProduceValidArtifacts) {
  auto canvas = exampleCanvas();
  struct Case {
    const char* request;
    const Canvas* canvas;
  };
  for (const auto& c : std::vector<Case>{
           {"design a blog platform with comments, newsletters and author profiles, in node", nullptr},
           {"I need a food delivery app with loyalty points and wishlists for 2 million users", nullptr},
           {"Build a pet adoption site with shelters and adoption applications", nullptr},
           // "drivers" is a feature and also dispatch's table: one service owns it.
           {"Build a ride sharing backend with drivers, riders, trip matching and payments", nullptr},
           {"Fix the auth service in my design and make it scalable to 5000 RPS", &canvas},
           {"add a recommendation engine to my design", &canvas},
           {"remove the payment service", &canvas},
           {"what are the single points of failure here?", &canvas},
           // A misspelt domain: one generic service, which must still be generated.
           {"an ecomerce website", nullptr},
       }) {
    auto [design, events] = run(c.request, c.canvas);
    const auto& ex = design->execution();
    EXPECT_TRUE(ex.summary().success) << c.request << ": "
                                      << (ex.summary().failures.empty() ? "" : ex.summary().failures[0].error);
    EXPECT_FALSE(ex.assembly().files.empty()) << c.request;
    expectValid(ex.assembly().files, c.request);
    // Every image compose builds has its sources among the files.
    for (const auto& f : ex.assembly().files) {
      if (f.path != "docker-compose.yml") continue;
      const auto doc = YAML::Load(f.content);
      for (const auto& service : doc["services"]) {
        if (!service.second["build"]) continue;
        std::string dir = service.second["build"].IsScalar() ? service.second["build"].as<std::string>()
                                                              : service.second["build"]["context"].as<std::string>();
        if (dir.starts_with("./")) dir = dir.substr(2);
        const bool present = std::any_of(ex.assembly().files.begin(), ex.assembly().files.end(),
                                         [&](const GeneratedFile& g) { return g.path.starts_with(dir + "/"); });
        EXPECT_TRUE(present) << c.request << ": docker-compose.yml builds ./" << dir << ", which was not generated";
      }
    }
  }
}

// The preferred stack shapes the code: Python requests get FastAPI services.
// A small design of the kind people draw, with their own ids.
Canvas drawnShop() {
  auto c = canvasFromJson(*json::parse(R"({
    "nodes": [
      {"id":"web","type":"frontend","label":"Web App"},
      {"id":"gw","type":"gateway","label":"API Gateway"},
      {"id":"product-service","type":"service","label":"Product Service","config":{"instances":1}},
      {"id":"cart-service","type":"service","label":"Cart Service","config":{"instances":1}},
      {"id":"redis-cache","type":"cache","label":"Redis"},
      {"id":"shop-db","type":"database","label":"Shop DB","config":{"engine":"MySQL","replicas":0}}],
    "edges": [
      {"id":"e1","source":"web","target":"gw"},{"id":"e2","source":"gw","target":"product-service"},
      {"id":"e3","source":"gw","target":"cart-service"},{"id":"e4","source":"cart-service","target":"redis-cache"},
      {"id":"e5","source":"product-service","target":"shop-db"},{"id":"e6","source":"cart-service","target":"shop-db"}]
  })", "canvas"));
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

bool hasEdge(const Canvas& c, std::string_view from, std::string_view to) {
  return std::any_of(c.edges.begin(), c.edges.end(), [&](const auto& e) { return e.source == from && e.target == to; });
}

TEST_F(DesignTest, AddingAttachesToWhatTheRequestNamesOnTheCanvas) {
  const Canvas before = drawnShop();
  auto out = run("put a redis cache in front of the product service", &before);
  const auto& ex = out.design->execution();
  ASSERT_TRUE(ex.summary().success);
  const auto& after = ex.assembly().canvas;
  EXPECT_TRUE(hasEdge(after, "product-service", "redis-cache"));
  EXPECT_EQ(after.nodes.size(), before.nodes.size()) << "nothing new: the cache and the service exist";
  for (const auto& t : ex.plan().tasks) EXPECT_EQ(t.name.find("Implementation"), std::string::npos) << t.name;

  auto monitored = run("add monitoring and alerting with prometheus", &before);
  const auto& m = monitored.design->execution().assembly().canvas;
  ASSERT_NE(m.findNode("monitoring"), nullptr);
  EXPECT_TRUE(hasEdge(m, "monitoring", "product-service"));
  EXPECT_TRUE(hasEdge(m, "monitoring", "cart-service"));
  for (const auto& e : m.edges) EXPECT_NE(e.source, e.target) << e.id;
}

// Added infrastructure gets a container of its own and its clients' settings,
// not a load balancer.
TEST_F(DesignTest, AddedInfrastructureRunsBesideTheDesignAndItsClientsFindIt) {
  const Canvas before = drawnShop();
  auto out = run("add a kafka queue between the cart and product services", &before);
  const auto& ex = out.design->execution();
  ASSERT_TRUE(ex.summary().success);
  const auto& canvas = ex.assembly().canvas;
  for (const auto& n : canvas.nodes) EXPECT_NE(n.type, "load_balancer") << n.id;
  const GeneratedFile* compose = nullptr;
  for (const auto& f : ex.assembly().files) {
    if (f.path.starts_with("deploy/") && f.path.ends_with(".compose.yml")) compose = &f;
  }
  ASSERT_NE(compose, nullptr);
  expectValid({*compose}, "queue compose file");
  const auto doc = YAML::Load(compose->content);
  std::string queue;
  for (const auto& n : canvas.nodes) {
    if (n.type == "queue") queue = n.id;
  }
  ASSERT_FALSE(queue.empty());
  EXPECT_NE(doc["services"][queue]["image"].as<std::string>().find("kafka"), std::string::npos) << compose->content;
  for (const char* client : {"cart-service", "product-service"}) {
    ASSERT_TRUE(hasEdge(canvas, client, queue)) << client;
    EXPECT_EQ(doc["services"][client]["environment"]["KAFKA_BROKERS"].as<std::string>(), queue + ":9092");
  }
}

TEST_F(DesignTest, RemovingSeveralComponentsRemovesEachWithTheStoresOnlyItUsed) {
  Canvas before = drawnShop();
  before.nodes.push_back(CanvasNode{"reviews", "service", "Reviews Service", {}, {}});
  before.nodes.push_back(CanvasNode{"reviews-db", "database", "Reviews DB", {}, {}});
  before.edges.push_back(CanvasEdge{"e7", "gw", "reviews", "api-call"});
  before.edges.push_back(CanvasEdge{"e8", "reviews", "reviews-db", "reads-writes"});
  auto out = run("drop the cart service and the reviews service", &before);
  ASSERT_TRUE(out.design->execution().summary().success);
  const auto& after = out.design->execution().assembly().canvas;
  EXPECT_EQ(after.findNode("cart-service"), nullptr);
  EXPECT_EQ(after.findNode("reviews"), nullptr);
  EXPECT_EQ(after.findNode("reviews-db"), nullptr) << "used by the removed service alone";
  EXPECT_NE(after.findNode("shop-db"), nullptr) << "still used by the product service";
  EXPECT_NE(after.findNode("product-service"), nullptr);
}

TEST_F(DesignTest, SinglePointsOfFailureIncludeSharedStoresAndTheEntryPoint) {
  const Canvas before = drawnShop();
  auto out = run("what are the single points of failure in this design?", &before);
  ASSERT_TRUE(out.design->execution().summary().success);
  std::string report;
  for (const auto& f : out.design->execution().assembly().files) {
    if (f.path.starts_with("analysis/")) report += f.content;
  }
  for (const char* expected : {"shop-db is one primary without replicas shared by product-service, cart-service",
                               "gw is a single instance that every request passes through",
                               "redis-cache is a single cache node used by cart-service",
                               "product-service runs a single instance"}) {
    EXPECT_NE(report.find(expected), std::string::npos) << expected << "\n" << report;
  }
  EXPECT_EQ(report.find("No load balancer"), std::string::npos) << "the gateway is the entry point";
}

TEST_F(DesignTest, ModifyingChangesTheNodesConfigAndOptimisingAddsNoNode) {
  const Canvas before = drawnShop();
  auto out = run("switch the shop database from MySQL to PostgreSQL", &before);
  ASSERT_TRUE(out.design->execution().summary().success);
  const auto* db = out.design->execution().assembly().canvas.findNode("shop-db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->config.at("engine"), "PostgreSQL");

  auto scaled = run("set the cart service to 4 instances", &before);
  EXPECT_EQ(scaled.design->execution().assembly().canvas.findNode("cart-service")->config.at("instances"), 4);

  auto faster = run("make it faster", &before);
  ASSERT_TRUE(faster.design->execution().summary().success);
  EXPECT_EQ(faster.design->execution().assembly().canvas.findNode("system"), nullptr);
}

TEST_F(DesignTest, PythonPreferenceGivesPythonServices) {
  auto [design, events] = run("build a blog platform with comments in Python and Postgres");
  const auto& ex = design->execution();
  ASSERT_TRUE(ex.summary().success);
  std::set<std::string> paths;
  std::vector<std::string> py;
  for (const auto& f : ex.assembly().files) {
    paths.insert(f.path);
    if (f.path.ends_with(".py")) py.push_back(f.path);
  }
  EXPECT_TRUE(paths.count("comment-service/requirements.txt"));
  EXPECT_TRUE(paths.count("comment-service/app/main.py"));
  EXPECT_FALSE(paths.count("comment-service/package.json"));
  // The blog's own content service comes with the comments the request lists.
  EXPECT_TRUE(paths.count("cms-service/app/main.py"));
  EXPECT_EQ(ex.summary().codeGeneration.services, 2);
  ASSERT_FALSE(py.empty());
  test::TempDir dir("python-design");
  test::writeFiles(dir.path(), ex.assembly().files);
  std::string cmd = "python3 -c \"import py_compile,sys; [py_compile.compile(f, doraise=True) for f in sys.argv[1:]]\"";
  for (const auto& p : py) cmd += " " + test::shellQuote((dir.path() / p).string());
  auto r = test::run(cmd, dir.path());
  EXPECT_EQ(r.exitCode, 0) << r.output;
  expectValid(ex.assembly().files, "python blog");
}

// Agents act on their task's prompt: a table the prompt adds appears in the
// schema and the service that owns it gets endpoints for it.
TEST_F(DesignTest, EditedSchemaPromptChangesTheSchemaAndTheOwningService) {
  auto analysis = engine_->analyze("build an online store with user auth, product catalog and shopping cart", nullptr);
  ASSERT_TRUE(analysis);
  auto planned = engine_->plan(*analysis, "");
  ASSERT_TRUE(planned);
  Plan plan = planned->plan;
  auto& schemaTask = plan.tasks[1];
  ASSERT_EQ(schemaTask.agent, "db-001");
  schemaTask.prompt = "Create comprehensive database schema for the store including users, products, categories, "
                      "carts, cart_items, wishlists, and pet profiles. Include relationships, indexes, and constraints.";
  executor::ExecutionInput input;
  input.frame = analysis->frame;
  test::RecordingSink sink;
  DesignAssembler assembler;
  executor::Execution ex(plan, input, engine_->agents(), assembler, clock_, sink, {});
  ex.start();
  ex.wait();
  ASSERT_TRUE(ex.summary().success);
  std::map<std::string, std::string> files;
  for (const auto& f : ex.assembly().files) files[f.path] = f.content;
  const auto& schema = files["database/schema.sql"];
  EXPECT_NE(schema.find("CREATE TABLE IF NOT EXISTS wishlists"), std::string::npos);
  EXPECT_NE(schema.find("CREATE TABLE IF NOT EXISTS pet_profiles"), std::string::npos);
  EXPECT_NE(schema.find("REFERENCES users (id)"), std::string::npos);
  bool wishlistRoutes = false, petRoutes = false;
  for (const auto& [path, content] : files) {
    wishlistRoutes = wishlistRoutes || path.ends_with("/src/routes/wishlists.js");
    petRoutes = petRoutes || path.ends_with("/src/routes/pet-profiles.js") || path.ends_with("/src/routes/pet_profiles.js");
  }
  EXPECT_TRUE(wishlistRoutes);
  EXPECT_TRUE(petRoutes);
  expectValid(ex.assembly().files, "edited schema prompt");
}

// ---- What flows between tasks (Agent::flow), for step modification --------

// The executor's impact analysis over flows, as it will run it: the items the
// modified task's result defines change by the symmetric difference of its
// flows before and after (Δ); walking its transitive dependents in plan
// order, a dependent is IMPACT when it consumes a changed item of Δ_impact,
// MINOR when it uses one or consumes one of Δ_minor, and its own items then
// join Δ_impact or Δ_minor. An unknown flow counts as IMPACT.
enum class Impact { kNone, kMinor, kImpact };

std::ostream& operator<<(std::ostream& os, Impact impact) {
  return os << (impact == Impact::kImpact ? "IMPACT" : impact == Impact::kMinor ? "MINOR" : "NONE");
}

// Whether some pattern covers some item: equal, or a pattern ending in ':'
// or '/' that the item starts with (the executor's rule).
bool matchesAny(const std::set<std::string>& patterns, const std::set<std::string>& items) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    auto it = items.lower_bound(p);  // the first item >= p starts with p if any does
    if (it == items.end()) return false;
    return *it == p || ((p.ends_with('/') || p.ends_with(':')) && it->starts_with(p));
  });
}

std::set<std::string> symmetricDifference(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

std::map<std::string, Impact> classify(const Plan& plan, const std::string& modified, const executor::TaskFlow& before,
                                       const executor::TaskFlow& after,
                                       const std::function<executor::TaskFlow(const Task&)>& flowOf) {
  std::set<std::string> impacted = symmetricDifference(before.produces, after.produces), minor;
  std::set<std::string> dependents = {modified};
  std::map<std::string, Impact> out;
  for (const auto& task : plan.tasks) {  // plan order is a topological order
    const bool dependent = std::any_of(task.dependencies.begin(), task.dependencies.end(),
                                       [&](const std::string& d) { return dependents.count(d) > 0; });
    if (!dependent) continue;
    dependents.insert(task.id);
    const auto flow = flowOf(task);
    Impact impact = Impact::kNone;
    if (!flow.known || matchesAny(flow.consumes, impacted)) {
      impact = Impact::kImpact;
    } else if (matchesAny(flow.uses, impacted) || matchesAny(flow.consumes, minor)) {
      impact = Impact::kMinor;
    }
    if (impact != Impact::kNone) {
      (impact == Impact::kImpact ? impacted : minor).insert(flow.produces.begin(), flow.produces.end());
    }
    out[task.id] = impact;
  }
  return out;
}

// Example 1's plan with task_1 (the architecture) run for real, so the other
// tasks' flows can be asked with it as their completed ancestor.
class FlowTest : public DesignTest {
 protected:
  static constexpr const char* kRequest =
      "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
  // Example 3's edit of task_2, before and after.
  static constexpr const char* kSpecOriginal = "Create database schema for users, products, orders, carts, payments";
  static constexpr const char* kSpecModified =
      "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user "
      "behavior tracking, product similarity, and recommendation history";

  void SetUp() override {
    auto analysis = engine_->analyze(kRequest, nullptr);
    ASSERT_TRUE(analysis);
    auto planned = engine_->plan(*analysis, kRequest);
    ASSERT_TRUE(planned);
    plan_ = planned->plan;
    ASSERT_EQ(plan_.tasks.size(), 8u);
    input_.request = kRequest;
    input_.frame = analysis->frame;
    test::DirectContext ctx(plan_.tasks[0], input_);
    auto arch = agent("arch-001").run(ctx);
    ASSERT_TRUE(arch) << arch.error().message;
    architecture_ = std::move(*arch);
  }

  executor::Agent& agent(std::string_view id) { return *engine_->agents().find(id); }
  const Task& task(const std::string& id) { return *plan_.find(id); }
  Task withPrompt(const std::string& id, std::string prompt) {
    Task t = task(id);
    t.prompt = std::move(prompt);
    return t;
  }
  // The flow of `t` with task_1 completed, and `more` completed ancestors.
  executor::TaskFlow flowOf(const Task& t, std::vector<std::pair<const Task*, const executor::TaskResult*>> more = {}) {
    more.insert(more.begin(), {&plan_.tasks[0], &architecture_});
    test::DirectContext ctx(t, input_, std::move(more));
    return agent(t.agent).flow(ctx);
  }
  executor::TaskResult runTask(const Task& t) {
    test::DirectContext ctx(t, input_, {{&plan_.tasks[0], &architecture_}});
    auto result = agent(t.agent).run(ctx);
    EXPECT_TRUE(result) << result.error().message;
    return result ? std::move(*result) : executor::TaskResult{};
  }
  // task_2's dependents after its prompt changes from `before` to `after`,
  // while task_2 runs (task_1 is their only completed ancestor), or once it
  // has completed with `done`.
  std::map<std::string, Impact> editSchema(const std::string& before, const std::string& after,
                                           const executor::TaskResult* done = nullptr) {
    return classify(plan_, "task_2", flowOf(withPrompt("task_2", before)), flowOf(withPrompt("task_2", after)),
                    [&](const Task& t) {
                      if (!done) return flowOf(t);
                      return flowOf(t, {{&plan_.tasks[1], done}});
                    });
  }
  std::set<std::string> addedTables(const std::string& before, const std::string& after) {
    auto b = flowOf(withPrompt("task_2", before)).produces;
    std::set<std::string> out;
    for (const auto& item : flowOf(withPrompt("task_2", after)).produces) {
      if (!b.count(item)) out.insert(item);
    }
    return out;
  }
  static std::string planPromptWith(const std::string& prompt, const std::string& extra) {
    auto at = prompt.find("and refunds.");
    EXPECT_NE(at, std::string::npos) << prompt;
    return prompt.substr(0, at) + "refunds, and " + extra + prompt.substr(at + std::string("and refunds").size());
  }

  Plan plan_;
  executor::ExecutionInput input_;
  executor::TaskResult architecture_;
};

const std::map<std::string, Impact> kExample3 = {{"task_3", Impact::kNone},
                                                 {"task_4", Impact::kImpact},
                                                 {"task_5", Impact::kMinor},
                                                 {"task_6", Impact::kNone},
                                                 {"task_8", Impact::kImpact}};

// Example 3: adding a recommendation engine to the schema adds tables owned by
// the product catalog service (not auth, though they reference users), so the
// product service is regenerated, the cart that calls it is touched, the tests
// are regenerated, and auth and payment go on unchanged.
TEST_F(FlowTest, Example3RecommendationEngineImpactsProductCartAndTests) {
  auto added = addedTables(kSpecOriginal, kSpecModified);
  EXPECT_EQ(added, (std::set<std::string>{"table:product-service/interactions",
                                          "table:product-service/item_similarities",
                                          "table:product-service/product_similarities",
                                          "table:product-service/recommendation_histories",
                                          "table:product-service/recommendations",
                                          "table:product-service/user_behavior_trackings"}));
  EXPECT_EQ(symmetricDifference(flowOf(withPrompt("task_2", kSpecOriginal)).produces,
                                flowOf(withPrompt("task_2", kSpecModified)).produces),
            added);  // nothing moved or went away
  EXPECT_EQ(editSchema(kSpecOriginal, kSpecModified), kExample3);
  // The same when the dependents see the original schema completed.
  const executor::TaskResult original = runTask(withPrompt("task_2", kSpecOriginal));
  EXPECT_EQ(editSchema(kSpecOriginal, kSpecModified, &original), kExample3);

  // The same edit made to the plan's own prompt, inside its list.
  const std::string planPrompt = task("task_2").prompt;
  EXPECT_EQ(editSchema(planPrompt, planPromptWith(planPrompt, "recommendation engine with user behavior tracking, "
                                                              "product similarity, and recommendation history")),
            kExample3);
  // From the plan's prompt to the spec's modified one, "orders" is new too:
  // the cart service owns it (orders reference carts), so the cart is rebuilt.
  auto fromPlan = addedTables(planPrompt, kSpecModified);
  EXPECT_TRUE(fromPlan.count("table:cart-service/orders"));
  EXPECT_TRUE(fromPlan.count("table:product-service/recommendations"));
  auto impacts = editSchema(planPrompt, kSpecModified);
  EXPECT_EQ(impacts["task_4"], Impact::kImpact);
  EXPECT_EQ(impacts["task_5"], Impact::kImpact);
  EXPECT_EQ(impacts["task_3"], Impact::kNone);
  EXPECT_EQ(impacts["task_6"], Impact::kNone);
  EXPECT_EQ(impacts["task_8"], Impact::kImpact);
}

// Other phrasings of an addition in the product domain give Example 3's
// classification too: appended to the list, as a sentence of its own, or
// after the instructions.
TEST_F(FlowTest, ProductDomainAdditionsInOtherPhrasings) {
  const std::string planPrompt = task("task_2").prompt;
  struct Case {
    std::string before, after, table;
  };
  for (const auto& c : std::vector<Case>{
           {kSpecOriginal, std::string(kSpecOriginal) + ", plus wishlists", "table:product-service/wishlists"},
           {kSpecOriginal, std::string(kSpecOriginal) + " and product reviews", "table:product-service/reviews"},
           {kSpecOriginal, std::string(kSpecOriginal) + ". Also add product reviews.", "table:product-service/reviews"},
           {planPrompt, planPrompt + ", plus wishlists", "table:product-service/wishlists"},
           {planPrompt, planPromptWith(planPrompt, "product reviews"), "table:product-service/review_votes"},
           {planPrompt, planPromptWith(planPrompt, "product comparisons"), "table:product-service/product_comparisons"},
       }) {
    auto added = addedTables(c.before, c.after);
    EXPECT_TRUE(added.count(c.table)) << c.after;
    for (const auto& item : added) EXPECT_TRUE(item.starts_with("table:product-service/")) << c.after << ": " << item;
    EXPECT_EQ(editSchema(c.before, c.after), kExample3) << c.after;
  }
  // A table in another service's domain impacts that service instead.
  auto cart = editSchema(kSpecOriginal, std::string(kSpecOriginal) + ", and cart reminders");
  EXPECT_EQ(cart["task_5"], Impact::kImpact);
  EXPECT_EQ(cart["task_4"], Impact::kNone);
  EXPECT_EQ(cart["task_3"], Impact::kNone);
}

// flow() names exactly the tables and owners run() creates.
TEST_F(FlowTest, SchemaFlowIsWhatRunCreates) {
  for (const std::string& prompt : {task("task_2").prompt, std::string(kSpecOriginal), std::string(kSpecModified),
                                    std::string(kSpecOriginal) + ", plus wishlists and pet profiles"}) {
    const Task t = withPrompt("task_2", prompt);
    auto result = runTask(t);
    std::set<std::string> created;
    for (const auto& kv : result.output.at("schema").at("owners").as_object()) {
      created.insert("table:" + std::string(kv.value().as_string()) + "/" + std::string(kv.key()));
    }
    EXPECT_EQ(result.output.at("schema").at("tables").as_array().size(), created.size());
    const auto flow = flowOf(t);
    EXPECT_TRUE(flow.known);
    EXPECT_EQ(flow.produces, created) << prompt;
    EXPECT_EQ(flow.consumes, std::set<std::string>{"service:"});
  }
}

// A code task's flow names its own service: its endpoints and code, its tables
// and service, the APIs of the services it calls; the schema decides its
// endpoints, and an item removed from the schema prompt is a removed table.
TEST_F(FlowTest, CodeTaskFlowNamesItsServiceAndWhatItBuildsOn) {
  const std::string withOrders = kSpecOriginal;
  const std::string withoutOrders = "Create database schema for users, products, carts, payments";
  const auto before = flowOf(withPrompt("task_2", withOrders)), after = flowOf(withPrompt("task_2", withoutOrders));
  EXPECT_EQ(symmetricDifference(before.produces, after.produces), std::set<std::string>{"table:cart-service/orders"});
  EXPECT_TRUE(before.produces.count("table:cart-service/orders"));

  const executor::TaskResult schemaWithOrders = runTask(withPrompt("task_2", withOrders));
  const executor::TaskResult schemaWithoutOrders = runTask(withPrompt("task_2", withoutOrders));
  const auto cart = flowOf(task("task_5"), {{&plan_.tasks[1], &schemaWithOrders}});
  EXPECT_TRUE(cart.known);
  for (const char* item : {"code:cart-service", "api:cart-service/GET /cart", "api:cart-service/POST /cart/items",
                           "api:cart-service/GET /carts", "api:cart-service/DELETE /cart-items/{id}",
                           "api:cart-service/GET /orders", "api:cart-service/PATCH /orders/{id}"}) {
    EXPECT_TRUE(cart.produces.count(item)) << item;
  }
  for (const auto& item : cart.produces) {
    EXPECT_TRUE(item == "code:cart-service" || item.starts_with("api:cart-service/")) << item;
  }
  EXPECT_EQ(cart.consumes, (std::set<std::string>{"service:cart-service", "table:cart-service/"}));
  EXPECT_EQ(cart.uses, (std::set<std::string>{"api:auth-service/", "api:product-service/"}));
  // Each table route flow() names is a route module run() generates.
  test::DirectContext cartCtx(task("task_5"), input_,
                        {{&plan_.tasks[0], &architecture_}, {&plan_.tasks[1], &schemaWithOrders}});
  auto generated = agent("code-001").run(cartCtx);
  ASSERT_TRUE(generated) << generated.error().message;
  std::set<std::string> paths;
  for (const auto& f : generated->files) paths.insert(f.path);
  for (const auto& item : cart.produces) {
    const std::string prefix = "api:cart-service/GET /";
    if (!item.starts_with(prefix) || item.find('/', prefix.size()) != std::string::npos) continue;
    std::string table = item.substr(prefix.size());
    std::replace(table.begin(), table.end(), '-', '_');
    if (table == "cart") continue;  // documented by the catalog, served by the carts routes
    EXPECT_TRUE(paths.count("cart-service/src/routes/" + table + ".js")) << item;
  }
  const auto cartWithoutOrders = flowOf(task("task_5"), {{&plan_.tasks[1], &schemaWithoutOrders}});
  EXPECT_FALSE(cartWithoutOrders.produces.count("api:cart-service/GET /orders"));
  EXPECT_TRUE(cartWithoutOrders.produces.count("api:cart-service/GET /carts"));

  // The token issuer serves /auth, not CRUD over its identity tables.
  const auto auth = flowOf(task("task_3"));
  EXPECT_TRUE(auth.produces.count("api:auth-service/POST /auth/login"));
  EXPECT_FALSE(auth.produces.count("api:auth-service/GET /users"));
  EXPECT_EQ(auth.consumes, (std::set<std::string>{"service:auth-service", "table:auth-service/"}));
  EXPECT_TRUE(auth.uses.empty());
  EXPECT_EQ(flowOf(task("task_6")).uses, std::set<std::string>{"api:auth-service/"});

  const auto frontend = flowOf(task("task_7"));
  EXPECT_EQ(frontend.produces, std::set<std::string>{"frontend"});
  EXPECT_EQ(frontend.consumes, std::set<std::string>{"service:"});
  EXPECT_EQ(frontend.uses, std::set<std::string>{"api:"});
  const auto tests = flowOf(task("task_8"));
  EXPECT_EQ(tests.produces, std::set<std::string>{"tests"});
  EXPECT_EQ(tests.consumes, (std::set<std::string>{"api:", "table:"}));

  // Architecture: one service item per service it designs.
  test::DirectContext archCtx(task("task_1"), input_);
  EXPECT_EQ(agent("arch-001").flow(archCtx).produces,
            (std::set<std::string>{"service:auth-service", "service:cart-service", "service:payment-service",
                                   "service:product-service"}));
}

// Every builtin agent can tell its flow, on the dynamic and the static path.
TEST_F(FlowTest, EveryAgentKnowsItsFlow) {
  std::set<std::string> agents;
  for (const auto& t : plan_.tasks) {
    EXPECT_TRUE(flowOf(t).known) << t.id;
    test::DirectContext noAncestors(t, input_);  // nothing completed yet: the fallbacks run() uses
    EXPECT_TRUE(agent(t.agent).flow(noAncestors).known) << t.id;
    agents.insert(t.agent);
  }
  auto canvas = exampleCanvas();
  for (const char* request : {"Fix the auth service in my design and make it scalable to 5000 RPS",
                              "add a recommendation engine to my design", "remove the payment service",
                              "what are the single points of failure here?"}) {
    auto analysis = engine_->analyze(request, &canvas);
    ASSERT_TRUE(analysis);
    auto planned = engine_->plan(*analysis, request);
    ASSERT_TRUE(planned);
    executor::ExecutionInput input;
    input.request = request;
    input.frame = analysis->frame;
    input.baseCanvas = canvas;
    for (const auto& t : planned->plan.tasks) {
      test::DirectContext ctx(t, input);
      const auto flow = agent(t.agent).flow(ctx);
      EXPECT_TRUE(flow.known) << request << ": " << t.id;
      EXPECT_FALSE(flow.produces.empty()) << request << ": " << t.id;
      agents.insert(t.agent);
      if (t.agent == "cap-001") {
        EXPECT_EQ(flow.produces, std::set<std::string>{"capacity:auth-service"});
        EXPECT_EQ(flow.consumes, std::set<std::string>{"service:auth-service"});
      }
    }
  }
  for (auto id : knownAgents()) EXPECT_TRUE(agents.count(std::string(id))) << id << " was not asked";
}

// Rough cost of flow() for dependents of a preview (not a pass/fail check:
// run with --gtest_also_run_disabled_tests).
TEST_F(FlowTest, DISABLED_FlowCost) {
  const executor::TaskResult schema = runTask(task("task_2"));
  for (const char* id : {"task_2", "task_3", "task_5", "task_7", "task_8"}) {
    const Task& t = task(id);
    std::vector<std::pair<const Task*, const executor::TaskResult*>> ancestors = {{&plan_.tasks[0], &architecture_}};
    if (id != std::string("task_2")) ancestors.emplace_back(&plan_.tasks[1], &schema);
    test::DirectContext ctx(t, input_, ancestors);
    const auto& a = agent(t.agent);
    constexpr int kCalls = 1000;
    std::size_t items = 0;
    double us = 1e9;  // the best of a few rounds: other processes share the machine
    for (int round = 0; round < 5; ++round) {
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < kCalls; ++i) items = a.flow(ctx).produces.size();
      const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
      us = std::min(us, took.count() / kCalls);
    }
    std::cout << id << " (" << t.name << "): " << us << " us per flow(), " << items << " produced items\n";
  }
}

}  // namespace
}  // namespace ymy::engine
