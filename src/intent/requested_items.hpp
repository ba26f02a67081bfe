#pragma once
// What a piece of text asks for, in catalog terms: the components it names in
// order of mention, those it rules out ("without chat"), the domain it is
// about, and list items the catalog does not know ("with loyalty points and
// gift cards" -> feature "loyalty points" when no component claims it).
// Used on requests by the analyzer and on task prompts by the agents, so an
// edited prompt changes what an agent builds.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "intent/catalog_matcher.hpp"
#include "intent/text.hpp"
#include "model/catalog.hpp"

namespace ymy::intent {

struct RequestedItems {
  std::vector<std::pair<std::size_t, std::string>> components;  // (token position, catalog id), not excluded
  std::vector<std::string> excluded;
  std::vector<std::string> features;  // at most 6, each at most 3 words
  const Domain* domain = nullptr;
  std::vector<bool> covered;          // tokens inside a catalog mention
  std::vector<Mention> mentions;      // every catalog mention, in order (what `matcher.find` gave)
};

// `honourNegation`: "without X" excludes X (off for removals, where "no longer
// need X" names X). `collectFeatures`: gather unknown list items.
RequestedItems findRequestedItems(const std::vector<Token>& tokens, const CatalogMatcher& matcher,
                                  const Catalog& catalog, bool honourNegation, bool collectFeatures);

// Convenience for prompts: the catalog ids and unknown features `text` names.
RequestedItems findRequestedItems(std::string_view text, const CatalogMatcher& matcher, const Catalog& catalog);

// Word classes shared by the analyzer's target naming.
bool isStopword(std::string_view word);
bool isSystemNoun(std::string_view word);  // platform, app, system, service, ...
bool isBuildVerb(std::string_view word);
bool isDeterminer(std::string_view word);

}  // namespace ymy::intent
