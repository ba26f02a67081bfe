#include "cache/canonical.hpp"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <unordered_set>

#include <boost/json/serialize.hpp>

#include "cache/template_vector.hpp"
#include "intent/params.hpp"
#include "intent/requested_items.hpp"

namespace ymy::cache {

namespace {

using intent::Token;
using Kind = Token::Kind;

// Negative verbs and particles, on the token's lower-cased text ("don't" is
// tokenised as "dont"; "turn off", "no longer", "get rid of" are caught by
// "off", "no", "rid").
// clang-format off
const std::unordered_set<std::string_view> kNegationWords = {
    "disable", "disabled", "disables", "disabling", "deactivate", "deactivated", "deactivates", "deactivating",
    "remove", "removed", "removes", "removing", "delete", "deleted", "deletes", "deleting", "drop", "dropped",
    "drops", "dropping", "without", "not", "no", "never", "none", "dont", "doesnt", "didnt", "shouldnt", "wont",
    "cannot", "cant", "exclude", "excluded", "excludes", "excluding", "except", "minus", "sans", "eliminate",
    "eliminating", "decommission", "decommissioning", "retire", "retiring", "kill", "disallow", "avoid", "skip",
    "uninstall", "ditch", "scrap", "deprecate", "deprecating", "stop", "stopped", "stopping", "off", "rid",
    "unsubscribe", "revoke", "strip"
};
// clang-format on

// Which way a quantity should move ("scale out"/"scale in" are handled apart:
// "out" and "in" mean nothing on their own).
// clang-format off
const std::unordered_set<std::string_view> kUpWords = {
    "increase", "increased", "increases", "increasing", "raise", "raised", "raising", "up", "more", "grow",
    "growing", "expand", "expanding", "upscale", "upsize", "boost", "maximize", "maximise", "extend", "lengthen",
    "bigger", "larger", "higher", "longer", "double", "triple"
};
const std::unordered_set<std::string_view> kDownWords = {
    "decrease", "decreased", "decreases", "decreasing", "reduce", "reduced", "reduces", "reducing", "lower",
    "lowering", "down", "less", "fewer", "shrink", "shrinking", "cut", "cutting", "downscale", "downsize",
    "minimize", "minimise", "shorten", "smaller", "shorter", "trim", "halve"
};
// clang-format on

// Words that may follow a component's name without changing what is named
// ("the auth service", "a caching layer").
// clang-format off
const std::unordered_set<std::string_view> kGenericNameWords = {
    "service", "layer", "system", "engine", "server", "cluster", "microservice", "module", "component"
};
// clang-format on

bool sharesStem(std::string_view a, std::string_view b) {
  if (a == b) return true;
  // "caching"/"cache", "authentication"/"auth": a common prefix of four letters
  // covering the shorter word's stem, minus a final 'e'.
  std::string_view shorter = a.size() < b.size() ? a : b;
  std::string_view longer = a.size() < b.size() ? b : a;
  if (shorter.size() > 4 && shorter.back() == 'e') shorter.remove_suffix(1);
  return shorter.size() >= 4 && longer.starts_with(shorter);
}

// The quantity a number token starts, found by asking the parameter extractor
// about the shortest run of words after the number that it reads as one.
struct QuantitySpan {
  ParamKind kind;
  std::size_t end;  // one past the last token of the quantity
};

std::optional<ParamKind> onlyKind(const Params& p) {
  if (p.rps) return ParamKind::kRps;
  if (p.latencyMs) return ParamKind::kLatency;
  if (p.users) return ParamKind::kUsers;
  if (p.connections) return ParamKind::kConnections;
  if (p.availability) return ParamKind::kAvailability;
  if (p.percentile) return ParamKind::kPercentile;
  return std::nullopt;
}

std::optional<QuantitySpan> quantityAt(const std::vector<Token>& tokens, std::size_t i) {
  // Up to five words of context before the number ("p99 under 2 seconds",
  // "throughput of 5000"); other numbers there are turned into plain words so
  // the extractor can only read the number at i.
  std::vector<Token> window;
  const std::size_t from = i >= 5 ? i - 5 : 0;
  for (std::size_t k = from; k < i; ++k) {
    Token t = tokens[k];
    if (t.kind != Kind::kWord) {
      t.kind = Kind::kWord;
      t.stem = t.text;
      t.percentSign = false;
    }
    window.push_back(std::move(t));
  }
  window.push_back(tokens[i]);
  const std::size_t last = std::min(tokens.size(), i + 7);
  for (std::size_t end = i + 1;; ++end) {
    if (auto kind = onlyKind(intent::extractParams(window))) return QuantitySpan{*kind, end};
    if (end >= last || tokens[end].kind != Kind::kWord) return std::nullopt;
    window.push_back(tokens[end]);
  }
}

std::string_view quantityUnit(ParamKind kind) {
  switch (kind) {
    case ParamKind::kRps:
      return "{n} rps";
    case ParamKind::kLatency:
      return "{n} ms";
    case ParamKind::kUsers:
      return "{n} users";
    case ParamKind::kConnections:
      return "{n} connections";
    case ParamKind::kAvailability:
      return "{n}%";
    case ParamKind::kPercentile:
      return "p{n}";
  }
  return "{n}";
}

std::vector<std::string> sortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

void addStrings(KeyHasher& h, const std::vector<std::string>& values) {
  h.add(static_cast<std::uint64_t>(values.size()));
  for (const auto& v : values) h.add(v);
}

void addNumbers(KeyHasher& h, const std::vector<double>& values) {
  h.add(static_cast<std::uint64_t>(values.size()));
  for (double v : values) h.add(v);
}

void addOptional(KeyHasher& h, const std::optional<double>& value) {
  h.add(static_cast<std::uint64_t>(value.has_value()));
  if (value) h.add(*value);
}

// The frame's fields and the scope, shared by all three keys.
void addFrame(KeyHasher& h, const FrameKey& f, std::string_view engineVersion, std::string_view tenant,
              std::string_view canvasVersion) {
  h.add(kCanonicalVersion).add(engineVersion).add(tenant).add(canvasVersion);
  h.add(intentName(f.intent)).add(f.target);
  addStrings(h, f.components);
  addStrings(h, f.excluded);
  h.add(static_cast<std::uint64_t>(f.negated));
  h.add(static_cast<std::uint64_t>(f.direction));
  addStrings(h, f.mentions);
  addNumbers(h, f.freeNumbers);
  h.add(static_cast<std::uint64_t>(paramKinds(f.params)));
}

// "up to 5000 rps" is a bound ("to 5000 rps"), not a direction.
bool isUpToBound(const std::vector<Token>& tokens, std::size_t i) {
  return tokens[i].text == "up" && i + 2 < tokens.size() && tokens[i + 1].text == "to" &&
         tokens[i + 2].kind == Kind::kNumber;
}

// Negation and direction from the words outside catalog mentions ("sign up"
// is a name, not a direction).
void readPolarity(const std::vector<Token>& tokens, const std::vector<bool>& covered, FrameKey& key) {
  bool up = false, down = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (t.kind != Kind::kWord || covered[i]) continue;
    key.negated = key.negated || kNegationWords.count(t.text) > 0;
    up = up || (kUpWords.count(t.text) > 0 && !isUpToBound(tokens, i));
    down = down || kDownWords.count(t.text) > 0;
    if (i > 0 && tokens[i - 1].stem == "scale") {
      up = up || t.text == "out";
      down = down || t.text == "in";
    }
  }
  key.direction = up && down ? Direction::kBoth : up ? Direction::kUp : down ? Direction::kDown : Direction::kNone;
}

}  // namespace

std::uint8_t paramKinds(const Params& p) {
  std::uint8_t bits = 0;
  if (p.rps) bits |= static_cast<std::uint8_t>(ParamKind::kRps);
  if (p.latencyMs) bits |= static_cast<std::uint8_t>(ParamKind::kLatency);
  if (p.percentile) bits |= static_cast<std::uint8_t>(ParamKind::kPercentile);
  if (p.users) bits |= static_cast<std::uint8_t>(ParamKind::kUsers);
  if (p.connections) bits |= static_cast<std::uint8_t>(ParamKind::kConnections);
  if (p.availability) bits |= static_cast<std::uint8_t>(ParamKind::kAvailability);
  return bits;
}

Canonicalizer::Canonicalizer(const Catalog& catalog) : matcher_(catalog) {
  for (const auto& c : catalog.components()) {
    auto& stems = nameStems_[c.id];
    for (const auto* phrase : {&c.id, &c.name, &c.nodeId}) {
      for (auto& s : intent::phraseStems(*phrase)) {
        if (!kGenericNameWords.count(s)) stems.push_back(std::move(s));
      }
    }
  }
}

std::string Canonicalizer::mentionForm(const intent::Mention& m, const std::vector<Token>& tokens) const {
  if (m.kind == intent::Mention::Kind::kDomain) return m.id;
  static const std::vector<std::string> kNone;
  auto it = nameStems_.find(m.id);
  const auto& nameStems = it == nameStems_.end() ? kNone : it->second;
  bool nameOnly = true;
  std::string words;
  for (std::size_t k = m.position; k < m.position + m.length; ++k) {
    const auto& t = tokens[k];
    const std::string& form = t.kind == Kind::kWord ? t.stem : t.text;
    words += (words.empty() ? "" : " ") + form;
    if (kGenericNameWords.count(form)) continue;
    nameOnly = nameOnly && std::any_of(nameStems.begin(), nameStems.end(),
                                       [&](const std::string& s) { return sharesStem(form, s); });
  }
  return nameOnly ? m.id : words;
}

CanonicalRequest Canonicalizer::canonicalize(std::string_view request, const IntentFrame& frame) const {
  intent::Reading reading;
  reading.tokens = intent::tokenize(request);
  reading.mentions = matcher_.find(reading.tokens);
  return canonicalize(reading, frame);
}

CanonicalRequest Canonicalizer::canonicalize(const intent::Reading& reading, const IntentFrame& frame) const {
  CanonicalRequest out;
  const auto& tokens = reading.tokens;
  const auto& mentions = reading.mentions;

  FrameKey& key = out.frame;
  key.intent = frame.intent;
  key.target = frame.target;
  key.components = sortedUnique(frame.components);
  key.excluded = sortedUnique(frame.excluded);
  key.params = frame.params;
  std::vector<bool> covered(tokens.size(), false);
  for (const auto& m : mentions) {
    for (std::size_t k = 0; k < m.length; ++k) covered[m.position + k] = true;
  }
  readPolarity(tokens, covered, key);
  const bool build = frame.intent == Intent::kBuildFromScratch;

  std::vector<std::string> words;
  std::uint8_t kindsSeen = 0;
  std::size_t nextMention = 0;
  for (std::size_t i = 0; i < tokens.size();) {
    while (nextMention < mentions.size() && mentions[nextMention].position < i) ++nextMention;
    if (nextMention < mentions.size() && mentions[nextMention].position == i) {
      const auto& m = mentions[nextMention];
      // "10 million users": a count, not the user service (as the analyzer reads it).
      const bool countNoun =
          m.kind == intent::Mention::Kind::kComponent && m.id == "user" && i > 0 && tokens[i - 1].kind == Kind::kNumber;
      if (!countNoun) {
        auto form = mentionForm(m, tokens);
        key.mentions.push_back(form);
        words.push_back(std::move(form));
        i += m.length;
        continue;
      }
    }
    const Token& t = tokens[i];
    if (t.kind == Kind::kWord) {
      if (isUpToBound(tokens, i)) {
        ++i;
        continue;
      }
      words.push_back(build && intent::isBuildVerb(t.text) ? std::string("build") : t.stem);
      ++i;
      continue;
    }
    if (t.kind == Kind::kPercentile) {
      words.emplace_back("p{n}");
      out.numbers.push_back(t.value);
      ++i;
      continue;
    }
    out.numbers.push_back(t.value);
    if (auto q = quantityAt(tokens, i)) {
      const auto bit = static_cast<std::uint8_t>(q->kind);
      if (kindsSeen & bit) out.reusableAsTemplate = false;
      kindsSeen |= bit;
      words.emplace_back(quantityUnit(q->kind));
      i = q->end;
      continue;
    }
    key.freeNumbers.push_back(t.value);
    words.emplace_back("{n}");
    ++i;
  }
  for (const auto& w : words) {
    if (!out.maskedTemplate.empty()) out.maskedTemplate += ' ';
    out.maskedTemplate += w;
  }
  out.contentWords = contentWords(out);
  return out;
}

// --- keys ---

std::optional<CacheKey> CacheKey::fromHex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  CacheKey key;
  for (std::size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return std::nullopt;
    std::uint64_t& half = i < 16 ? key.hi : key.lo;
    half = (half << 4) | static_cast<std::uint64_t>(digit);
  }
  return key;
}

std::string CacheKey::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(32, '0');
  for (int i = 0; i < 16; ++i) {
    s[15 - i] = kDigits[(hi >> (4 * i)) & 0xf];
    s[31 - i] = kDigits[(lo >> (4 * i)) & 0xf];
  }
  return s;
}

std::string CacheKey::bytes() const {
  std::string s(16, '\0');
  for (int i = 0; i < 8; ++i) {
    s[7 - i] = static_cast<char>((hi >> (8 * i)) & 0xff);
    s[15 - i] = static_cast<char>((lo >> (8 * i)) & 0xff);
  }
  return s;
}

KeyHasher& KeyHasher::add(std::uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  encoding_.append(bytes, sizeof bytes);
  return *this;
}

KeyHasher& KeyHasher::add(std::string_view s) {
  add(static_cast<std::uint64_t>(s.size()));
  encoding_.append(s);
  return *this;
}

CacheKey KeyHasher::finish() const {
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(encoding_.data()), encoding_.size(),
                     nullptr, 0);
  CacheKey key;
  for (int i = 0; i < 8; ++i) {
    key.hi = (key.hi << 8) | digest[i];
    key.lo = (key.lo << 8) | digest[8 + i];
  }
  return key;
}

KeyHasher& KeyHasher::add(double value) {
  if (value == 0) value = 0;  // -0.0 -> 0.0
  return add(std::bit_cast<std::uint64_t>(value));
}

CacheKey exactKey(const CanonicalRequest& r, const KeyScope& scope) {
  KeyHasher h;
  h.add(std::string_view("exact"));
  addFrame(h, r.frame, scope.engineVersion, scope.tenant, scope.canvasVersion);
  const Params& p = r.frame.params;
  for (const auto* v : {&p.rps, &p.latencyMs, &p.percentile, &p.users, &p.connections, &p.availability}) {
    addOptional(h, *v);
  }
  addNumbers(h, r.numbers);
  h.add(r.maskedTemplate);
  return h.finish();
}

CacheKey templateKey(const CanonicalRequest& r, const KeyScope& scope) {
  KeyHasher h;
  h.add(std::string_view("template"));
  addFrame(h, r.frame, scope.engineVersion, scope.tenant, scope.canvasVersion);
  h.add(r.maskedTemplate);
  return h.finish();
}

CacheKey gateKey(const CanonicalRequest& r, std::string_view engineVersion, std::string_view tenant,
                 std::string_view canvasVersion) {
  KeyHasher h;
  h.add(std::string_view("gate"));
  addFrame(h, r.frame, engineVersion, tenant, canvasVersion);
  addStrings(h, r.contentWords);
  return h.finish();
}

std::string canvasContentHash(const Canvas& canvas) {
  KeyHasher h;
  h.add(std::string_view("canvas"));
  h.add(boost::json::serialize(toJson(canvas)));
  return "c" + h.finish().hex();
}

}  // namespace ymy::cache
