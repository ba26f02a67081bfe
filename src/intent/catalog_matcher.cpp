#include "intent/catalog_matcher.hpp"

namespace ymy::intent {

namespace {
std::string joinStems(const std::vector<std::string>& stems) {
  std::string key;
  for (const auto& s : stems) key += (key.empty() ? "" : " ") + s;
  return key;
}
}  // namespace

CatalogMatcher::CatalogMatcher(const Catalog& catalog) {
  // Domains first so a component synonym that is also a domain word keeps the
  // component meaning (components are added after and win on conflicts).
  for (const auto& d : catalog.domains()) {
    for (const auto& s : d.synonyms) add(s, Mention::Kind::kDomain, d.id);
  }
  for (const auto& c : catalog.components()) {
    add(c.id, Mention::Kind::kComponent, c.id);
    add(c.name, Mention::Kind::kComponent, c.id);
    add(c.nodeId, Mention::Kind::kComponent, c.id);
    for (const auto& s : c.synonyms) add(s, Mention::Kind::kComponent, c.id);
  }
}

void CatalogMatcher::add(const std::string& phrase, Mention::Kind kind, const std::string& id) {
  auto stems = phraseStems(phrase);
  if (stems.empty()) return;
  maxLength_ = std::max(maxLength_, stems.size());
  auto key = joinStems(stems);
  auto it = phrases_.find(key);
  if (it == phrases_.end() || (it->second.kind == Mention::Kind::kDomain && kind == Mention::Kind::kComponent)) {
    phrases_[key] = Entry{kind, id};
  }
}

std::vector<Mention> CatalogMatcher::find(const std::vector<Token>& tokens) const {
  std::vector<Mention> out;
  std::size_t i = 0;
  while (i < tokens.size()) {
    bool matched = false;
    for (std::size_t len = std::min(maxLength_, tokens.size() - i); len >= 1; --len) {
      std::string key;
      for (std::size_t k = 0; k < len; ++k) {
        const auto& t = tokens[i + k];
        key += (k ? " " : "") + (t.kind == Token::Kind::kWord ? t.stem : t.text);
      }
      auto it = phrases_.find(key);
      if (it != phrases_.end()) {
        out.push_back({it->second.kind, it->second.id, i, len});
        i += len;
        matched = true;
        break;
      }
    }
    if (!matched) ++i;
  }
  return out;
}

std::string CatalogMatcher::componentOf(std::string_view phrase) const {
  for (const auto& m : find(tokenize(phrase))) {
    if (m.kind == Mention::Kind::kComponent) return m.id;
  }
  return "";
}

}  // namespace ymy::intent
