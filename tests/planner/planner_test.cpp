#include "planner/planner.hpp"

#include <gtest/gtest.h>

#include <set>

#include "engine/engine.hpp"
#include "model/json_io.hpp"
#include "planner/validation.hpp"
#include "test_data.hpp"

namespace ymy::planner {
namespace {

class PlannerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto engine = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = engine->release();
  }
  static void TearDownTestSuite() { delete engine_; }

  struct Planned {
    engine::Analysis analysis;
    PlanOutcome outcome;
  };
  static Planned plan(std::string_view request, const Canvas* canvas = nullptr, std::vector<std::string> prefs = {}) {
    auto a = engine_->analyze(request, canvas, prefs);
    EXPECT_TRUE(a) << a.error().message;
    auto p = engine_->plan(*a, request);
    EXPECT_TRUE(p) << p.error().message;
    return {*a, *p};
  }
  static Canvas exampleCanvas() {
    return *engine::loadCanvasFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json");
  }
  static bool anyPromptMentions(const Plan& p, std::string_view s) {
    return std::any_of(p.tasks.begin(), p.tasks.end(), [&](const Task& t) { return t.prompt.find(s) != std::string::npos; });
  }

  static inline engine::Engine* engine_ = nullptr;
};

TEST_F(PlannerTest, Example1HasTheSpecShape) {
  auto [a, p] = plan(
      "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing");
  EXPECT_EQ(p.route, Route::kDynamic);
  const auto& t = p.plan.tasks;
  ASSERT_EQ(t.size(), 8u);
  EXPECT_EQ(static_cast<int>(t.size()), a.frame.estimatedTasks);
  std::vector<std::string> agents, names;
  for (const auto& task : t) agents.push_back(task.agent);
  EXPECT_EQ(agents, (std::vector<std::string>{"arch-001", "db-001", "code-001", "code-001", "code-001", "code-001",
                                              "code-001", "code-001"}));
  EXPECT_EQ(t[0].name, "Architecture Design");
  EXPECT_EQ(t[1].name, "Database Schema Design");
  EXPECT_EQ(t[2].name, "Auth Service Implementation");
  EXPECT_EQ(t[6].name, "Frontend React Components");
  EXPECT_EQ(t[7].name, "API Integration & Testing");
  EXPECT_EQ(t[7].isolation, Isolation::kFinal);
  EXPECT_EQ(t[7].type, TaskType::kTesting);
  // Dependencies as in the spec: cart waits for auth and catalog, payment for auth.
  EXPECT_EQ(t[1].dependencies, std::vector<std::string>{"task_1"});
  EXPECT_EQ(t[2].dependencies, std::vector<std::string>{"task_2"});
  EXPECT_EQ(t[3].dependencies, std::vector<std::string>{"task_2"});
  EXPECT_EQ(t[4].dependencies, (std::vector<std::string>{"task_3", "task_4"}));
  EXPECT_EQ(t[5].dependencies, std::vector<std::string>{"task_3"});
  EXPECT_TRUE(t[6].dependencies.empty());
  EXPECT_EQ(t[7].dependencies, (std::vector<std::string>{"task_3", "task_4", "task_5", "task_6"}));
  // The spec's estimates, and its 225 s critical path (DESIGN.md).
  std::vector<int> times;
  for (const auto& task : t) times.push_back(task.estimatedTime);
  EXPECT_EQ(times, (std::vector<int>{45, 30, 60, 50, 40, 55, 70, 35}));
  EXPECT_EQ(criticalPathSeconds(p.plan), 225);
  // Two tasks start at once: architecture and frontend.
  std::vector<std::string> roots;
  for (const auto& task : t) {
    if (task.dependencies.empty()) roots.push_back(task.id);
  }
  EXPECT_EQ(roots, (std::vector<std::string>{"task_1", "task_7"}));
  // Prompts are specific to what was asked.
  EXPECT_NE(t[2].prompt.find("JWT"), std::string::npos);
  EXPECT_NE(t[1].prompt.find("products"), std::string::npos);
  EXPECT_NE(t[1].prompt.find("payments"), std::string::npos);
  EXPECT_NE(t[4].prompt.find("Integrate with the auth service and product catalog service"), std::string::npos) << t[4].prompt;
}

TEST_F(PlannerTest, Example2TakesTheStaticPathAndTouchesOnlyTheTarget) {
  auto canvas = exampleCanvas();
  auto [a, p] = plan("Fix the auth service in my design and make it scalable to 5000 RPS", &canvas);
  EXPECT_EQ(p.route, Route::kStatic);
  EXPECT_EQ(p.approach, "High-RPS Service Scaling");
  for (const auto& t : p.plan.tasks) {
    for (const char* other : {"product-service", "cart-service", "payment-service"}) {
      EXPECT_EQ(t.prompt.find(other), std::string::npos) << t.id << " touches " << other;
    }
  }
  EXPECT_TRUE(anyPromptMentions(p.plan, "auth-service"));
  EXPECT_TRUE(anyPromptMentions(p.plan, "session_store: Memory"));
  EXPECT_TRUE(anyPromptMentions(p.plan, "5000 RPS"));
  EXPECT_TRUE(anyPromptMentions(p.plan, "new load balancer"));  // the canvas has none
  std::set<std::string> agents;
  for (const auto& t : p.plan.tasks) agents.insert(t.agent);
  EXPECT_TRUE(agents.count("cap-001"));
}

TEST_F(PlannerTest, ScalingReusesWhatTheCanvasAlreadyHas) {
  auto canvas = *canvasFromJson(*json::parse(R"({"nodes":[
      {"id":"lb","type":"load_balancer","label":"NGINX"},
      {"id":"auth-service","type":"service","config":{"instances":2}},
      {"id":"prom","type":"monitoring","label":"Prometheus"}],
    "edges":[{"source":"lb","target":"auth-service"}]})", "canvas"));
  auto [a, p] = plan("scale auth to 3000 rps", &canvas);
  EXPECT_TRUE(anyPromptMentions(p.plan, "behind the existing load balancer"));
  for (const auto& t : p.plan.tasks) EXPECT_NE(t.name, "Monitoring & Alerts");
}

TEST_F(PlannerTest, StaticRequestsMatchANamedPattern) {
  const auto canvas = exampleCanvas();
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"Fix the auth service in my design and make it scalable to 5000 RPS", "High-RPS Service Scaling"},
      {"put a redis cache in front of the product service", "Add Cache"},
      {"we need read replicas for the users database", "Add Read Replicas"},
      {"add a message queue between the cart and payments", "Add Queue"},
      {"add monitoring and alerting to my design", "Add Monitoring"},
      {"add a wishlist service", "Add Component"},
  };
  for (const auto& [request, pattern] : cases) {
    auto [a, p] = plan(request, &canvas);
    EXPECT_EQ(p.route, Route::kStatic) << request;
    EXPECT_EQ(p.approach, pattern) << request;
  }
}

TEST_F(PlannerTest, RemovalUpdatesEveryCallerOnTheCanvas) {
  auto canvas = exampleCanvas();
  auto [a, p] = plan("remove the auth service from my design", &canvas);
  EXPECT_EQ(a.frame.intent, Intent::kRemoveComponent);
  std::set<std::string> names;
  for (const auto& t : p.plan.tasks) names.insert(t.name);
  for (const char* caller : {"api-gateway", "cart-service", "payment-service"}) {
    EXPECT_TRUE(names.count(std::string("Update ") + caller)) << caller;
  }
  EXPECT_TRUE(names.count("Archive Auth Service Data"));
  EXPECT_EQ(p.plan.tasks.back().isolation, Isolation::kFinal);
}

TEST_F(PlannerTest, PreferredStackReachesThePrompts) {
  auto [a, p] = plan("build a blog platform in Go with postgres and Vue", nullptr);
  EXPECT_TRUE(anyPromptMentions(p.plan, "Stack: Go with PostgreSQL"));
  EXPECT_EQ(p.plan.tasks[std::size_t(p.plan.tasks.size() - 2)].name, "Frontend Vue Components");
  auto [b, q] = plan("build a blog platform", nullptr, {"django", "mysql"});
  EXPECT_TRUE(anyPromptMentions(q.plan, "Python + Django with MySQL"));
}

TEST_F(PlannerTest, HighComplexityComponentWorkGoesDynamic) {
  auto canvas = exampleCanvas();
  auto [a, p] = plan("add notifications, chat, search, reviews and a wishlist to my design", &canvas);
  EXPECT_EQ(a.frame.intent, Intent::kAddComponent);
  EXPECT_GE(a.frame.complexity, 0.7);
  EXPECT_EQ(p.route, Route::kDynamic);
  EXPECT_EQ(p.approach, "dynamic-dag");
}

// Every plan the builtin engine makes validates, whatever the request.
TEST_F(PlannerTest, PlansForVariedRequestsAreValid) {
  auto canvas = exampleCanvas();
  for (const char* request : {
           "design a netflix clone",
           "I need a backend for a smart thermostat fleet sending telemetry every 10 seconds",
           "build a plant watering tracker with reminders and a photo journal",
           "make a url shortener that handles 20k rps",
           "add a redis cache in front of the product service",
           "add monitoring and alerting",
           "switch the cart service from MySQL to PostgreSQL and expose it over gRPC",
           "retire the payment service",
           "cut p99 latency of the product service to 100ms",
           "what happens if the users db goes down?",
           "scale everything to 1M users",
           "?",
       }) {
    for (const Canvas* c : {static_cast<const Canvas*>(nullptr), static_cast<const Canvas*>(&canvas)}) {
      auto a = engine_->analyze(request, c);
      ASSERT_TRUE(a) << request;
      auto p = engine_->plan(*a, request);
      ASSERT_TRUE(p) << request << ": " << p.error().message;
      EXPECT_TRUE(validatePlan(p->plan)) << request;
      EXPECT_GE(p->plan.tasks.size(), 2u) << request;
      EXPECT_EQ(p->route, chooseRoute(a->frame)) << request;
      for (const auto& t : p->plan.tasks) EXPECT_FALSE(t.prompt.empty()) << request;
    }
  }
}

TEST_F(PlannerTest, RouterThreshold) {
  IntentFrame f;
  f.complexity = 0.69;
  EXPECT_EQ(chooseRoute(f), Route::kStatic);
  f.complexity = 0.7;
  EXPECT_EQ(chooseRoute(f), Route::kDynamic);
  EXPECT_EQ(chooseRoute(f, 0.8), Route::kStatic);
}

}  // namespace
}  // namespace ymy::planner
