#include "merger/merger.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace ymy::merger {

namespace {
constexpr double kColumnWidth = 220;
constexpr double kRowHeight = 140;
}  // namespace

MergeStats applyPatch(Canvas& canvas, const CanvasPatch& patch) {
  MergeStats stats;
  std::vector<std::string> placed;
  for (const auto& incoming : patch.upserts.nodes) {
    auto it = std::find_if(canvas.nodes.begin(), canvas.nodes.end(), [&](const CanvasNode& n) { return n.id == incoming.id; });
    if (it == canvas.nodes.end()) {
      canvas.nodes.push_back(incoming);
      placed.push_back(incoming.id);
      ++stats.nodesAdded;
      continue;
    }
    bool changed = false;
    for (const auto& kv : incoming.config) {
      auto existing = it->config.find(kv.key());
      if (existing == it->config.end() || existing->value() != kv.value()) {
        it->config[kv.key()] = kv.value();
        changed = true;
      }
    }
    if (!incoming.label.empty() && incoming.label != incoming.id && incoming.label != it->label) {
      it->label = incoming.label;
      changed = true;
    }
    if (!incoming.type.empty() && incoming.type != it->type) {
      it->type = incoming.type;
      changed = true;
    }
    stats.nodesUpdated += changed ? 1 : 0;
  }

  std::set<std::string> removed(patch.removeNodes.begin(), patch.removeNodes.end());
  auto before = canvas.nodes.size();
  canvas.nodes.erase(std::remove_if(canvas.nodes.begin(), canvas.nodes.end(),
                                    [&](const CanvasNode& n) { return removed.count(n.id) > 0; }),
                     canvas.nodes.end());
  stats.nodesRemoved = static_cast<int>(before - canvas.nodes.size());

  auto exists = [&](const std::string& id) { return canvas.findNode(id) != nullptr; };
  canvas.edges.erase(std::remove_if(canvas.edges.begin(), canvas.edges.end(),
                                    [&](const CanvasEdge& e) { return !exists(e.source) || !exists(e.target); }),
                     canvas.edges.end());
  auto sameEnds = [](const CanvasEdge& a, const CanvasEdge& b) {
    return a.source == b.source && a.target == b.target && a.type == b.type;
  };
  for (const auto& e : patch.upserts.edges) {
    if (!exists(e.source) || !exists(e.target)) continue;
    auto moved = e.id.empty() ? canvas.edges.end()
                              : std::find_if(canvas.edges.begin(), canvas.edges.end(),
                                             [&](const CanvasEdge& x) { return x.id == e.id; });
    if (moved != canvas.edges.end()) {
      if (sameEnds(*moved, e)) continue;
      const bool duplicate = std::any_of(canvas.edges.begin(), canvas.edges.end(),
                                         [&](const CanvasEdge& x) { return &x != &*moved && sameEnds(x, e); });
      if (duplicate) {
        canvas.edges.erase(moved);
      } else {
        *moved = e;
      }
      ++stats.edgesMoved;
      continue;
    }
    const bool duplicate =
        std::any_of(canvas.edges.begin(), canvas.edges.end(), [&](const CanvasEdge& x) { return sameEnds(x, e); });
    if (duplicate) continue;
    CanvasEdge edge = e;
    if (edge.id.empty()) {
      // Named by its ends, as taskCompleted's canvasUpdate names it, so a
      // client can match the streamed edge with the saved one.
      std::set<std::string> ids;
      for (const auto& x : canvas.edges) ids.insert(x.id);
      edge.id = edge.source + "->" + edge.target;
      for (int n = 2; ids.count(edge.id); ++n) edge.id = edge.source + "->" + edge.target + "#" + std::to_string(n);
    }
    canvas.edges.push_back(std::move(edge));
    ++stats.edgesAdded;
  }
  placed.erase(std::remove_if(placed.begin(), placed.end(), [&](const std::string& id) { return !exists(id); }),
               placed.end());
  if (!placed.empty()) layeredLayout(canvas, placed);
  return stats;
}

int layerOf(const std::string& type) {
  static const std::map<std::string, int> layers = {
      {"frontend", 0}, {"cdn", 1},      {"load_balancer", 1}, {"gateway", 2}, {"service", 3},
      {"search", 4},   {"cache", 4},    {"queue", 4},         {"database", 5}, {"storage", 5},
      {"monitoring", 6},
  };
  auto it = layers.find(type);
  return it == layers.end() ? 3 : it->second;
}

void layeredLayout(Canvas& canvas, const std::vector<std::string>& place) {
  // Nodes are drawn about 160 x 60; two positions conflict when their boxes,
  // with a margin, would touch.
  constexpr double kMinDx = 180, kMinDy = 90;
  std::set<std::string> toPlace(place.begin(), place.end());
  const bool all = toPlace.empty();
  std::vector<Position> taken;
  if (!all) {
    for (const auto& n : canvas.nodes) {
      if (!toPlace.count(n.id)) taken.push_back(n.position);
    }
  }
  auto free = [&](const Position& p) {
    return std::none_of(taken.begin(), taken.end(), [&](const Position& t) {
      return std::fabs(t.x - p.x) < kMinDx && std::fabs(t.y - p.y) < kMinDy;
    });
  };
  std::map<int, long> nextColumn;
  for (auto& n : canvas.nodes) {
    if (!all && !toPlace.count(n.id)) continue;
    const int row = layerOf(n.type);
    long column = nextColumn[row];
    Position p;
    for (;; ++column) {
      p = {static_cast<double>(column) * kColumnWidth + 100, static_cast<double>(row) * kRowHeight + 100};
      if (free(p)) break;
    }
    nextColumn[row] = column + 1;
    n.position = p;
    taken.push_back(p);
  }
}

}  // namespace ymy::merger
