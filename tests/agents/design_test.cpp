// End to end through the builtin agents: analyse, plan, execute, and judge
// every generated artifact with the tool that owns its format (sqlite3, node,
// esbuild, a YAML parser, a JSON parser), for several different requests.

#include "engine/design.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>

#include "codegen/test_util.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::engine {
namespace {

class NullSink final : public executor::EventSink {
 public:
  void publish(const Event& e) override {
    std::lock_guard lock(mutex);
    events.push_back(e);
  }
  std::mutex mutex;
  std::vector<Event> events;
};

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
    auto sink = std::make_unique<NullSink>();
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
  std::vector<std::unique_ptr<NullSink>> sinks_;
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
           {"Fix the auth service in my design and make it scalable to 5000 RPS", &canvas},
           {"add a recommendation engine to my design", &canvas},
           {"remove the payment service", &canvas},
           {"what are the single points of failure here?", &canvas},
       }) {
    auto [design, events] = run(c.request, c.canvas);
    const auto& ex = design->execution();
    EXPECT_TRUE(ex.summary().success) << c.request << ": "
                                      << (ex.summary().failures.empty() ? "" : ex.summary().failures[0].error);
    EXPECT_FALSE(ex.assembly().files.empty()) << c.request;
    expectValid(ex.assembly().files, c.request);
  }
}

// The preferred stack shapes the code: Python requests get FastAPI services.
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
  EXPECT_EQ(ex.summary().codeGeneration.services, 1);
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
  NullSink sink;
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

}  // namespace
}  // namespace ymy::engine
