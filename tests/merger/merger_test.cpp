#include "merger/merger.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <boost/json/serialize.hpp>

#include "merger/replace.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

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
  patch.upserts.nodes = {node("auth", "service", {{"instances", 10}, {"stateless", true}}),
                         node("lb", "load_balancer")};
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
      EXPECT_FALSE(std::abs(a.x - b.x) < 160 && std::abs(a.y - b.y) < 60)
          << canvas.nodes[i].id << " " << canvas.nodes[j].id;
    }
  }
}

TEST(Merger, AnEdgeWithAKnownIdIsMovedInPlace) {
  Canvas canvas;
  canvas.nodes = {node("gw", "gateway"), node("auth", "service"), node("lb", "load_balancer"), node("cart", "service")};
  canvas.edges = {
      {"e1", "gw", "auth", "api-call"}, {"e2", "cart", "auth", "api-call"}, {"e3", "cart", "lb", "api-call"}};
  CanvasPatch patch;
  patch.upserts.edges = {{"e1", "gw", "lb", "api-call"},     // moved in place
                         {"e2", "cart", "lb", "api-call"},   // would duplicate e3: merged into it
                         {"e3", "cart", "lb", "api-call"},   // unchanged
                         {"e1", "gw", "ghost", "api-call"},  // dangling: e1 stays as it is
                         {"e9", "lb", "auth", "routes"}};    // unknown id: added with it
  auto stats = applyPatch(canvas, patch);
  EXPECT_EQ(stats.edgesMoved, 2);
  EXPECT_EQ(stats.edgesAdded, 1);
  ASSERT_EQ(canvas.edges.size(), 3u);
  EXPECT_EQ(canvas.edges[0].id, "e1");
  EXPECT_EQ(canvas.edges[0].target, "lb");
  EXPECT_EQ(canvas.edges[1].id, "e3");
  EXPECT_EQ(canvas.edges[2].id, "e9");
}

// --- REPLACE_COMPONENT ---

Canvas specCanvas() {
  auto value = json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas");
  EXPECT_TRUE(value.has_value());
  auto canvas = canvasFromJson(*value);
  EXPECT_TRUE(canvas.has_value());
  return *canvas;
}

// Example 2 of the spec: auth-service to 5000 RPS.
ScaledComponent specScaling() {
  ScaledComponent s;
  s.target = "auth-service";
  s.config = {{"load_balancer", "NGINX with round-robin"},
              {"session_store", "Redis Cluster (3 nodes)"},
              {"database", "MySQL with 2 read replicas"},
              {"estimated_capacity", "5500 RPS"}};
  s.instances = 10;
  s.loadBalancer = true;
  s.sessionNodes = 3;
  s.readReplicas = 2;
  s.monitoring = true;
  return s;
}

bool hasEdge(const Canvas& c, std::string_view source, std::string_view target, std::string_view type) {
  return std::any_of(c.edges.begin(), c.edges.end(),
                     [&](const CanvasEdge& e) { return e.source == source && e.target == target && e.type == type; });
}

bool mentions(const std::vector<std::string>& lines, std::string_view word) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.find(word) != std::string::npos; });
}

// Node and edge sets as serialized JSON, order-free.
std::set<std::string> nodeSet(const Canvas& c) {
  std::set<std::string> out;
  for (const auto& n : c.nodes) {
    Canvas one;
    one.nodes = {n};
    out.insert(boost::json::serialize(toJson(one).at("nodes")));
  }
  return out;
}
std::set<std::string> edgeSet(const Canvas& c) {
  std::set<std::string> out;
  for (const auto& e : c.edges) out.insert(e.id + "|" + e.source + "|" + e.target + "|" + e.type);
  return out;
}

// The invariants every outcome keeps.
void expectWellFormed(const Canvas& input, const ReplaceOutcome& out) {
  const auto& c = out.canvas;
  std::set<std::string> nodeIds, edgeIds, edgeKeys;
  for (const auto& n : c.nodes) EXPECT_TRUE(nodeIds.insert(n.id).second) << "duplicate node " << n.id;
  for (const auto& e : c.edges) {
    EXPECT_TRUE(edgeIds.insert(e.id).second) << "duplicate edge id " << e.id;
    EXPECT_TRUE(edgeKeys.insert(e.source + ">" + e.target + ">" + e.type).second) << "duplicate edge " << e.id;
    EXPECT_NE(c.findNode(e.source), nullptr) << "dangling " << e.id;
    EXPECT_NE(c.findNode(e.target), nullptr) << "dangling " << e.id;
  }
  for (std::size_t i = 0; i < c.nodes.size(); ++i) {
    for (std::size_t j = i + 1; j < c.nodes.size(); ++j) {
      const auto& a = c.nodes[i].position;
      const auto& b = c.nodes[j].position;
      EXPECT_FALSE(std::abs(a.x - b.x) < 160 && std::abs(a.y - b.y) < 60) << c.nodes[i].id << " " << c.nodes[j].id;
    }
  }
  Canvas replayed = input;
  applyPatch(replayed, out.patch);
  EXPECT_EQ(nodeSet(replayed), nodeSet(c));
  EXPECT_EQ(edgeSet(replayed), edgeSet(c));
}

TEST(ReplaceComponent, ScalesTheSpecAuthService) {
  const auto input = specCanvas();
  auto result = replaceComponent(input, specScaling());
  ASSERT_TRUE(result.has_value()) << result.error().message;
  const auto& out = *result;
  const auto& c = out.canvas;
  expectWellFormed(input, out);

  // The scaled node: config merged, label and position kept.
  const auto* auth = c.findNode("auth-service");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->config.at("instances").as_int64(), 10);
  EXPECT_EQ(auth->config.at("session_store").as_string(), "Redis Cluster (3 nodes)");
  EXPECT_EQ(auth->config.at("estimated_capacity").as_string(), "5500 RPS");
  EXPECT_EQ(auth->label, "Auth Service");
  EXPECT_EQ(auth->position.x, 100);
  EXPECT_EQ(auth->position.y, 240);

  // Every caller goes through the load balancer, which routes to the service.
  ASSERT_NE(c.findNode("auth-service-lb"), nullptr);
  EXPECT_EQ(c.findNode("auth-service-lb")->type, "load_balancer");
  EXPECT_EQ(c.findNode("auth-service-lb")->label, "Load Balancer (NGINX)");
  for (const auto& e : input.edges) {
    if (e.target != "auth-service") continue;
    auto moved = std::find_if(c.edges.begin(), c.edges.end(), [&](const CanvasEdge& x) { return x.id == e.id; });
    ASSERT_NE(moved, c.edges.end()) << e.id;
    EXPECT_EQ(moved->source, e.source);
    EXPECT_EQ(moved->target, "auth-service-lb");
  }
  EXPECT_EQ(out.rewired, (std::vector<std::string>{"e2", "e5", "e7"}));
  for (const auto& e : c.edges) {
    if (e.target != "auth-service") continue;
    const auto type = c.findNode(e.source)->type;
    EXPECT_TRUE(type == "load_balancer" || type == "monitoring") << e.id << " from " << e.source;
  }
  EXPECT_TRUE(hasEdge(c, "auth-service-lb", "auth-service", "routes"));

  // Sessions, replicas, monitoring.
  const auto* sessions = c.findNode("auth-service-sessions");
  ASSERT_NE(sessions, nullptr);
  EXPECT_EQ(sessions->type, "cache");
  EXPECT_EQ(sessions->label, "Redis Cluster (3 nodes)");
  EXPECT_EQ(sessions->config.at("nodes").as_int64(), 3);
  EXPECT_EQ(sessions->config.at("role").as_string(), "sessions");
  EXPECT_TRUE(hasEdge(c, "auth-service", "auth-service-sessions", "sessions"));
  for (const std::string replica : {"users-db-replica-1", "users-db-replica-2"}) {
    const auto* r = c.findNode(replica);
    ASSERT_NE(r, nullptr) << replica;
    EXPECT_EQ(r->type, "database");
    EXPECT_EQ(r->config.at("role").as_string(), "read-replica");
    EXPECT_EQ(r->config.at("replicaOf").as_string(), "users-db");
    EXPECT_TRUE(hasEdge(c, "users-db", replica, "replicates"));
    EXPECT_TRUE(hasEdge(c, "auth-service", replica, "reads"));
  }
  EXPECT_EQ(c.findNode("users-db-replica-3"), nullptr);
  ASSERT_NE(c.findNode("monitoring"), nullptr);
  EXPECT_EQ(c.findNode("monitoring")->type, "monitoring");
  EXPECT_TRUE(hasEdge(c, "monitoring", "auth-service", "scrapes"));
  EXPECT_EQ(c.nodes.size(), input.nodes.size() + 5);

  // New edges are numbered as applyPatch numbers edges without ids.
  for (const auto& e : out.patch.upserts.edges) {
    if (e.id.empty()) continue;
    EXPECT_TRUE(e.id == "e2" || e.id == "e5" || e.id == "e7") << e.id;
  }
  // Added edges are named by their ends, as taskCompleted's canvasUpdate names them.
  EXPECT_TRUE(std::any_of(c.edges.begin(), c.edges.end(),
                          [](const CanvasEdge& e) { return e.id == "auth-service-lb->auth-service"; }));

  EXPECT_EQ(out.added, (std::vector<std::string>{"auth-service-lb", "auth-service-sessions", "users-db-replica-1",
                                                 "users-db-replica-2", "monitoring"}));
  EXPECT_EQ(out.updated, (std::vector<std::string>{"auth-service", "users-db"}));
  EXPECT_EQ(c.findNode("users-db")->config.at("replicas").as_int64(), 2);  // what capacity analysis reads
  EXPECT_EQ(out.iterations, 2);
  EXPECT_TRUE(mentions(out.missing, "read replicas"));
  EXPECT_TRUE(mentions(out.missing, "monitoring"));
  EXPECT_EQ(out.missing.size(), 2u);
  EXPECT_LT(out.firstAccuracy, out.accuracy);
  EXPECT_EQ(out.accuracy, 100);
  // 16 required elements (scaled config; lb, sessions, 2 replicas, monitoring;
  // routes, 3 moved callers, sessions, 2 x replicates + reads, scrapes),
  // 8 of them built by iteration 1.
  EXPECT_EQ(out.firstAccuracy, 50);
}

TEST(ReplaceComponent, ScalingAgainAddsNothing) {
  const auto input = specCanvas();
  auto first = replaceComponent(input, specScaling());
  ASSERT_TRUE(first.has_value());
  auto again = replaceComponent(first->canvas, specScaling());
  ASSERT_TRUE(again.has_value()) << again.error().message;
  expectWellFormed(first->canvas, *again);
  EXPECT_TRUE(again->patch.upserts.nodes.empty());
  EXPECT_TRUE(again->patch.upserts.edges.empty());
  EXPECT_TRUE(again->added.empty());
  EXPECT_TRUE(again->updated.empty());
  EXPECT_TRUE(again->rewired.empty());
  EXPECT_TRUE(again->missing.empty());
  EXPECT_EQ(again->iterations, 1);
  EXPECT_EQ(again->firstAccuracy, 100);
  EXPECT_EQ(again->accuracy, 100);
  EXPECT_EQ(nodeSet(again->canvas), nodeSet(first->canvas));
  EXPECT_EQ(edgeSet(again->canvas), edgeSet(first->canvas));
}

TEST(ReplaceComponent, WithoutADatabaseTheReplicasAreReportedMissing) {
  Canvas canvas;
  canvas.nodes = {node("gw", "gateway"), node("auth", "service", {{"instances", 1}}), node("cache", "cache")};
  canvas.nodes[0].position = {100, 100};
  canvas.nodes[1].position = {100, 240};
  canvas.nodes[2].position = {100, 380};
  canvas.edges = {{"e1", "gw", "auth", "api-call"}, {"e2", "auth", "cache", "cache"}};
  ScaledComponent s;
  s.target = "auth";
  s.instances = 4;
  s.loadBalancer = true;
  s.readReplicas = 2;
  s.cacheNodes = 2;
  auto result = replaceComponent(canvas, s);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  const auto& out = *result;
  expectWellFormed(canvas, out);
  EXPECT_TRUE(mentions(out.missing, "no database"));
  EXPECT_TRUE(mentions(out.missing, "cache"));
  EXPECT_TRUE(mentions(out.missing, "monitoring"));
  for (const auto& n : out.canvas.nodes) EXPECT_NE(n.type, "database") << n.id;
  // Everything buildable was built: lb, cache and monitoring with their edges.
  EXPECT_TRUE(hasEdge(out.canvas, "gw", "auth-lb", "api-call"));
  EXPECT_TRUE(hasEdge(out.canvas, "auth", "auth-cache", "cache"));
  EXPECT_TRUE(hasEdge(out.canvas, "monitoring", "auth", "scrapes"));
  // 14 required: config; lb, cache, monitoring; routes, 1 moved caller, cache
  // edge, scrapes; 2 x (replica + 2 edges) that cannot be built.
  EXPECT_EQ(out.accuracy, 8 * 100 / 14);
  EXPECT_LT(out.firstAccuracy, out.accuracy);
}

TEST(ReplaceComponent, UnknownTargetIsNotFound) {
  auto result = replaceComponent(specCanvas(), ScaledComponent{.target = "ghost-service", .config = {}});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
  EXPECT_NE(result.error().message.find("ghost-service"), std::string::npos);

  auto bad = replaceComponent(specCanvas(), ScaledComponent{.target = "auth-service", .config = {}, .instances = 0});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(ReplaceComponent, ReusesTheLoadBalancerAlreadyInFront) {
  Canvas canvas;
  canvas.nodes = {node("gw", "gateway"), node("edge-lb", "load_balancer"), node("auth", "service"),
                  node("cart", "service"), node("mon", "monitoring")};
  for (std::size_t i = 0; i < canvas.nodes.size(); ++i) canvas.nodes[i].position = {100.0 + 220 * i, 100};
  canvas.edges = {{"e1", "gw", "edge-lb", "api-call"},
                  {"e2", "edge-lb", "auth", "api-call"},
                  {"e3", "cart", "auth", "api-call"},
                  {"e4", "gw", "auth", "api-call"}};
  ScaledComponent s;
  s.target = "auth";
  s.instances = 3;
  s.loadBalancer = true;
  auto result = replaceComponent(canvas, s);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  const auto& out = *result;
  expectWellFormed(canvas, out);
  EXPECT_EQ(std::count_if(out.canvas.nodes.begin(), out.canvas.nodes.end(),
                          [](const CanvasNode& n) { return n.type == "load_balancer"; }),
            1);
  EXPECT_EQ(std::count_if(out.canvas.nodes.begin(), out.canvas.nodes.end(),
                          [](const CanvasNode& n) { return n.type == "monitoring"; }),
            1);
  EXPECT_TRUE(hasEdge(out.canvas, "edge-lb", "auth", "api-call"));  // its own edge counts as the route
  EXPECT_FALSE(hasEdge(out.canvas, "edge-lb", "auth", "routes"));
  EXPECT_TRUE(hasEdge(out.canvas, "cart", "edge-lb", "api-call"));
  EXPECT_TRUE(hasEdge(out.canvas, "mon", "auth", "scrapes"));
  EXPECT_FALSE(hasEdge(out.canvas, "gw", "auth", "api-call"));
  // gw already called the load balancer: its direct edge merged into that one.
  EXPECT_EQ(out.rewired, std::vector<std::string>{"e3"});
  EXPECT_EQ(out.canvas.findNode("auth")->config.at("load_balancer").as_string(), "edge-lb");
  EXPECT_EQ(out.added, std::vector<std::string>{});
  EXPECT_EQ(out.accuracy, 100);
}

TEST(ReplaceComponent, ReportsAndDropsDanglingEdges) {
  Canvas canvas;  // built in code: canvasFromJson would refuse it
  canvas.nodes = {node("gw", "gateway"), node("auth", "service")};
  canvas.nodes[0].position = {100, 100};
  canvas.nodes[1].position = {100, 240};
  canvas.edges = {{"e1", "gw", "auth", "api-call"}, {"e2", "auth", "ghost", "reads"}};
  ScaledComponent s;
  s.target = "auth";
  s.monitoring = false;
  auto result = replaceComponent(canvas, s);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  expectWellFormed(canvas, *result);
  EXPECT_TRUE(mentions(result->missing, "Dangling edge e2"));
  EXPECT_EQ(result->canvas.edges.size(), 1u);
  EXPECT_EQ(result->accuracy, 100);  // only the config was asked for
}

}  // namespace
}  // namespace ymy::merger
