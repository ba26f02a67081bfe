#include <gtest/gtest.h>

#include <algorithm>

#include "codegen/codegen.hpp"
#include "test_data.hpp"

namespace ymy::codegen {
namespace {

TEST(CodegenTableNameFor, PluralSnakeCase) {
  EXPECT_EQ(tableNameFor("pet profile"), "pet_profiles");
  EXPECT_EQ(tableNameFor("category"), "categories");
  EXPECT_EQ(tableNameFor("address"), "addresses");
  EXPECT_EQ(tableNameFor("wishlist"), "wishlists");
  EXPECT_EQ(tableNameFor("loyalty points"), "loyalty_points");  // already plural
  EXPECT_EQ(tableNameFor("Gift Card!"), "gift_cards");
  EXPECT_EQ(tableNameFor("status"), "statuses");
  EXPECT_EQ(tableNameFor("box"), "boxes");
  EXPECT_EQ(tableNameFor("day"), "days");
  EXPECT_EQ(tableNameFor("person"), "people");
  EXPECT_EQ(tableNameFor("delivery-batch"), "delivery_batches");
  EXPECT_EQ(tableNameFor("3d model"), "t_3d_models");
  EXPECT_EQ(tableNameFor("  "), "items");
}

const Column* columnNamed(const Entity& e, const std::string& name) {
  auto it = std::find_if(e.columns.begin(), e.columns.end(), [&](const Column& c) { return c.name == name; });
  return it == e.columns.end() ? nullptr : &*it;
}

TEST(CodegenSynthesizeEntity, OwnedByUsersWhenThereAreUsers) {
  Entity e = synthesizeEntity("pet profile", true);
  EXPECT_EQ(e.name, "pet_profiles");
  std::vector<std::string> names;
  for (const auto& c : e.columns) names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"id", "name", "description", "status", "user_id", "created_at", "updated_at"}));
  ASSERT_NE(columnNamed(e, "id"), nullptr);
  EXPECT_TRUE(columnNamed(e, "id")->primaryKey);
  EXPECT_EQ(columnNamed(e, "id")->type, "uuid");
  EXPECT_FALSE(columnNamed(e, "name")->nullable);
  EXPECT_TRUE(columnNamed(e, "description")->nullable);
  EXPECT_EQ(columnNamed(e, "status")->defaultValue, "'active'");
  EXPECT_EQ(columnNamed(e, "user_id")->references, "users.id");
  EXPECT_EQ(columnNamed(e, "created_at")->defaultValue, "CURRENT_TIMESTAMP");
  EXPECT_EQ(e.indexes, (std::vector<std::vector<std::string>>{{"user_id"}, {"status"}}));
}

TEST(CodegenSynthesizeEntity, WithoutUsersTheOwnerIsAPlainColumn) {
  Entity e = synthesizeEntity("loyalty points", false);
  EXPECT_EQ(e.name, "loyalty_points");
  EXPECT_EQ(columnNamed(e, "user_id"), nullptr);
  ASSERT_NE(columnNamed(e, "owner_id"), nullptr);
  EXPECT_TRUE(columnNamed(e, "owner_id")->references.empty());
  EXPECT_TRUE(columnNamed(e, "owner_id")->nullable);
}

TEST(CodegenSynthesizeService, NamesFollowThePhrase) {
  ServiceSpec s = synthesizeService("Loyalty Points", true, 3100);
  EXPECT_EQ(s.id, "loyalty-points");
  EXPECT_EQ(s.nodeId, "loyalty-points-service");
  EXPECT_EQ(s.name, "Loyalty Points Service");
  EXPECT_EQ(s.port, 3100);
  ASSERT_EQ(s.entities.size(), 1u);
  EXPECT_EQ(s.entities[0].name, "loyalty_points");
  EXPECT_FALSE(s.issuesTokens);
  EXPECT_TRUE(s.requiresAuth);
  EXPECT_FALSE(s.endpoints.empty());
}

TEST(CodegenServiceSpecFor, CatalogComponents) {
  auto catalog = Catalog::load(test::dataDir() / "catalog" / "catalog.json");
  ASSERT_TRUE(catalog) << catalog.error().message;
  ServiceSpec auth = serviceSpecFor(*catalog->find("auth"), *catalog, 3001);
  EXPECT_TRUE(auth.issuesTokens);
  EXPECT_EQ(auth.nodeId, "auth-service");
  EXPECT_EQ(auth.port, 3001);
  EXPECT_TRUE(auth.calls.empty());

  ServiceSpec cart = serviceSpecFor(*catalog->find("cart"), *catalog);
  EXPECT_FALSE(cart.issuesTokens);
  EXPECT_EQ(cart.calls, (std::vector<std::string>{"auth-service", "product-service"}));
  EXPECT_EQ(cart.entities.size(), catalog->find("cart")->entities.size());
  EXPECT_EQ(cart.port, 3000);
}

}  // namespace
}  // namespace ymy::codegen
