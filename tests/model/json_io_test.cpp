#include "model/json_io.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ymy::json {
namespace {

TEST(JsonIo, ParseErrorNamesLineAndColumn) {
  auto r = parse("{\n  \"a\": 1,\n  \"b\": }", "test doc");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("test doc: invalid JSON at line 3"), std::string::npos) << r.error().message;
}

TEST(JsonIo, TrailingGarbageIsAnError) {
  auto r = parse("{} {}", "doc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(JsonIo, InvalidUtf8IsAnError) {
  auto r = parse("\"\xff\xfe\"", "doc");
  EXPECT_FALSE(r);
}

TEST(JsonIo, ANumberBeyondADoublesRangeIsAnErrorNamingWhere) {
  auto v = json::parse(R"({"canvas":{"nodes":[{"config":{"replicas":1e309}}]}})", "request body");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message,
            "request body: canvas.nodes[0].config.replicas: a number too large to represent (at most about 1.8e308)");
  EXPECT_FALSE(json::parse("[1, -1e400]", "x"));
  EXPECT_TRUE(json::parse("[1.7e308, 1e-400]", "x"));  // an underflow is 0, which is fine
}

TEST(JsonIo, ReaderErrorsNameThePath) {
  auto v = parse(R"({"nodes":[{"id":"a"},{"id":7}]})", "doc");
  ASSERT_TRUE(v);
  auto r = guarded([&] {
    Reader root(*v, "canvas");
    for (const auto& n : root.at("nodes").items()) n.at("id").str();
    return 0;
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "canvas.nodes[1].id: expected a string, got a number");
}

TEST(JsonIo, MissingFieldIsNamed) {
  auto v = parse(R"({"a":{}})", "doc");
  auto r = guarded([&] { return Reader(*v, "x").at("a").at("b").str(); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "x.a.b: required field is missing");
}

TEST(JsonIo, ParseFileReportsMissingAndOversizedFiles) {
  auto missing = parseFile("/nonexistent/file.json", "canvas file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto path = std::filesystem::temp_directory_path() / "ymy_json_io_big.json";
  {
    std::ofstream out(path);
    out << "[" << std::string(2000, ' ') << "]";
  }
  auto big = parseFile(path, "canvas file", 100);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("the limit is 100"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(JsonIo, PrettyKeepsValuesAndParsesBack) {
  auto v = parse(R"({"a":[1,2],"b":{"c":"d","e":[{"f":true}]},"g":{}})", "doc");
  auto text = pretty(*v);
  auto back = parse(text, "pretty");
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *v);
  EXPECT_NE(text.find("\n  \"a\": [1,2]"), std::string::npos) << text;
}

}  // namespace
}  // namespace ymy::json
