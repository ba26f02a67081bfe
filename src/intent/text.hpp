#pragma once
// Turning request text into tokens: words (lowercased, lightly stemmed) and
// numbers (with "5k", "5,000", "1.5M", "ten million" understood). Everything
// downstream (classifier features, catalog matching, parameter extraction)
// reads these tokens, so they all agree on what a word is.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ymy::intent {

struct Token {
  enum class Kind { kWord, kNumber, kPercentile };
  Kind kind = Kind::kWord;
  std::string text;  // lowercased surface form ("requests", "5k", "p99")
  std::string stem;  // comparison form: plural 's' stripped ("request"); number tokens: "<num>"
  double value = 0;  // numbers: the value with multipliers applied; percentiles: 99
  bool percentSign = false;  // number written with '%'
  bool precededByComma = false;  // a ',' ';' or '.' separated this token from the previous one
};

// Offset of the first invalid UTF-8 sequence, or nullopt when `text` is valid.
std::optional<std::size_t> invalidUtf8Offset(std::string_view text);

std::vector<Token> tokenize(std::string_view text);

// The light stemmer used for words and for catalog synonyms alike.
std::string stem(std::string_view word);

// Stems of the tokens of `phrase` ("Sign-In pages" -> {"sign", "in", "page"}).
std::vector<std::string> phraseStems(std::string_view phrase);

}  // namespace ymy::intent
