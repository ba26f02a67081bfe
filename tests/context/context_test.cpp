#include "context/context.hpp"

#include <gtest/gtest.h>

#include "intent/analyzer.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::context {
namespace {

TEST(Context, EmptyCanvas) {
  auto ctx = extractContextImpl(nullptr, "build a shop", {}, {});
  EXPECT_TRUE(ctx.empty);
  EXPECT_TRUE(ctx.components.empty());
  auto json = toJson(ctx);
  EXPECT_EQ(json.at("type").as_string(), "empty");
  EXPECT_EQ(json.at("complexity").as_double(), 0.0);
}

TEST(Context, ExistingCanvasWithConfigAndConnections) {
  auto catalog = *Catalog::load(test::dataDir() / "catalog" / "catalog.json");
  auto model = *intent::IntentClassifier::load(test::dataDir() / "models" / "intent.model");
  intent::IntentAnalyzer analyzer(catalog, model);
  auto canvas = *canvasFromJson(
      *json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas"));
  auto ctx = extractContext(&canvas, "scale auth", {}, [&](const CanvasNode& n) { return analyzer.componentOfNode(n); });
  EXPECT_FALSE(ctx.empty);
  EXPECT_EQ(ctx.components.size(), canvas.nodes.size());
  const auto* auth = ctx.find("auth-service");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->component, "auth");
  EXPECT_EQ(auth->config.at("session_store").as_string(), "Memory");
  EXPECT_EQ(auth->callers, (std::vector<std::string>{"api-gateway", "cart-service", "payment-service"}));
  EXPECT_EQ(auth->callees, (std::vector<std::string>{"users-db"}));
  EXPECT_EQ(ctx.findComponent("catalog")->nodeId, "product-service");
  EXPECT_TRUE(ctx.hasNodeType("database"));
  EXPECT_FALSE(ctx.hasNodeType("load_balancer"));
  EXPECT_GT(ctx.complexity, 0);
  EXPECT_LE(ctx.complexity, 1);
}

TEST(Stack, DetectsPreferencesInRequestsAndOptions) {
  EXPECT_EQ(detectStack("Build it in Go with Postgres and Vue"), (std::vector<std::string>{"Go", "PostgreSQL", "Vue"}));
  EXPECT_EQ(detectStack("use django + react, deployed on k8s"),
            (std::vector<std::string>{"Django", "React", "Kubernetes"}));
  // "go" as a verb is not the language.
  EXPECT_TRUE(detectStack("let's go build a shop").empty());
  auto ctx = extractContextImpl(nullptr, "build a shop using MongoDB", {"spring boot", "angular"}, {});
  EXPECT_EQ(ctx.userPreferences, (std::vector<std::string>{"Spring Boot", "Angular", "MongoDB"}));
}

}  // namespace
}  // namespace ymy::context
