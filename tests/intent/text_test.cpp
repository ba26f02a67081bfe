#include "intent/text.hpp"

#include <gtest/gtest.h>

namespace ymy::intent {
namespace {

std::vector<double> numbers(std::string_view text) {
  std::vector<double> out;
  for (const auto& t : tokenize(text)) {
    if (t.kind == Token::Kind::kNumber) out.push_back(t.value);
  }
  return out;
}

TEST(Tokenize, UnderstandsTheWaysPeopleWriteNumbers) {
  EXPECT_EQ(numbers("5000 RPS"), std::vector<double>{5000});
  EXPECT_EQ(numbers("5k req/s"), std::vector<double>{5000});
  EXPECT_EQ(numbers("5,000 requests"), std::vector<double>{5000});
  EXPECT_EQ(numbers("1,250,000 users"), std::vector<double>{1250000});
  EXPECT_EQ(numbers("1.5M users"), std::vector<double>{1.5e6});
  EXPECT_EQ(numbers("10 million users"), std::vector<double>{1e7});
  EXPECT_EQ(numbers("ten million users"), std::vector<double>{1e7});
  EXPECT_EQ(numbers("a million users"), std::vector<double>{1e6});
  EXPECT_EQ(numbers("2bn events"), std::vector<double>{2e9});
  EXPECT_EQ(numbers("auth, catalog, 3 carts"), std::vector<double>{3});
  // A list comma is not a thousands separator.
  EXPECT_EQ(numbers("1,2,3"), (std::vector<double>{1, 2, 3}));
}

TEST(Tokenize, SplitsUnitsGluedToNumbers) {
  auto t = tokenize("p99 under 200ms");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].kind, Token::Kind::kPercentile);
  EXPECT_EQ(t[0].value, 99);
  EXPECT_EQ(t[2].value, 200);
  EXPECT_EQ(t[3].text, "ms");
}

TEST(Tokenize, LowercasesStemsAndMarksSeparators) {
  auto t = tokenize("Add Payments, Carts and Categories");
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[1].stem, "payment");
  EXPECT_EQ(t[2].stem, "cart");
  EXPECT_TRUE(t[2].precededByComma);
  EXPECT_EQ(t[4].stem, "category");
}

TEST(Tokenize, HyphensAndSlashesSeparateWords) {
  EXPECT_EQ(phraseStems("Sign-In pages"), (std::vector<std::string>{"sign", "in", "page"}));
  EXPECT_EQ(phraseStems("req/s"), (std::vector<std::string>{"req", "s"}));
}

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_FALSE(invalidUtf8Offset("plain ascii"));
  EXPECT_FALSE(invalidUtf8Offset("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"));
  EXPECT_EQ(invalidUtf8Offset("ab\xff"), 2u);
  EXPECT_EQ(invalidUtf8Offset("ab\xc3"), 2u);          // truncated sequence
  EXPECT_EQ(invalidUtf8Offset("\xc0\xaf"), 0u);        // overlong
  EXPECT_EQ(invalidUtf8Offset("x\xed\xa0\x80"), 1u);  // surrogate
}

}  // namespace
}  // namespace ymy::intent
