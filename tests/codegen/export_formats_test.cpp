// PlantUML and draw.io exports. draw.io files are judged by two XML parsers:
// xmllint (libxml2-utils, strict well-formedness and XPath) and
// Boost.PropertyTree (structure: every node once, no dangling edge). PlantUML
// is judged structurally, and rendered with plantuml when it is installed.

#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <gtest/gtest.h>

#include "codegen/export_formats.hpp"
#include "codegen/test_util.hpp"
#include "model/canvas.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::codegen {
namespace {

namespace pt = boost::property_tree;

Canvas exampleCanvas() {
  auto value = json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas");
  EXPECT_TRUE(value) << value.error().message;
  if (!value) return {};
  auto canvas = canvasFromJson(*value);
  EXPECT_TRUE(canvas) << canvas.error().message;
  return canvas ? *canvas : Canvas{};
}

CanvasNode node(std::string id, std::string type, std::string label, double x = 0, double y = 0) {
  CanvasNode n;
  n.id = std::move(id);
  n.type = std::move(type);
  n.label = std::move(label);
  n.position = {x, y};
  return n;
}

CanvasEdge edge(std::string id, std::string source, std::string target, std::string type = "") {
  return CanvasEdge{std::move(id), std::move(source), std::move(target), std::move(type)};
}

const std::string kHostileLabel =
    "Say \"hi\" <b>bold?</b> & it's \\n not a break\nline2\r\nline3 \xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 "
    "\xf0\x9f\x9a\x80 --strike-- **bold** http://x __u__ ~~w~~ [[link]] <U+0041>";

// Built by hand, so it holds what canvasFromJson would refuse.
Canvas hostileCanvas() {
  Canvas c;
  c.nodes = {
      node("api-gateway", "gateway", kHostileLabel, 10.5, -20),
      node("api.gateway", "service", ""),                        // sanitises like api-gateway
      node("api_gateway", "database", "DB\tone"),                // and this one is already that
      node("api_gateway_2", "cache", "taken suffix"),            // the suffix the first collision would take
      node("end", "queue", "keyword id"),                        // a PlantUML keyword
      node("NODE", "load_balancer", "keyword in capitals"),
      node("n_node", "frontend", "prefixed keyword, taken"),
      node("1st", "monitoring", "leading digit"),
      node("x\"<&>'y", "weird type!", "quote 'n' <tag>"),         // type no stereotype can hold
      node("ctl\x01", "cdn", "control \x01\x02 char"),           // XML 1.0 cannot hold \x01
      node("ctl", "storage", "bad utf8 \xff\xc3 end"),
      node("\xe7\x8c\xab", "search", "\xe7\x8c\xab cat"),         // non-ASCII id
      node("nan", "service", "far away", std::numeric_limits<double>::quiet_NaN(),
           std::numeric_limits<double>::infinity()),
  };
  c.edges = {
      edge("e1", "api-gateway", "api.gateway", "api-call \"quoted\"\nnext <line> & more"),
      edge("e2", "api.gateway", "api_gateway", "reads"),
      edge("e3", "api.gateway", "end", "publishes"),
      edge("e4", "api-gateway", "ghost", "api-call"),  // target is missing: skipped
      edge("e5", "ghost", "end", ""),                  // source is missing: skipped
      edge("", "NODE", "n_node", ""),                  // no id
      edge("", "1st", "x\"<&>'y", "watches"),
      edge("e1", "ctl\x01", "ctl", "duplicate id"),
      edge("e8", "\xe7\x8c\xab", "\xe7\x8c\xab", "self"),
      edge("e9", "nan", "api_gateway_2", "--"),
  };
  return c;
}

// ---- PlantUML ---------------------------------------------------------------

// What a PlantUML label shows: <U+XXXX> and "\n" decoded.
std::string decodePlantuml(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "<U+") == 0) {
      const auto close = text.find('>', i);
      const auto cp = std::stoul(text.substr(i + 3, close - i - 3), nullptr, 16);
      EXPECT_LT(cp, 0x80u) << "only ASCII is escaped";
      out += static_cast<char>(cp);
      i = close + 1;
    } else if (text.compare(i, 2, "\\n") == 0) {
      out += '\n';
      i += 2;
    } else {
      out += text[i++];
    }
  }
  return out;
}

struct PlantumlDiagram {
  std::vector<std::string> aliases;  // in declaration order
  std::map<std::string, std::string> shapes, labels, stereotypes;
  struct Arrow {
    std::string from, arrow, to, label;
  };
  std::vector<Arrow> arrows;
};

// Reads plantuml() output back, failing the test on any line it does not
// expect, an alias used before its declaration, or one declared twice.
PlantumlDiagram parsePlantuml(const std::string& text) {
  static const std::regex kElement(
      R"re(^(database|storage|collections|queue|node|cloud|rectangle|component) "([^"\\<&\r\n]*(?:\\n[^"\\<&\r\n]*|<U\+[0-9A-F]{4}>[^"\\<&\r\n]*)*)" as ([A-Za-z_][A-Za-z0-9_]*)(?: <<([A-Za-z0-9_]+)>>)?$)re");
  static const std::regex kArrow(
      R"re(^([A-Za-z_][A-Za-z0-9_]*) (-->|\.\.>) ([A-Za-z_][A-Za-z0-9_]*)(?: : ([^"\\<&\r\n]*(?:(?:\\n|<U\+[0-9A-F]{4}>)[^"\\<&\r\n]*)*))?$)re");
  PlantumlDiagram d;
  EXPECT_TRUE(text.starts_with("@startuml\n")) << text;
  EXPECT_TRUE(text.ends_with("\n@enduml\n")) << text;
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> lowerAliases;
  bool arrows = false;
  while (std::getline(lines, line)) {
    if (line == "@startuml" || line == "@enduml") continue;
    std::smatch m;
    if (std::regex_match(line, m, kElement)) {
      EXPECT_FALSE(arrows) << "element after the arrows: " << line;
      const std::string alias = m[3];
      std::string lower = alias;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_TRUE(lowerAliases.insert(lower).second) << "alias declared twice (ignoring case): " << alias;
      d.aliases.push_back(alias);
      d.shapes[alias] = m[1];
      d.labels[alias] = decodePlantuml(m[2]);
      d.stereotypes[alias] = m[4];
    } else if (std::regex_match(line, m, kArrow)) {
      arrows = true;
      EXPECT_TRUE(d.shapes.count(m[1])) << "undeclared alias in " << line;
      EXPECT_TRUE(d.shapes.count(m[3])) << "undeclared alias in " << line;
      d.arrows.push_back({m[1], m[2], m[3], decodePlantuml(m[4])});
    } else {
      ADD_FAILURE() << "unexpected PlantUML line: " << line;
    }
  }
  return d;
}

TEST(CodegenPlantuml, ExampleCanvasHasOneElementPerNodeAndOneArrowPerEdge) {
  const Canvas canvas = exampleCanvas();
  ASSERT_FALSE(canvas.empty());
  const std::string text = plantuml(canvas);
  const auto d = parsePlantuml(text);
  ASSERT_EQ(d.aliases.size(), canvas.nodes.size()) << text;
  for (std::size_t i = 0; i < canvas.nodes.size(); ++i) {
    EXPECT_EQ(d.labels.at(d.aliases[i]), canvas.nodes[i].label);
    EXPECT_EQ(d.stereotypes.at(d.aliases[i]), canvas.nodes[i].type);
  }
  EXPECT_EQ(d.shapes.at("users_db"), "database");
  EXPECT_EQ(d.shapes.at("api_gateway"), "node");
  EXPECT_EQ(d.shapes.at("web_frontend"), "rectangle");
  EXPECT_EQ(d.shapes.at("auth_service"), "component");
  ASSERT_EQ(d.arrows.size(), canvas.edges.size()) << text;
  EXPECT_EQ(d.arrows[0].from, "web_frontend");
  EXPECT_EQ(d.arrows[0].to, "api_gateway");
  EXPECT_EQ(d.arrows[0].label, "api-call");
  EXPECT_NE(text.find("database \"Users DB (MySQL)\" as users_db <<database>>\n"), std::string::npos) << text;
}

TEST(CodegenPlantuml, HostileCanvasIsEscapedWithUniqueAliasesAndNoDanglingArrows) {
  const Canvas canvas = hostileCanvas();
  const std::string text = plantuml(canvas);
  const auto d = parsePlantuml(text);
  ASSERT_EQ(d.aliases.size(), canvas.nodes.size()) << text;
  EXPECT_EQ(d.aliases, (std::vector<std::string>{"api_gateway", "api_gateway_2", "api_gateway_3", "api_gateway_2_2",
                                                 "n_end", "n_NODE", "n_node_2", "n_1st", "x_____y", "ctl_", "ctl",
                                                 "___", "nan"}))
      << text;

  // Labels read back as written, except what PlantUML cannot show: a line
  // break is one, whatever its spelling; other controls and bad bytes are
  // a space and U+FFFD.
  std::string expected = kHostileLabel;
  expected.replace(expected.find("\r\n"), 2, "\n");
  EXPECT_EQ(d.labels.at("api_gateway"), expected);
  EXPECT_EQ(d.labels.at("api_gateway_2"), "api.gateway");  // no label: the id
  EXPECT_EQ(d.labels.at("api_gateway_3"), "DB one");
  EXPECT_EQ(d.labels.at("ctl_"), "control    char");
  EXPECT_EQ(d.labels.at("ctl"), "bad utf8 \xef\xbf\xbd\xef\xbf\xbd end");
  EXPECT_EQ(d.labels.at("___"), "\xe7\x8c\xab cat");
  EXPECT_EQ(d.stereotypes.at("x_____y"), "") << "a type with punctuation gets no stereotype";
  EXPECT_EQ(d.shapes.at("api_gateway_3"), "database");
  EXPECT_EQ(d.shapes.at("api_gateway_2_2"), "collections");
  EXPECT_EQ(d.shapes.at("n_end"), "queue");

  // No pair of creole markup characters is left to toggle styling.
  const std::string first = text.substr(text.find('\n') + 1, text.find('\n', text.find('\n') + 1) - text.find('\n') - 1);
  ASSERT_TRUE(first.starts_with("node \"Say <U+0022>hi<U+0022> <U+003C>b>bold?")) << first;
  EXPECT_EQ(first.find('~'), std::string::npos) << first;
  for (const char* pair : {"--", "**", "//", "__", "[[", "]]"}) {
    EXPECT_EQ(first.find(pair), std::string::npos) << pair << " in " << first;
  }

  // Edges to or from a missing node are left out; the rest keep their order.
  ASSERT_EQ(d.arrows.size(), 8u) << text;
  EXPECT_EQ(d.arrows[0].from, "api_gateway");
  EXPECT_EQ(d.arrows[0].to, "api_gateway_2");
  EXPECT_EQ(d.arrows[0].label, "api-call \"quoted\"\nnext <line> & more");
  EXPECT_EQ(d.arrows[2].arrow, "..>");  // publishes
  EXPECT_EQ(d.arrows[3].label, "");
  EXPECT_EQ(d.arrows[7].label, "--");
  EXPECT_EQ(text.find("ghost"), std::string::npos);

  EXPECT_EQ(text, plantuml(canvas)) << "deterministic";
}

// The real tool, when installed (Debian: plantuml and graphviz; not part of
// scripts/setup): renders without error, and the SVG shows the labels as
// plain text, without creole or HTML styling.
TEST(CodegenPlantuml, RendersWithPlantumlWhenInstalled) {
  if (!test::haveProgram("plantuml") || !test::haveProgram("dot")) GTEST_SKIP() << "plantuml or dot not installed";
  test::TempDir dir("plantuml");
  test::writeFile(dir.path() / "hostile.puml", plantuml(hostileCanvas()));
  test::writeFile(dir.path() / "example.puml", plantuml(exampleCanvas()));
  auto r = test::run("cd " + test::shellQuote(dir.path().string()) +
                         " && plantuml -charset UTF-8 -failfast2 -tsvg hostile.puml example.puml",
                     dir.path());
  ASSERT_EQ(r.exitCode, 0) << r.output;
  const std::string svg = test::readFile(dir.path() / "hostile.svg");
  // Stereotypes are italic; label text has no styling at all.
  static const std::regex kText("<text([^>]*)>([^<]*)</text>");
  int texts = 0;
  for (std::sregex_iterator it(svg.begin(), svg.end(), kText), end; it != end; ++it, ++texts) {
    const std::string attributes = (*it)[1], content = (*it)[2];
    if (content.starts_with("\xc2\xab")) continue;  // «stereotype»
    for (const char* styling : {"font-style", "font-weight", "text-decoration"}) {
      EXPECT_EQ(attributes.find(styling), std::string::npos) << styling << " on " << content;
    }
  }
  EXPECT_GT(texts, 20);
  EXPECT_NE(svg.find(">Say \"hi\" &lt;b&gt;bold?&lt;/b&gt; &amp; it's \\n not a break<"), std::string::npos) << svg;
  EXPECT_NE(svg.find(" --strike-- **bold** http://x __u__ ~~w~~ [[link]] &lt;U+0041&gt;<"), std::string::npos) << svg;
  EXPECT_NE(svg.find("\xf0\x9f\x9a\x80"), std::string::npos);
  EXPECT_NE(test::readFile(dir.path() / "example.svg").find("Users DB (MySQL)"), std::string::npos);
}

// ---- draw.io ----------------------------------------------------------------

struct DrawioCell {
  std::string id, value, style, parent, source, target;
  bool vertex = false, edge = false;
  pt::ptree geometry;
};

// Parses drawio() output with Boost.PropertyTree and checks the file's frame:
// mxfile > diagram > mxGraphModel > root, cells "0" and "1" first, unique ids,
// every cell but "0" parented, every vertex with a geometry, and every edge
// joining two vertices. Returns the cells after "0" and "1".
std::vector<DrawioCell> parseDrawio(const std::string& xml) {
  pt::ptree tree;
  std::istringstream in(xml);
  try {
    pt::read_xml(in, tree);
  } catch (const pt::xml_parser_error& e) {
    ADD_FAILURE() << e.what() << "\n" << xml;
    return {};
  }
  const auto& diagram = tree.get_child("mxfile.diagram");
  EXPECT_EQ(diagram.get<std::string>("<xmlattr>.name", ""), "Architecture");
  const auto& root = diagram.get_child("mxGraphModel.root");
  std::vector<DrawioCell> cells;
  std::set<std::string> ids, vertices;
  for (const auto& [tag, child] : root) {
    EXPECT_EQ(tag, "mxCell");
    DrawioCell c;
    c.id = child.get<std::string>("<xmlattr>.id", "");
    c.value = child.get<std::string>("<xmlattr>.value", "");
    c.style = child.get<std::string>("<xmlattr>.style", "");
    c.parent = child.get<std::string>("<xmlattr>.parent", "");
    c.source = child.get<std::string>("<xmlattr>.source", "");
    c.target = child.get<std::string>("<xmlattr>.target", "");
    c.vertex = child.get<std::string>("<xmlattr>.vertex", "") == "1";
    c.edge = child.get<std::string>("<xmlattr>.edge", "") == "1";
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate cell id " << c.id;
    if (c.id == "0" || c.id == "1") {
      EXPECT_EQ(c.parent, c.id == "1" ? "0" : "");
      continue;
    }
    EXPECT_EQ(c.parent, "1") << c.id;
    EXPECT_NE(c.vertex, c.edge) << c.id;
    auto geometry = child.get_child_optional("mxGeometry");
    EXPECT_TRUE(geometry) << c.id;
    if (geometry) {
      c.geometry = *geometry;
      EXPECT_EQ(c.geometry.get<std::string>("<xmlattr>.as", ""), "geometry");
    }
    if (c.vertex) {
      vertices.insert(c.id);
      EXPECT_EQ(c.geometry.get<double>("<xmlattr>.width", 0), kDrawioNodeWidth);
      EXPECT_EQ(c.geometry.get<double>("<xmlattr>.height", 0), kDrawioNodeHeight);
    } else {
      EXPECT_EQ(c.geometry.get<std::string>("<xmlattr>.relative", ""), "1");
      EXPECT_TRUE(vertices.count(c.source)) << "edge " << c.id << " from a missing vertex " << c.source;
      EXPECT_TRUE(vertices.count(c.target)) << "edge " << c.id << " to a missing vertex " << c.target;
    }
    cells.push_back(std::move(c));
  }
  EXPECT_TRUE(ids.count("0") && ids.count("1"));
  return cells;
}

// Runs xmllint on `xml` with `args` ("--noout", "--xpath ..."), from a temp file.
test::CommandResult xmllint(const std::string& xml, const std::string& args) {
  test::TempDir dir("drawio");
  const auto file = dir.path() / "diagram.drawio";
  test::writeFile(file, xml);
  return test::run("xmllint " + args + " " + test::shellQuote(file.string()), dir.path());
}

TEST(CodegenDrawio, ExampleCanvasIsWellFormedWithOneVertexPerNode) {
  ASSERT_TRUE(test::haveProgram("xmllint")) << "xmllint is needed to check draw.io XML (Debian: libxml2-utils)";
  const Canvas canvas = exampleCanvas();
  ASSERT_FALSE(canvas.empty());
  const std::string xml = drawio(canvas);
  auto lint = xmllint(xml, "--noout");
  EXPECT_EQ(lint.exitCode, 0) << lint.output << xml;

  const auto cells = parseDrawio(xml);
  ASSERT_EQ(cells.size(), canvas.nodes.size() + canvas.edges.size()) << xml;
  for (std::size_t i = 0; i < canvas.nodes.size(); ++i) {
    const auto& n = canvas.nodes[i];
    const auto& c = cells[i];
    ASSERT_TRUE(c.vertex) << c.id;
    EXPECT_EQ(c.id, "n:" + n.id);
    EXPECT_EQ(c.value, n.label);
    EXPECT_EQ(c.geometry.get<double>("<xmlattr>.x", -1), n.position.x) << n.id;
    EXPECT_EQ(c.geometry.get<double>("<xmlattr>.y", -1), n.position.y) << n.id;
    if (n.type == "database") {
      EXPECT_NE(c.style.find("shape=cylinder3;"), std::string::npos) << c.style;
    }
    if (n.type == "service") {
      EXPECT_NE(c.style.find("rounded=1;"), std::string::npos) << c.style;
    }
  }
  // One fill colour per node type.
  std::map<std::string, std::set<std::string>> fills;
  for (std::size_t i = 0; i < canvas.nodes.size(); ++i) {
    const auto& style = cells[i].style;
    const auto at = style.find("fillColor=");
    ASSERT_NE(at, std::string::npos) << style;
    fills[style.substr(at, style.find(';', at) - at)].insert(canvas.nodes[i].type);
  }
  for (const auto& [fill, types] : fills) EXPECT_EQ(types.size(), 1u) << fill;
  for (std::size_t i = 0; i < canvas.edges.size(); ++i) {
    const auto& e = canvas.edges[i];
    const auto& c = cells[canvas.nodes.size() + i];
    ASSERT_TRUE(c.edge) << c.id;
    EXPECT_EQ(c.id, "e:" + e.id);
    EXPECT_EQ(c.source, "n:" + e.source);
    EXPECT_EQ(c.target, "n:" + e.target);
    EXPECT_EQ(c.value, e.type);
  }
}

TEST(CodegenDrawio, HostileCanvasIsEscapedWithUniqueIdsAndNoDanglingEdges) {
  ASSERT_TRUE(test::haveProgram("xmllint")) << "xmllint is needed to check draw.io XML (Debian: libxml2-utils)";
  const Canvas canvas = hostileCanvas();
  const std::string xml = drawio(canvas);
  auto lint = xmllint(xml, "--noout");
  ASSERT_EQ(lint.exitCode, 0) << lint.output << xml;

  const auto cells = parseDrawio(xml);
  std::vector<std::string> vertexIds, edgeIds;
  for (const auto& c : cells) (c.vertex ? vertexIds : edgeIds).push_back(c.id);
  EXPECT_EQ(vertexIds,
            (std::vector<std::string>{"n:api-gateway", "n:api.gateway", "n:api_gateway", "n:api_gateway_2", "n:end",
                                      "n:NODE", "n:n_node", "n:1st", "n:x\"<&>'y", "n:ctl", "n:ctl#2",
                                      "n:\xe7\x8c\xab", "n:nan"}));
  // e4 and e5 name a missing node; the two edges without id get their index.
  EXPECT_EQ(edgeIds, (std::vector<std::string>{"e:e1", "e:e2", "e:e3", "e:5", "e:6", "e:e1#2", "e:e8", "e:e9"}));
  EXPECT_EQ(xml.find("ghost"), std::string::npos);

  std::map<std::string, const DrawioCell*> byId;
  for (const auto& c : cells) byId[c.id] = &c;
  EXPECT_EQ(byId.at("n:api-gateway")->value, kHostileLabel);
  EXPECT_EQ(byId.at("n:api.gateway")->value, "api.gateway");
  EXPECT_EQ(byId.at("n:api_gateway")->value, "DB\tone");
  EXPECT_EQ(byId.at("n:ctl")->value, "control  char");
  EXPECT_EQ(byId.at("n:ctl#2")->value, "bad utf8 \xef\xbf\xbd\xef\xbf\xbd end");
  EXPECT_EQ(byId.at("e:e1")->value, "api-call \"quoted\"\nnext <line> & more");
  EXPECT_EQ(byId.at("e:e1")->target, "n:api.gateway");
  EXPECT_EQ(byId.at("e:e1#2")->source, "n:ctl");
  EXPECT_EQ(byId.at("e:e1#2")->target, "n:ctl#2");
  EXPECT_NE(byId.at("e:e3")->style.find("dashed=1;"), std::string::npos);
  EXPECT_EQ(byId.at("n:nan")->geometry.get<std::string>("<xmlattr>.x"), "0");
  EXPECT_EQ(byId.at("n:api-gateway")->geometry.get<std::string>("<xmlattr>.x"), "10.5");
  EXPECT_EQ(byId.at("n:api-gateway")->geometry.get<std::string>("<xmlattr>.y"), "-20");

  // libxml2 normalises raw line breaks and tabs in attributes to spaces; the
  // label must come back from it intact, so they are character references.
  auto value = xmllint(xml, "--xpath 'string(//mxCell[@vertex=\"1\"][1]/@value)'");
  EXPECT_EQ(value.exitCode, 0) << value.output;
  EXPECT_EQ(value.output, kHostileLabel + "\n");  // xmllint ends the string with a line break
  auto tab = xmllint(xml, "--xpath 'string(//mxCell[@vertex=\"1\"][3]/@value)'");
  EXPECT_EQ(tab.output, "DB\tone\n");

  EXPECT_EQ(xml, drawio(canvas)) << "deterministic";
}

TEST(CodegenDrawio, EmptyCanvasHasOnlyTheTwoRootCells) {
  const std::string xml = drawio(Canvas{});
  EXPECT_TRUE(parseDrawio(xml).empty()) << xml;
  EXPECT_NE(xml.find("<mxCell id=\"0\"/>\n        <mxCell id=\"1\" parent=\"0\"/>"), std::string::npos) << xml;
  EXPECT_EQ(plantuml(Canvas{}), "@startuml\n@enduml\n");
}

}  // namespace
}  // namespace ymy::codegen
