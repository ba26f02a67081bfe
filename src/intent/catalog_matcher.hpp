#pragma once
// Finds catalog components and domains mentioned in a request, by synonym
// ("login", "sign-in", "authentication" -> auth), longest phrase first, on
// stemmed tokens so plurals match ("carts", "payments").

#include <string>
#include <unordered_map>
#include <vector>

#include "intent/text.hpp"
#include "model/catalog.hpp"

namespace ymy::intent {

struct Mention {
  enum class Kind { kComponent, kDomain };
  Kind kind;
  std::string id;        // component or domain id
  std::size_t position;  // first token
  std::size_t length;    // tokens covered
};

// What the analyzer (intent/analyzer.hpp) read in a request: its tokens and their catalog
// mentions. Handed on so that later readers of the same text (the cache's
// canonicaliser) do not tokenise and match it again.
struct Reading {
  std::vector<Token> tokens;
  std::vector<Mention> mentions;  // CatalogMatcher::find(tokens), in order
};

class CatalogMatcher {
 public:
  explicit CatalogMatcher(const Catalog& catalog);

  std::vector<Mention> find(const std::vector<Token>& tokens) const;
  // The first component a phrase names ("Orders API" -> order), or "" when none.
  std::string componentOf(std::string_view phrase) const;

  std::size_t maxPhraseLength() const { return maxLength_; }

 private:
  struct Entry {
    Mention::Kind kind;
    std::string id;
  };
  void add(const std::string& phrase, Mention::Kind kind, const std::string& id);

  std::unordered_map<std::string, Entry> phrases_;  // stems joined by ' '
  std::size_t maxLength_ = 1;
};

}  // namespace ymy::intent
