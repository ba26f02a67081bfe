#include "cache/lru.hpp"

#include <bit>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ymy::cache {

namespace {

struct Entry {
  std::string key;
  LruCache::Value value;
  Clock::TimePoint expiresAt;
  std::size_t charge = 0;
  std::size_t hash = 0;
};

// The index is keyed by a view into the entry's own key plus the hash already
// computed to pick the shard, so a lookup hashes the key once and allocates
// nothing.
struct KeyRef {
  std::string_view key;
  std::size_t hash;
};
struct KeyRefHash {
  std::size_t operator()(const KeyRef& k) const noexcept { return k.hash; }
};
struct KeyRefEqual {
  bool operator()(const KeyRef& a, const KeyRef& b) const noexcept { return a.hash == b.hash && a.key == b.key; }
};

}  // namespace

// 64-byte aligned so two shards' mutexes never share a cache line.
struct alignas(64) LruCache::Shard {
  mutable std::mutex mutex;
  // Guarded by mutex. Front = most recently used.
  std::list<Entry> order;
  std::unordered_map<KeyRef, std::list<Entry>::iterator, KeyRefHash, KeyRefEqual> index;
  std::size_t bytes = 0;
  std::uint64_t hits = 0, misses = 0, expired = 0, evictions = 0, inserts = 0, rejected = 0;

  void unlink(std::list<Entry>::iterator it) {
    index.erase(KeyRef{it->key, it->hash});
    bytes -= it->charge;
    order.erase(it);
  }
};

Result<std::unique_ptr<LruCache>> LruCache::create(const LruOptions& options, const Clock& clock) {
  if (options.capacityBytes == 0) return fail(ErrorCode::kInvalidArgument, "cache capacityBytes must be positive");
  if (options.shards == 0) return fail(ErrorCode::kInvalidArgument, "cache shards must be positive");
  if (options.defaultTtl <= std::chrono::milliseconds::zero()) {
    return fail(ErrorCode::kInvalidArgument, "cache defaultTtl must be positive");
  }
  const std::size_t shards = std::bit_ceil(options.shards);
  if (options.capacityBytes / shards <= kEntryOverheadBytes) {
    return fail(ErrorCode::kInvalidArgument, "cache capacityBytes " + std::to_string(options.capacityBytes) +
                                                 " is too small for " + std::to_string(shards) +
                                                 " shards (each needs more than " +
                                                 std::to_string(kEntryOverheadBytes) + " bytes)");
  }
  return std::unique_ptr<LruCache>(new LruCache(options, clock));
}

LruCache::LruCache(const LruOptions& options, const Clock& clock) : options_(options), clock_(clock) {
  const std::size_t shards = std::bit_ceil(options.shards);
  shardMask_ = shards - 1;
  shardCapacity_ = options.capacityBytes / shards;
  shards_ = std::make_unique<Shard[]>(shards);
}

LruCache::~LruCache() = default;

LruCache::Shard& LruCache::shardFor(std::string_view key, std::size_t& hash) const {
  hash = std::hash<std::string_view>{}(key);
  // High bits pick the shard; the index's buckets use the low bits.
  return shards_[(hash >> 48) & shardMask_];
}

LruCache::Value LruCache::get(std::string_view key) {
  std::size_t hash;
  Shard& shard = shardFor(key, hash);
  const auto now = clock_.now();
  Value expiredValue;  // released after the lock
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(KeyRef{key, hash});
  if (found == shard.index.end()) {
    ++shard.misses;
    return nullptr;
  }
  const auto it = found->second;
  if (it->expiresAt <= now) {
    ++shard.misses;
    ++shard.expired;
    expiredValue = std::move(it->value);
    shard.unlink(it);
    return nullptr;
  }
  ++shard.hits;
  shard.order.splice(shard.order.begin(), shard.order, it);
  return it->value;
}

bool LruCache::put(std::string_view key, Value value, std::chrono::milliseconds ttl) {
  std::size_t hash;
  Shard& shard = shardFor(key, hash);
  if (!value || ttl <= std::chrono::milliseconds::zero() || chargeOf(key, *value) > shardCapacity_) {
    std::lock_guard lock(shard.mutex);
    ++shard.rejected;
    return false;
  }
  const std::size_t charge = chargeOf(key, *value);
  const auto expiresAt = clock_.now() + ttl;
  std::vector<Value> released;  // freed after the lock: dropping a large value is not free
  {
    std::lock_guard lock(shard.mutex);
    const auto found = shard.index.find(KeyRef{key, hash});
    if (found != shard.index.end()) {
      const auto it = found->second;
      released.push_back(std::exchange(it->value, std::move(value)));
      shard.bytes = shard.bytes - it->charge + charge;
      it->charge = charge;
      it->expiresAt = expiresAt;
      shard.order.splice(shard.order.begin(), shard.order, it);
    } else {
      shard.order.push_front(Entry{std::string(key), std::move(value), expiresAt, charge, hash});
      const auto it = shard.order.begin();
      shard.index.emplace(KeyRef{it->key, hash}, it);
      shard.bytes += charge;
    }
    ++shard.inserts;
    // The new entry fits the budget on its own, so this never reaches it.
    const auto now = clock_.now();
    while (shard.bytes > shardCapacity_) {
      const auto victim = std::prev(shard.order.end());
      if (victim->expiresAt <= now) {
        ++shard.expired;
      } else {
        ++shard.evictions;
      }
      released.push_back(std::move(victim->value));
      shard.unlink(victim);
    }
  }
  return true;
}

bool LruCache::erase(std::string_view key) {
  std::size_t hash;
  Shard& shard = shardFor(key, hash);
  Value released;
  std::lock_guard lock(shard.mutex);
  const auto found = shard.index.find(KeyRef{key, hash});
  if (found == shard.index.end()) return false;
  released = std::move(found->second->value);
  shard.unlink(found->second);
  return true;
}

void LruCache::clear() {
  for (std::size_t i = 0; i <= shardMask_; ++i) {
    std::list<Entry> dropped;
    {
      std::lock_guard lock(shards_[i].mutex);
      shards_[i].index.clear();
      dropped.swap(shards_[i].order);
      shards_[i].bytes = 0;
    }
  }
}

LruStats LruCache::stats() const {
  LruStats s;
  s.capacityBytes = shardCapacity_ * (shardMask_ + 1);
  for (std::size_t i = 0; i <= shardMask_; ++i) {
    const Shard& shard = shards_[i];
    std::lock_guard lock(shard.mutex);
    s.hits += shard.hits;
    s.misses += shard.misses;
    s.expired += shard.expired;
    s.evictions += shard.evictions;
    s.inserts += shard.inserts;
    s.rejected += shard.rejected;
    s.bytes += shard.bytes;
    s.entries += shard.order.size();
  }
  return s;
}

}  // namespace ymy::cache
