#pragma once
// What L3 compares two masked templates (cache/canonical.hpp) with.
//
// The vector: the template hashed into a fixed number of dimensions (the
// hashing trick) from word unigrams and bigrams (on a light lemma: "scaling"
// and "scale" are one word, as are "optimise", "optimize" and "optimization")
// and character 3..5-grams of each word, then L2-normalised, so an inner
// product is a cosine similarity. Filler words ("the", "to", "please") and
// system nouns ("platform", "app", "design") carry no feature; words of a
// catalog mention weigh half (the gate already requires the same mentions).
// Each feature goes to one dimension with a sign taken from its hash, so
// collisions cancel on average instead of adding similarity.
//
// The content words: the template's words that are neither filler, system
// noun, catalog mention nor quantity, lemmatised, in order ("scale auth to
// {n} rps" -> [scal]; "auth service scaling 5000 RPS" -> [scal]). L3 requires
// them to be equal: the labelled pairs show that one word more, one word
// swapped for another or two words exchanged ("add an index to the orders
// archive table", "replicate the us database to the eu region") score as high
// as true paraphrases (0.86-0.99), so no cosine threshold alone keeps them
// apart.
//
// Deterministic across runs and platforms; thread-safe (no shared state).

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ymy::cache {

struct CanonicalRequest;

inline constexpr std::size_t kTemplateDimensions = 1024;

// Fills `out` (any size > 0) with the normalised vector of the request's
// template. An empty template gives the zero vector.
void templateVector(const CanonicalRequest& request, std::span<float> out);
std::vector<float> templateVector(const CanonicalRequest& request, std::size_t dimensions = kTemplateDimensions);

// Cosine similarity of two requests' template vectors, in [-1, 1].
double templateSimilarity(const CanonicalRequest& a, const CanonicalRequest& b,
                          std::size_t dimensions = kTemplateDimensions);

// The content words of the request's template, lemmatised, in order.
std::vector<std::string> contentWords(const CanonicalRequest& request);

// The light lemma used above: common English suffixes off ("-ing", "-ation",
// "-ize", "-ise", "-ment", "-ed", "-s", a final "e"), "-yze"/"-yse"/"-ysis"
// to "y"; at least three letters stay. Only for comparing words with each
// other; never shown.
std::string lemma(std::string_view word);

}  // namespace ymy::cache
