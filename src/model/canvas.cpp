#include "model/canvas.hpp"

#include <algorithm>
#include <unordered_set>

#include "model/json_io.hpp"

namespace ymy {

const CanvasNode* Canvas::findNode(std::string_view id) const {
  for (const auto& node : nodes) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

bool isDatabaseType(std::string_view type) {
  std::string t(type);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view mark : {"database", "sql", "postgres", "mongo", "maria"}) {
    if (t.find(mark) != std::string::npos) return true;
  }
  return false;
}

bool isReadReplica(const CanvasNode& node) {
  auto it = node.config.find("role");
  return it != node.config.end() && it->value() == "read-replica";
}

const CanvasNode* databaseOf(const Canvas& canvas, std::string_view nodeId) {
  auto usable = [&](const std::string& id) -> const CanvasNode* {
    const auto* n = canvas.findNode(id);
    return n && n->id != nodeId && isDatabaseType(n->type) && !isReadReplica(*n) ? n : nullptr;
  };
  for (const auto& e : canvas.edges) {
    if (e.source == nodeId) {
      if (const auto* n = usable(e.target)) return n;
    }
  }
  for (const auto& e : canvas.edges) {
    if (e.target == nodeId) {
      if (const auto* n = usable(e.source)) return n;
    }
  }
  return nullptr;
}

namespace {
bool isSafeNodeId(std::string_view id) {
  if (id == "." || id == "..") return false;
  return std::none_of(id.begin(), id.end(), [](char c) {
    return c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

Result<Canvas> readCanvas(const boost::json::value& value, std::string_view path, bool whole) {
  return json::guarded([&] {
    json::Reader root(value, std::string(path));
    // A whole canvas has nodes and edges and nothing else, so a misspelt
    // member ({"nodez":[...]}) is an error rather than an empty canvas.
    // (Patches carry more: removals, moves.)
    for (const auto& member : root.object()) {
      if (whole && member.key() != "nodes" && member.key() != "edges") {
        root.fail("unknown member '" + std::string(member.key()) + "' (a canvas has 'nodes' and 'edges')");
      }
    }
    Canvas canvas;
    std::unordered_set<std::string> ids;
    if (auto nodes = root.find("nodes")) {
      for (const auto& n : nodes->items()) {
        CanvasNode node;
        node.id = n.at("id").str();
        if (node.id.empty()) n.at("id").fail("must not be empty");
        // Ids name the folders of generated services and appear in exports.
        if (!isSafeNodeId(node.id)) {
          n.at("id").fail("'" + node.id + "' may not contain '/', '\\' or control characters, nor be '.' or '..'");
        }
        if (!ids.insert(node.id).second) n.at("id").fail("duplicate node id '" + node.id + "'");
        node.type = n.at("type").str();
        if (node.type.empty()) n.at("type").fail("must not be empty");
        node.label = n.strOr("label", node.id);
        if (auto pos = n.find("position")) {
          node.position.x = pos->at("x").number();
          node.position.y = pos->at("y").number();
        }
        if (auto config = n.find("config")) node.config = config->object();
        canvas.nodes.push_back(std::move(node));
      }
    }
    if (auto edges = root.find("edges")) {
      std::size_t index = 0;
      std::unordered_set<std::string> edgeIds;
      for (const auto& e : edges->items()) {
        CanvasEdge edge;
        edge.source = e.at("source").str();
        edge.target = e.at("target").str();
        if (edge.source.empty()) e.at("source").fail("must not be empty");
        if (edge.target.empty()) e.at("target").fail("must not be empty");
        if (whole && !ids.count(edge.source)) e.at("source").fail("unknown node '" + edge.source + "'");
        if (whole && !ids.count(edge.target)) e.at("target").fail("unknown node '" + edge.target + "'");
        edge.id = e.strOr("id", "e" + std::to_string(++index) + "-" + edge.source + "-" + edge.target);
        if (edge.id.empty()) e.at("id").fail("must not be empty");
        if (whole && !edgeIds.insert(edge.id).second) e.at("id").fail("duplicate edge id '" + edge.id + "'");
        edge.type = e.strOr("type", "api-call");
        canvas.edges.push_back(std::move(edge));
      }
    }
    return canvas;
  });
}
}  // namespace

Result<Canvas> canvasFromJson(const boost::json::value& value, std::string_view path) {
  return readCanvas(value, path, true);
}

Result<Canvas> canvasPatchFromJson(const boost::json::value& value, std::string_view path) {
  return readCanvas(value, path, false);
}

boost::json::value toJson(const Canvas& canvas) {
  boost::json::array nodes;
  for (const auto& n : canvas.nodes) {
    nodes.push_back(boost::json::object{
        {"id", n.id},
        {"type", n.type},
        {"label", n.label},
        {"position", {{"x", n.position.x}, {"y", n.position.y}}},
        {"config", n.config},
    });
  }
  boost::json::array edges;
  for (const auto& e : canvas.edges) {
    edges.push_back(boost::json::object{
        {"id", e.id}, {"source", e.source}, {"target", e.target}, {"type", e.type}});
  }
  return boost::json::object{{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
}

}  // namespace ymy
