#include "cache/similarity.hpp"

// hnswlib is header-only and defines non-inline functions in its headers:
// this must stay the only translation unit that includes it.
//
// Its hand-vectorised code is off: with USE_SSE, searchBaseLayer prefetches
// through the link entry one past the end of a list (hnswalg.h: `*(datal + j
// + 1)`), a heap read past a full upper-layer list that AddressSanitizer
// reports. The distance it would have vectorised is ours (IpSpace below).
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <shared_mutex>  // std::shared_lock
#include <sstream>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "cache/template_vector.hpp"

namespace ymy::cache {

namespace {

// The vector: the template's (kTemplateDimensions) then the gate's block.
constexpr std::size_t kGateDimensions = 64;
constexpr std::size_t kDimensions = kTemplateDimensions + kGateDimensions;
constexpr std::size_t kGateSlots = 4;
// Share of the squared norm given to the template part: the inner product of
// two vectors with the same gate is kTextShare * cosine + (1 - kTextShare).
constexpr float kTextShare = 0.5f;

static_assert(kDimensions % 16 == 0, "innerProduct works in blocks of 16 floats");

// 1 - <a, b> over kDimensions floats: hnswlib's inner-product distance.
float innerProductDistance(const void* a, const void* b, const void*) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
#if defined(__SSE2__)
  __m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps(), s2 = _mm_setzero_ps(), s3 = _mm_setzero_ps();
  for (std::size_t i = 0; i < kDimensions; i += 16) {
    s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(x + i), _mm_loadu_ps(y + i)));
    s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(x + i + 4), _mm_loadu_ps(y + i + 4)));
    s2 = _mm_add_ps(s2, _mm_mul_ps(_mm_loadu_ps(x + i + 8), _mm_loadu_ps(y + i + 8)));
    s3 = _mm_add_ps(s3, _mm_mul_ps(_mm_loadu_ps(x + i + 12), _mm_loadu_ps(y + i + 12)));
  }
  alignas(16) float lanes[4];
  _mm_store_ps(lanes, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
  return 1.0f - (lanes[0] + lanes[1] + lanes[2] + lanes[3]);
#else
  float sum = 0;
  for (std::size_t i = 0; i < kDimensions; ++i) sum += x[i] * y[i];
  return 1.0f - sum;
#endif
}

// hnswlib's space for our fixed-size vectors, with the distance above.
class IpSpace final : public hnswlib::SpaceInterface<float> {
 public:
  std::size_t get_data_size() override { return kDimensions * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &innerProductDistance; }
  void* get_dist_func_param() override { return &dimensions_; }

 private:
  std::size_t dimensions_ = kDimensions;
};

constexpr char kMagic[8] = {'Y', 'M', 'Y', 'L', '3', 'I', 'D', 'X'};
constexpr std::uint32_t kFormatVersion = 1;

struct Entry {
  std::string tenant;
  std::string canvasVersion;
  FrameKey frame;  // params are not kept: only their kinds matter here
  std::uint8_t paramKinds = 0;
  std::vector<std::string> contentWords;
  std::string maskedTemplate;
  std::string payloadId;
  CacheKey gate;
  CacheKey templ;
};

Entry makeEntry(const CanonicalRequest& r, std::string_view engineVersion, std::string_view tenant,
                std::string_view canvasVersion, std::string payloadId) {
  Entry e;
  e.tenant = tenant;
  e.canvasVersion = canvasVersion;
  e.frame = r.frame;
  e.frame.params = {};
  e.paramKinds = paramKinds(r.frame.params);
  e.contentWords = r.contentWords;
  e.maskedTemplate = r.maskedTemplate;
  e.payloadId = std::move(payloadId);
  e.gate = gateKey(r, engineVersion, tenant, canvasVersion);
  e.templ = templateKey(r, KeyScope{std::string(engineVersion), std::string(tenant), std::string(canvasVersion)});
  return e;
}

// The gate, field by field: the hash only narrows the search (tenancy and
// meaning are checked on the fields themselves).
bool sameGate(const Entry& e, const CanonicalRequest& r, std::string_view tenant, std::string_view canvasVersion) {
  const FrameKey& a = e.frame;
  const FrameKey& b = r.frame;
  return e.tenant == tenant && e.canvasVersion == canvasVersion && a.intent == b.intent && a.target == b.target &&
         a.components == b.components && a.excluded == b.excluded && a.negated == b.negated &&
         a.direction == b.direction && a.mentions == b.mentions && a.freeNumbers == b.freeNumbers &&
         e.paramKinds == paramKinds(b.params) && e.contentWords == r.contentWords;
}

void buildVector(const CanonicalRequest& r, const CacheKey& gate, std::span<float> out) {
  auto text = out.first(kTemplateDimensions);
  templateVector(r, text);
  const float textScale = std::sqrt(kTextShare);
  for (auto& x : text) x *= textScale;
  auto block = out.subspan(kTemplateDimensions);
  for (auto& x : block) x = 0;
  std::uint64_t bits = gate.lo ^ (gate.hi * 0x9e3779b97f4a7c15ull);
  for (std::size_t k = 0; k < kGateSlots; ++k) {
    const std::size_t slot = bits % kGateDimensions;
    bits /= kGateDimensions;
    const float sign = (bits & 1) ? -1.0f : 1.0f;
    bits >>= 1;
    block[slot] += sign;
  }
  double norm = 0;
  for (float x : block) norm += static_cast<double>(x) * x;
  const float blockScale = static_cast<float>(std::sqrt((1.0 - kTextShare) / norm));
  for (auto& x : block) x *= blockScale;
}

// --- binary encoding (little-endian, length-prefixed) ---

class Writer {
 public:
  void bytes(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
  void str(std::string_view s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  void strs(const std::vector<std::string>& v) {
    u64(v.size());
    for (const auto& s : v) str(s);
  }
  std::string& data() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::size_t offset() const { return pos_; }
  std::string_view take(std::size_t n) {
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::uint8_t u8() {
    auto s = take(1);
    return s.empty() ? 0 : static_cast<std::uint8_t>(s[0]);
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    auto s = take(4);
    for (std::size_t i = 0; i < s.size(); ++i)
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[i])) << (8 * i);
    return v;
  }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    auto s = take(8);
    for (std::size_t i = 0; i < s.size(); ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
    return v;
  }
  double f64() { return std::bit_cast<double>(u64()); }
  std::string str() { return std::string(take(u64())); }
  std::vector<std::string> strs() {
    const std::uint64_t n = u64();
    std::vector<std::string> v;
    for (std::uint64_t i = 0; i < n && ok_; ++i) v.push_back(str());
    return v;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::uint64_t checksum(std::string_view data) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void writeEntry(Writer& w, const Entry& e) {
  w.str(e.tenant);
  w.str(e.canvasVersion);
  w.str(intentName(e.frame.intent));
  w.str(e.frame.target);
  w.strs(e.frame.components);
  w.strs(e.frame.excluded);
  w.u8(e.frame.negated ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(e.frame.direction));
  w.strs(e.frame.mentions);
  w.u64(e.frame.freeNumbers.size());
  for (double v : e.frame.freeNumbers) w.f64(v);
  w.u8(e.paramKinds);
  w.strs(e.contentWords);
  w.str(e.maskedTemplate);
  w.str(e.payloadId);
}

std::optional<Entry> readEntry(Reader& r, std::string_view engineVersion) {
  Entry e;
  e.tenant = r.str();
  e.canvasVersion = r.str();
  auto intent = intentFromName(r.str());
  e.frame.target = r.str();
  e.frame.components = r.strs();
  e.frame.excluded = r.strs();
  e.frame.negated = r.u8() != 0;
  const auto direction = r.u8();
  e.frame.mentions = r.strs();
  const std::uint64_t numbers = r.u64();
  for (std::uint64_t i = 0; i < numbers && r.ok(); ++i) e.frame.freeNumbers.push_back(r.f64());
  e.paramKinds = r.u8();
  e.contentWords = r.strs();
  e.maskedTemplate = r.str();
  e.payloadId = r.str();
  if (!r.ok() || !intent || direction > static_cast<std::uint8_t>(Direction::kBoth)) return std::nullopt;
  e.frame.intent = *intent;
  e.frame.direction = static_cast<Direction>(direction);
  // The keys are recomputed, not trusted from the file.
  CanonicalRequest c;
  c.frame = e.frame;
  if (e.paramKinds & static_cast<std::uint8_t>(ParamKind::kRps)) c.frame.params.rps = 0;
  if (e.paramKinds & static_cast<std::uint8_t>(ParamKind::kLatency)) c.frame.params.latencyMs = 0;
  if (e.paramKinds & static_cast<std::uint8_t>(ParamKind::kPercentile)) c.frame.params.percentile = 0;
  if (e.paramKinds & static_cast<std::uint8_t>(ParamKind::kUsers)) c.frame.params.users = 0;
  if (e.paramKinds & static_cast<std::uint8_t>(ParamKind::kConnections)) c.frame.params.connections = 0;
  if (e.paramKinds & static_cast<std::uint8_t>(ParamKind::kAvailability)) c.frame.params.availability = 0;
  c.contentWords = e.contentWords;
  c.maskedTemplate = e.maskedTemplate;
  e.gate = gateKey(c, engineVersion, e.tenant, e.canvasVersion);
  e.templ = templateKey(c, KeyScope{std::string(engineVersion), e.tenant, e.canvasVersion});
  return e;
}

// A file in the temporary directory, removed when this goes out of scope:
// hnswlib reads and writes its graph only through a path.
class TempFile {
 public:
  TempFile() {
    auto pattern = (std::filesystem::temp_directory_path() / "ymy-l3-XXXXXX").string();
    int fd = ::mkstemp(pattern.data());
    if (fd >= 0) {
      ::close(fd);
      path_ = pattern;
    }
  }
  ~TempFile() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot read '" + path.string() + "'");
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return fail(ErrorCode::kIo, "cannot read '" + path.string() + "'");
  return std::move(data).str();
}

Result<void> validateOptions(const SimilarityOptions& o) {
  if (!(o.threshold > 0 && o.threshold <= 1)) {
    return fail(ErrorCode::kInvalidArgument,
                "similarity threshold must be in (0, 1], got " + std::to_string(o.threshold));
  }
  if (o.initialCapacity == 0 || o.maxEntries == 0) {
    return fail(ErrorCode::kInvalidArgument, "similarity index capacity and maxEntries must be positive");
  }
  if (o.graphDegree < 2 || o.efConstruction == 0 || o.efSearch == 0 || o.candidates == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "similarity index graphDegree must be >= 2 and efConstruction, efSearch, candidates positive");
  }
  return {};
}

// A readers-writer lock that lets a waiting writer in before new readers.
// std::shared_mutex on glibc prefers readers: under a steady stream of
// lookups the insert thread waited for minutes.
class WriterFirstMutex {
 public:
  void lock_shared() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !writing_ && writersWaiting_ == 0; });
    ++readers_;
  }
  void unlock_shared() {
    std::lock_guard lock(mutex_);
    if (--readers_ == 0 && writersWaiting_ > 0) changed_.notify_all();
  }
  void lock() {
    std::unique_lock lock(mutex_);
    ++writersWaiting_;
    changed_.wait(lock, [&] { return !writing_ && readers_ == 0; });
    --writersWaiting_;
    writing_ = true;
  }
  void unlock() {
    {
      std::lock_guard lock(mutex_);
      writing_ = false;
    }
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t readers_ = 0;         // guarded by mutex_
  std::size_t writersWaiting_ = 0;  // guarded by mutex_
  bool writing_ = false;            // guarded by mutex_
};

}  // namespace

struct SimilarityIndex::State {
  explicit State(const SimilarityOptions& o)
      : options(o), distance(space.get_dist_func()), distanceParam(space.get_dist_func_param()) {}

  // Constant after construction.
  const SimilarityOptions options;
  IpSpace space;
  const hnswlib::DISTFUNC<float> distance;  // 1 - inner product
  void* const distanceParam;

  // The index and its entries: shared for lookups, exclusive for changes.
  mutable WriterFirstMutex mutex;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;                       // guarded by mutex
  std::vector<Entry> entries;                                                   // guarded by mutex; label = position
  std::unordered_map<CacheKey, std::size_t, CacheKeyHash> byTemplate;           // guarded by mutex
  std::unordered_map<CacheKey, std::vector<std::size_t>, CacheKeyHash> byGate;  // guarded by mutex
  std::size_t capacity = 0;                                                     // guarded by mutex

  // Queued inserts. Lock order: queueMutex is never held while taking mutex.
  std::mutex queueMutex;
  std::condition_variable queueChanged;
  std::deque<Entry> queue;   // guarded by queueMutex
  std::size_t applying = 0;  // guarded by queueMutex: inserts taken off the queue, not yet applied
  bool stopping = false;     // guarded by queueMutex
  std::thread worker;

  mutable std::atomic<std::uint64_t> lookups{0}, hits{0}, belowThreshold{0}, notReusable{0};
  std::atomic<std::uint64_t> inserted{0}, replaced{0}, dropped{0};

  void apply(Entry entry);
  // Offers stored entry `label` (at `distance` from the query, or -1: not yet
  // computed) as the answer. Caller holds `mutex` (shared).
  void consider(const float* query, std::size_t label, double distance, const CanonicalRequest& request,
                std::string_view tenant, std::string_view canvasVersion, std::optional<SimilarMatch>& best,
                bool& sameGateSeen) const;
  // An empty graph of options.initialCapacity entries, or why not.
  Result<std::unique_ptr<hnswlib::HierarchicalNSW<float>>> emptyGraph();
  // Takes the front insert off the queue and applies it with `lock` released.
  void applyFront(std::unique_lock<std::mutex>& lock);
  void drain(std::unique_lock<std::mutex>& lock);
  void work();
};

void SimilarityIndex::State::apply(Entry entry) {
  // The vector is built before taking the lock; lookups wait only for the graph update.
  thread_local std::vector<float> vector(kDimensions);
  CanonicalRequest r;
  r.maskedTemplate = entry.maskedTemplate;
  r.frame.mentions = entry.frame.mentions;
  buildVector(r, entry.gate, vector);

  std::unique_lock lock(mutex);
  if (auto it = byTemplate.find(entry.templ); it != byTemplate.end()) {
    entries[it->second].payloadId = std::move(entry.payloadId);
    replaced.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (entries.size() >= options.maxEntries) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    if (entries.size() == capacity) {
      const std::size_t grown = std::min(capacity * 2, std::max(options.maxEntries, capacity + 1));
      graph->resizeIndex(grown);
      capacity = grown;
    }
    const std::size_t label = entries.size();
    entries.push_back(std::move(entry));
    try {
      graph->addPoint(vector.data(), label);
    } catch (...) {
      entries.pop_back();
      throw;
    }
    byTemplate.emplace(entries.back().templ, label);
    byGate[entries.back().gate].push_back(label);
    inserted.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::exception&) {
    dropped.fetch_add(1, std::memory_order_relaxed);  // out of memory in hnswlib: the index is unchanged
  }
}

Result<std::unique_ptr<hnswlib::HierarchicalNSW<float>>> SimilarityIndex::State::emptyGraph() {
  try {
    auto graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, options.initialCapacity,
                                                                   options.graphDegree, options.efConstruction);
    graph->setEf(options.efSearch);
    return graph;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, std::string("cannot allocate the similarity index: ") + e.what());
  }
}

void SimilarityIndex::State::applyFront(std::unique_lock<std::mutex>& lock) {
  Entry entry = std::move(queue.front());
  queue.pop_front();
  ++applying;
  lock.unlock();
  apply(std::move(entry));
  lock.lock();
  --applying;
  queueChanged.notify_all();
}

void SimilarityIndex::State::drain(std::unique_lock<std::mutex>& lock) {
  while (!queue.empty()) applyFront(lock);
}

void SimilarityIndex::State::work() {
  std::unique_lock lock(queueMutex);
  while (true) {
    queueChanged.wait(lock, [&] { return stopping || !queue.empty(); });
    if (stopping) return;
    applyFront(lock);  // one at a time, re-checking `stopping` between inserts
  }
}

SimilarityIndex::SimilarityIndex(std::unique_ptr<State> state) : state_(std::move(state)) {
  if (state_->options.applyInBackground) state_->worker = std::thread([s = state_.get()] { s->work(); });
}

SimilarityIndex::~SimilarityIndex() {
  {
    std::lock_guard lock(state_->queueMutex);
    state_->stopping = true;
  }
  state_->queueChanged.notify_all();
  if (state_->worker.joinable()) state_->worker.join();
}

Result<std::unique_ptr<SimilarityIndex>> SimilarityIndex::create(const SimilarityOptions& options) {
  if (auto ok = validateOptions(options); !ok) return tl::unexpected(ok.error());
  auto state = std::make_unique<State>(options);
  auto graph = state->emptyGraph();
  if (!graph) return tl::unexpected(graph.error());
  state->graph = std::move(*graph);
  state->capacity = options.initialCapacity;
  return std::unique_ptr<SimilarityIndex>(new SimilarityIndex(std::move(state)));
}

std::optional<SimilarMatch> SimilarityIndex::lookup(const CanonicalRequest& request, std::string_view tenant,
                                                    std::string_view canvasVersion) const {
  State& s = *state_;
  s.lookups.fetch_add(1, std::memory_order_relaxed);
  if (!request.reusableAsTemplate) {
    s.notReusable.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  thread_local std::vector<float> query(kDimensions);
  buildVector(request, gateKey(request, s.options.engineVersion, tenant, canvasVersion), query);

  std::shared_lock lock(s.mutex);
  if (s.entries.empty()) return std::nullopt;
  std::optional<SimilarMatch> best;
  bool sameGateSeen = false;
  if (s.options.retrieval == Retrieval::kGateIndex) {
    const auto group = s.byGate.find(gateKey(request, s.options.engineVersion, tenant, canvasVersion));
    if (group != s.byGate.end()) {
      for (std::size_t label : group->second) {
        s.consider(query.data(), label, -1, request, tenant, canvasVersion, best, sameGateSeen);
      }
    }
  } else {
    auto found = s.graph->searchKnn(query.data(), std::min(s.options.candidates, s.entries.size()));
    for (; !found.empty(); found.pop()) {
      s.consider(query.data(), found.top().second, found.top().first, request, tenant, canvasVersion, best,
                 sameGateSeen);
    }
  }
  if (best) {
    s.hits.fetch_add(1, std::memory_order_relaxed);
  } else if (sameGateSeen) {
    s.belowThreshold.fetch_add(1, std::memory_order_relaxed);
  }
  return best;
}

void SimilarityIndex::State::consider(const float* query, std::size_t label, double distance,
                                      const CanonicalRequest& request, std::string_view tenant,
                                      std::string_view canvasVersion, std::optional<SimilarMatch>& best,
                                      bool& sameGateSeen) const {
  const Entry& e = entries[label];
  if (e.payloadId.empty() || !sameGate(e, request, tenant, canvasVersion)) return;  // empty: forgotten
  sameGateSeen = true;
  if (distance < 0) {
    // hnswlib keeps each vector; labels are added in order and never deleted,
    // so a label is its internal id.
    distance = this->distance(query, graph->getDataByInternalId(static_cast<hnswlib::tableint>(label)), distanceParam);
  }
  // Same gate, so the same gate block: inner product = share * cosine + (1 - share).
  const double similarity = std::clamp((1.0 - distance - (1.0 - kTextShare)) / kTextShare, -1.0, 1.0);
  if (similarity >= options.threshold && (!best || similarity > best->similarity)) {
    best = SimilarMatch{e.payloadId, similarity, e.maskedTemplate};
  }
}

bool SimilarityIndex::insert(const CanonicalRequest& request, std::string_view tenant, std::string_view canvasVersion,
                             std::string payloadId) {
  State& s = *state_;
  if (!request.reusableAsTemplate) {
    s.notReusable.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  Entry entry = makeEntry(request, s.options.engineVersion, tenant, canvasVersion, std::move(payloadId));
  {
    std::lock_guard lock(s.queueMutex);
    s.queue.push_back(std::move(entry));
  }
  s.queueChanged.notify_all();
  return true;
}

std::size_t SimilarityIndex::forget(std::string_view payloadId) {
  flush();
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  std::size_t forgotten = 0;
  for (auto& e : s.entries) {
    if (!payloadId.empty() && e.payloadId == payloadId) {
      e.payloadId.clear();
      ++forgotten;
    }
  }
  return forgotten;
}

Result<std::size_t> SimilarityIndex::clear() {
  State& s = *state_;
  {
    std::lock_guard lock(s.queueMutex);
    s.queue.clear();
  }
  flush();  // waits for an insert being applied
  std::unique_lock lock(s.mutex);
  auto graph = s.emptyGraph();
  if (!graph) return tl::unexpected(graph.error());
  const std::size_t removed = s.entries.size();
  s.graph = std::move(*graph);
  s.capacity = s.options.initialCapacity;
  s.entries.clear();
  s.byTemplate.clear();
  s.byGate.clear();
  return removed;
}

void SimilarityIndex::flush() {
  State& s = *state_;
  std::unique_lock lock(s.queueMutex);
  while (true) {
    s.drain(lock);
    if (s.applying == 0) return;
    s.queueChanged.wait(lock, [&] { return !s.queue.empty() || s.applying == 0; });
  }
}

Result<void> SimilarityIndex::save(const std::filesystem::path& path) {
  flush();
  State& s = *state_;
  Writer w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kFormatVersion);
  w.str(kCanonicalVersion);
  w.str(s.options.engineVersion);
  w.u32(static_cast<std::uint32_t>(kTemplateDimensions));
  w.u32(static_cast<std::uint32_t>(kGateDimensions));
  {
    std::shared_lock lock(s.mutex);
    w.u64(s.entries.size());
    for (const auto& e : s.entries) writeEntry(w, e);
    TempFile graphFile;
    if (graphFile.path().empty()) return fail(ErrorCode::kIo, "cannot create a temporary file for the index graph");
    try {
      s.graph->saveIndex(graphFile.path());
    } catch (const std::exception& e) {
      return fail(ErrorCode::kIo, std::string("cannot write the index graph: ") + e.what());
    }
    auto graph = readFile(graphFile.path());
    if (!graph) return tl::unexpected(graph.error());
    w.str(*graph);
  }
  w.u64(checksum(w.data()));

  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(w.data().data(), static_cast<std::streamsize>(w.data().size()));
    out.close();
    if (!out) return fail(ErrorCode::kIo, "cannot write '" + tmp.string() + "'");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return fail(ErrorCode::kIo, "cannot rename '" + tmp.string() + "' to '" + path.string() + "': " + ec.message());
  return {};
}

Result<std::unique_ptr<SimilarityIndex>> SimilarityIndex::load(const std::filesystem::path& path,
                                                               const SimilarityOptions& options) {
  if (auto ok = validateOptions(options); !ok) return tl::unexpected(ok.error());
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return fail(ErrorCode::kNotFound, "similarity index '" + path.string() + "' does not exist");
  }
  auto data = readFile(path);
  if (!data) return tl::unexpected(data.error());
  const std::string where = "similarity index '" + path.string() + "'";
  auto bad = [&](const std::string& why) { return fail(ErrorCode::kInvalidArgument, where + ": " + why); };

  if (data->size() < sizeof kMagic + 8 ||
      std::string_view(*data).substr(0, sizeof kMagic) != std::string_view(kMagic, sizeof kMagic)) {
    return bad("not an index file (no YMYL3IDX header)");
  }
  const std::string_view body = std::string_view(*data).substr(0, data->size() - 8);
  Reader tail(std::string_view(*data).substr(data->size() - 8));
  if (tail.u64() != checksum(body)) return bad("corrupt or truncated (checksum mismatch)");

  Reader r(body);
  r.take(sizeof kMagic);
  if (auto v = r.u32(); v != kFormatVersion) {
    return bad("format version " + std::to_string(v) + ", this build reads " + std::to_string(kFormatVersion) +
               ": rebuild the index");
  }
  if (auto v = r.str(); v != kCanonicalVersion) {
    return bad("written for canonical version '" + v + "', this build uses '" + std::string(kCanonicalVersion) +
               "': rebuild the index");
  }
  if (auto v = r.str(); v != options.engineVersion) {
    return bad("written for engine version '" + v + "', this engine is '" + options.engineVersion +
               "': rebuild the index");
  }
  const auto textDims = r.u32(), gateDims = r.u32();
  if (textDims != kTemplateDimensions || gateDims != kGateDimensions) {
    return bad("vectors of " + std::to_string(textDims) + "+" + std::to_string(gateDims) +
               " dimensions, this build uses " + std::to_string(kTemplateDimensions) + "+" +
               std::to_string(kGateDimensions) + ": rebuild the index");
  }
  auto state = std::make_unique<State>(options);
  const std::uint64_t count = r.u64();
  if (count > options.maxEntries) {
    return bad(std::to_string(count) + " entries, more than maxEntries " + std::to_string(options.maxEntries));
  }
  state->entries.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    auto e = readEntry(r, options.engineVersion);
    if (!e) return bad("entry " + std::to_string(i) + " is malformed");
    state->byTemplate.emplace(e->templ, state->entries.size());
    state->byGate[e->gate].push_back(state->entries.size());
    state->entries.push_back(std::move(*e));
  }
  const std::string graph = r.str();
  if (!r.ok() || r.offset() != body.size()) return bad("malformed graph section");

  TempFile graphFile;
  if (graphFile.path().empty()) return fail(ErrorCode::kIo, "cannot create a temporary file for the index graph");
  {
    std::ofstream out(graphFile.path(), std::ios::binary | std::ios::trunc);
    out.write(graph.data(), static_cast<std::streamsize>(graph.size()));
    if (!out) return fail(ErrorCode::kIo, "cannot write '" + graphFile.path() + "'");
  }
  const std::size_t capacity = std::max<std::size_t>(options.initialCapacity, count);
  try {
    state->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(&state->space, graphFile.path(), false, capacity);
  } catch (const std::exception& e) {
    return bad(std::string("graph does not load: ") + e.what());
  }
  if (state->graph->cur_element_count != count) {
    return bad("graph has " + std::to_string(state->graph->cur_element_count) + " points for " + std::to_string(count) +
               " entries");
  }
  state->graph->num_deleted_ = 0;  // hnswlib's loading constructor leaves it unset; this index never deletes
  state->graph->setEf(options.efSearch);
  state->capacity = std::max<std::size_t>(capacity, state->graph->max_elements_);
  return std::unique_ptr<SimilarityIndex>(new SimilarityIndex(std::move(state)));
}

SimilarityStats SimilarityIndex::stats() const {
  const State& s = *state_;
  SimilarityStats out;
  out.lookups = s.lookups.load(std::memory_order_relaxed);
  out.hits = s.hits.load(std::memory_order_relaxed);
  out.belowThreshold = s.belowThreshold.load(std::memory_order_relaxed);
  out.notReusable = s.notReusable.load(std::memory_order_relaxed);
  out.inserted = s.inserted.load(std::memory_order_relaxed);
  out.replaced = s.replaced.load(std::memory_order_relaxed);
  out.dropped = s.dropped.load(std::memory_order_relaxed);
  {
    std::shared_lock lock(s.mutex);
    out.entries = s.entries.size();
    out.capacity = s.capacity;
  }
  {
    std::lock_guard lock(state_->queueMutex);
    out.pending = s.queue.size() + s.applying;
  }
  return out;
}

std::size_t SimilarityIndex::size() const {
  std::shared_lock lock(state_->mutex);
  return state_->entries.size();
}

const SimilarityOptions& SimilarityIndex::options() const { return state_->options; }

}  // namespace ymy::cache
