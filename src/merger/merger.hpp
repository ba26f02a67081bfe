#pragma once
// Merging what agents produced into the user's canvas: nodes are added or
// updated by id (config keys merged, the user's positions kept), edges added
// once per (source, target, type), removals applied last; new nodes are placed
// by a layered layout that never overlaps existing ones.

#include <string>
#include <vector>

#include "model/canvas.hpp"
#include "model/summary.hpp"

namespace ymy::merger {

struct CanvasPatch {
  Canvas upserts;                       // nodes and edges to add or update
  std::vector<std::string> removeNodes; // node ids to delete with their edges
};

struct MergeStats {
  int nodesAdded = 0;
  int nodesUpdated = 0;
  int nodesRemoved = 0;
  int edgesAdded = 0;
};

// Applies `patch` to `canvas`. Edges whose ends do not exist after the merge
// are dropped (and not counted).
MergeStats applyPatch(Canvas& canvas, const CanvasPatch& patch);

// Layer of a node type, top to bottom: frontend, edge (cdn, load balancer),
// gateway, services, caches and queues, data stores; monitoring sits beside.
int layerOf(const std::string& nodeType);

// Positions the nodes listed in `place` (all nodes when empty) on a grid of
// layers, 220 x 140 apart, skipping cells that existing nodes occupy.
void layeredLayout(Canvas& canvas, const std::vector<std::string>& place = {});

}  // namespace ymy::merger
