#include "merger/replace.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string_view>

#include "merger/merger.hpp"  // applyPatch, layerOf

namespace ymy::merger {

namespace {

constexpr int kMaxIterations = 3;

// The pieces of a scaled component; the analysis speaks per piece.
enum class Piece { kScale, kLoadBalancer, kSessions, kCache, kReplicas, kMonitoring };

struct Requirement {
  enum class Kind { kNode, kEdge, kUnbuildable };
  Kind kind = Kind::kNode;
  Piece piece = Piece::kScale;
  bool firstPass = false;  // built by iteration 1
  bool counted = true;     // one of the required elements accuracy is measured on
  CanvasNode node;         // kNode: must exist holding node.config's keys
  CanvasEdge edge;         // kEdge: (source, target, type) must exist; a non-empty id moves that edge
  std::string movedFrom;   // for a moved edge: the end it must no longer point at
};

bool hasEdge(const Canvas& canvas, std::string_view source, std::string_view target, std::string_view type) {
  return std::any_of(canvas.edges.begin(), canvas.edges.end(),
                     [&](const CanvasEdge& e) { return e.source == source && e.target == target && e.type == type; });
}

bool present(const Canvas& canvas, const Requirement& r) {
  switch (r.kind) {
    case Requirement::Kind::kNode: {
      const auto* n = canvas.findNode(r.node.id);
      if (!n) return false;
      return std::all_of(r.node.config.begin(), r.node.config.end(), [&](const auto& kv) {
        auto it = n->config.find(kv.key());
        return it != n->config.end() && it->value() == kv.value();
      });
    }
    case Requirement::Kind::kEdge:
      return hasEdge(canvas, r.edge.source, r.edge.target, r.edge.type) &&
             (r.movedFrom.empty() || !hasEdge(canvas, r.edge.source, r.movedFrom, r.edge.type));
    case Requirement::Kind::kUnbuildable:
      return false;
  }
  return false;
}

int accuracyOf(const Canvas& canvas, const std::vector<Requirement>& required) {
  const auto total = std::count_if(required.begin(), required.end(), [](const Requirement& r) { return r.counted; });
  const auto count = std::count_if(required.begin(), required.end(),
                                   [&](const Requirement& r) { return r.counted && present(canvas, r); });
  return total == 0 ? 100 : static_cast<int>(count * 100 / total);
}

bool isCaller(const CanvasNode& n) {
  return n.type != "load_balancer" && n.type != "monitoring" && !isDatabaseType(n.type) && layerOf(n.type) <= 3;
}

// `wanted`, unless a node of another type holds it: then the first of
// wanted-2, wanted-3, ... that is free or already of `type` (so a second run
// finds the same id).
std::string claimId(const Canvas& canvas, const std::string& wanted, std::string_view type) {
  for (int n = 1;; ++n) {
    std::string id = n == 1 ? wanted : wanted + "-" + std::to_string(n);
    const auto* node = canvas.findNode(id);
    if (!node || node->type == type) return id;
  }
}

// The type an edge source -> target should have: `preferred`, unless an edge
// of another type already joins them (that one is reused, not doubled).
std::string edgeType(const Canvas& canvas, std::string_view source, std::string_view target, std::string preferred) {
  if (hasEdge(canvas, source, target, preferred)) return preferred;
  for (const auto& e : canvas.edges) {
    if (e.source == source && e.target == target) return e.type;
  }
  return preferred;
}

const CanvasNode* loadBalancerInFront(const Canvas& canvas, const std::string& target) {
  for (const auto& e : canvas.edges) {
    if (e.target != target) continue;
    const auto* n = canvas.findNode(e.source);
    if (n && n->type == "load_balancer") return n;
  }
  return nullptr;
}

const CanvasNode* monitoringNode(const Canvas& canvas, const std::string& target) {
  for (const auto& e : canvas.edges) {
    if (e.target != target) continue;
    const auto* n = canvas.findNode(e.source);
    if (n && n->type == "monitoring") return n;
  }
  for (const auto& n : canvas.nodes) {
    if (n.type == "monitoring") return &n;
  }
  return nullptr;
}

std::string stringOr(const boost::json::object& config, std::string_view key, std::string fallback) {
  auto it = config.find(key);
  return it != config.end() && it->value().is_string() ? std::string(it->value().get_string()) : fallback;
}

std::string nodesLabel(const std::string& what, int count) {
  return what + " (" + std::to_string(count) + (count == 1 ? " node)" : " nodes)");
}

// What the analysis and iteration 2 work from, besides the requirements.
struct Layout {
  std::string lb, sessions, cache, monitoring;
  const CanvasNode* database = nullptr;
};

std::vector<Requirement> requirementsOf(const Canvas& canvas, const CanvasNode& target, const ScaledComponent& s,
                                        Layout& layout) {
  std::vector<Requirement> out;
  auto node = [&](Piece piece, bool firstPass, CanvasNode n) {
    Requirement r;
    r.piece = piece;
    r.firstPass = firstPass;
    r.node = std::move(n);
    out.push_back(std::move(r));
  };
  auto edge = [&](Piece piece, bool firstPass, std::string source, std::string to, std::string type) {
    Requirement r;
    r.kind = Requirement::Kind::kEdge;
    r.piece = piece;
    r.firstPass = firstPass;
    r.edge = CanvasEdge{"", std::move(source), std::move(to), std::move(type)};
    out.push_back(std::move(r));
  };
  boost::json::object config = s.config;
  config["instances"] = s.instances;

  if (s.loadBalancer) {
    if (const auto* existing = loadBalancerInFront(canvas, target.id)) {
      layout.lb = existing->id;
      node(Piece::kLoadBalancer, true, CanvasNode{existing->id, existing->type, existing->label, {}, {}});
    } else {
      layout.lb = claimId(canvas, target.id + "-lb", "load_balancer");
      node(Piece::kLoadBalancer, true,
           CanvasNode{layout.lb,
                      "load_balancer",
                      "Load Balancer (NGINX)",
                      {},
                      {{"algorithm", "round-robin"}, {"upstream", target.id}}});
    }
    const auto& lbNode = out.back().node;
    if (!config.contains("load_balancer")) config["load_balancer"] = lbNode.label;
    edge(Piece::kLoadBalancer, true, layout.lb, target.id, edgeType(canvas, layout.lb, target.id, "routes"));
    for (const auto& e : canvas.edges) {
      if (e.target != target.id || e.source == target.id || e.source == layout.lb) continue;
      const auto* caller = canvas.findNode(e.source);
      if (!caller || !isCaller(*caller)) continue;
      Requirement r;
      r.kind = Requirement::Kind::kEdge;
      r.piece = Piece::kLoadBalancer;
      r.firstPass = true;
      r.edge = CanvasEdge{e.id, e.source, layout.lb, e.type};
      r.movedFrom = target.id;
      out.push_back(std::move(r));
    }
  }

  if (s.sessionNodes > 0) {
    layout.sessions = claimId(canvas, target.id + "-sessions", "cache");
    const auto label = nodesLabel("Redis Cluster", s.sessionNodes);
    if (!config.contains("session_store")) config["session_store"] = label;
    node(Piece::kSessions, true,
         CanvasNode{layout.sessions,
                    "cache",
                    label,
                    {},
                    {{"engine", "Redis"}, {"nodes", s.sessionNodes}, {"role", "sessions"}}});
    edge(Piece::kSessions, true, target.id, layout.sessions, edgeType(canvas, target.id, layout.sessions, "sessions"));
  }

  if (s.cacheNodes > 0) {
    layout.cache = claimId(canvas, target.id + "-cache", "cache");
    const auto label = nodesLabel("Redis Cache", s.cacheNodes);
    if (!config.contains("caching")) config["caching"] = label;
    node(Piece::kCache, false,
         CanvasNode{
             layout.cache, "cache", label, {}, {{"engine", "Redis"}, {"nodes", s.cacheNodes}, {"role", "cache"}}});
    edge(Piece::kCache, false, target.id, layout.cache, edgeType(canvas, target.id, layout.cache, "cache"));
  }

  if (s.readReplicas > 0) {
    layout.database = databaseOf(canvas, target.id);
    if (const auto* db = layout.database) {
      const auto engine = stringOr(db->config, "engine", db->label);
      if (!config.contains("database")) {
        config["database"] = engine + " with " + std::to_string(s.readReplicas) +
                             (s.readReplicas == 1 ? " read replica" : " read replicas");
      }
      for (int i = 1; i <= s.readReplicas; ++i) {
        const auto id = claimId(canvas, db->id + "-replica-" + std::to_string(i), "database");
        boost::json::object replicaConfig{{"role", "read-replica"}, {"replicaOf", db->id}};
        if (db->config.contains("engine")) replicaConfig["engine"] = db->config.at("engine");
        node(
            Piece::kReplicas, false,
            CanvasNode{id, "database", db->label + " read replica " + std::to_string(i), {}, std::move(replicaConfig)});
        edge(Piece::kReplicas, false, db->id, id, edgeType(canvas, db->id, id, "replicates"));
        edge(Piece::kReplicas, false, target.id, id, edgeType(canvas, target.id, id, "reads"));
      }
      // The primary's replica count (what capacity analysis reads) follows;
      // bookkeeping, not one of the elements asked for.
      std::int64_t had = 0;
      if (auto it = db->config.find("replicas"); it != db->config.end() && it->value().is_int64())
        had = it->value().get_int64();
      node(Piece::kReplicas, false,
           CanvasNode{db->id, db->type, db->label, {}, {{"replicas", std::max<std::int64_t>(had, s.readReplicas)}}});
      out.back().counted = false;
    } else {
      // A replica node and its two edges per replica: asked for, not buildable.
      for (int i = 0; i < 3 * s.readReplicas; ++i) {
        Requirement r;
        r.kind = Requirement::Kind::kUnbuildable;
        r.piece = Piece::kReplicas;
        out.push_back(std::move(r));
      }
    }
  }

  if (s.monitoring && target.type != "monitoring") {
    if (const auto* existing = monitoringNode(canvas, target.id)) {
      layout.monitoring = existing->id;
      node(Piece::kMonitoring, false, CanvasNode{existing->id, existing->type, existing->label, {}, {}});
    } else {
      layout.monitoring = claimId(canvas, "monitoring", "monitoring");
      node(Piece::kMonitoring, false,
           CanvasNode{layout.monitoring,
                      "monitoring",
                      "Monitoring",
                      {},
                      {{"stack", "Prometheus + Grafana"}, {"alerting", true}}});
    }
    edge(Piece::kMonitoring, false, layout.monitoring, target.id,
         edgeType(canvas, layout.monitoring, target.id, "scrapes"));
  }

  // The scaled node first, so a patch reads top-down: the node, then what surrounds it.
  Requirement scale;
  scale.piece = Piece::kScale;
  scale.firstPass = true;
  scale.node = CanvasNode{target.id, target.type, target.label, {}, std::move(config)};
  out.insert(out.begin(), std::move(scale));
  return out;
}

bool pieceComplete(const Canvas& canvas, const std::vector<Requirement>& required, Piece piece) {
  return std::all_of(required.begin(), required.end(),
                     [&](const Requirement& r) { return r.piece != piece || present(canvas, r); });
}

bool asked(const std::vector<Requirement>& required, Piece piece) {
  return std::any_of(required.begin(), required.end(), [&](const Requirement& r) { return r.piece == piece; });
}

// The rule-based missing-piece analysis, in words.
std::vector<std::string> missingPieces(const Canvas& input, const Canvas& canvas,
                                       const std::vector<Requirement>& required, const ScaledComponent& s,
                                       const Layout& layout) {
  std::vector<std::string> out;
  const auto& t = s.target;
  auto gap = [&](Piece piece) { return asked(required, piece) && !pieceComplete(canvas, required, piece); };
  if (gap(Piece::kScale)) out.push_back("Scaled configuration not applied to " + t);
  if (gap(Piece::kLoadBalancer)) {
    out.push_back("Missing load balancer routing: callers of " + t + " do not all go through " + layout.lb);
  }
  if (gap(Piece::kSessions)) {
    out.push_back("Missing distributed session store: " + t + " is not connected to " + layout.sessions);
  }
  if (gap(Piece::kCache)) {
    out.push_back("Missing cache connection: " + layout.cache + " (" + std::to_string(s.cacheNodes) +
                  " nodes) is planned for " + t + " but not connected");
  }
  if (gap(Piece::kReplicas)) {
    const auto n = std::to_string(s.readReplicas);
    if (layout.database) {
      out.push_back("Missing database read replicas connection: " + layout.database->id + " needs " + n +
                    " read replicas replicating from it and read by " + t);
    } else {
      out.push_back("Missing database for read replicas: " + t + " is connected to no database node, so the " + n +
                    " requested read replicas cannot be added");
    }
  }
  if (gap(Piece::kMonitoring)) out.push_back("Missing monitoring and alerting: nothing scrapes " + t);
  if (s.instances > 1 && !s.loadBalancer && !loadBalancerInFront(canvas, t)) {
    out.push_back(t + " runs " + std::to_string(s.instances) +
                  " instances with no load balancer in front (not requested, so not added)");
  }
  for (const auto& e : input.edges) {
    if (!input.findNode(e.source) || !input.findNode(e.target)) {
      out.push_back("Dangling edge " + e.id + " (" + e.source + " -> " + e.target + ") dropped");
    }
  }
  return out;
}

CanvasPatch patchFor(const Canvas& canvas, const std::vector<Requirement>& required, bool firstPassOnly) {
  CanvasPatch patch;
  for (const auto& r : required) {
    if (firstPassOnly && !r.firstPass) continue;
    if (present(canvas, r)) continue;
    if (r.kind == Requirement::Kind::kNode) patch.upserts.nodes.push_back(r.node);
    if (r.kind == Requirement::Kind::kEdge) patch.upserts.edges.push_back(r.edge);
  }
  return patch;
}

void append(CanvasPatch& into, CanvasPatch&& from) {
  for (auto& n : from.upserts.nodes) into.upserts.nodes.push_back(std::move(n));
  for (auto& e : from.upserts.edges) into.upserts.edges.push_back(std::move(e));
}

bool sameNode(const CanvasNode& a, const CanvasNode& b) {
  return a.type == b.type && a.label == b.label && a.config == b.config;
}

}  // namespace

Result<ReplaceOutcome> replaceComponent(const Canvas& canvas, const ScaledComponent& scaled) {
  const auto* target = canvas.findNode(scaled.target);
  if (!target) return fail(ErrorCode::kNotFound, "scaled.target: no node '" + scaled.target + "' on the canvas");
  if (scaled.instances < 1) return fail(ErrorCode::kInvalidArgument, "scaled.instances: must be at least 1");
  if (scaled.sessionNodes < 0) return fail(ErrorCode::kInvalidArgument, "scaled.sessionNodes: must not be negative");
  if (scaled.cacheNodes < 0) return fail(ErrorCode::kInvalidArgument, "scaled.cacheNodes: must not be negative");
  if (scaled.readReplicas < 0) return fail(ErrorCode::kInvalidArgument, "scaled.readReplicas: must not be negative");

  Layout layout;
  const auto required = requirementsOf(canvas, *target, scaled, layout);

  ReplaceOutcome out;
  out.canvas = canvas;
  out.patch = patchFor(out.canvas, required, true);
  applyPatch(out.canvas, out.patch);
  out.iterations = 1;
  out.firstAccuracy = accuracyOf(out.canvas, required);
  out.missing = missingPieces(canvas, out.canvas, required, scaled, layout);

  while (out.iterations < kMaxIterations) {
    auto next = patchFor(out.canvas, required, false);
    if (next.upserts.nodes.empty() && next.upserts.edges.empty()) break;
    const auto stats = applyPatch(out.canvas, next);
    append(out.patch, std::move(next));
    ++out.iterations;
    if (stats.nodesAdded + stats.nodesUpdated + stats.edgesAdded + stats.edgesMoved == 0) break;
  }
  out.accuracy = accuracyOf(out.canvas, required);

  for (const auto& n : out.canvas.nodes) {
    const auto* before = canvas.findNode(n.id);
    if (!before) {
      out.added.push_back(n.id);
    } else if (!sameNode(*before, n)) {
      out.updated.push_back(n.id);
    }
  }
  // By requirement, not by comparing ids: a caller edge merged away frees its
  // id, and applyPatch may give that id to a new edge.
  for (const auto& r : required) {
    if (r.movedFrom.empty()) continue;
    const auto& want = r.edge;
    const bool moved = std::any_of(out.canvas.edges.begin(), out.canvas.edges.end(), [&](const CanvasEdge& e) {
      return e.id == want.id && e.source == want.source && e.target == want.target && e.type == want.type;
    });
    if (moved) out.rewired.push_back(want.id);
  }
  return out;
}

}  // namespace ymy::merger
