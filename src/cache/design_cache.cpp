#include "cache/design_cache.hpp"

#include <atomic>
#include <charconv>

namespace ymy::cache {

namespace {

constexpr std::string_view kTierNames[] = {"L1", "L2", "L3", "MISS"};

// "a1 <storedAt> <executionId>": parsed on every hit, so no JSON.
constexpr std::string_view kAnswerFormat = "a1 ";

std::string encode(const CachedAnswer& a) {
  return std::string(kAnswerFormat) + std::to_string(a.storedAtMs) + " " + a.executionId;
}

std::optional<CachedAnswer> decode(std::string_view text) {
  if (text.substr(0, kAnswerFormat.size()) != kAnswerFormat) return std::nullopt;
  text.remove_prefix(kAnswerFormat.size());
  CachedAnswer a;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), a.storedAtMs);
  if (ec != std::errc() || end == text.data() + text.size() || *end != ' ') return std::nullopt;
  a.executionId.assign(end + 1, text.data() + text.size());
  if (a.executionId.empty() || a.executionId.find_first_of(" \n") != std::string::npos) return std::nullopt;
  return a;
}

}  // namespace

std::string_view tierName(Tier tier) { return kTierNames[static_cast<int>(tier)]; }

std::optional<Tier> tierFromName(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kTierNames[i] == name) return static_cast<Tier>(i);
  }
  return std::nullopt;
}

struct DesignCache::Counters {
  struct PerTier {
    std::atomic<std::uint64_t> hits{0}, misses{0}, falseHits{0}, stale{0};
  };
  PerTier tiers[3];
};

DesignCache::DesignCache(const Catalog& catalog, DesignCacheOptions options, const Clock&)
    : options_(std::move(options)), canonicalizer_(catalog), counters_(std::make_unique<Counters>()) {}

DesignCache::~DesignCache() = default;

Result<std::unique_ptr<DesignCache>> DesignCache::create(const Catalog& catalog, DesignCacheOptions options,
                                                         const Clock& clock) {
  options.l3.engineVersion = options.engineVersion;
  if (options.ttl <= std::chrono::milliseconds::zero()) return fail(ErrorCode::kInvalidArgument, "cache ttl must be positive");
  std::unique_ptr<DesignCache> c(new DesignCache(catalog, options, clock));

  LruOptions l1;
  l1.capacityBytes = options.l1Bytes;
  l1.defaultTtl = options.ttl;
  auto lru = LruCache::create(l1, clock);
  if (!lru) return tl::unexpected(lru.error());
  c->l1_ = std::move(*lru);

  if (options.l2) {
    auto redis = RedisTier::create(*options.l2, clock);
    if (!redis) return tl::unexpected(redis.error());
    c->l2_ = std::move(*redis);
  }

  if (!options.l3Path.empty()) {
    auto loaded = SimilarityIndex::load(options.l3Path, options.l3);
    if (loaded) {
      c->l3_ = std::move(*loaded);
      c->l3Loaded_ = true;
    } else if (loaded.error().code != ErrorCode::kNotFound) {
      return fail(loaded.error().code, "the similarity index " + options.l3Path.string() + ": " + loaded.error().message);
    }
  }
  if (!c->l3_) {
    auto created = SimilarityIndex::create(options.l3);
    if (!created) return tl::unexpected(created.error());
    c->l3_ = std::move(*created);
  }
  return c;
}

CacheKey DesignCache::textKey(std::string_view request, const KeyScope& scope) {
  // Whitespace only: case and punctuation can reach generated names.
  std::string text;
  text.reserve(request.size());
  bool space = false;
  for (char ch : request) {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
      space = !text.empty();
      continue;
    }
    if (space) text.push_back(' ');
    space = false;
    text.push_back(ch);
  }
  return KeyHasher()
      .add("text")
      .add(kCanonicalVersion)
      .add(scope.engineVersion)
      .add(scope.tenant)
      .add(scope.canvasVersion)
      .add(text)
      .finish();
}

std::optional<ExactHit> DesignCache::lookup(const CacheKey& key) {
  const std::string k = key.bytes();
  if (auto v = l1_->get(k)) {
    if (auto a = decode(*v)) return ExactHit{Tier::kL1, std::move(*a), key};
  }
  if (l2_) {
    if (auto v = l2_->get(k)) {
      if (auto a = decode(*v)) {
        l1_->put(k, std::move(v));
        return ExactHit{Tier::kL2, std::move(*a), key};
      }
    }
  }
  return std::nullopt;
}

std::optional<SimilarMatch> DesignCache::lookupSimilar(const CanonicalRequest& request, const KeyScope& scope) const {
  return l3_->lookup(request, scope.tenant, scope.canvasVersion);
}

void DesignCache::countServed(Tier tier) {
  for (int i = 0; i < 3; ++i) {
    if (i == 1 && !l2_) continue;
    auto& t = counters_->tiers[i];
    if (i < static_cast<int>(tier)) {
      t.misses.fetch_add(1, std::memory_order_relaxed);
    } else if (i == static_cast<int>(tier)) {
      t.hits.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
}

void DesignCache::countFalseHit(Tier tier) {
  if (tier != Tier::kMiss) counters_->tiers[static_cast<int>(tier)].falseHits.fetch_add(1, std::memory_order_relaxed);
}

void DesignCache::countStale(Tier tier) {
  if (tier != Tier::kMiss) counters_->tiers[static_cast<int>(tier)].stale.fetch_add(1, std::memory_order_relaxed);
}

void DesignCache::remember(const std::vector<CacheKey>& keys, const CanonicalRequest& request, const KeyScope& scope,
                           const CachedAnswer& answer) {
  auto value = std::make_shared<const std::string>(encode(answer));
  for (const auto& key : keys) {
    const std::string k = key.bytes();
    l1_->put(k, value, options_.ttl);
    if (l2_) l2_->put(k, value, options_.ttl);
  }
  l3_->insert(request, scope.tenant, scope.canvasVersion, answer.executionId);
}

Result<void> DesignCache::forget(const std::vector<CacheKey>& keys, std::string_view executionId) {
  for (const auto& key : keys) l1_->erase(key.bytes());
  l3_->forget(executionId);
  if (l2_) {
    for (const auto& key : keys) {
      if (auto ok = l2_->erase(key.bytes()); !ok) return ok;
    }
  }
  return {};
}

Result<DesignCache::Cleared> DesignCache::clear() {
  Cleared cleared;
  cleared.l1 = l1_->stats().entries;
  l1_->clear();
  auto l3 = l3_->clear();
  if (!l3) return tl::unexpected(l3.error());
  cleared.l3 = *l3;
  if (auto ok = save(); !ok) return tl::unexpected(ok.error());
  if (l2_) {
    auto l2 = l2_->clear();
    if (!l2) return tl::unexpected(l2.error());
    cleared.l2 = *l2;
  }
  return cleared;
}

void DesignCache::flush() {
  l3_->flush();
  if (l2_) l2_->waitIdle();
}

Result<void> DesignCache::save() {
  if (options_.l3Path.empty()) return {};
  return l3_->save(options_.l3Path);
}

DesignCacheStats DesignCache::stats() const {
  DesignCacheStats s;
  for (int i = 0; i < 3; ++i) {
    const auto& t = counters_->tiers[i];
    s.tiers[i] = TierCounters{t.hits.load(std::memory_order_relaxed), t.misses.load(std::memory_order_relaxed),
                              t.falseHits.load(std::memory_order_relaxed), t.stale.load(std::memory_order_relaxed)};
  }
  s.l1 = l1_->stats();
  if (l2_) s.l2 = l2_->stats();
  s.l3 = l3_->stats();
  s.l3Loaded = l3Loaded_;
  return s;
}

}  // namespace ymy::cache
