#pragma once
// Merging what agents produced into the user's canvas: nodes are added or
// updated by id (config keys merged, the user's positions kept), edges added
// once per (source, target, type) or moved by id, removals applied before the
// edges; new nodes are placed by a layered layout that never overlaps existing
// ones. replace.hpp builds on this for the REPLACE_COMPONENT strategy.

#include <string>
#include <vector>

#include "merger/patch.hpp"
#include "merger/replace.hpp"  // the REPLACE_COMPONENT strategy
#include "model/canvas.hpp"
#include "model/summary.hpp"

namespace ymy::merger {

struct MergeStats {
  int nodesAdded = 0;
  int nodesUpdated = 0;
  int nodesRemoved = 0;
  int edgesAdded = 0;
  int edgesMoved = 0;  // existing edges given new ends or type by id (merges included)
};

// Applies `patch` to `canvas`, in this order: node upserts, node removals (a
// removed node takes its edges along), edge upserts.
//
// Edge upserts, in patch order:
//   - an edge whose ends do not exist after the node changes is skipped, and
//     any existing edge with a missing end is dropped (neither is counted);
//   - an edge whose non-empty `id` names an existing edge replaces that edge
//     in place (moving it): same id, new source/target/type. If the moved
//     edge would duplicate another edge (same source, target, type) it is
//     merged into that one, i.e. removed. Both count as `edgesMoved`;
//   - any other edge is added unless an edge with the same (source, target,
//     type) exists. An empty id becomes "e<N>" with N counting up from
//     edges.size() + 1 at that moment to the first unused id.
MergeStats applyPatch(Canvas& canvas, const CanvasPatch& patch);

// Layer of a node type, top to bottom: frontend, edge (cdn, load balancer),
// gateway, services, caches and queues, data stores; monitoring sits beside.
int layerOf(const std::string& nodeType);

// Positions the nodes listed in `place` (all nodes when empty) on a grid of
// layers, 220 x 140 apart, skipping cells that existing nodes occupy.
void layeredLayout(Canvas& canvas, const std::vector<std::string>& place = {});

}  // namespace ymy::merger
