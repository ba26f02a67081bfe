#include "intent/text.hpp"

#include <cctype>
#include <cmath>
#include <unordered_map>

namespace ymy::intent {

namespace {

bool isAsciiAlpha(unsigned char c) { return std::isalpha(c) != 0; }
bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool isWordByte(unsigned char c) { return isAsciiAlpha(c) || isDigit(c) || c >= 0x80; }

// Multiplier suffixes written straight after a number: 5k, 10M, 2bn.
std::optional<double> suffixMultiplier(std::string_view s) {
  if (s == "k" || s == "K") return 1e3;
  if (s == "m" || s == "M" || s == "mm" || s == "mil" || s == "mn") return 1e6;
  if (s == "b" || s == "B" || s == "bn") return 1e9;
  return std::nullopt;
}

const std::unordered_map<std::string, double>& numberWords() {
  static const std::unordered_map<std::string, double> words = {
      {"one", 1},      {"two", 2},        {"three", 3},     {"four", 4},     {"five", 5},
      {"six", 6},      {"seven", 7},      {"eight", 8},     {"nine", 9},     {"ten", 10},
      {"eleven", 11},  {"twelve", 12},    {"fifteen", 15},  {"twenty", 20},  {"thirty", 30},
      {"forty", 40},   {"fifty", 50},     {"sixty", 60},    {"seventy", 70}, {"eighty", 80},
      {"ninety", 90},  {"hundred", 100},  {"dozen", 12},
  };
  return words;
}

const std::unordered_map<std::string, double>& scaleWords() {
  static const std::unordered_map<std::string, double> words = {
      {"hundred", 1e2}, {"thousand", 1e3}, {"k", 1e3},         {"million", 1e6},
      {"millions", 1e6}, {"m", 1e6},       {"billion", 1e9},   {"billions", 1e9},
      {"thousands", 1e3}, {"mil", 1e6},   {"bn", 1e9},
  };
  return words;
}

Token numberToken(std::string text, double value) {
  Token t;
  t.kind = Token::Kind::kNumber;
  t.text = std::move(text);
  t.stem = "<num>";
  t.value = value;
  return t;
}

Token wordToken(std::string text) {
  Token t;
  t.kind = Token::Kind::kWord;
  t.stem = stem(text);
  t.text = std::move(text);
  return t;
}

}  // namespace

std::optional<std::size_t> invalidUtf8Offset(std::string_view text) {
  std::size_t i = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  while (i < text.size()) {
    unsigned char c = s[i];
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > text.size()) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::string stem(std::string_view word) {
  std::string w(word);
  if (w.size() > 4 && w.ends_with("ies")) return w.substr(0, w.size() - 3) + "y";
  if (w.size() > 4 && (w.ends_with("sses") || w.ends_with("shes") || w.ends_with("ches") ||
                       w.ends_with("xes"))) {
    return w.substr(0, w.size() - 2);
  }
  if (w.size() > 3 && w.back() == 's' && w[w.size() - 2] != 's' && w[w.size() - 2] != 'u' &&
      w[w.size() - 2] != 'i') {
    return w.substr(0, w.size() - 1);
  }
  return w;
}

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> raw;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  bool sawSeparator = false;
  while (i < n) {
    unsigned char c = s[i];
    if (c == ',' || c == ';' || c == '.' || c == '!' || c == '?' || c == ':') {
      // A '.' or ',' inside a number is handled by the number branch below.
      sawSeparator = true;
      ++i;
      continue;
    }
    if (isDigit(c) || (c == '.' && i + 1 < n && isDigit(s[i + 1]))) {
      // Number: digits, thousands separators ("5,000"), one decimal point.
      std::string digits;
      std::size_t j = i;
      bool seenDot = false;
      while (j < n) {
        if (isDigit(s[j])) {
          digits += static_cast<char>(s[j]);
          ++j;
        } else if (s[j] == ',' && !seenDot && j + 3 < n && isDigit(s[j + 1]) &&
                   isDigit(s[j + 2]) && isDigit(s[j + 3]) && (j + 4 >= n || !isDigit(s[j + 4]))) {
          ++j;  // thousands separator
        } else if (s[j] == '.' && !seenDot && j + 1 < n && isDigit(s[j + 1])) {
          seenDot = true;
          digits += '.';
          ++j;
        } else {
          break;
        }
      }
      double value = 0;
      try {
        value = std::stod(digits.empty() ? "0" : digits);
      } catch (...) {
        value = 0;
      }
      std::string surface(text.substr(i, j - i));
      // Letters glued to the number: a multiplier ("5k") or a unit ("200ms").
      std::size_t k = j;
      while (k < n && isAsciiAlpha(s[k])) ++k;
      std::string suffix(text.substr(j, k - j));
      Token num = numberToken(surface, value);
      num.precededByComma = sawSeparator;
      sawSeparator = false;
      if (!suffix.empty()) {
        if (auto mult = suffixMultiplier(suffix)) {
          num.value *= *mult;
          num.text += suffix;
          raw.push_back(std::move(num));
        } else {
          raw.push_back(std::move(num));
          std::string lower;
          for (char ch : suffix) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          raw.push_back(wordToken(lower));
        }
        j = k;
      } else {
        raw.push_back(std::move(num));
      }
      if (j < n && s[j] == '%') {
        raw.back().percentSign = true;
        if (raw.back().kind == Token::Kind::kWord && raw.size() >= 2) {
          raw[raw.size() - 2].percentSign = true;
        }
        ++j;
      }
      i = j;
      continue;
    }
    if (isWordByte(c)) {
      std::size_t j = i;
      std::string word;
      while (j < n && (isWordByte(s[j]) || s[j] == '\'')) {
        if (s[j] != '\'') word += static_cast<char>(std::tolower(s[j]));
        ++j;
      }
      // "p99", "p95", "p50": a percentile, not a word.
      if (word.size() >= 2 && word.size() <= 4 && word[0] == 'p' &&
          word.find_first_not_of("0123456789", 1) == std::string::npos) {
        Token t;
        t.kind = Token::Kind::kPercentile;
        t.text = word;
        t.stem = "<pct>";
        t.value = std::stod(word.substr(1));
        t.precededByComma = sawSeparator;
        raw.push_back(std::move(t));
      } else if (!word.empty()) {
        Token t = wordToken(word);
        t.precededByComma = sawSeparator;
        raw.push_back(std::move(t));
      }
      sawSeparator = false;
      i = j;
      continue;
    }
    if (c == '\n') sawSeparator = true;
    ++i;  // whitespace, '-', '/', brackets, other punctuation: token boundaries
  }

  // Fold number words and scale words: "ten million" -> 1e7, "5 thousand" -> 5000,
  // "a million" -> 1e6, "1.5 billion" -> 1.5e9.
  std::vector<Token> out;
  out.reserve(raw.size());
  const auto& nums = numberWords();
  const auto& scales = scaleWords();
  for (std::size_t t = 0; t < raw.size(); ++t) {
    Token tok = raw[t];
    if (tok.kind == Token::Kind::kWord && nums.count(tok.text) && tok.text != "hundred") {
      tok = numberToken(tok.text, nums.at(tok.text));
      tok.precededByComma = raw[t].precededByComma;
    } else if (tok.kind == Token::Kind::kWord && tok.text == "a" && t + 1 < raw.size() &&
               (raw[t + 1].text == "million" || raw[t + 1].text == "billion" ||
                raw[t + 1].text == "thousand" || raw[t + 1].text == "hundred")) {
      tok = numberToken("a", 1);
    }
    if (tok.kind == Token::Kind::kNumber) {
      while (t + 1 < raw.size() && raw[t + 1].kind == Token::Kind::kWord &&
             scales.count(raw[t + 1].text) && !raw[t + 1].precededByComma) {
        tok.value *= scales.at(raw[t + 1].text);
        tok.text += " " + raw[t + 1].text;
        ++t;
      }
    }
    out.push_back(std::move(tok));
  }
  return out;
}

std::vector<std::string> phraseStems(std::string_view phrase) {
  std::vector<std::string> out;
  for (const auto& t : tokenize(phrase)) out.push_back(t.kind == Token::Kind::kWord ? t.stem : t.text);
  return out;
}

}  // namespace ymy::intent
