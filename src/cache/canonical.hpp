#pragma once
// The canonical form of a request, shared by every cache tier: a masked
// template ("scale auth to {n} rps") and the parts of its IntentFrame that
// decide whether two requests may share an answer, plus the stable keys the
// tiers store answers under.
//
// What the canonicaliser normalises, all with the intent module's own
// machinery (nothing here re-parses numbers or knows synonyms of its own):
//   - words: lower-cased and stemmed by intent::tokenize ("payments" -> "payment");
//   - numbers: "5k", "5,000", "ten thousand" are one number token each; a number
//     the parameter extractor reads as a quantity becomes "{n}" plus its unit
//     ("5k req/s", "5,000 requests per second" -> "{n} rps"; "200ms" -> "{n} ms";
//     "10 million daily active users" -> "{n} users"; "p99" -> "p{n}"); any other
//     number becomes "{n}" and its value is kept (see FrameKey::freeNumbers);
//     "up to <number>" is a bound and reads as "to <number>";
//   - catalog mentions: a mention that only names a component ("auth service",
//     "authentication", "caching layer") becomes the component id ("auth",
//     "cache"); a synonym that says more than the name ("2fa", "password reset",
//     "read replicas", "mysql") stays as its words, because it is what the
//     request is about (see FrameKey::mentions); domain mentions ("online
//     store") become the domain id ("e-commerce");
//   - build verbs of a BUILD_FROM_SCRATCH request ("create", "design", "make")
//     become "build" (intent::isBuildVerb).
//
// Everything here is deterministic and thread-safe after construction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "intent/catalog_matcher.hpp"
#include "intent/text.hpp"
#include "model/canvas.hpp"
#include "model/catalog.hpp"
#include "model/intent_frame.hpp"

namespace ymy::cache {

// Bumped whenever the canonical form, the keys or the template features change:
// keys and saved L3 indexes of another version never match this one.
inline constexpr std::string_view kCanonicalVersion = "canonical-2";

// The kinds of quantity a request can state (IntentFrame::params), as bits.
enum class ParamKind : std::uint8_t {
  kRps = 1,
  kLatency = 2,
  kPercentile = 4,
  kUsers = 8,
  kConnections = 16,
  kAvailability = 32,
};
std::uint8_t paramKinds(const Params& params);

enum class Direction : std::uint8_t { kNone, kUp, kDown, kBoth };

// The parts of a request's meaning that decide reuse.
struct FrameKey {
  Intent intent = Intent::kAnalyze;
  std::string target;
  std::vector<std::string> components;  // sorted, unique
  std::vector<std::string> excluded;    // sorted, unique ("without chat")
  // A negative verb or particle: disable, remove, without, no longer, turn off,
  // stop using, don't, ... Read from the words, not from the intent: the
  // classifier can call both "enable caching" and "disable caching" MODIFY.
  bool negated = false;
  // Which way a quantity should move: "increase", "scale up", "more" vs
  // "reduce", "scale down", "fewer". The classifier gives both the same intent.
  Direction direction = Direction::kNone;
  // Catalog mentions in order of appearance: component ids for mentions that
  // only name a component, the synonym's stems for those that say more
  // ("read replica", "mysql"), domain ids. "from mysql to postgres" and "from
  // postgres to mysql" differ here, not in `components`.
  std::vector<std::string> mentions;
  Params params;
  // Values of the numbers that are not a quantity the extractor understood
  // ("token expiry to 15 minutes"), in order. A template cannot be regenerated
  // with other values for them, so they must be equal for any reuse.
  std::vector<double> freeNumbers;
};

struct CanonicalRequest {
  std::string maskedTemplate;  // canonical tokens joined by single spaces
  FrameKey frame;
  // The template's content words, lemmatised, in order (template_vector.hpp):
  // L3 reuses a template only for the same content words.
  std::vector<std::string> contentWords;
  // Every number in the request, in order (quantities and free numbers):
  // part of the exact key, so no two requests differing in any number share it.
  std::vector<double> numbers;
  // False when a quantity kind is stated twice ("auth to 3000 rps and payments
  // to 5000 rps"): the frame keeps one value per kind, so the template could
  // not be regenerated from the frame's parameters. Such requests skip L3.
  bool reusableAsTemplate = true;
};

class Canonicalizer {
 public:
  // `catalog` should be the one the frames were produced with; it is read
  // here and not kept.
  explicit Canonicalizer(const Catalog& catalog);

  // `frame` is the analyzer's frame for `request` (the cache never runs the
  // analyzer itself). `request` is assumed valid (intent::validateRequestText).
  CanonicalRequest canonicalize(std::string_view request, const IntentFrame& frame) const;
  // The same from what the analyzer already read of the request (its tokens
  // and mentions over the same catalog): no second tokenising and matching.
  CanonicalRequest canonicalize(const intent::Reading& reading, const IntentFrame& frame) const;

 private:
  // The mention's canonical form: the component id when every stem of the
  // phrase belongs to the component's id, name or node id (or is a generic
  // word such as "service" or "layer"), else the phrase's stems.
  std::string mentionForm(const intent::Mention& mention, const std::vector<intent::Token>& tokens) const;

  // Constant after construction.
  intent::CatalogMatcher matcher_;
  // Component id -> stems of its id, name and node id, generic words left out.
  std::unordered_map<std::string, std::vector<std::string>> nameStems_;
};

// A 128-bit key (BLAKE2b-128 over a length-prefixed encoding; the same on
// every platform and run). Exact tiers trust key equality, so the hash is a
// cryptographic one: nobody can craft a request whose key is another
// tenant's or another question's.
struct CacheKey {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  std::string hex() const;    // 32 lowercase hex digits
  static std::optional<CacheKey> fromHex(std::string_view hex);  // what hex() wrote
  std::string bytes() const;  // 16 bytes, big-endian: a compact key for L1/L2
  friend bool operator==(const CacheKey&, const CacheKey&) = default;
};

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& key) const { return static_cast<std::size_t>(key.lo ^ (key.hi * 31)); }
};

// Whose question it is and about which design.
struct KeyScope {
  std::string engineVersion;  // engine and template version: a new engine never serves an old answer
  std::string tenant;         // the user id; answers never cross tenants
  std::string canvasVersion;  // the project's canvas version, or canvasContentHash() of an inline canvas, or ""
};

// For the exact tiers (L1, L2): scope, the whole frame with its parameters,
// the masked template and every number. Paraphrases get different exact keys
// on purpose: the frame alone is lossy ("reduce database costs" and "reduce
// database latency" have the same frame), so wording differences go to L3.
CacheKey exactKey(const CanonicalRequest& request, const KeyScope& scope);

// For L3: scope, the frame without parameter values (their kinds stay) and
// the masked template. Requests that differ only in quantities share it.
CacheKey templateKey(const CanonicalRequest& request, const KeyScope& scope);

// L3's gate: scope, the frame without parameter values, and the content
// words. Two requests may share a template only when their gates are equal.
CacheKey gateKey(const CanonicalRequest& request, std::string_view engineVersion, std::string_view tenant,
                 std::string_view canvasVersion);

// "c" + hex of the canvas JSON's hash, for a canvas sent inline without a
// stored version. Equal canvases (same JSON text) give equal hashes.
std::string canvasContentHash(const Canvas& canvas);

// The stable hash itself, for other tiers that key on their own encodings.
// The encoding is collected, then hashed once with BLAKE2b, 16-byte digest
// (libsodium's crypto_generichash): integers as 8 little-endian bytes,
// strings length-prefixed.
class KeyHasher {
 public:
  KeyHasher() { encoding_.reserve(256); }
  KeyHasher& add(std::string_view bytes);  // length-prefixed, so ("ab","c") != ("a","bc")
  KeyHasher& add(std::uint64_t value);
  KeyHasher& add(double value);  // IEEE-754 bits; -0.0 and 0.0 are equal
  CacheKey finish() const;       // hi = the digest's first 8 bytes, big-endian; lo = the last 8

 private:
  std::string encoding_;
};

}  // namespace ymy::cache
