#include "intent/requested_items.hpp"

#include <algorithm>
#include <set>

namespace ymy::intent {

namespace {

using Kind = Token::Kind;

const std::set<std::string, std::less<>> kNegations = {"without", "no", "except", "excluding", "minus", "sans", "skip", "not"};
const std::set<std::string, std::less<>> kDeterminers = {"a", "an", "the", "any", "my", "our", "its"};
const std::set<std::string, std::less<>> kListOpeners = {"with", "including", "include", "featuring", "supporting",
                                                         "plus", "support", "has", "have", "offering", "need", "needs"};
const std::set<std::string, std::less<>> kStopwords = {
    "a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "my", "our", "some", "basic",
    "full", "simple", "complete", "also", "as", "well", "be", "it", "that", "this", "is", "are", "etc",
    "using", "use", "built", "based", "good", "proper", "real", "time", "great", "nice", "all", "their",
    "stuff", "things", "thing", "feature", "features", "support", "ability", "way", "ways", "like",
    "so", "can", "users", "user", "people", "we", "i", "you", "want", "need", "should", "must", "will",
    "scalable", "secure", "modern", "robust", "reliable", "fast", "new", "small", "large", "big", "high",
    "available", "performant", "responsive", "production", "ready", "grade", "enterprise", "cloud", "native",
    "comprehensive", "include", "includes", "including", "relationships", "indexes", "constraints",
};
const std::set<std::string, std::less<>> kSystemNouns = {"platform", "app", "application", "system", "service",
                                                         "backend", "site", "website", "marketplace", "tool",
                                                         "saas", "clone", "portal", "api", "network", "store",
                                                         "engine", "product", "services", "microservice"};
const std::set<std::string, std::less<>> kBuildVerbs = {"build", "create", "design", "architect", "make", "develop",
                                                        "implement", "launch", "spin", "set", "need", "want", "plan",
                                                        "start", "write", "draft", "sketch", "construct", "bootstrap",
                                                        "generate"};

bool negated(const std::vector<Token>& tokens, std::size_t position) {
  if (position >= 1 && kNegations.count(tokens[position - 1].text)) return true;
  return position >= 2 && kDeterminers.count(tokens[position - 1].text) && kNegations.count(tokens[position - 2].text);
}

}  // namespace

bool isStopword(std::string_view w) { return kStopwords.count(w) > 0; }
bool isSystemNoun(std::string_view w) { return kSystemNouns.count(w) > 0; }
bool isBuildVerb(std::string_view w) { return kBuildVerbs.count(w) > 0; }
bool isDeterminer(std::string_view w) { return kDeterminers.count(w) > 0; }

RequestedItems findRequestedItems(const std::vector<Token>& tokens, const CatalogMatcher& matcher,
                                  const Catalog& catalog, bool honourNegation, bool collectFeatures) {
  RequestedItems out;
  out.mentions = matcher.find(tokens);
  const auto& mentions = out.mentions;
  out.covered.assign(tokens.size(), false);
  for (const auto& m : mentions) {
    for (std::size_t k = 0; k < m.length; ++k) out.covered[m.position + k] = true;
  }
  for (const auto& m : mentions) {
    if (m.kind == Mention::Kind::kDomain) {
      if (!out.domain) out.domain = catalog.findDomain(m.id);
      continue;
    }
    // "10 million users" is a count, not the user service.
    if (m.position > 0 && tokens[m.position - 1].kind == Kind::kNumber && m.id == "user") continue;
    if (honourNegation && negated(tokens, m.position)) {
      if (std::find(out.excluded.begin(), out.excluded.end(), m.id) == out.excluded.end()) out.excluded.push_back(m.id);
      continue;
    }
    out.components.emplace_back(m.position, m.id);
  }
  if (!collectFeatures) return out;

  bool inList = false;
  std::vector<std::string> item;
  bool itemCovered = false;
  // "..., in node", "using python and react": the stack to build with, not a feature.
  static const std::set<std::string, std::less<>> kStackWords = {
      "node",  "nodejs", "python", "go",     "golang", "java",   "typescript", "javascript", "rust",   "ruby",
      "php",   "kotlin", "react",  "vue",    "angular", "django", "flask",     "fastapi",    "express", "spring",
      "rails", "dotnet", "csharp", "elixir", "scala",   "svelte", "nextjs",    "laravel"};
  auto flush = [&] {
    const bool stack = !item.empty() && std::all_of(item.begin(), item.end(), [](const std::string& w) {
      return kStackWords.count(w) > 0;
    });
    if (!item.empty() && !itemCovered && !stack && item.size() <= 3) {
      std::string feature;
      for (const auto& w : item) feature += (feature.empty() ? "" : " ") + w;
      if (std::find(out.features.begin(), out.features.end(), feature) == out.features.end()) {
        out.features.push_back(feature);
      }
    }
    item.clear();
    itemCovered = false;
  };
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (t.precededByComma) flush();
    if (kListOpeners.count(t.text)) {
      flush();
      inList = true;
      continue;
    }
    if (!inList) continue;
    if (t.text == "and" || t.text == "or" || t.text == "plus") {
      flush();
      continue;
    }
    if (t.kind != Kind::kWord) {
      itemCovered = true;  // numbers belong to parameters, not features
      continue;
    }
    if (out.covered[i]) itemCovered = true;
    if (!kStopwords.count(t.text) && !kBuildVerbs.count(t.text) && !kSystemNouns.count(t.text)) item.push_back(t.text);
  }
  flush();
  if (out.features.size() > 6) out.features.resize(6);
  return out;
}

RequestedItems findRequestedItems(std::string_view text, const CatalogMatcher& matcher, const Catalog& catalog) {
  return findRequestedItems(tokenize(text), matcher, catalog, true, true);
}

}  // namespace ymy::intent
