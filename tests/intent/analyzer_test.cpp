#include "intent/analyzer.hpp"

#include <gtest/gtest.h>

#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::intent {
namespace {

class AnalyzerTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto catalog = Catalog::load(test::dataDir() / "catalog" / "catalog.json");
    ASSERT_TRUE(catalog) << catalog.error().message;
    catalog_ = new Catalog(std::move(*catalog));
    auto model = IntentClassifier::load(test::dataDir() / "models" / "intent.model");
    ASSERT_TRUE(model) << model.error().message;
    model_ = new IntentClassifier(std::move(*model));
    analyzer_ = new IntentAnalyzer(*catalog_, *model_);
  }
  static void TearDownTestSuite() {
    delete analyzer_;
    delete model_;
    delete catalog_;
  }

  static IntentFrame analyze(std::string_view text, const Canvas* canvas = nullptr) {
    auto frame = analyzer_->analyze(text, canvas);
    EXPECT_TRUE(frame) << frame.error().message;
    return frame ? *frame : IntentFrame{};
  }

  static Canvas exampleCanvas() {
    auto v = json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas");
    return *canvasFromJson(*v);
  }

  static inline Catalog* catalog_ = nullptr;
  static inline IntentClassifier* model_ = nullptr;
  static inline IntentAnalyzer* analyzer_ = nullptr;
};

TEST_F(AnalyzerTest, SpecExample1) {
  auto f = analyze(
      "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing");
  EXPECT_EQ(f.intent, Intent::kBuildFromScratch);
  EXPECT_EQ(f.target, "e-commerce-platform");
  EXPECT_EQ(f.components, (std::vector<std::string>{"auth", "catalog", "cart", "payment"}));
  EXPECT_NEAR(f.complexity, 0.9, 1e-9);
  EXPECT_EQ(f.estimatedTasks, 8);
  EXPECT_TRUE(f.params.empty());
}

TEST_F(AnalyzerTest, SpecExample2AgainstTheCanvas) {
  auto canvas = exampleCanvas();
  auto f = analyze("Fix the auth service in my design and make it scalable to 5000 RPS", &canvas);
  EXPECT_EQ(f.intent, Intent::kScaleComponent);
  EXPECT_EQ(f.target, "auth-service");
  EXPECT_TRUE(f.targetOnCanvas);
  EXPECT_EQ(f.params.rps, 5000);
  EXPECT_NEAR(f.complexity, 0.6, 1e-9);
}

TEST_F(AnalyzerTest, SynonymsMeanTheSameComponent) {
  for (const char* text : {"scale the login service to 3000 rps", "scale sign-in to 3000 rps",
                           "scale authentication to 3000 rps", "scale the Sign In flow to 3000 rps"}) {
    auto f = analyze(text);
    ASSERT_FALSE(f.components.empty()) << text;
    EXPECT_EQ(f.components.front(), "auth") << text;
    EXPECT_EQ(f.target, "auth-service") << text;
  }
}

TEST_F(AnalyzerTest, CanvasNodesAreResolvedByLabelAndId) {
  auto canvas = *canvasFromJson(*json::parse(R"({"nodes":[
      {"id":"svc-7","type":"service","label":"Identity Provider"},
      {"id":"orders-api","type":"service","label":"Orders API"},
      {"id":"billing-worker","type":"service","label":"Billing Worker"}]})", "canvas"));
  auto f = analyze("make the identity provider handle 10k rps", &canvas);
  EXPECT_EQ(f.target, "svc-7");
  EXPECT_TRUE(f.targetOnCanvas);
  auto g = analyze("remove the billing worker from my design", &canvas);
  EXPECT_EQ(g.intent, Intent::kRemoveComponent);
  EXPECT_EQ(g.target, "billing-worker");
  auto h = analyze("switch the orders api to gRPC", &canvas);
  EXPECT_EQ(h.target, "orders-api");
}

TEST_F(AnalyzerTest, ComponentsNotOnTheCanvasUseTheCatalogNode) {
  auto canvas = exampleCanvas();
  auto f = analyze("add a recommendation engine to my design", &canvas);
  EXPECT_EQ(f.intent, Intent::kAddComponent);
  EXPECT_EQ(f.target, "recommendation-service");
  EXPECT_FALSE(f.targetOnCanvas);
}

TEST_F(AnalyzerTest, NegatedComponentsAreExcluded) {
  auto f = analyze("build an online store without a recommendation engine and no reviews");
  EXPECT_EQ(f.intent, Intent::kBuildFromScratch);
  EXPECT_EQ(f.target, "e-commerce-platform");
  EXPECT_EQ(std::count(f.components.begin(), f.components.end(), "recommendation"), 0);
  EXPECT_EQ(std::count(f.excluded.begin(), f.excluded.end(), "recommendation"), 1);
}

TEST_F(AnalyzerTest, DomainDefaultsAndExtras) {
  auto f = analyze("design a ride sharing app like uber for 2 million riders");
  EXPECT_EQ(f.intent, Intent::kBuildFromScratch);
  EXPECT_EQ(f.target, "ride-sharing-platform");
  EXPECT_GE(f.components.size(), 4u);
  EXPECT_EQ(f.params.users, 2e6);
  // Extras the domain lacks come on top of its defaults.
  auto g = analyze("build a food delivery app with a wishlist");
  EXPECT_EQ(std::count(g.components.begin(), g.components.end(), "wishlist"), 1);
  EXPECT_EQ(std::count(g.components.begin(), g.components.end(), "order"), 1);
}

TEST_F(AnalyzerTest, UnknownFeaturesAreKept) {
  auto f = analyze("Build a pet adoption site with user accounts, shelter listings, and adoption applications");
  EXPECT_EQ(f.intent, Intent::kBuildFromScratch);
  EXPECT_FALSE(f.features.empty());
  EXPECT_EQ(f.estimatedTasks, static_cast<int>(4 + f.features.size() + [&] {
              int services = 0;
              for (const auto& id : f.components) services += catalog_->find(id)->isService();
              return services;
            }()));
}

// Phrasings written for this test, not in the dataset.
TEST_F(AnalyzerTest, UnseenPhrasingsGetTheRightIntent) {
  struct Case {
    const char* text;
    Intent intent;
  };
  for (const auto& [text, intent] : std::vector<Case>{
           {"Spin up a brand-new backend for a dog walking marketplace", Intent::kBuildFromScratch},
           {"I want to create a platform where tutors and students book lessons", Intent::kBuildFromScratch},
           {"put a redis cache in front of the product service", Intent::kAddComponent},
           {"we also need email notifications when an order ships", Intent::kAddComponent},
           {"the checkout has to cope with 8k requests per second on launch day", Intent::kScaleComponent},
           {"scale the feed service out to handle 40 million daily users", Intent::kScaleComponent},
           {"move the cart from MySQL to DynamoDB", Intent::kModifyComponent},
           {"change the session store of the auth service to redis", Intent::kModifyComponent},
           {"delete the legacy reporting service", Intent::kRemoveComponent},
           {"we don't use the recommendation service anymore, drop it", Intent::kRemoveComponent},
           {"the product pages are slow, bring latency down", Intent::kOptimize},
           {"lower our monthly infrastructure spend", Intent::kOptimize},
           {"where are the bottlenecks in this architecture?", Intent::kAnalyze},
           {"explain how a payment flows through the system", Intent::kAnalyze},
       }) {
    EXPECT_EQ(analyze(text).intent, intent) << text;
  }
}

// Naming a kind of system on an empty design is a build, whatever the
// classifier made of the noun phrase or of a stray number; on a design that
// has nodes, the classifier's intent stands.
TEST_F(AnalyzerTest, ASystemNamedOnAnEmptyDesignIsBuilt) {
  Canvas drawn;
  drawn.nodes.push_back(CanvasNode{"web", "frontend", "Web", {}, {}});
  for (const char* text : {"A chat app", "concert ticketing site with seat selection, holds that expire after 10 minutes",
                           "add a food delivery app"}) {
    const auto predicted = model_->predict(text).intent;
    const auto empty = analyze(text);
    EXPECT_EQ(empty.intent, Intent::kBuildFromScratch) << text;
    EXPECT_FALSE(empty.components.empty()) << text << ": the domain's services";
    EXPECT_EQ(analyze(text, &drawn).intent, predicted) << text;
  }
  // A load target, or a change to a system not drawn, keeps its intent.
  EXPECT_EQ(analyze("scale the online shop to 5000 rps").intent, Intent::kScaleComponent);
  EXPECT_EQ(analyze("make the e-commerce checkout faster").intent, Intent::kOptimize);
}

TEST_F(AnalyzerTest, BadInputIsRefusedWithAReason) {
  auto empty = analyzer_->analyze("   \n\t ");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "request is empty");
  auto huge = analyzer_->analyze(std::string(100 * 1024, 'a'));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().message, "request is 102400 bytes; the limit is 8192");
  auto binary = analyzer_->analyze("scale auth \xff\xfe to 5k rps");
  ASSERT_FALSE(binary);
  EXPECT_EQ(binary.error().message, "request is not valid UTF-8 (byte 0xff at offset 11)");
}

TEST_F(AnalyzerTest, OddButValidTextDoesNotBreakAnything) {
  for (const char* text : {"?", "12345", "RPS RPS RPS", "p99", "🚀🚀🚀 scale everything", "a,b,c,,,,", "with with with"}) {
    auto f = analyzer_->analyze(text);
    ASSERT_TRUE(f) << text;
    EXPECT_GE(f->complexity, 0);
    EXPECT_LE(f->complexity, 1);
    EXPECT_FALSE(f->target.empty());
  }
}

}  // namespace
}  // namespace ymy::intent
