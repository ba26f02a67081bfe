#pragma once
// A change to a canvas, as applyPatch (merger.hpp) applies it. Its own header
// so the strategies (replace.hpp) can return one without the merge functions.

#include <string>
#include <vector>

#include "model/canvas.hpp"

namespace ymy::merger {

struct CanvasPatch {
  Canvas upserts;                        // nodes and edges to add or update (edges: move by id)
  std::vector<std::string> removeNodes;  // node ids to delete with their edges
};

}  // namespace ymy::merger
