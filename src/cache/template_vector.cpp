#include "cache/template_vector.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

#include "cache/canonical.hpp"
#include "intent/requested_items.hpp"

namespace ymy::cache {

namespace {

// Feature weights, chosen on data/cache/pairs.tsv (tests/cache/cache_test.cpp
// prints the similarities): lemma unigrams decide, bigrams keep a little word
// order without penalising "auth service scaling" against "scale auth" much,
// and character n-grams (1/sqrt(count) each, so a long word weighs no more
// than a short one) let spelling variants meet half-way.
constexpr float kUnigramWeight = 1.0f;
constexpr float kBigramWeight = 0.25f;
constexpr float kCharGramWeight = 0.6f;
constexpr float kMentionScale = 0.5f;

// clang-format off
const std::set<std::string, std::less<>> kFillerWords = {
    "the", "a", "an", "to", "of", "for", "in", "on", "at", "my", "our", "your", "its", "their", "this", "that",
    "please", "and", "with", "it", "is", "be", "i", "we", "you", "some", "so", "from"
};
// clang-format on
// Nouns that name the whole thing being designed, beyond intent::isSystemNoun.
const std::set<std::string, std::less<>> kDesignNouns = {"design", "architecture", "diagram", "canvas"};
const std::set<std::string, std::less<>> kUnitWords = {"rps", "ms", "users", "connections"};

enum class Role { kFiller, kPlaceholder, kMention, kContent };

struct Word {
  std::string_view text;
  Role role;
};

bool isPlaceholder(std::string_view w) { return w.find('{') != std::string_view::npos; }

std::vector<Word> classify(const CanonicalRequest& request) {
  std::set<std::string, std::less<>> mentionWords;
  for (const auto& m : request.frame.mentions) {
    for (std::size_t i = 0; i < m.size();) {
      std::size_t j = m.find(' ', i);
      if (j == std::string::npos) j = m.size();
      mentionWords.emplace(m.substr(i, j - i));
      i = j + 1;
    }
  }
  std::vector<Word> words;
  std::string_view t = request.maskedTemplate;
  std::string_view previous;
  for (std::size_t i = 0; i < t.size();) {
    std::size_t j = t.find(' ', i);
    if (j == std::string_view::npos) j = t.size();
    const auto w = t.substr(i, j - i);
    i = j + 1;
    if (w.empty()) continue;
    Role role = Role::kContent;
    if (isPlaceholder(w) || (previous == "{n}" && kUnitWords.count(w))) {
      role = Role::kPlaceholder;
    } else if (mentionWords.count(w)) {
      role = Role::kMention;
    } else if (kFillerWords.count(w) || kDesignNouns.count(w) || intent::isSystemNoun(w)) {
      role = Role::kFiller;
    }
    previous = w;
    words.push_back({w, role});
  }
  return words;
}

std::uint64_t fnv1a(std::string_view prefix, std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : prefix) {
    h ^= c;
    h *= 1099511628211ull;
  }
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void addFeature(std::span<float> out, std::string_view prefix, std::string_view feature, float weight) {
  const std::uint64_t h = fnv1a(prefix, feature);
  // The top bit gives the sign, the other bits the slot.
  const float sign = (h >> 63) ? -1.0f : 1.0f;
  out[(h & 0x7fffffffffffffffull) % out.size()] += sign * weight;
}

}  // namespace

std::string lemma(std::string_view word) {
  // No "-er" or "-ly": customer/custom, worker/work, layer/lay are different words.
  static constexpr std::array<std::string_view, 32> kSuffixes = {
      "izations", "ization", "isations", "isation", "ations", "ation", "izing", "ising", "yzing", "ysing", "ings",
      "ing",      "ized",    "ised",     "yzed",    "ysed",   "izes",  "ises",  "yzes",  "yses",  "ize",   "ise",
      "yze",      "yse",     "ysis",     "ions",    "ion",    "ments", "ment",  "ed",    "es",    "s"};
  std::string w(word);
  if (isPlaceholder(w) || w.find('-') != std::string::npos) return w;
  for (auto suffix : kSuffixes) {
    if (w.size() >= suffix.size() + 3 && w.ends_with(suffix)) {
      w.resize(w.size() - suffix.size());
      if (suffix.front() == 'y') w += 'y';
      break;
    }
  }
  if (w.size() > 3 && w.back() == 'e') w.pop_back();
  return w;
}

std::vector<std::string> contentWords(const CanonicalRequest& request) {
  std::vector<std::string> out;
  for (const auto& w : classify(request)) {
    if (w.role == Role::kContent) out.push_back(lemma(w.text));
  }
  return out;
}

void templateVector(const CanonicalRequest& request, std::span<float> out) {
  for (auto& x : out) x = 0;
  if (out.empty()) return;

  std::string previous = "^", bigram, marked;
  for (const auto& w : classify(request)) {
    if (w.role == Role::kFiller) continue;
    const float scale = w.role == Role::kMention ? kMentionScale : 1.0f;
    const std::string l = lemma(w.text);
    addFeature(out, "u:", l, kUnigramWeight * scale);
    bigram.assign(previous).append(" ").append(l);
    addFeature(out, "b:", bigram, kBigramWeight * scale);
    previous = l;
    if (w.role == Role::kPlaceholder) continue;
    marked.assign("^").append(w.text).append("$");
    std::size_t grams = 0;
    for (std::size_t n = 3; n <= 5; ++n) grams += marked.size() >= n ? marked.size() - n + 1 : 0;
    if (grams == 0) continue;
    const float weight = kCharGramWeight * scale / std::sqrt(static_cast<float>(grams));
    for (std::size_t n = 3; n <= 5; ++n) {
      for (std::size_t i = 0; i + n <= marked.size(); ++i) {
        addFeature(out, "c:", std::string_view(marked).substr(i, n), weight);
      }
    }
  }

  double norm = 0;
  for (float x : out) norm += static_cast<double>(x) * x;
  if (norm <= 0) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (auto& x : out) x *= scale;
}

std::vector<float> templateVector(const CanonicalRequest& request, std::size_t dimensions) {
  std::vector<float> v(dimensions);
  templateVector(request, v);
  return v;
}

double templateSimilarity(const CanonicalRequest& a, const CanonicalRequest& b, std::size_t dimensions) {
  auto va = templateVector(a, dimensions);
  auto vb = templateVector(b, dimensions);
  double dot = 0;
  for (std::size_t i = 0; i < dimensions; ++i) dot += static_cast<double>(va[i]) * vb[i];
  return dot;
}

}  // namespace ymy::cache
