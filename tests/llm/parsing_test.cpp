// The SSE parser and the JSON Schema subset.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "llm/json_schema.hpp"
#include "llm/sse.hpp"

namespace ymy::llm {
namespace {

namespace js = boost::json;

std::vector<SseEvent> parseIn(const std::string& text, std::size_t pieceSize) {
  std::vector<SseEvent> out;
  SseParser parser([&](const SseEvent& e) {
    out.push_back(e);
    return true;
  });
  for (std::size_t at = 0; at < text.size(); at += pieceSize) parser.feed(text.substr(at, pieceSize));
  return out;
}

TEST(Sse, EventsSurviveAnySplitAndAnyLineEnding) {
  const std::string text =
      ": keep-alive\n\ndata: {\"a\":1}\n\nevent: update\ndata: line one\ndata: line two\nid: 7\n\n"
      "data: x\r\n\r\ndata:no-space\r\rdata: [DONE]\n\n";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    auto events = parseIn(text, piece);
    ASSERT_EQ(events.size(), 5u) << piece;
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[1].event, "update");
    EXPECT_EQ(events[1].data, "line one\nline two");
    EXPECT_EQ(events[1].id, "7");
    EXPECT_EQ(events[2].data, "x");
    EXPECT_EQ(events[3].data, "no-space");
    EXPECT_EQ(events[4].data, "[DONE]");
  }
}

TEST(Sse, ACutEventIsPendingAndStoppingStops) {
  int seen = 0;
  SseParser parser([&](const SseEvent&) { return ++seen < 1; });
  EXPECT_TRUE(parser.feed("data: partial"));
  EXPECT_TRUE(parser.midEvent());
  EXPECT_FALSE(parser.feed("\n\ndata: next\n\n"));
  EXPECT_EQ(seen, 1);
}

TEST(JsonSchema, NamesEveryProblemByPath) {
  const auto schema = js::parse(R"({"type":"object","required":["tasks","name"],"additionalProperties":false,
      "properties":{"name":{"type":"string"},"tasks":{"type":"array","minItems":1,"items":{
        "type":"object","required":["id"],"properties":{"id":{"type":"string"},"n":{"type":"integer"},
        "kind":{"enum":["a","b"]},"opt":{"type":["string","null"]}}}}}})");
  EXPECT_TRUE(validateJson(js::parse(R"({"name":"x","tasks":[{"id":"t","n":3,"kind":"a","opt":null}]})"), schema)
                  .empty());
  EXPECT_EQ(validateJson(js::parse(R"({"tasks":[{"n":1.5,"kind":"c"},{"id":4}],"extra":1})"), schema),
            (std::vector<std::string>{"$.name: required field is missing", "$.tasks[0].id: required field is missing",
                                      "$.tasks[0].n: expected integer, got a number",
                                      "$.tasks[0].kind: \"c\" is not one of [\"a\",\"b\"]",
                                      "$.tasks[1].id: expected string, got a number", "$.extra: unexpected field"}));
  EXPECT_EQ(validateJson(js::parse(R"({"name":"x","tasks":[]})"), schema),
            (std::vector<std::string>{"$.tasks: expected at least 1 items, got 0"}));
  EXPECT_EQ(validateJson(js::parse("[1]"), schema), (std::vector<std::string>{"$: expected object, got an array"}));
  EXPECT_EQ(validateJson(js::parse(R"({"a":1.0})"), js::parse(R"({"properties":{"a":{"type":"INTEGER"}}})")).size(),
            0u);
}

}  // namespace
}  // namespace ymy::llm
