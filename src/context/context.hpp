#pragma once
// Context extraction: what the request is acting on. Reports whether the
// canvas is empty, which components it holds (mapped to the catalog) with
// their config and connections, and the user's preferred stack.
//
//   {"type":"empty"|"existing","components":[...],"user_preferences":[...],"complexity":0.0}

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "model/canvas.hpp"
#include "model/catalog.hpp"

namespace ymy::context {

struct CanvasComponent {
  std::string nodeId;
  std::string type;
  std::string label;
  std::string component;  // catalog id, "" when the node is not in the catalog
  boost::json::object config;
  std::vector<std::string> callers;  // nodes with an edge into this one
  std::vector<std::string> callees;  // nodes this one has an edge to
};

struct Context {
  bool empty = true;
  std::vector<CanvasComponent> components;
  std::size_t edgeCount = 0;
  std::vector<std::string> userPreferences;  // canonical stack names: "Node.js", "PostgreSQL", ...
  double complexity = 0;                     // of the existing canvas, [0,1]

  const CanvasComponent* find(std::string_view nodeId) const;
  const CanvasComponent* findComponent(std::string_view catalogId) const;
  bool hasNodeType(std::string_view type) const;
  bool hasComponent(std::string_view catalogId) const { return findComponent(catalogId) != nullptr; }
};

// Stack names a request or a preference string mentions, canonicalised and in
// order ("using go and postgres" -> {"Go", "PostgreSQL"}).
std::vector<std::string> detectStack(std::string_view text);

// `componentOf` maps a node to its catalog id (the intent analyzer knows how).
template <class ComponentOf>
Context extractContext(const Canvas* canvas, std::string_view request,
                       const std::vector<std::string>& explicitPreferences, ComponentOf&& componentOf);

boost::json::value toJson(const Context& context);

// Implementation detail of extractContext, kept out of line.
Context extractContextImpl(const Canvas* canvas, std::string_view request,
                           const std::vector<std::string>& explicitPreferences,
                           const std::vector<std::string>& nodeComponents);

template <class ComponentOf>
Context extractContext(const Canvas* canvas, std::string_view request,
                       const std::vector<std::string>& explicitPreferences, ComponentOf&& componentOf) {
  std::vector<std::string> nodeComponents;
  if (canvas) {
    for (const auto& node : canvas->nodes) nodeComponents.push_back(componentOf(node));
  }
  return extractContextImpl(canvas, request, explicitPreferences, nodeComponents);
}

}  // namespace ymy::context
