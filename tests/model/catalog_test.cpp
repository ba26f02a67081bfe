#include "model/catalog.hpp"

#include <gtest/gtest.h>

#include <set>

#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy {
namespace {

TEST(Catalog, ShippedCatalogLoadsAndKeepsTheSpecShape) {
  auto catalog = Catalog::load(test::dataDir() / "catalog" / "catalog.json");
  ASSERT_TRUE(catalog) << catalog.error().message;
  EXPECT_GE(catalog->components().size(), 30u);
  EXPECT_GE(catalog->domains().size(), 18u);
  for (const char* id : {"auth", "user", "catalog", "cart", "order", "payment", "inventory", "search", "recommendation",
                         "notification", "messaging", "media", "analytics", "gateway", "cache", "queue", "database",
                         "monitoring"}) {
    EXPECT_NE(catalog->find(id), nullptr) << id;
  }
  // The spec's Example 1 dependencies and estimates.
  EXPECT_EQ(catalog->find("cart")->dependsOn, (std::vector<std::string>{"auth", "catalog"}));
  EXPECT_EQ(catalog->find("payment")->dependsOn, (std::vector<std::string>{"auth"}));
  EXPECT_EQ(catalog->find("auth")->estimatedTime, 60);
  // Every service owns tables with exactly one uuid primary key named id.
  std::set<std::string> tables;
  for (const auto& c : catalog->components()) {
    for (const auto& e : c.entities) {
      EXPECT_TRUE(tables.insert(e.name).second) << "table " << e.name << " owned twice";
      int keys = 0;
      for (const auto& col : e.columns) keys += col.primaryKey ? 1 : 0;
      EXPECT_EQ(keys, 1) << e.name;
    }
  }
}

Result<Catalog> fromText(const char* text) { return Catalog::fromJson(*json::parse(text, "catalog")); }

const char* kTwo = R"({"components":[
  {"id":"a","name":"A","nodeId":"a-service","nodeType":"service","kind":"service","synonyms":[],"description":"",
   "features":[],"dependsOn":["b"],"estimatedTime":30,"workload":"io_bound","entities":[],"endpoints":[]},
  {"id":"b","name":"B","nodeId":"b-service","nodeType":"service","kind":"service","synonyms":[],"description":"",
   "features":[],"dependsOn":["a"],"estimatedTime":30,"workload":"io_bound","entities":[],"endpoints":[]}],
  "domains":[]})";

TEST(Catalog, RejectsDependencyCyclesNamingThem) {
  auto c = fromText(kTwo);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("dependsOn has a cycle: a -> b -> a"), std::string::npos) << c.error().message;
}

TEST(Catalog, RejectsUnknownDependenciesAndKinds) {
  std::string text = kTwo;
  text.replace(text.find(R"(["a"])"), 5, R"(["zz"])");
  auto c = fromText(text.c_str());
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("depends on unknown component 'zz'"), std::string::npos);

  std::string kind = kTwo;
  kind.replace(kind.find(R"("kind":"service")"), 16, R"("kind":"magic")");
  auto k = fromText(kind.c_str());
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "catalog.components[0].kind: expected 'service' or 'infrastructure', got 'magic'");
}

TEST(Catalog, RejectsReferencesToUnreachableTables) {
  auto c = fromText(R"({"components":[
    {"id":"a","name":"A","nodeId":"a","nodeType":"service","kind":"service","synonyms":[],"description":"",
     "features":[],"dependsOn":[],"estimatedTime":30,"workload":"io_bound",
     "entities":[{"name":"as","columns":[{"name":"id","type":"uuid","primaryKey":true},
                                         {"name":"b_id","type":"uuid","references":"bs.id"}]}],"endpoints":[]},
    {"id":"b","name":"B","nodeId":"b","nodeType":"service","kind":"service","synonyms":[],"description":"",
     "features":[],"dependsOn":[],"estimatedTime":30,"workload":"io_bound",
     "entities":[{"name":"bs","columns":[{"name":"id","type":"uuid","primaryKey":true}]}],"endpoints":[]}],
    "domains":[]})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("references 'bs.id', which it cannot reach"), std::string::npos);
}

}  // namespace
}  // namespace ymy
