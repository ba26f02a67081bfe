#include "model/canvas.hpp"

#include <gtest/gtest.h>

#include "model/json_io.hpp"

namespace ymy {
namespace {

Result<Canvas> parseCanvas(const char* text) {
  auto v = json::parse(text, "test");
  EXPECT_TRUE(v) << v.error().message;
  return canvasFromJson(*v);
}

TEST(Canvas, RoundTrips) {
  auto c = parseCanvas(R"({"nodes":[
      {"id":"auth-service","type":"service","label":"Auth","position":{"x":1,"y":2},"config":{"instances":1}},
      {"id":"db","type":"database"}],
    "edges":[{"id":"e1","source":"auth-service","target":"db","type":"reads"}]})");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->nodes.size(), 2u);
  EXPECT_EQ(c->nodes[1].label, "db");  // label defaults to the id
  EXPECT_EQ(c->nodes[0].config.at("instances").as_int64(), 1);
  auto again = canvasFromJson(toJson(*c));
  ASSERT_TRUE(again);
  EXPECT_EQ(toJson(*again), toJson(*c));
  EXPECT_NE(c->findNode("db"), nullptr);
  EXPECT_EQ(c->findNode("nope"), nullptr);
}

TEST(Canvas, EmptyObjectIsAnEmptyCanvas) {
  auto c = parseCanvas("{}");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->empty());
}

TEST(Canvas, RejectsWrongShapesWithFieldPaths) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const auto& [text, message] : std::vector<Case>{
           {R"([])", "canvas: expected an object, got an array"},
           {R"({"nodes":{}})", "canvas.nodes: expected an array, got an object"},
           {R"({"nodes":[{"type":"service"}]})", "canvas.nodes[0].id: required field is missing"},
           {R"({"nodes":[{"id":"","type":"service"}]})", "canvas.nodes[0].id: must not be empty"},
           {R"({"nodes":[{"id":"a","type":"service"},{"id":"a","type":"db"}]})",
            "canvas.nodes[1].id: duplicate node id 'a'"},
           {R"({"nodes":[{"id":"a","type":"service","position":{"x":"1","y":2}}]})",
            "canvas.nodes[0].position.x: expected a number, got a string"},
           {R"({"nodes":[{"id":"a","type":"service"}],"edges":[{"source":"a","target":"b"}]})",
            "canvas.edges[0].target: unknown node 'b'"},
           {R"({"nodes":[{"id":"a","type":"service","config":[1]}]})",
            "canvas.nodes[0].config: expected an object, got an array"},
           {R"({"nodez":[{"id":"a","type":"service"}]})",
            "canvas: unknown member 'nodez' (a canvas has 'nodes' and 'edges')"},
           {R"({"nodes":[{"id":"../../tmp/evil","type":"service"}]})",
            "canvas.nodes[0].id: '../../tmp/evil' may not contain '/', '\\' or control characters, nor be '.' or '..'"},
           {R"({"nodes":[{"id":"..","type":"service"}]})",
            "canvas.nodes[0].id: '..' may not contain '/', '\\' or control characters, nor be '.' or '..'"},
           {R"({"nodes":[{"id":"a","type":""}]})", "canvas.nodes[0].type: must not be empty"},
           {R"({"nodes":[{"id":"a","type":"s"},{"id":"b","type":"s"}],"edges":[{"id":"x","source":"a","target":"b"},)"
            R"({"id":"x","source":"b","target":"a"}]})",
            "canvas.edges[1].id: duplicate edge id 'x'"},
           {R"({"nodes":[{"id":"a","type":"s"}],"edges":[{"id":"","source":"a","target":"a"}]})",
            "canvas.edges[0].id: must not be empty"},
       }) {
    auto c = parseCanvas(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().message, message);
  }
}

}  // namespace
TEST(Canvas, APatchMayConnectToNodesOfTheCanvasItAppliesTo) {
  auto value = json::parse(R"({"nodes":[{"id":"monitoring","type":"monitoring"}],
                               "edges":[{"source":"monitoring","target":"auth-service","type":"scrapes"}]})",
                           "patch");
  ASSERT_TRUE(value);
  EXPECT_FALSE(canvasFromJson(*value));  // as a whole canvas, the edge dangles
  auto patch = canvasPatchFromJson(*value);
  ASSERT_TRUE(patch) << patch.error().message;
  EXPECT_EQ(patch->edges[0].target, "auth-service");
  auto empty = json::parse(R"({"edges":[{"source":"","target":"x"}]})", "patch");
  EXPECT_FALSE(canvasPatchFromJson(*empty));
}

}  // namespace ymy
