#pragma once
// L1: an in-process LRU cache of serialised answers.
//
// Keys are the already-hashed cache keys (16-32 bytes, any bytes); values are
// shared, immutable strings, so a hit is a reference-count increment and never
// a copy. The cache is bounded by bytes: every entry is charged
// key + value + kEntryOverheadBytes (list node, index node, string and
// control-block headers, rounded up). Each entry carries its own TTL, checked
// against the injected Clock on every get; an expired entry is a miss and is
// removed then (or when it reaches the cold end of the list).
//
// Sharding: the key's hash picks one of `shards` independent LRUs, each with
// its own mutex and capacityBytes / shards bytes. Eviction is therefore LRU
// per shard, not global (as in LevelDB's ShardedLRUCache); use shards = 1 for
// an exact global order. An entry larger than one shard's budget is refused.
//
// Thread-safe. get() takes one shard mutex for a hash lookup and a list
// splice; no allocation, no I/O. Values evicted by put() are released after
// the mutex is dropped. Bytes are the cache's accounting: a value a caller
// still holds stays alive after eviction but is no longer charged here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace ymy::cache {

struct LruOptions {
  std::size_t capacityBytes = 64u << 20;
  // Used by put() without a TTL.
  std::chrono::milliseconds defaultTtl = std::chrono::minutes(10);
  // Rounded up to a power of two; each shard gets capacityBytes / shards.
  std::size_t shards = 16;
};

struct LruStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;     // includes gets that found an expired entry
  std::uint64_t expired = 0;    // entries dropped because their TTL had passed
  std::uint64_t evictions = 0;  // live entries dropped to make room
  std::uint64_t inserts = 0;    // puts stored (new keys and replacements)
  std::uint64_t rejected = 0;   // puts refused: empty value, TTL <= 0, or larger than a shard
  std::size_t bytes = 0;        // charged bytes currently held
  std::size_t entries = 0;
  std::size_t capacityBytes = 0;
};

class LruCache {
 public:
  using Value = std::shared_ptr<const std::string>;

  // Per-entry bookkeeping added to key and value sizes.
  static constexpr std::size_t kEntryOverheadBytes = 128;
  static std::size_t chargeOf(std::string_view key, const std::string& value) {
    return key.size() + value.size() + kEntryOverheadBytes;
  }

  // Fails with kInvalidArgument when capacityBytes, shards or defaultTtl is
  // zero, or a shard's budget could not hold even an empty entry. `clock` must
  // outlive the cache.
  static Result<std::unique_ptr<LruCache>> create(const LruOptions& options, const Clock& clock);

  ~LruCache();
  LruCache(const LruCache&) = delete;
  LruCache& operator=(const LruCache&) = delete;

  // The value, or nullptr when absent or expired. A hit becomes the shard's
  // most recently used entry.
  Value get(std::string_view key);

  // Stores or replaces `key`, expiring `ttl` from now, then evicts from the
  // cold end until the shard fits its budget. False (and counted as rejected)
  // when `value` is null, `ttl` <= 0, or the entry alone exceeds a shard's
  // budget; a refused put leaves an existing entry for the key untouched.
  bool put(std::string_view key, Value value, std::chrono::milliseconds ttl);
  bool put(std::string_view key, Value value) { return put(key, std::move(value), options_.defaultTtl); }

  // True when an entry (live or expired) was removed.
  bool erase(std::string_view key);
  // Drops every entry; counters are kept.
  void clear();

  // Summed over shards, each read under its own mutex: exact per shard,
  // not a single atomic snapshot while writers run.
  LruStats stats() const;
  const LruOptions& options() const { return options_; }

 private:
  struct Shard;
  LruCache(const LruOptions& options, const Clock& clock);
  Shard& shardFor(std::string_view key, std::size_t& hash) const;

  // Constant after construction.
  const LruOptions options_;
  const Clock& clock_;
  std::size_t shardMask_ = 0;
  std::size_t shardCapacity_ = 0;
  std::unique_ptr<Shard[]> shards_;  // each shard guards itself
};

}  // namespace ymy::cache
