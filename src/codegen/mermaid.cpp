// Mermaid flowchart of a canvas. Node ids are sanitised (Mermaid ids are
// [A-Za-z0-9_] and some words are keywords); labels keep the user's text with
// quotes and angle brackets as Mermaid entities.

#include <cctype>
#include <map>
#include <set>
#include <sstream>

#include "codegen/codegen.hpp"

namespace ymy::codegen {

namespace {

std::string mermaidId(const std::string& id, std::set<std::string>& used) {
  static const std::set<std::string> kKeywords = {"end",   "graph",   "subgraph",  "flowchart", "style",    "class",
                                                  "click", "default", "linkstyle", "classdef",  "direction"};
  std::string out;
  for (char c : id) {
    auto u = static_cast<unsigned char>(c);
    out += (std::isalnum(u) && u < 128) ? c : '_';
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "n_" + out;
  std::string lower;
  for (char c : out) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (kKeywords.count(lower)) out += "_node";
  std::string unique = out;
  for (int n = 2; !used.insert(unique).second; ++n) unique = out + "_" + std::to_string(n);
  return unique;
}

std::string mermaidText(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "#quot;";
        break;
      case '<':
        out += "#lt;";
        break;
      case '>':
        out += "#gt;";
        break;
      case '|':
        out += "#124;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Opening and closing brackets of the node shape for a canvas node type.
std::pair<const char*, const char*> shapeFor(const std::string& type) {
  if (type == "database" || type == "storage" || type == "data_warehouse" || type == "timeseries") return {"[(", ")]"};
  if (type == "cache") return {"[[", "]]"};
  if (type == "queue") return {">", "]"};
  if (type == "load_balancer") return {"{{", "}}"};
  if (type == "gateway") return {"[/", "/]"};
  if (type == "frontend" || type == "mobile") return {"([", "])"};
  if (type == "cdn") return {"[\\", "/]"};
  if (type == "monitoring" || type == "search") return {"((", "))"};
  return {"[", "]"};
}

}  // namespace

std::string mermaid(const Canvas& canvas) {
  std::ostringstream out;
  out << "flowchart LR\n";
  std::set<std::string> used;
  std::map<std::string, std::string> ids;
  for (const auto& node : canvas.nodes) {
    const std::string id = mermaidId(node.id, used);
    ids.emplace(node.id, id);
    auto [open, close] = shapeFor(node.type);
    out << "  " << id << open << '"' << mermaidText(node.label.empty() ? node.id : node.label) << '"' << close << '\n';
  }
  for (const auto& edge : canvas.edges) {
    auto from = ids.find(edge.source);
    auto to = ids.find(edge.target);
    if (from == ids.end() || to == ids.end()) continue;  // canvasFromJson rejects these; tolerate hand-built ones
    const bool async = edge.type == "publishes" || edge.type == "subscribes" || edge.type == "async";
    out << "  " << from->second << (async ? " -.->" : " -->");
    if (!edge.type.empty()) out << "|\"" << mermaidText(edge.type) << "\"|";
    out << ' ' << to->second << '\n';
  }
  return out.str();
}

}  // namespace ymy::codegen
