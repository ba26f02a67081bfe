#pragma once
// The three tiers together, as the design service uses them (DESIGN.md:
// request -> [cache L1 -> L2 -> L3] -> ...).
//
// What is cached is a pointer to a finished, unmodified execution of the same
// question: {executionId, storedAt} (stored as "a1 <storedAt> <executionId>";
// anything else read from L1 or L2 is a miss). The caller replays that execution's
// stored result under a new id (an exact hit) or runs the request again with
// it as the template (a similar hit); an answer whose execution no longer
// exists is the caller's to report as stale, and it is forgotten.
//
// Keys (all include the KeyScope: engine version, tenant, canvas version):
//   - textKey: the request's text with whitespace collapsed, before any
//     analysis: the fast path for a question asked again in the same words;
//   - exactKey (canonical.hpp): the whole frame, template and every number,
//     after analysis: the same question in other case, spacing or synonyms;
//   - L3: the gated similarity index (similarity.hpp), a template only.
// L1 and L2 hold the exact keys; an L2 hit is copied into L1.
//
// Counting: a request that reached the cache is counted once with
// countServed(): a hit at the tier that answered, a miss at each tier before
// it. False-hit reports and stale answers are counted per tier.
//
// Thread-safe. Lookups never wait for inserts, which are queued (L2's writer,
// L3's builder); L2 failures are misses, never errors.

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/canonical.hpp"
#include "cache/lru.hpp"
#include "cache/redis_tier.hpp"
#include "cache/similarity.hpp"
#include "model/clock.hpp"
#include "model/error.hpp"

namespace ymy::cache {

enum class Tier { kL1, kL2, kL3, kMiss };
std::string_view tierName(Tier tier);  // "L1", "L2", "L3", "MISS"
std::optional<Tier> tierFromName(std::string_view name);

struct DesignCacheOptions {
  // Answers stored by another engine version are never served (part of every key).
  std::string engineVersion = "builtin";
  std::chrono::milliseconds ttl = std::chrono::hours(24);  // L1 and L2
  std::size_t l1Bytes = 64u << 20;
  std::optional<RedisTierOptions> l2;  // nullopt: no L2
  SimilarityOptions l3;                // its engineVersion is set from the above
  // Where L3 is saved and loaded from; empty: kept in memory only.
  std::filesystem::path l3Path;
};

struct CachedAnswer {
  std::string executionId;
  std::int64_t storedAtMs = 0;
};

struct ExactHit {
  Tier tier = Tier::kL1;
  CachedAnswer answer;
  CacheKey key;
};

struct TierCounters {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t falseHitReports = 0;
  std::uint64_t stale = 0;  // served entries whose execution was gone or unreadable
};

struct DesignCacheStats {
  std::array<TierCounters, 3> tiers;  // L1, L2, L3
  LruStats l1;
  std::optional<RedisTierStats> l2;
  SimilarityStats l3;
  bool l3Loaded = false;  // the index came from l3Path at start
};

class DesignCache {
 public:
  // Loads L3 from options.l3Path when the file exists. A file that cannot be
  // used (corrupt, another engine version) is an error naming the reason;
  // the caller may move it away and start empty.
  static Result<std::unique_ptr<DesignCache>> create(const Catalog& catalog, DesignCacheOptions options,
                                                     const Clock& clock);
  ~DesignCache();

  const DesignCacheOptions& options() const { return options_; }

  static CacheKey textKey(std::string_view request, const KeyScope& scope);
  CanonicalRequest canonicalize(std::string_view request, const IntentFrame& frame) const {
    return canonicalizer_.canonicalize(request, frame);
  }
  CanonicalRequest canonicalize(const intent::Reading& reading, const IntentFrame& frame) const {
    return canonicalizer_.canonicalize(reading, frame);
  }

  // L1, then L2 (a hit there is copied into L1). Counts nothing.
  std::optional<ExactHit> lookup(const CacheKey& key);
  // L3: a stored template for this request, or nullopt. Counts nothing.
  std::optional<SimilarMatch> lookupSimilar(const CanonicalRequest& request, const KeyScope& scope) const;

  void countServed(Tier tier);
  void countFalseHit(Tier tier);
  void countStale(Tier tier);

  // Stores a finished execution's answer under `keys` (L1 now, L2 queued)
  // and as a template (L3, queued). Returns at once.
  void remember(const std::vector<CacheKey>& keys, const CanonicalRequest& request, const KeyScope& scope,
                const CachedAnswer& answer);
  // Stops serving an answer: its keys from L1 and L2, its execution from L3.
  // A Redis failure is returned, after L1 and L3 are done.
  Result<void> forget(const std::vector<CacheKey>& keys, std::string_view executionId);

  struct Cleared {
    std::size_t l1 = 0, l2 = 0, l3 = 0;
  };
  // Empties every tier (L2: the keys under its prefix) and saves the empty L3.
  Result<Cleared> clear();
  // Waits until queued inserts are applied (L3) and written (L2): for tests
  // and an orderly shutdown.
  void flush();
  // Writes L3 to options.l3Path (no-op without one).
  Result<void> save();

  DesignCacheStats stats() const;

 private:
  DesignCache(const Catalog& catalog, DesignCacheOptions options, const Clock& clock);

  // Constant after construction.
  const DesignCacheOptions options_;
  const Canonicalizer canonicalizer_;
  std::unique_ptr<LruCache> l1_;
  std::unique_ptr<RedisTier> l2_;          // may be null
  std::unique_ptr<SimilarityIndex> l3_;
  bool l3Loaded_ = false;

  struct Counters;
  std::unique_ptr<Counters> counters_;
};

}  // namespace ymy::cache
