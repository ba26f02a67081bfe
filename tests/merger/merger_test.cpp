#include "merger/merger.hpp"

#include <gtest/gtest.h>

#include <set>

namespace ymy::merger {
namespace {

CanvasNode node(std::string id, std::string type, boost::json::object config = {}) {
  CanvasNode n;
  n.id = id;
  n.type = std::move(type);
  n.label = id;
  n.config = std::move(config);
  return n;
}

TEST(Merger, AddsUpdatesAndRemovesByIdKeepingUserPositions) {
  Canvas canvas;
  canvas.nodes = {node("auth", "service", {{"instances", 1}}), node("db", "database"), node("old", "service")};
  canvas.nodes[0].position = {500, 500};
  canvas.edges = {{"e1", "auth", "db", "reads"}, {"e2", "old", "auth", "api-call"}};
  CanvasPatch patch;
  patch.upserts.nodes = {node("auth", "service", {{"instances", 10}, {"stateless", true}}), node("lb", "load_balancer")};
  patch.upserts.edges = {{"", "lb", "auth", "routes"}, {"", "auth", "db", "reads"}, {"", "lb", "ghost", "routes"}};
  patch.removeNodes = {"old"};
  auto stats = applyPatch(canvas, patch);
  EXPECT_EQ(stats.nodesAdded, 1);
  EXPECT_EQ(stats.nodesUpdated, 1);
  EXPECT_EQ(stats.nodesRemoved, 1);
  EXPECT_EQ(stats.edgesAdded, 1);  // the duplicate and the dangling edge are not added
  const auto* auth = canvas.findNode("auth");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->config.at("instances").as_int64(), 10);
  EXPECT_EQ(auth->position.x, 500);
  EXPECT_EQ(canvas.findNode("old"), nullptr);
  EXPECT_EQ(canvas.edges.size(), 2u);  // e2 went with its node
  std::set<std::string> ids;
  for (const auto& e : canvas.edges) EXPECT_TRUE(ids.insert(e.id).second);
}

TEST(Merger, UnchangedNodesAreNotCountedAsUpdated) {
  Canvas canvas;
  canvas.nodes = {node("auth", "service", {{"instances", 1}})};
  CanvasPatch patch;
  patch.upserts.nodes = {node("auth", "service", {{"instances", 1}})};
  EXPECT_EQ(applyPatch(canvas, patch).nodesUpdated, 0);
}

TEST(Layout, LayersByTypeAndNeverOverlaps) {
  Canvas canvas;
  canvas.nodes = {node("user-placed", "service")};
  canvas.nodes[0].position = {100, 520};  // where the first service would go
  CanvasPatch patch;
  for (int i = 0; i < 6; ++i) patch.upserts.nodes.push_back(node("svc" + std::to_string(i), "service"));
  patch.upserts.nodes.push_back(node("web", "frontend"));
  patch.upserts.nodes.push_back(node("db", "database"));
  applyPatch(canvas, patch);
  EXPECT_EQ(canvas.findNode("user-placed")->position.x, 100);
  EXPECT_LT(canvas.findNode("web")->position.y, canvas.findNode("svc0")->position.y);
  EXPECT_LT(canvas.findNode("svc0")->position.y, canvas.findNode("db")->position.y);
  for (std::size_t i = 0; i < canvas.nodes.size(); ++i) {
    for (std::size_t j = i + 1; j < canvas.nodes.size(); ++j) {
      const auto& a = canvas.nodes[i].position;
      const auto& b = canvas.nodes[j].position;
      EXPECT_FALSE(std::abs(a.x - b.x) < 160 && std::abs(a.y - b.y) < 60) << canvas.nodes[i].id << " " << canvas.nodes[j].id;
    }
  }
}

}  // namespace
}  // namespace ymy::merger
