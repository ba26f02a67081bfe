#include "cli.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "llm/fake_http_server.hpp"
#include "model/canvas.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::app {
namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args, const std::string& stdinText = "") {
  args.insert(args.begin(), {"--data-dir", test::dataDir().string()});
  std::istringstream in(stdinText);
  std::ostringstream out, err;
  int code = runCli(args, in, out, err);
  return {code, out.str(), err.str()};
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("ymy_cli_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

TEST(Cli, AnalyzePrintsTheIntentFrame) {
  auto r = run({"analyze", "make the login service handle 5k req/s"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto v = json::parse(r.out, "output");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("intent").as_string(), "SCALE_COMPONENT");
  EXPECT_EQ(v->at("target").as_string(), "auth-service");
  EXPECT_EQ(v->at("params").at("rps").as_int64(), 5000);
}

TEST(Cli, AnalyzeReadsStandardInput) {
  auto r = run({"analyze", "-"}, "remove the search service\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("REMOVE_COMPONENT"), std::string::npos);
}

TEST(Cli, PlanPrintsTasksAndTheRoute) {
  auto r = run({"plan", "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and "
                        "payment processing"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto v = json::parse(r.out, "output");
  ASSERT_TRUE(v);
  ASSERT_TRUE(v->is_array());
  EXPECT_EQ(v->as_array().size(), 8u);
  EXPECT_NE(r.err.find("route: DYNAMIC (complexity 0.90 >= 0.70)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("critical path 225 s"), std::string::npos) << r.err;
}

TEST(Cli, PlanWithCanvasTakesTheStaticRoute) {
  auto canvas = (test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json").string();
  auto r = run({"plan", "Fix the auth service in my design and make it scalable to 5000 RPS", "--canvas", canvas, "--full"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto v = json::parse(r.out, "output");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("route").as_string(), "STATIC");
  EXPECT_EQ(v->at("intent").at("target").as_string(), "auth-service");
  EXPECT_EQ(v->at("context").at("type").as_string(), "existing");
}

TEST(Cli, BadInputExitsTwoWithOneLine) {
  TempDir dir;
  auto notJson = dir.write("bad.json", "{\"nodes\": [");
  auto wrongShape = dir.write("shape.json", R"({"nodes":[{"id":"a"}]})");
  auto cycle = dir.write("cycle.json", R"([
    {"id":"t1","name":"A","type":"ARCHITECTURE","dependencies":["t2"],"estimatedTime":5,"agent":"arch-001","prompt":"x"},
    {"id":"t2","name":"B","type":"ARCHITECTURE","dependencies":["t1"],"estimatedTime":5,"agent":"arch-001","prompt":"y"}])");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  for (const auto& c : std::vector<Case>{
           {{"analyze", ""}, "analyze needs a request"},
           {{"analyze", "   "}, "request is empty"},
           {{"plan", std::string(100 * 1024, 'x')}, "request is 102400 bytes; the limit is 8192"},
           {{"analyze", "scale \xc3\x28 auth"}, "request is not valid UTF-8 (byte 0xc3 at offset 6)"},
           {{"plan", "scale auth", "--canvas", "/nonexistent/canvas.json"}, "does not exist"},
           {{"plan", "scale auth", "--canvas", notJson}, "invalid JSON at line 1"},
           {{"plan", "scale auth", "--canvas", wrongShape}, "canvas.nodes[0].type: required field is missing"},
           {{"validate-plan", cycle}, "dependency cycle: t1 -> t2 -> t1"},
           {{"plan", "x", "--static-threshold", "7"}, "--static-threshold"},
           {{"frobnicate"}, "youmeyou --help"},
       }) {
    auto r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.expected;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(Cli, DesignJsonIsExactlyTheEventStream) {
  auto r = run({"design", "add a wishlist service to my store", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::uint64_t expected = 1;
  std::string last;
  while (std::getline(lines, line)) {
    auto v = json::parse(line, "event line");
    ASSERT_TRUE(v) << line;
    EXPECT_EQ(v->at("seq").to_number<std::uint64_t>(), expected++);
    last = std::string(v->at("type").as_string());
  }
  EXPECT_GT(expected, 10u);
  EXPECT_EQ(last, "executionSummary");
}

// --llm openai against the local fake server: the model analyses the
// request, its plan is used, its architecture and code tasks take their files
// from the model, the summary reports the tokens and cost of every stage, and the key (from the
// environment) is sent but never printed.
TEST(Cli, DesignWithAnOpenAiCompatibleModel) {
  llm::testing::FakeHttpServer server;
  auto task = [](const std::string& id, const std::string& agent, const std::string& deps) {
    return "{\"id\":\"" + id + "\",\"name\":\"Model " + id + "\",\"description\":\"d\",\"type\":\"CODE_GENERATION\","
           "\"dependencies\":[" + deps + "],\"estimatedTime\":20,\"isolation\":\"DEPENDENT\",\"agent\":\"" +
           agent + "\",\"prompt\":\"Write " + id + "\",\"canRunInParallel\":false}";
  };
  const std::string plan = "{\"tasks\":[" + task("m1", "arch-001", "") + "," + task("m2", "code-001", "\"m1\"") + "]}";
  boost::json::object answer{
      {"model", "gpt-4o-mini"},
      {"choices", boost::json::array{boost::json::object{
                      {"index", 0}, {"message", {{"role", "assistant"}, {"content", plan}}}, {"finish_reason", "stop"}}}},
      {"usage", {{"prompt_tokens", 1000}, {"completion_tokens", 2000}}}};
  // First the intent stage (the spec's prompt), then the plan.
  const std::string intent =
      R"({"intent":"BUILD_FROM_SCRATCH","complexity":0.9,"target":"e-commerce-platform",)"
      R"("components":["auth","catalog","cart","payment"],)"
      R"("params":{"rps":0,"latencyMs":0,"users":0,"connections":0,"availability":0}})";
  boost::json::object intentAnswer{
      {"model", "gpt-4o-mini"},
      {"choices", boost::json::array{boost::json::object{
                      {"index", 0}, {"message", {{"role", "assistant"}, {"content", intent}}}, {"finish_reason", "stop"}}}},
      {"usage", {{"prompt_tokens", 200}, {"completion_tokens", 40}}}};
  server.enqueue(llm::testing::ScriptedResponse::json(200, boost::json::serialize(intentAnswer)));
  server.enqueue(llm::testing::ScriptedResponse::json(200, boost::json::serialize(answer)));
  // Then m1 (arch-001) and m2 (code-001) ask for their files, one after the other, streamed.
  for (const char* id : {"m1", "m2"}) {
    const std::string files = boost::json::serialize(boost::json::object{
        {"summary", std::string("Model wrote ") + id},
        {"files", boost::json::array{boost::json::object{{"path", std::string(id) + "/README.md"},
                                                         {"content", std::string("# ") + id + "\n"}}}}});
    boost::json::object delta{{"model", "gpt-4o-mini"},
                              {"choices", boost::json::array{boost::json::object{
                                              {"index", 0}, {"delta", {{"content", files}}}, {"finish_reason", "stop"}}}},
                              {"usage", {{"prompt_tokens", 300}, {"completion_tokens", 100}}}};
    server.enqueue(llm::testing::ScriptedResponse::sse("data: " + boost::json::serialize(delta) + "\n\ndata: [DONE]\n\n"));
  }
  const char* key = "sk-cli-test-KEY-123456789";
  ::setenv("OPENAI_API_KEY", key, 1);
  auto r = run({"design", "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing",
                "--llm", "openai", "--llm-url", server.url(), "--llm-model", "gpt-4o-mini"});
  ::unsetenv("OPENAI_API_KEY");
  ASSERT_EQ(r.code, 0) << r.err;
  // 1000 x 0.15 + 2000 x 0.60 USD per million tokens.
  EXPECT_NE(r.out.find("llm plan: 1000 prompt + 2000 completion tokens, $0.001350 (gpt-4o-mini)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("plan: 2 tasks, DYNAMIC route (llm-dag), critical path 40 s, by openai\n"), std::string::npos)
      << r.out;
  // 200 x 0.15 + 40 x 0.60 USD per million tokens.
  EXPECT_NE(r.out.find("llm intent: 200 prompt + 40 completion tokens, $0.000054 (gpt-4o-mini)"), std::string::npos)
      << r.out;
  // 2 x (300 x 0.15 + 100 x 0.60) USD per million tokens.
  EXPECT_NE(r.out.find("llm agents: 600 prompt + 200 completion tokens, $0.000210 (gpt-4o-mini)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("m2 completed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(key), std::string::npos);
  EXPECT_EQ(r.err.find(key), std::string::npos);
  ASSERT_EQ(server.requests().size(), 4u);
  EXPECT_NE(server.requests()[0].body.find("Analyze this request and classify intent"), std::string::npos);
  for (const auto& request : server.requests()) {
    EXPECT_EQ(request.headers.at("authorization"), std::string("Bearer ") + key);
  }
  EXPECT_NE(server.requests()[3].body.find("Task m2: Model m2"), std::string::npos);

  auto both = run({"design", "build a shop", "--llm", "openai", "--llm-config", "x.json"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
}

// --llm gemini end to end against the local fake server: the intent, the
// plan and the architecture task's files (streamed) come from Gemini's API,
// the key goes in x-goog-api-key and is never printed, and the tokens of
// every stage are priced from the table.
TEST(Cli, DesignWithGemini) {
  llm::testing::FakeHttpServer server;
  auto answer = [](const std::string& text, int prompt, int completion) {
    return boost::json::serialize(boost::json::object{
        {"candidates", boost::json::array{boost::json::object{
                           {"content", {{"parts", boost::json::array{boost::json::object{{"text", text}}}}, {"role", "model"}}},
                           {"finishReason", "STOP"}}}},
        {"usageMetadata", {{"promptTokenCount", prompt}, {"candidatesTokenCount", completion}}},
        {"modelVersion", "gemini-2.5-flash"}});
  };
  const std::string intent =
      R"({"intent":"BUILD_FROM_SCRATCH","complexity":0.9,"target":"e-commerce-platform",)"
      R"("components":["auth","catalog"],"params":{"rps":0,"latencyMs":0,"users":0,"connections":0,"availability":0}})";
  const std::string plan =
      R"({"tasks":[{"id":"g1","name":"Gemini architecture","description":"d","type":"ARCHITECTURE",)"
      R"("dependencies":[],"estimatedTime":20,"isolation":"INDEPENDENT","agent":"arch-001",)"
      R"("prompt":"Design the shop","canRunInParallel":true}]})";
  const std::string files =
      R"({"summary":"Gemini designed 2 services","files":[{"path":"docs/architecture.md","content":"# Shop\n"}]})";
  server.enqueue(llm::testing::ScriptedResponse::json(200, answer(intent, 100, 20)));
  server.enqueue(llm::testing::ScriptedResponse::json(200, answer(plan, 1000, 200)));
  // Streamed in two events; the usage comes with the last.
  const std::string half = files.substr(0, files.size() / 2);
  server.enqueue(llm::testing::ScriptedResponse::sse("data: " + answer(half, 0, 0) + "\n\ndata: " +
                                                     answer(files.substr(half.size()), 500, 100) + "\n\n"));
  const char* key = "gm-cli-test-KEY-987654321";
  ::setenv("GEMINI_API_KEY", key, 1);
  auto r = run({"design", "Build a complete e-commerce platform with user auth and product catalog", "--llm", "gemini",
                "--llm-url", server.url(), "--llm-model", "gemini-2.5-flash"});
  ::unsetenv("GEMINI_API_KEY");
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  // 0.30 and 2.50 USD per million tokens.
  EXPECT_NE(r.out.find("llm intent: 100 prompt + 20 completion tokens, $0.000080 (gemini-2.5-flash)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("llm plan: 1000 prompt + 200 completion tokens, $0.000800 (gemini-2.5-flash)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("llm agents: 500 prompt + 100 completion tokens, $0.000400 (gemini-2.5-flash)"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("by gemini"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(key), std::string::npos);
  EXPECT_EQ(r.err.find(key), std::string::npos);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(requests[1].target, "/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(requests[2].target, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  for (const auto& request : requests) {
    EXPECT_EQ(request.headers.at("x-goog-api-key"), key);
    EXPECT_EQ(request.target.find(key), std::string::npos);
  }
  EXPECT_NE(requests[2].body.find("Task g1: Gemini architecture"), std::string::npos);
}

TEST(Cli, DesignWithAStrictModelThatIsDownFails) {
  TempDir dir;
  auto config = dir.write("llm.json", R"({"default": {"provider": "openai", "url": "http://127.0.0.1:9",
                                          "model": "gpt-4o-mini", "maxAttempts": 1},
                                          "intent": {"provider": "builtin"}, "plan": {"strict": true}})");
  auto r = run({"design", "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and "
                "payment processing", "--llm-config", config});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.err.find("the plan stage's provider (openai) gave no usable plan and strict mode"), std::string::npos)
      << r.err;
}

TEST(Cli, DesignWritesThePlanCanvasSummaryDiagramAndFiles) {
  TempDir dir;
  auto out = dir.write("placeholder", "");
  auto outDir = std::filesystem::path(out).parent_path() / "shop";
  auto r = run({"design",
                "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing",
                "--out", outDir.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("task_8 completed"), std::string::npos);
  EXPECT_NE(r.out.find("success: 8 tasks"), std::string::npos);
  for (const char* f : {"plan.json", "canvas.json", "summary.json", "architecture.mmd",
                        "files/auth-service/package.json", "files/database/schema.sql"}) {
    EXPECT_TRUE(std::filesystem::exists(outDir / f)) << f;
  }
  auto summary = json::parseFile(outDir / "summary.json", "summary");
  ASSERT_TRUE(summary);
  EXPECT_TRUE(summary->at("success").as_bool());
  EXPECT_EQ(summary->at("codeGeneration").at("services").as_int64(), 4);
  auto canvas = json::parseFile(outDir / "canvas.json", "canvas");
  ASSERT_TRUE(canvas);
  EXPECT_TRUE(canvasFromJson(*canvas));
  auto plan = json::parseFile(outDir / "plan.json", "plan");
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->as_array().size(), 8u);
}

// The spec's Example 2 from the command line: the static path's events in
// the spec's order, with figures the capacity model backs.
TEST(Cli, Example2ScalesTheAuthServiceOnTheStaticPath) {
  TempDir dir;
  auto outDir = std::filesystem::path(dir.write("placeholder", "")).parent_path() / "scaled";
  auto r = run({"design", "Fix the auth service in my design and make it scalable to 5000 RPS", "--canvas",
                (test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json").string(), "--json", "--out",
                outDir.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, boost::json::object> byType;
  std::vector<std::string> order;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    auto v = json::parse(line, "event line");
    ASSERT_TRUE(v) << line;
    const std::string type(v->at("type").as_string());
    order.push_back(type);
    byType[type] = v->as_object();
  }
  const std::vector<std::string> spec = {"intentAnalyzed",         "bottlenecksIdentified", "scalingPlanGenerated",
                                         "analysisCompleted",      "configurationGenerated", "componentReplaced",
                                         "scalingCompleted",       "executionSummary"};
  std::size_t at = 0;
  for (const auto& type : order) {
    if (at < spec.size() && type == spec[at]) ++at;
  }
  EXPECT_EQ(at, spec.size()) << "events out of the spec's order; next expected: " << (at < spec.size() ? spec[at] : "");
  EXPECT_EQ(byType["intentAnalyzed"].at("intent").as_string(), "SCALE_COMPONENT");
  EXPECT_EQ(byType["bottlenecksIdentified"].at("count").as_int64(), 3);
  const auto& variables = byType["scalingPlanGenerated"].at("variables").as_object();
  EXPECT_EQ(variables.at("target_rps").to_number<double>(), 5000);
  EXPECT_EQ(variables.at("current_capacity").to_number<double>(), 100);
  EXPECT_EQ(variables.at("scaling_factor").as_string(), "50x");
  EXPECT_EQ(byType["analysisCompleted"].at("requirement").as_string(), "high_throughput_auth");
  EXPECT_EQ(byType["analysisCompleted"].at("security").as_string(), "maintain_jwt_security");
  const auto& config = byType["configurationGenerated"];
  EXPECT_GE(config.at("instances").as_int64(), 9);
  EXPECT_LE(config.at("instances").as_int64(), 13);
  EXPECT_EQ(config.at("sessionStore").as_string(), "Redis Cluster (3 nodes)");
  EXPECT_EQ(config.at("readReplicas").as_int64(), 2);
  EXPECT_TRUE(config.at("meetsTarget").as_bool());
  const auto& replaced = byType["componentReplaced"];
  EXPECT_LT(replaced.at("firstAccuracy").as_int64(), replaced.at("accuracy").as_int64());
  EXPECT_GE(replaced.at("accuracy").as_int64(), 90);
  const auto& done = byType["scalingCompleted"];
  EXPECT_GE(done.at("newRPS").as_int64(), 5000);
  EXPECT_GE(done.at("filesUpdated").as_int64(), 5);

  // The merged canvas: the scaled node behind a load balancer, sessions in a
  // Redis cluster, two read replicas, monitoring; no dangling edge.
  auto canvasJson = json::parseFile(outDir / "canvas.json", "canvas");
  ASSERT_TRUE(canvasJson);
  auto canvas = canvasFromJson(*canvasJson);
  ASSERT_TRUE(canvas) << canvas.error().message;
  for (const char* id : {"auth-service", "auth-service-lb", "auth-service-sessions", "monitoring"}) {
    EXPECT_TRUE(canvas->findNode(id)) << id;
  }
  int replicas = 0;
  for (const auto& n : canvas->nodes) {
    if (n.config.contains("role") && n.config.at("role") == "read-replica") ++replicas;
  }
  EXPECT_EQ(replicas, 2);
  EXPECT_EQ(canvas->findNode("auth-service")->config.at("instances"), config.at("instances"));
}

TEST(Cli, CapacityBaselinesCanBeOverridden) {
  TempDir dir;
  auto measured = dir.write("measured.json", R"({"app":{"cpu_bound":{"rpsPerUnit":1200}}})");
  auto instances = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = extra;
    for (const char* a : {"design", "Fix the auth service in my design and make it scalable to 5000 RPS", "--json"}) {
      args.emplace_back(a);
    }
    args.push_back("--canvas");
    args.push_back((test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json").string());
    auto r = run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    auto at = r.out.find("\"type\":\"configurationGenerated\"");
    EXPECT_NE(at, std::string::npos);
    auto line = r.out.substr(r.out.rfind('\n', at) + 1);
    auto event = json::parse(line.substr(0, line.find('\n')), "event");
    return event ? event->at("instances").as_int64() : -1;
  };
  const auto baseline = instances({});
  const auto faster = instances({"--capacity-overrides", measured});
  EXPECT_GT(baseline, faster);  // twice the throughput per instance, about half the instances
  EXPECT_LE(faster, (baseline + 1) / 2 + 1);
  auto bad = run({"--capacity-overrides", dir.write("bad.json", R"({"app":{"cpu_bound":{"rps":1}}})"), "analyze", "x"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("override.app.cpu_bound.rps"), std::string::npos) << bad.err;
}

TEST(Cli, DesignBadInputExitsTwo) {
  auto r = run({"design", "", "--out", "/tmp/never"});
  EXPECT_EQ(r.code, 2);
  auto neg = run({"design", "build a shop", "--simulate-latency", "-1"});
  EXPECT_EQ(neg.code, 2);
  EXPECT_NE(neg.err.find("--simulate-latency"), std::string::npos) << neg.err;
}

TEST(Cli, CacheCommandsNeedARunningServerAndSaySo) {
  auto r = run({"cache", "stats", "--url", "http://127.0.0.1:1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is 'youmeyou serve' running there?"), std::string::npos) << r.err;
  r = run({"cache", "stats", "--url", "ftp://example"});
  EXPECT_EQ(r.code, 2) << r.err;
  r = run({"cache", "purge"});
  EXPECT_EQ(r.code, 2) << r.err;
}

TEST(Cli, ServeTurnsAccountsOnUnlessOnLoopback) {
  // Tests start the server and get control back at once (no signal handling).
  auto local = run({"serve", "--port", "0", "--memory"});
  ASSERT_EQ(local.code, 0) << local.err;
  EXPECT_NE(local.out.find("accounts off: single user"), std::string::npos) << local.out;
  auto open = run({"serve", "--port", "0", "--memory", "--bind", "0.0.0.0"});
  ASSERT_EQ(open.code, 0) << open.err;
  EXPECT_NE(open.out.find("accounts on"), std::string::npos) << open.out;
  auto off = run({"serve", "--port", "0", "--memory", "--bind", "0.0.0.0", "--auth", "off"});
  EXPECT_NE(off.out.find("accounts off"), std::string::npos) << off.out;
  TempDir dir;
  auto weak = dir.write("secret", "short");
  auto refused = run({"serve", "--port", "0", "--memory", "--auth", "on", "--jwt-secret-file", weak});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("secret"), std::string::npos) << refused.err;
}

TEST(Cli, ServeTakesTheModelForPlans) {
  auto gemini = run({"serve", "--port", "0", "--memory", "--llm", "gemini", "--llm-url", "http://127.0.0.1:9",
                     "--llm-model", "gemini-2.5-flash", "--llm-strict"});
  ASSERT_EQ(gemini.code, 0) << gemini.err;
  EXPECT_NE(gemini.out.find("Plans come from gemini (gemini-2.5-flash, http://127.0.0.1:9); no builtin fallback"),
            std::string::npos)
      << gemini.out;
  EXPECT_NE(gemini.out.find("Files of the architecture, schema and code tasks come from gemini (gemini-2.5-flash, "
                            "http://127.0.0.1:9); no builtin fallback (strict)."),
            std::string::npos)
      << gemini.out;
  auto builtin = run({"serve", "--port", "0", "--memory"});
  EXPECT_EQ(builtin.out.find("Plans come from"), std::string::npos) << builtin.out;
  EXPECT_EQ(builtin.out.find("come from"), std::string::npos) << builtin.out;
  auto noModel = run({"serve", "--port", "0", "--memory", "--llm", "openai", "--llm-url", "http://127.0.0.1:9"});
  EXPECT_EQ(noModel.code, 2);
  EXPECT_NE(noModel.err.find("model"), std::string::npos) << noModel.err;
}

TEST(Cli, HelpListsTheCommands) {
  auto r = run({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* cmd : {"analyze", "plan", "design", "validate-plan", "train-intent", "eval-intent", "demo"}) {
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  }
}

TEST(Cli, ValidatePlanAcceptsWhatPlanPrints) {
  TempDir dir;
  auto planned = run({"plan", "add a wishlist to my store"});
  ASSERT_EQ(planned.code, 0);
  auto file = dir.write("plan.json", planned.out);
  auto r = run({"validate-plan", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("valid: "), std::string::npos);
}

TEST(Cli, TrainAndEvalReportHeldOutAccuracy) {
  TempDir dir;
  auto model = dir.write("m.model", "");
  auto train = run({"train-intent", "--out", model, "--epochs", "2"});
  ASSERT_EQ(train.code, 0) << train.err;
  EXPECT_NE(train.out.find("held-out accuracy"), std::string::npos);
  auto eval = run({"eval-intent", "--model", model});
  ASSERT_EQ(eval.code, 0) << eval.err;
  EXPECT_NE(eval.out.find("confusion"), std::string::npos);
}

TEST(Cli, DemoRunsBothSpecExamples) {
  auto r = run({"demo"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("BUILD_FROM_SCRATCH"), std::string::npos);
  EXPECT_NE(r.out.find("SCALE_COMPONENT"), std::string::npos);
  EXPECT_NE(r.out.find("High-RPS Service Scaling"), std::string::npos);
}

}  // namespace
}  // namespace ymy::app
