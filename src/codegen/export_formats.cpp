// PlantUML and draw.io exports of a canvas. Both walk the text as code points
// so a label cut in the middle of a UTF-8 sequence cannot make the output
// unreadable for the tool (a draw.io file with a bad byte is not XML at all).
//
// PlantUML escaping was checked against PlantUML 1.2020 (Debian 12): inside a
// quoted label '"' ends the label, '<' starts HTML-like markup, '&' an entity,
// '\' and '~' escapes, and a doubled "--", "**", "//", "__" toggles creole
// styling. <U+XXXX> is substituted after that parsing, so it is the escape;
// a markup pair is broken by escaping its second character.

#include "codegen/export_formats.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

namespace ymy::codegen {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Calls `emit` with each code point of `text`; each byte that does not start a
// well-formed UTF-8 sequence (overlong, surrogate, beyond U+10FFFF, cut short)
// gives U+FFFD.
template <class Emit>
void forEachCodePoint(std::string_view text, Emit&& emit) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      emit(static_cast<char32_t>(b0));
      ++i;
      continue;
    }
    std::size_t length = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      length = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      length = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      length = 4, cp = b0 & 0x07, min = 0x10000;
    }
    bool ok = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (ok) {
      emit(cp);
      i += length;
    } else {
      emit(kReplacement);
      ++i;
    }
  }
}

void appendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

bool isAsyncEdge(const std::string& type) { return type == "publishes" || type == "subscribes" || type == "async"; }

bool isDatabaseLike(const std::string& type) {
  return isDatabaseType(type) || type == "data_warehouse" || type == "timeseries";
}

// ---- PlantUML ---------------------------------------------------------------

// Words PlantUML reads as commands or element kinds at the start of a line;
// an alias equal to one (in any case) would be taken for it.
const std::set<std::string>& plantumlKeywords() {
  static const std::set<std::string> kKeywords = {
      "abstract", "actor",    "agent",    "allow_mixing", "allowmixing", "annotation", "artifact", "as",
      "boundary", "bottom",   "caption",  "card",         "circle",      "class",      "cloud",    "collections",
      "component", "control", "database", "down",         "end",         "entity",     "enum",     "file",
      "folder",   "footer",   "frame",    "header",       "hexagon",     "hide",       "interface", "json",
      "label",    "left",     "legend",   "map",          "namespace",   "node",       "note",     "object",
      "of",       "on",       "package",  "participant",  "person",      "queue",      "rectangle", "remove",
      "right",    "scale",    "set",      "show",         "skinparam",   "sprite",     "stack",    "state",
      "storage",  "title",    "together", "top",          "up",          "url",        "usecase"};
  return kKeywords;
}

// A PlantUML alias for `id`, unique (ignoring case) among `used`.
std::string plantumlAlias(const std::string& id, std::set<std::string>& used) {
  std::string base;
  for (char c : id) {
    const bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    base += word ? c : '_';
  }
  if (base.empty() || (base[0] >= '0' && base[0] <= '9') || plantumlKeywords().count(lower(base))) base = "n_" + base;
  std::string alias = base;
  for (int n = 2; !used.insert(lower(alias)).second; ++n) alias = base + "_" + std::to_string(n);
  return alias;
}

void appendUnicodeEscape(std::string& out, char32_t cp) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "<U+%04X>", static_cast<unsigned>(cp));
  out += buffer;
}

// `text` for a PlantUML label (quoted element label or arrow label).
std::string plantumlText(const std::string& text) {
  static constexpr std::u32string_view kCreoleMarks = U"*/_-=[]";
  std::string out;
  char32_t previous = 0;
  bool afterCr = false;
  forEachCodePoint(text, [&](char32_t cp) {
    const bool crlf = afterCr && cp == '\n';
    afterCr = cp == '\r';
    if (crlf) return;  // the '\r' already wrote the line break
    if (cp == '\n' || cp == '\r') {
      out += "\\n";
    } else if (cp == '"' || cp == '\\' || cp == '<' || cp == '&' || cp == '~') {
      appendUnicodeEscape(out, cp);
    } else if (cp == previous && kCreoleMarks.find(cp) != std::u32string_view::npos) {
      appendUnicodeEscape(out, cp);  // the first stays plain, so no pair is left to toggle styling
    } else if (cp < 0x20 || cp == 0x7F) {
      out += ' ';
    } else {
      appendUtf8(out, cp);
    }
    previous = cp;
  });
  return out;
}

const char* plantumlShape(const std::string& type) {
  if (isDatabaseLike(type)) return "database";
  if (type == "storage") return "storage";
  if (type == "cache") return "collections";
  if (type == "queue") return "queue";
  if (type == "load_balancer" || type == "gateway") return "node";
  if (type == "cdn") return "cloud";
  if (type == "frontend" || type == "mobile") return "rectangle";
  return "component";
}

// " <<type>>" when the type is a plain word that needs no escaping.
std::string plantumlStereotype(const std::string& type) {
  if (type.empty() || type.find("__") != std::string::npos) return "";
  for (char c : type) {
    const bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!word) return "";
  }
  return " <<" + type + ">>";
}

// ---- draw.io ----------------------------------------------------------------

bool isXmlChar(char32_t cp) { return cp >= 0x20 ? cp != 0xFFFE && cp != 0xFFFF : cp == '\t' || cp == '\n' || cp == '\r'; }

// `text` as XML 1.0 can hold it: valid UTF-8, without the characters XML
// forbids. Ids are made unique in this form, so two ids that differ only in
// a dropped character cannot end up as the same attribute value.
std::string xmlRepresentable(const std::string& text) {
  std::string out;
  forEachCodePoint(text, [&](char32_t cp) {
    if (isXmlChar(cp)) appendUtf8(out, cp);
  });
  return out;
}

// `text` as an XML 1.0 attribute value (without the quotes).
std::string xmlAttribute(const std::string& text) {
  std::string out;
  forEachCodePoint(text, [&](char32_t cp) {
    switch (cp) {
      case '&':
        out += "&amp;";
        return;
      case '<':
        out += "&lt;";
        return;
      case '>':
        out += "&gt;";
        return;
      case '"':
        out += "&quot;";
        return;
      case '\'':
        out += "&apos;";
        return;
      case '\n':
        out += "&#10;";  // a raw line break would be read back as a space
        return;
      case '\r':
        out += "&#13;";
        return;
      case '\t':
        out += "&#9;";
        return;
      default:
        break;
    }
    if (isXmlChar(cp)) appendUtf8(out, cp);  // the others are not allowed in XML 1.0, even as references
  });
  return out;
}

std::string number(double value) {
  if (!std::isfinite(value)) value = 0;
  if (value == 0) value = 0;  // no "-0"
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc{} ? std::string(buffer, end) : "0";
}

// A cell id unique among `used`: `base`, else base#2, base#3, ...
std::string uniqueCellId(const std::string& text, std::set<std::string>& used) {
  const std::string base = xmlRepresentable(text);
  std::string id = base;
  for (int n = 2; !used.insert(id).second; ++n) id = base + "#" + std::to_string(n);
  return id;
}

const char* drawioStyle(const std::string& type) {
  if (isDatabaseLike(type))
    return "shape=cylinder3;whiteSpace=wrap;boundedLbl=1;backgroundOutline=1;size=12;fillColor=#d5e8d4;"
           "strokeColor=#82b366;";
  if (type == "storage")
    return "shape=cylinder3;whiteSpace=wrap;boundedLbl=1;backgroundOutline=1;size=12;fillColor=#e6d0de;"
           "strokeColor=#996185;";
  if (type == "cache")
    return "shape=cylinder3;whiteSpace=wrap;boundedLbl=1;backgroundOutline=1;size=12;fillColor=#f8cecc;"
           "strokeColor=#b85450;";
  if (type == "queue") return "shape=process;whiteSpace=wrap;backgroundOutline=1;fillColor=#ffe6cc;strokeColor=#d79b00;";
  if (type == "load_balancer")
    return "shape=hexagon;perimeter=hexagonPerimeter2;fixedSize=1;whiteSpace=wrap;fillColor=#e1d5e7;"
           "strokeColor=#9673a6;";
  if (type == "gateway")
    return "shape=hexagon;perimeter=hexagonPerimeter2;fixedSize=1;whiteSpace=wrap;fillColor=#fff2cc;"
           "strokeColor=#d6b656;";
  if (type == "cdn") return "ellipse;shape=cloud;whiteSpace=wrap;fillColor=#cce5ff;strokeColor=#36393d;";
  if (type == "frontend" || type == "mobile")
    return "rounded=0;whiteSpace=wrap;fillColor=#f5f5f5;strokeColor=#666666;";
  if (type == "monitoring") return "ellipse;whiteSpace=wrap;fillColor=#eeeeee;strokeColor=#36393d;";
  if (type == "search") return "ellipse;whiteSpace=wrap;fillColor=#b1ddf0;strokeColor=#10739e;";
  if (type == "service") return "rounded=1;whiteSpace=wrap;fillColor=#dae8fc;strokeColor=#6c8ebf;";
  return "rounded=1;whiteSpace=wrap;fillColor=#ffffff;strokeColor=#000000;";
}

}  // namespace

std::string plantuml(const Canvas& canvas) {
  std::ostringstream out;
  out << "@startuml\n";
  std::set<std::string> used;
  std::map<std::string, std::string> aliases;  // node id -> alias of its first node
  for (const auto& node : canvas.nodes) {
    const std::string alias = plantumlAlias(node.id, used);
    aliases.emplace(node.id, alias);
    out << plantumlShape(node.type) << " \"" << plantumlText(node.label.empty() ? node.id : node.label) << "\" as "
        << alias << plantumlStereotype(node.type) << '\n';
  }
  for (const auto& edge : canvas.edges) {
    auto from = aliases.find(edge.source);
    auto to = aliases.find(edge.target);
    if (from == aliases.end() || to == aliases.end()) continue;
    out << from->second << (isAsyncEdge(edge.type) ? " ..> " : " --> ") << to->second;
    if (!edge.type.empty()) out << " : " << plantumlText(edge.type);
    out << '\n';
  }
  out << "@enduml\n";
  return out.str();
}

std::string drawio(const Canvas& canvas) {
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<mxfile host=\"YouMeYou\">\n"
         "  <diagram id=\"architecture\" name=\"Architecture\">\n"
         "    <mxGraphModel grid=\"1\" gridSize=\"10\" guides=\"1\" tooltips=\"1\" connect=\"1\" arrows=\"1\" "
         "fold=\"1\" page=\"1\" pageScale=\"1\" math=\"0\" shadow=\"0\">\n"
         "      <root>\n"
         "        <mxCell id=\"0\"/>\n"
         "        <mxCell id=\"1\" parent=\"0\"/>\n";
  std::set<std::string> used = {"0", "1"};
  std::map<std::string, std::string> cells;  // node id -> cell id of its first node
  for (const auto& node : canvas.nodes) {
    const std::string id = uniqueCellId("n:" + node.id, used);
    cells.emplace(node.id, id);
    out << "        <mxCell id=\"" << xmlAttribute(id) << "\" value=\""
        << xmlAttribute(node.label.empty() ? node.id : node.label) << "\" style=\"" << xmlAttribute(drawioStyle(node.type))
        << "\" vertex=\"1\" parent=\"1\">\n"
        << "          <mxGeometry x=\"" << number(node.position.x) << "\" y=\"" << number(node.position.y)
        << "\" width=\"" << number(kDrawioNodeWidth) << "\" height=\"" << number(kDrawioNodeHeight)
        << "\" as=\"geometry\"/>\n"
        << "        </mxCell>\n";
  }
  for (std::size_t i = 0; i < canvas.edges.size(); ++i) {
    const auto& edge = canvas.edges[i];
    auto from = cells.find(edge.source);
    auto to = cells.find(edge.target);
    if (from == cells.end() || to == cells.end()) continue;
    const std::string id = uniqueCellId("e:" + (edge.id.empty() ? std::to_string(i) : edge.id), used);
    const std::string style = std::string("edgeStyle=orthogonalEdgeStyle;rounded=0;orthogonalLoop=1;jettySize=auto;"
                                          "endArrow=block;endFill=1;") +
                              (isAsyncEdge(edge.type) ? "dashed=1;" : "");
    out << "        <mxCell id=\"" << xmlAttribute(id) << "\" value=\"" << xmlAttribute(edge.type) << "\" style=\""
        << xmlAttribute(style) << "\" edge=\"1\" parent=\"1\" source=\"" << xmlAttribute(from->second)
        << "\" target=\"" << xmlAttribute(to->second) << "\">\n"
        << "          <mxGeometry relative=\"1\" as=\"geometry\"/>\n"
        << "        </mxCell>\n";
  }
  out << "      </root>\n"
         "    </mxGraphModel>\n"
         "  </diagram>\n"
         "</mxfile>\n";
  return out.str();
}

}  // namespace ymy::codegen
