#include <gtest/gtest.h>

#include "codegen/codegen.hpp"
#include "codegen/test_util.hpp"
#include "test_data.hpp"

namespace ymy::codegen {
namespace {

Column col(std::string name, std::string type, std::string references = "", bool nullable = false) {
  Column c;
  c.name = std::move(name);
  c.type = std::move(type);
  c.references = std::move(references);
  c.nullable = nullable;
  c.primaryKey = c.name == "id";
  return c;
}

Entity table(std::string name, std::vector<Column> extra) {
  Entity e;
  e.name = std::move(name);
  e.columns.push_back(col("id", "uuid"));
  for (auto& c : extra) e.columns.push_back(std::move(c));
  return e;
}

// Loads `sql` into an in-memory SQLite with foreign keys on; the output on failure.
test::CommandResult loadIntoSqlite(const std::string& sql) {
  test::TempDir dir("sqlite");
  test::writeFile(dir.path() / "schema.sql", "PRAGMA foreign_keys = ON;\n" + sql);
  return test::run("sqlite3 -bail :memory: < " + test::shellQuote((dir.path() / "schema.sql").string()), dir.path());
}

std::size_t positionOf(const std::string& sql, const std::string& table) {
  auto at = sql.find("CREATE TABLE IF NOT EXISTS " + table + " (");
  EXPECT_NE(at, std::string::npos) << table << " missing in\n" << sql;
  return at;
}

TEST(CodegenSchemaSql, TablesComeInForeignKeyOrder) {
  // Children listed first; the output must still create parents first.
  std::vector<Entity> entities = {
      table("order_items", {col("order_id", "uuid", "orders.id"), col("product_id", "uuid", "products.id")}),
      table("orders", {col("customer_id", "uuid", "customers.id")}),
      table("products", {col("name", "text")}),
      table("customers", {col("email", "text")}),
  };
  const std::string sql = schemaSql(entities, "Shop");
  EXPECT_LT(positionOf(sql, "customers"), positionOf(sql, "orders"));
  EXPECT_LT(positionOf(sql, "orders"), positionOf(sql, "order_items"));
  EXPECT_LT(positionOf(sql, "products"), positionOf(sql, "order_items"));
  // Ties keep the given order.
  EXPECT_LT(positionOf(sql, "products"), positionOf(sql, "customers"));
  EXPECT_NE(sql.find("order_id UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE"), std::string::npos) << sql;
  auto loaded = loadIntoSqlite(sql);
  EXPECT_EQ(loaded.exitCode, 0) << loaded.output << sql;
}

TEST(CodegenSchemaSql, ReferencesOutsideTheListStayPlainColumnsNamingTheOwner) {
  std::vector<Entity> entities = {
      table("carts", {col("user_id", "uuid", "users.id")}),
      table("cart_items", {col("cart_id", "uuid", "carts.id"), col("product_id", "uuid", "products.id")}),
  };
  const std::string plain = schemaSql(entities, "Cart Service schema");
  EXPECT_NE(plain.find("product_id UUID NOT NULL -- references products.id, owned by another service"),
            std::string::npos)
      << plain;
  EXPECT_EQ(plain.find("REFERENCES users"), std::string::npos);
  EXPECT_EQ(plain.find("REFERENCES products"), std::string::npos);
  EXPECT_NE(plain.find("cart_id UUID NOT NULL REFERENCES carts (id)"), std::string::npos);

  const std::string named = schemaSql(entities, "Cart", {{"users", "auth-service"}, {"products", "product-service"}});
  EXPECT_NE(named.find("-- references users.id, owned by auth-service"), std::string::npos) << named;
  EXPECT_NE(named.find("-- references products.id, owned by product-service"), std::string::npos) << named;

  auto loaded = loadIntoSqlite(plain);
  EXPECT_EQ(loaded.exitCode, 0) << loaded.output << plain;
}

TEST(CodegenSchemaSql, NullableReferencesSetNullAndSelfReferencesStay) {
  std::vector<Entity> entities = {table("categories", {col("parent_id", "uuid", "categories.id", true)})};
  const std::string sql = schemaSql(entities, "Catalog");
  EXPECT_NE(sql.find("parent_id UUID REFERENCES categories (id) ON DELETE SET NULL"), std::string::npos) << sql;
  auto loaded = loadIntoSqlite(sql);
  EXPECT_EQ(loaded.exitCode, 0) << loaded.output;
}

TEST(CodegenSchemaSql, ACycleIsBrokenAtTheEdgeThatClosesIt) {
  std::vector<Entity> entities = {
      table("teams", {col("captain_id", "uuid", "players.id", true)}),
      table("players", {col("team_id", "uuid", "teams.id")}),
  };
  const std::string sql = schemaSql(entities, "League");
  EXPECT_LT(positionOf(sql, "teams"), positionOf(sql, "players"));
  EXPECT_NE(sql.find("captain_id UUID -- references players.id (no foreign key: it would close a reference cycle)"),
            std::string::npos)
      << sql;
  EXPECT_NE(sql.find("team_id UUID NOT NULL REFERENCES teams (id)"), std::string::npos);
  auto loaded = loadIntoSqlite(sql);
  EXPECT_EQ(loaded.exitCode, 0) << loaded.output;
}

TEST(CodegenSchemaSql, TypesConstraintsDefaultsAndIndexes) {
  Entity e =
      table("gadgets", {col("label", "text"), col("count", "integer"), col("big", "bigint"), col("price", "decimal"),
                        col("enabled", "boolean"), col("seen_at", "timestamp", "", true), col("extra", "json")});
  e.columns[1].unique = true;
  e.columns[5].defaultValue = "TRUE";
  e.columns[7].defaultValue = "'{}'";
  e.indexes = {{"label"}, {"count", "big"}};
  const std::string sql = schemaSql({e}, "Gadgets");
  for (const char* fragment :
       {"id UUID PRIMARY KEY NOT NULL,", "label TEXT NOT NULL UNIQUE,", "count INTEGER NOT NULL,",
        "big BIGINT NOT NULL,", "price NUMERIC(12,2) NOT NULL,", "enabled BOOLEAN NOT NULL DEFAULT TRUE,",
        "seen_at TIMESTAMP,", "extra JSONB NOT NULL DEFAULT '{}'\n);",
        "CREATE INDEX IF NOT EXISTS idx_gadgets_label ON gadgets (label);",
        "CREATE INDEX IF NOT EXISTS idx_gadgets_count_big ON gadgets (count, big);"}) {
    EXPECT_NE(sql.find(fragment), std::string::npos) << fragment << "\n" << sql;
  }
  EXPECT_EQ(sql.rfind("-- Gadgets", 0), 0u);
  // Idempotent: applying it twice works.
  auto loaded = loadIntoSqlite(sql + sql);
  EXPECT_EQ(loaded.exitCode, 0) << loaded.output;
}

TEST(CodegenSchemaSql, ReservedWordsAreQuoted) {
  Entity e = table("order", {col("user", "text"), col("group", "text")});
  e.indexes = {{"user"}};
  const std::string sql = schemaSql({e}, "Quoted");
  EXPECT_NE(sql.find("CREATE TABLE IF NOT EXISTS \"order\" ("), std::string::npos) << sql;
  EXPECT_NE(sql.find("\"user\" TEXT NOT NULL"), std::string::npos) << sql;
  auto loaded = loadIntoSqlite(sql);
  EXPECT_EQ(loaded.exitCode, 0) << loaded.output;
}

TEST(CodegenSchemaSql, EveryCatalogServiceLoadsAloneAndAllTogether) {
  auto catalog = Catalog::load(test::dataDir() / "catalog" / "catalog.json");
  ASSERT_TRUE(catalog) << catalog.error().message;
  std::vector<Entity> all;
  std::map<std::string, std::string> owners;
  std::string concatenated;
  for (const auto& c : catalog->components()) {
    if (!c.isService() || c.entities.empty()) continue;
    for (const auto& e : c.entities) owners[e.name] = c.nodeId;
  }
  for (const auto& c : catalog->components()) {
    if (!c.isService() || c.entities.empty()) continue;
    const std::string sql = schemaSql(c.entities, c.name + " schema", owners);
    auto loaded = loadIntoSqlite(sql);
    EXPECT_EQ(loaded.exitCode, 0) << c.id << ": " << loaded.output << sql;
    concatenated += sql;
    all.insert(all.end(), c.entities.begin(), c.entities.end());
  }
  // Each service's schema after the others': one database shared by all.
  auto together = loadIntoSqlite(concatenated);
  EXPECT_EQ(together.exitCode, 0) << together.output;
  // And the whole platform as one schema, where every reference is a real foreign key.
  const std::string platform = schemaSql(all, "platform");
  EXPECT_EQ(platform.find("owned by"), std::string::npos);
  auto whole = loadIntoSqlite(platform);
  EXPECT_EQ(whole.exitCode, 0) << whole.output;
}

}  // namespace
}  // namespace ymy::codegen
