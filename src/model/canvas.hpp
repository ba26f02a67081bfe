#pragma once
// The architecture a user sees: nodes (services, databases, caches, ...) and
// the edges between them. Shape as in DESIGN.md:
//   {"nodes":[{"id","type","label","position":{"x","y"},"config":{...}}],
//    "edges":[{"id","source","target","type"}]}

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "model/error.hpp"

namespace ymy {

struct Position {
  double x = 0;
  double y = 0;
};

struct CanvasNode {
  std::string id;
  std::string type;   // service, database, cache, load_balancer, queue, frontend, monitoring, ...
  std::string label;  // what the user reads; defaults to id
  Position position;
  boost::json::object config;  // free-form: instances, database, session_store, ...
};

struct CanvasEdge {
  std::string id;
  std::string source;
  std::string target;
  std::string type;  // api-call, reads, writes, publishes, ...
};

struct Canvas {
  std::vector<CanvasNode> nodes;
  std::vector<CanvasEdge> edges;

  bool empty() const { return nodes.empty(); }
  const CanvasNode* findNode(std::string_view id) const;
};

// Canvas queries shared by the merger and the agents.
bool isDatabaseType(std::string_view type);  // "database", "postgres", "mysql", "mongodb", ...
bool isReadReplica(const CanvasNode& node);  // config.role == "read-replica"
// The primary database a node uses: joined to it by an edge, node -> database
// first; never a read replica. Null when there is none.
const CanvasNode* databaseOf(const Canvas& canvas, std::string_view nodeId);

// Strict parse: every node needs a non-empty unique id and a type; every
// edge's source and target must name a node. Errors name the field path.
Result<Canvas> canvasFromJson(const boost::json::value& value, std::string_view path = "canvas");
// The same shape for a patch to a canvas: its edges may name nodes that are
// only on the canvas it applies to.
Result<Canvas> canvasPatchFromJson(const boost::json::value& value, std::string_view path = "patch");
boost::json::value toJson(const Canvas& canvas);

}  // namespace ymy
