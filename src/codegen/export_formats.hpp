#pragma once
// Diagram exports of a canvas for other tools: PlantUML and draw.io
// (diagrams.net). Like mermaid() in codegen.hpp, both are pure functions of
// the canvas: the same canvas gives the same text, byte for byte.
//
// Both tolerate canvases canvasFromJson would refuse (they may be built by
// hand): an edge whose source or target names no node is left out, a node id
// used twice keeps its first node for edges, and text that is not valid UTF-8
// has each bad byte replaced by U+FFFD.

#include <string>

#include "model/canvas.hpp"

namespace ymy::codegen {

// A PlantUML component diagram: "@startuml" ... "@enduml", one element per
// node, then one arrow per edge.
//
// - Shape by node type: database-like types (isDatabaseType, data_warehouse,
//   timeseries) -> database, storage -> storage, cache -> collections,
//   queue -> queue, load_balancer/gateway -> node, cdn -> cloud,
//   frontend/mobile -> rectangle, anything else (service, monitoring,
//   search, ...) -> component. Each element carries its type as a
//   stereotype ("<<database>>") when the type is a plain word.
// - Aliases: the node id with every character outside [A-Za-z0-9_] made '_',
//   prefixed "n_" when empty, starting with a digit or a PlantUML keyword;
//   an alias already taken gets "_2", "_3", ... in node order.
// - Labels (node label, else id) are double-quoted; '"', '\', '<', '&', '~'
//   and the second of a doubled creole markup character ("--", "**", "//",
//   "__", "[[", ...) are written as <U+XXXX>, a line break as PlantUML's
//   "\n", other control characters as a space; the text renders as written.
// - Edges: "a --> b" ("a ..> b" for publishes/subscribes/async), with
//   " : <type>" when the edge has a type.
std::string plantuml(const Canvas& canvas);

// An uncompressed draw.io file (XML 1.0, UTF-8): <mxfile><diagram
// name="Architecture"><mxGraphModel><root> with the two standard cells "0"
// and "1", one vertex cell per node (parent "1", a style by node type with
// its own fillColor, plain-text value = label else id, geometry at the node's
// position, kDrawioNodeWidth x kDrawioNodeHeight), then one edge cell per edge
// (value = its type, dashed when asynchronous).
//
// Cell ids are "n:<node id>" and "e:<edge id>" ("e:<index>" for an edge
// without id), made unique in document order with "#2", "#3", ... Every
// attribute value is XML-escaped (& < > " ' and line breaks/tabs as
// character references); control characters XML 1.0 forbids are dropped
// (before ids are made unique, so ids stay unique).
// Non-finite positions are written as 0.
inline constexpr double kDrawioNodeWidth = 160;
inline constexpr double kDrawioNodeHeight = 60;
std::string drawio(const Canvas& canvas);

}  // namespace ymy::codegen
