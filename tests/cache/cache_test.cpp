// The canonicaliser and L3 (the similarity tier), with frames from the real
// builtin engine, and the labelled pairs in data/cache/pairs.tsv.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "cache/canonical.hpp"
#include "cache/similarity.hpp"
#include "cache/template_vector.hpp"
#include "engine/engine.hpp"
#include "test_data.hpp"

namespace ymy::cache {
namespace {

class CacheTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto engine = engine::Engine::load(test::dataDir());
    ASSERT_TRUE(engine) << engine.error().message;
    engine_ = engine->release();
    canonicalizer_ = new Canonicalizer(engine_->catalog());
  }
  static void TearDownTestSuite() {
    delete canonicalizer_;
    delete engine_;
    std::error_code ec;
    std::filesystem::remove_all(tempDir(), ec);
  }

  static IntentFrame frameOf(std::string_view text) {
    auto analysis = engine_->analyze(text, nullptr);
    EXPECT_TRUE(analysis) << text << ": " << analysis.error().message;
    return analysis ? analysis->frame : IntentFrame{};
  }
  static CanonicalRequest canonical(std::string_view text) { return canonicalizer_->canonicalize(text, frameOf(text)); }

  static std::unique_ptr<SimilarityIndex> newIndex(SimilarityOptions options = {}) {
    options.applyInBackground = false;
    auto index = SimilarityIndex::create(options);
    EXPECT_TRUE(index) << index.error().message;
    return index ? std::move(*index) : nullptr;
  }

  static std::filesystem::path tempDir() {
    return std::filesystem::temp_directory_path() / ("ymy-cache-test-" + std::to_string(::getpid()));
  }
  static std::filesystem::path tempPath(const std::string& name) {
    std::filesystem::create_directories(tempDir());
    return tempDir() / name;
  }

  static inline engine::Engine* engine_ = nullptr;
  static inline Canonicalizer* canonicalizer_ = nullptr;
};

// --- canonicalisation ---

TEST_F(CacheTest, MasksNumbersAndNormalisesUnits) {
  auto c = canonical("scale auth to 3000 RPS");
  EXPECT_EQ(c.maskedTemplate, "scale auth to {n} rps");
  EXPECT_EQ(c.frame.params.rps, 3000);
  EXPECT_EQ(c.numbers, (std::vector<double>{3000}));
  EXPECT_TRUE(c.frame.freeNumbers.empty());
  EXPECT_EQ(c.contentWords, (std::vector<std::string>{"scal"}));

  // "5k req/s" and "5,000 requests per second" are the intent tokenizer's and
  // extractor's business; the template only shows what they understood.
  EXPECT_EQ(canonical("scale the payment service to 5k req/s").maskedTemplate, "scale the payment to {n} rps");
  EXPECT_EQ(canonical("scale the payment service to 5,000 requests per second").maskedTemplate,
            "scale the payment to {n} rps");
  EXPECT_EQ(canonical("scale payments to 300k requests per minute").frame.params.rps, 5000);
  auto users = canonical("build a chat app for ten thousand users");
  EXPECT_EQ(users.maskedTemplate, "build a chat-app for {n} users");
  EXPECT_EQ(users.frame.params.users, 10000);
  EXPECT_EQ(canonical("build a ride sharing app for 5M daily active users").maskedTemplate,
            "build a ride-sharing app for {n} users");
  auto latency = canonical("reduce checkout p99 latency to 200ms");
  EXPECT_EQ(latency.maskedTemplate, "reduce checkout p{n} latency to {n} ms");
  EXPECT_EQ(latency.numbers, (std::vector<double>{99, 200}));
  EXPECT_EQ(canonical("keep the payment service at 99.99% uptime").maskedTemplate, "keep the payment at {n}% uptime");
  EXPECT_EQ(canonical("scale chat to 50,000 concurrent connections").maskedTemplate, "scale chat to {n} connections");
}

TEST_F(CacheTest, NamesOfComponentsBecomeIdsAndSpecificSynonymsStay) {
  // "auth service", "shopping cart", "product catalog": only names.
  EXPECT_EQ(canonical("auth service scaling 5000 RPS").maskedTemplate, "auth scaling {n} rps");
  auto build = canonical("build an e-commerce platform with a shopping cart and a product catalog");
  EXPECT_EQ(build.maskedTemplate, "build an e-commerce platform with a cart and a catalog");
  EXPECT_EQ(build.frame.mentions, (std::vector<std::string>{"e-commerce", "cart", "catalog"}));
  EXPECT_EQ(canonical("add a caching layer").maskedTemplate, "add a cache");
  // Build verbs of a build request are one word.
  EXPECT_EQ(canonical("create a netflix clone").maskedTemplate, canonical("build a netflix clone").maskedTemplate);
  // Synonyms that say more than the name are what the request is about.
  auto replicas = canonical("add read replicas to the database");
  EXPECT_EQ(replicas.frame.mentions, (std::vector<std::string>{"read replica", "database"}));
  auto migrate = canonical("switch the database from mysql to postgres");
  EXPECT_EQ(migrate.frame.mentions, (std::vector<std::string>{"database", "mysql", "postgre"}));
  EXPECT_NE(migrate.frame.mentions, canonical("switch the database from postgres to mysql").frame.mentions);
}

TEST_F(CacheTest, FrameKeyPartsAreSortedAndComplete) {
  auto c = canonical("scale payments and auth to 3000 rps");
  EXPECT_EQ(c.frame.intent, Intent::kScaleComponent);
  EXPECT_EQ(c.frame.components, (std::vector<std::string>{"auth", "payment"}));
  EXPECT_EQ(c.frame.target, "payment-service");
  auto without = canonical("build a social network without chat");
  EXPECT_EQ(without.frame.excluded, (std::vector<std::string>{"messaging"}));
  EXPECT_TRUE(without.frame.negated);
}

TEST_F(CacheTest, DetectsNegation) {
  for (const char* text : {"disable caching", "remove the cache", "build a shop without a cache",
                           "we no longer need the cache", "turn off caching", "stop using redis", "don't use a cache",
                           "do not add a cache", "get rid of the cache", "switch caching off", "drop redis"}) {
    EXPECT_TRUE(canonical(text).frame.negated) << text;
  }
  for (const char* text : {"enable caching", "add a cache", "use redis", "turn on caching", "keep the cache",
                           "add sign up to the auth service"}) {
    EXPECT_FALSE(canonical(text).frame.negated) << text;
  }
}

TEST_F(CacheTest, DetectsDirection) {
  EXPECT_EQ(canonical("scale up the auth service").frame.direction, Direction::kUp);
  EXPECT_EQ(canonical("scale down the auth service").frame.direction, Direction::kDown);
  EXPECT_EQ(canonical("scale out the order service").frame.direction, Direction::kUp);
  EXPECT_EQ(canonical("reduce search latency").frame.direction, Direction::kDown);
  EXPECT_EQ(canonical("scale auth to 3000 rps").frame.direction, Direction::kNone);
  EXPECT_EQ(canonical("scale auth up to 3000 rps").frame.direction, Direction::kNone);  // a bound
  EXPECT_EQ(canonical("scale auth up to 3000 rps").maskedTemplate, "scale auth to {n} rps");
  // "sign up" names the auth service; it is not a direction.
  EXPECT_EQ(canonical("add sign up to the auth service").frame.direction, Direction::kNone);
}

TEST_F(CacheTest, NumbersThatAreNotQuantitiesStayInTheKey) {
  auto fifteen = canonical("change the auth token expiry to 15 minutes");
  auto thirty = canonical("change the auth token expiry to 30 minutes");
  EXPECT_EQ(fifteen.maskedTemplate, thirty.maskedTemplate);
  EXPECT_EQ(fifteen.frame.freeNumbers, (std::vector<double>{15}));
  const KeyScope scope{"e1", "alice", "1"};
  EXPECT_NE(exactKey(fifteen, scope), exactKey(thirty, scope));
  EXPECT_NE(gateKey(fifteen, "e1", "alice", "1"), gateKey(thirty, "e1", "alice", "1"));
}

TEST_F(CacheTest, TwoQuantitiesOfOneKindCannotBeATemplate) {
  auto c = canonical("scale auth to 3000 rps and payments to 5000 rps");
  EXPECT_FALSE(c.reusableAsTemplate);
  EXPECT_EQ(c.numbers, (std::vector<double>{3000, 5000}));
  auto index = newIndex();
  EXPECT_FALSE(index->insert(c, "alice", "1", "p"));
  EXPECT_FALSE(index->lookup(c, "alice", "1"));
  EXPECT_TRUE(canonical("scale auth to 3000 rps with p99 under 100ms").reusableAsTemplate);
}

// --- keys ---

TEST_F(CacheTest, KeyHasherIsBlake2b128OfTheEncoding) {
  // Reference values from Python's hashlib.blake2b(digest_size=16) over the
  // encoded bytes: nothing; 8-byte little-endian length 1 and "a"; length 11,
  // "hello world", then 42 as 8 little-endian bytes.
  EXPECT_EQ(KeyHasher().finish().hex(), "cae66941d9efbd404e4d88758ea67670");
  EXPECT_EQ(KeyHasher().add(std::string_view("a")).finish().hex(), "fc9c942180a48b1bfa36938828a429dc");
  EXPECT_EQ(KeyHasher().add(std::string_view("hello world")).add(std::uint64_t{42}).finish().hex(),
            "0114c75b5b1888f2ceee7ed74e074a64");
  EXPECT_EQ(KeyHasher().add(0.0).finish(), KeyHasher().add(-0.0).finish());
  EXPECT_NE(KeyHasher().add(std::string_view("ab")).add(std::string_view("c")).finish(),
            KeyHasher().add(std::string_view("a")).add(std::string_view("bc")).finish());
  CacheKey k{0x0123456789abcdefull, 0xfedcba9876543210ull};
  EXPECT_EQ(k.hex(), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(k.bytes(), std::string("\x01\x23\x45\x67\x89\xab\xcd\xef\xfe\xdc\xba\x98\x76\x54\x32\x10", 16));
}

TEST_F(CacheTest, KeysAreStableAcrossRuns) {
  // A hand-built request, so the figure depends on the key code alone: if it
  // changes, so must kCanonicalVersion.
  CanonicalRequest r;
  r.maskedTemplate = "scale auth to {n} rps";
  r.frame.intent = Intent::kScaleComponent;
  r.frame.target = "auth-service";
  r.frame.components = {"auth"};
  r.frame.mentions = {"auth"};
  r.frame.params.rps = 3000;
  r.numbers = {3000};
  r.contentWords = {"scal"};
  const KeyScope scope{"builtin-1", "alice", "7"};
  EXPECT_EQ(exactKey(r, scope).hex(), exactKey(r, scope).hex());
  EXPECT_EQ(exactKey(r, scope).hex(), "85771c83de9c052106fdd980164e9587");
  EXPECT_EQ(templateKey(r, scope).hex(), "1b86c1476f3812dd63a3ff8e665b35f0");
}

TEST_F(CacheTest, ExactKeysDifferByTenantCanvasVersionEngineAndParams) {
  auto c = canonical("scale auth to 3000 RPS");
  const KeyScope scope{"builtin-1", "alice", "1"};
  const auto key = exactKey(c, scope);
  EXPECT_EQ(key, exactKey(canonical("scale auth to 3000 RPS"), scope));
  EXPECT_EQ(key, exactKey(canonical("Scale auth to 3,000 rps"), scope));
  EXPECT_NE(key, exactKey(c, KeyScope{"builtin-1", "bob", "1"}));
  EXPECT_NE(key, exactKey(c, KeyScope{"builtin-1", "alice", "2"}));
  EXPECT_NE(key, exactKey(c, KeyScope{"builtin-2", "alice", "1"}));
  EXPECT_NE(key, exactKey(canonical("scale auth to 5000 RPS"), scope));
  EXPECT_NE(key, exactKey(canonical("scale payments to 3000 RPS"), scope));
  // A paraphrase is not an exact match (L3 serves it).
  EXPECT_NE(key, exactKey(canonical("auth service scaling 3000 RPS"), scope));

  // The template key ignores the values, not their kinds.
  EXPECT_EQ(templateKey(c, scope), templateKey(canonical("scale auth to 5000 RPS"), scope));
  EXPECT_NE(templateKey(c, scope), templateKey(canonical("scale auth to 5000 users"), scope));
  EXPECT_NE(templateKey(c, scope), templateKey(c, KeyScope{"builtin-1", "bob", "1"}));
  EXPECT_NE(templateKey(c, scope), templateKey(c, KeyScope{"builtin-1", "alice", "2"}));
}

TEST_F(CacheTest, CanvasContentHash) {
  Canvas canvas;
  canvas.nodes.push_back(CanvasNode{"auth-service", "service", "Auth Service", {0, 0}, {}});
  const auto hash = canvasContentHash(canvas);
  EXPECT_EQ(hash.size(), 33u);
  EXPECT_EQ(hash, canvasContentHash(canvas));
  canvas.nodes[0].label = "Auth";
  EXPECT_NE(hash, canvasContentHash(canvas));
}

// --- the labelled pairs ---

struct Pair {
  int line = 0;
  bool reuse = false;
  std::string category;
  std::string a, b;
  std::string tenantB = "alice";
  std::string canvasB = "1";
};

std::vector<Pair> loadPairs() {
  std::ifstream in(test::dataDir() / "cache" / "pairs.tsv");
  EXPECT_TRUE(in) << "data/cache/pairs.tsv";
  std::vector<Pair> pairs;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string f; std::getline(ss, f, '\t');) fields.push_back(f);
    EXPECT_EQ(fields.size(), 5u) << "pairs.tsv:" << number;
    if (fields.size() != 5) continue;
    Pair p;
    p.line = number;
    EXPECT_TRUE(fields[0] == "reuse" || fields[0] == "no_reuse") << "pairs.tsv:" << number;
    p.reuse = fields[0] == "reuse";
    p.category = fields[1];
    p.a = fields[2];
    p.b = fields[3];
    if (fields[4].starts_with("tenant:")) {
      p.tenantB = fields[4].substr(7);
    } else if (fields[4].starts_with("canvas:")) {
      p.canvasB = fields[4].substr(7);
    } else {
      EXPECT_EQ(fields[4], "same") << "pairs.tsv:" << number;
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

// Same frame (the brief's gate without the content words): used to show what
// the cosine alone would let through.
bool sameFrame(const CanonicalRequest& a, const CanonicalRequest& b) {
  return a.frame.intent == b.frame.intent && a.frame.target == b.frame.target &&
         a.frame.components == b.frame.components && a.frame.excluded == b.frame.excluded &&
         a.frame.negated == b.frame.negated && a.frame.direction == b.frame.direction &&
         a.frame.mentions == b.frame.mentions && a.frame.freeNumbers == b.frame.freeNumbers &&
         paramKinds(a.frame.params) == paramKinds(b.frame.params);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return "[" + out + "]";
}

// The first condition that kept `b` from being served by `a`.
std::string whyNotServed(const CanonicalRequest& a, const CanonicalRequest& b) {
  if (a.frame.intent != b.frame.intent) {
    return "intent " + std::string(intentName(a.frame.intent)) + " vs " + std::string(intentName(b.frame.intent));
  }
  if (a.frame.target != b.frame.target) return "target " + a.frame.target + " vs " + b.frame.target;
  if (a.frame.components != b.frame.components) {
    return "components " + join(a.frame.components) + " vs " + join(b.frame.components);
  }
  if (a.frame.negated != b.frame.negated) return "negation";
  if (a.frame.direction != b.frame.direction) return "direction";
  if (a.frame.mentions != b.frame.mentions)
    return "mentions " + join(a.frame.mentions) + " vs " + join(b.frame.mentions);
  if (paramKinds(a.frame.params) != paramKinds(b.frame.params)) return "quantity kinds";
  if (a.contentWords != b.contentWords) return "content words " + join(a.contentWords) + " vs " + join(b.contentWords);
  return "cosine " + std::to_string(templateSimilarity(a, b));
}

struct PairsOutcome {
  std::map<std::string, std::pair<int, int>> byCategory;  // category -> (served, total)
  std::vector<std::string> wrong, missed;
  double lowestServed = 2;
  int reuseServed = 0, reuseTotal = 0;
  double reuseRate() const { return reuseTotal ? static_cast<double>(reuseServed) / reuseTotal : 0; }
  double rate(const std::string& category) const {
    auto it = byCategory.find(category);
    return it == byCategory.end() ? 0 : static_cast<double>(it->second.first) / it->second.second;
  }
};

// Every pair in its own tenant namespace, all in one index: B may only ever
// be served by its own A.
PairsOutcome runPairs(const std::vector<Pair>& pairs, const std::vector<CanonicalRequest>& as,
                      const std::vector<CanonicalRequest>& bs, Retrieval retrieval) {
  SimilarityOptions options;
  options.retrieval = retrieval;
  options.applyInBackground = false;
  auto index = std::move(*SimilarityIndex::create(options));
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    index->insert(as[i], "alice#" + std::to_string(pairs[i].line), "1", "A@" + std::to_string(pairs[i].line));
  }
  index->flush();
  PairsOutcome out;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    auto hit = index->lookup(bs[i], p.tenantB + "#" + std::to_string(p.line), p.canvasB);
    if (hit) {
      EXPECT_EQ(hit->payloadId, "A@" + std::to_string(p.line));
      if (p.reuse) out.lowestServed = std::min(out.lowestServed, hit->similarity);
    }
    auto& [served, total] = out.byCategory[p.category];
    ++total;
    served += hit ? 1 : 0;
    if (hit && !p.reuse) {
      out.wrong.push_back("pairs.tsv:" + std::to_string(p.line) + " " + p.category + ": '" + p.a + "' served '" + p.b +
                          "' (similarity " + std::to_string(hit->similarity) + ")");
    }
    if (!hit && p.reuse) {
      out.missed.push_back(p.category + ": '" + p.a + "' / '" + p.b + "': " + whyNotServed(as[i], bs[i]));
    }
    if (p.category == "paraphrase" || p.category == "number_only") {
      ++out.reuseTotal;
      out.reuseServed += hit ? 1 : 0;
    }
  }
  return out;
}

TEST_F(CacheTest, LabelledPairsNeverReuseWronglyAndReuseParaphrases) {
  const auto pairs = loadPairs();
  ASSERT_GE(pairs.size(), 300u);
  std::vector<CanonicalRequest> as, bs;
  for (const auto& p : pairs) {
    as.push_back(canonical(p.a));
    bs.push_back(canonical(p.b));
  }
  const auto out = runPairs(pairs, as, bs, Retrieval::kGateIndex);
  EXPECT_TRUE(out.wrong.empty()) << out.wrong.size() << " wrong reuses, first: " << out.wrong.front();

  std::printf("\nL3 on data/cache/pairs.tsv (%zu pairs, threshold %.2f):\n", pairs.size(), kDefaultSimilarityThreshold);
  for (const auto& [category, counts] : out.byCategory) {
    std::printf("  %-18s %3d / %3d served\n", category.c_str(), counts.first, counts.second);
  }
  std::printf("  reuse rate on paraphrases and number-only changes: %.3f (%d / %d)\n", out.reuseRate(), out.reuseServed,
              out.reuseTotal);
  std::printf("  lowest similarity served: %.3f\n", out.lowestServed);
  std::printf("  reuses not served, and why:\n");
  for (const auto& m : out.missed) std::printf("    %s\n", m.c_str());

  // What the cosine alone would let through: no_reuse pairs with the same
  // frame and scope, refused only because their content words differ.
  std::vector<std::pair<double, std::string>> cosineOnly;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    if (p.reuse || p.tenantB != "alice" || p.canvasB != "1" || !sameFrame(as[i], bs[i])) continue;
    cosineOnly.emplace_back(templateSimilarity(as[i], bs[i]),
                            p.category + ": " + as[i].maskedTemplate + " | " + bs[i].maskedTemplate);
  }
  std::sort(cosineOnly.rbegin(), cosineOnly.rend());
  std::printf("  no_reuse pairs with the same frame, by cosine alone (highest first; refused by the content words):\n");
  for (std::size_t i = 0; i < std::min<std::size_t>(6, cosineOnly.size()); ++i) {
    std::printf("    %.3f %s\n", cosineOnly[i].first, cosineOnly[i].second.c_str());
  }

  EXPECT_GE(out.reuseRate(), 0.7);
  EXPECT_GE(out.rate("paraphrase"), 0.7);
  EXPECT_GE(out.rate("number_only"), 0.9);
  // The threshold sits below every labelled reuse the other conditions allow.
  EXPECT_GE(out.lowestServed, kDefaultSimilarityThreshold);
}

// The service canonicalises from the analyzer's reading of the request; the
// result must be what reading the text again gives, key for key.
TEST_F(CacheTest, CanonicalisingTheAnalyzersReadingEqualsReadingTheTextAgain) {
  const KeyScope scope{"builtin-1", "tenant-7", "3"};
  std::size_t compared = 0;
  for (const auto& p : loadPairs()) {
    for (const auto* text : {&p.a, &p.b}) {
      auto analysis = engine_->analyze(*text, nullptr);
      ASSERT_TRUE(analysis) << *text;
      ASSERT_FALSE(analysis->reading.tokens.empty()) << *text;
      const auto fromText = canonicalizer_->canonicalize(*text, analysis->frame);
      const auto fromReading = canonicalizer_->canonicalize(analysis->reading, analysis->frame);
      EXPECT_EQ(fromReading.maskedTemplate, fromText.maskedTemplate) << *text;
      EXPECT_EQ(fromReading.frame.mentions, fromText.frame.mentions) << *text;
      EXPECT_EQ(fromReading.contentWords, fromText.contentWords) << *text;
      EXPECT_EQ(exactKey(fromReading, scope), exactKey(fromText, scope)) << *text;
      EXPECT_EQ(gateKey(fromReading, "builtin-1", "tenant-7", "3"), gateKey(fromText, "builtin-1", "tenant-7", "3"))
          << *text;
      ++compared;
    }
  }
  EXPECT_GE(compared, 600u);
}

TEST_F(CacheTest, LabelledPairsThroughTheGraph) {
  // The approximate retrieval must be as safe; it may only miss more.
  const auto pairs = loadPairs();
  std::vector<CanonicalRequest> as, bs;
  for (const auto& p : pairs) {
    as.push_back(canonical(p.a));
    bs.push_back(canonical(p.b));
  }
  const auto graph = runPairs(pairs, as, bs, Retrieval::kGraph);
  const auto exact = runPairs(pairs, as, bs, Retrieval::kGateIndex);
  EXPECT_TRUE(graph.wrong.empty()) << graph.wrong.size() << " wrong reuses, first: " << graph.wrong.front();
  EXPECT_LE(graph.reuseServed, exact.reuseServed);
  std::printf("\nthrough the HNSW graph: reuse rate %.3f (%d / %d), exact gate index %.3f\n", graph.reuseRate(),
              graph.reuseServed, graph.reuseTotal, exact.reuseRate());
}

// --- the issue's examples ---

TEST_F(CacheTest, SpecExamples) {
  auto index = newIndex();
  ASSERT_TRUE(index->insert(canonical("scale auth to 3000 RPS"), "alice", "1", "scale-auth"));
  ASSERT_TRUE(index->insert(canonical("disable caching"), "alice", "1", "disable-caching"));
  index->flush();

  auto paraphrase = index->lookup(canonical("auth service scaling 5000 RPS"), "alice", "1");
  ASSERT_TRUE(paraphrase);
  EXPECT_EQ(paraphrase->payloadId, "scale-auth");
  EXPECT_EQ(paraphrase->maskedTemplate, "scale auth to {n} rps");
  std::printf("\n'scale auth to 3000 RPS' serves 'auth service scaling 5000 RPS' with similarity %.3f\n",
              paraphrase->similarity);

  auto payments = canonical("scale payments to 3000 RPS");
  EXPECT_FALSE(index->lookup(payments, "alice", "1"));
  std::printf("'scale payments to 3000 RPS': not served (cosine %.3f, but the component differs)\n",
              templateSimilarity(canonical("scale auth to 3000 RPS"), payments));
  EXPECT_FALSE(index->lookup(canonical("enable caching"), "alice", "1"));
  EXPECT_FALSE(index->lookup(canonical("scale auth to 3000 RPS"), "bob", "1"));
  EXPECT_FALSE(index->lookup(canonical("scale auth to 3000 RPS"), "alice", "2"));

  // And the other way round.
  auto other = newIndex();
  other->insert(canonical("enable caching"), "alice", "1", "enable-caching");
  other->flush();
  EXPECT_FALSE(other->lookup(canonical("disable caching"), "alice", "1"));
  EXPECT_FALSE(other->lookup(canonical("turn off caching"), "alice", "1"));
  EXPECT_TRUE(other->lookup(canonical("enable caching"), "alice", "1"));
}

TEST_F(CacheTest, SameTemplateReplacesThePayload) {
  auto index = newIndex();
  index->insert(canonical("scale auth to 3000 RPS"), "alice", "1", "first");
  index->insert(canonical("scale auth to 9000 RPS"), "alice", "1", "second");
  index->flush();
  EXPECT_EQ(index->size(), 1u);
  EXPECT_EQ(index->stats().replaced, 1u);
  EXPECT_EQ(index->lookup(canonical("scale auth to 10 RPS"), "alice", "1")->payloadId, "second");
}

// --- growth, limits, options ---

std::vector<std::string> syntheticRequests(const Catalog& catalog, std::size_t count) {
  static const char* kForms[] = {
      "scale the %s service to %d rps", "add a cache in front of the %s",         "remove the %s",
      "optimize the %s for latency",    "analyze the bottlenecks in the %s",      "reduce %s p99 latency to %d ms",
      "add monitoring to the %s",       "make the %s handle %d concurrent users",
  };
  std::vector<std::string> out;
  const auto& components = catalog.components();
  for (std::size_t i = 0; out.size() < count; ++i) {
    const auto& c = components[i % components.size()];
    const char* form = kForms[(i / components.size()) % std::size(kForms)];
    char buf[256];
    std::snprintf(buf, sizeof buf, form, c.name.c_str(), static_cast<int>(100 + i));
    out.emplace_back(buf);
  }
  return out;
}

TEST_F(CacheTest, GrowsPastItsInitialCapacity) {
  SimilarityOptions options;
  options.initialCapacity = 4;
  auto index = newIndex(options);
  const auto requests = syntheticRequests(engine_->catalog(), 120);
  std::vector<CanonicalRequest> canon;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    canon.push_back(canonical(requests[i]));
    index->insert(canon.back(), "t" + std::to_string(i % 3), "1", "p" + std::to_string(i));
  }
  index->flush();
  const auto stats = index->stats();
  EXPECT_EQ(stats.entries + stats.replaced, requests.size());
  EXPECT_GE(stats.capacity, stats.entries);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    auto hit = index->lookup(canon[i], "t" + std::to_string(i % 3), "1");
    ASSERT_TRUE(hit) << requests[i];
    EXPECT_NEAR(hit->similarity, 1.0, 1e-4);
  }
}

TEST_F(CacheTest, MaxEntriesDropsAndCounts) {
  SimilarityOptions options;
  options.maxEntries = 5;
  auto index = newIndex(options);
  for (const auto& r : syntheticRequests(engine_->catalog(), 20)) index->insert(canonical(r), "t", "1", "p");
  index->flush();
  EXPECT_EQ(index->size(), 5u);
  EXPECT_EQ(index->stats().dropped, 15u);
}

TEST_F(CacheTest, RejectsBadOptions) {
  SimilarityOptions options;
  options.threshold = 0;
  EXPECT_FALSE(SimilarityIndex::create(options));
  options = {};
  options.candidates = 0;
  EXPECT_FALSE(SimilarityIndex::create(options));
  options = {};
  options.initialCapacity = 0;
  EXPECT_FALSE(SimilarityIndex::create(options));
}

// --- persistence ---

TEST_F(CacheTest, SaveAndLoadGiveIdenticalAnswers) {
  const auto pairs = loadPairs();
  auto index = newIndex();
  std::vector<CanonicalRequest> bs;
  for (const auto& p : pairs) {
    index->insert(canonical(p.a), "alice#" + std::to_string(p.line), "1", "A@" + std::to_string(p.line));
    bs.push_back(canonical(p.b));
  }
  const auto path = tempPath("l3.index");
  ASSERT_TRUE(index->save(path));
  SimilarityOptions options;
  options.applyInBackground = false;
  auto loaded = SimilarityIndex::load(path, options);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ((*loaded)->size(), index->size());
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto tenant = pairs[i].tenantB + "#" + std::to_string(pairs[i].line);
    auto before = index->lookup(bs[i], tenant, pairs[i].canvasB);
    auto after = (*loaded)->lookup(bs[i], tenant, pairs[i].canvasB);
    ASSERT_EQ(before.has_value(), after.has_value()) << pairs[i].b;
    if (before) {
      EXPECT_EQ(before->payloadId, after->payloadId);
      EXPECT_EQ(before->similarity, after->similarity);
      EXPECT_EQ(before->maskedTemplate, after->maskedTemplate);
    }
  }
  // A loaded index keeps growing and saves again.
  (*loaded)->insert(canonical("scale the ledger to 4000 tps"), "zed", "1", "new");
  (*loaded)->flush();
  EXPECT_EQ((*loaded)->lookup(canonical("scale the ledger to 9000 tps"), "zed", "1")->payloadId, "new");
  ASSERT_TRUE((*loaded)->save(path));
  auto again = SimilarityIndex::load(path, options);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->size(), index->size() + 1);
}

TEST_F(CacheTest, LoadRejectsCorruptAndForeignFiles) {
  auto index = newIndex();
  for (const auto& r : syntheticRequests(engine_->catalog(), 40)) index->insert(canonical(r), "t", "1", "p");
  const auto path = tempPath("good.index");
  ASSERT_TRUE(index->save(path));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& name, const std::string& content) {
    auto p = tempPath(name);
    std::ofstream(p, std::ios::binary) << content;
    return p;
  };
  SimilarityOptions options;
  auto expectError = [&](const std::filesystem::path& p, ErrorCode code, const std::string& words) {
    auto loaded = SimilarityIndex::load(p, options);
    ASSERT_FALSE(loaded) << p;
    EXPECT_EQ(loaded.error().code, code);
    EXPECT_NE(loaded.error().message.find(words), std::string::npos) << loaded.error().message;
  };

  expectError(tempPath("missing.index"), ErrorCode::kNotFound, "does not exist");
  expectError(write("text.index", "hello, this is not an index"), ErrorCode::kInvalidArgument, "not an index file");
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  expectError(write("flipped.index", flipped), ErrorCode::kInvalidArgument, "checksum");
  expectError(write("truncated.index", bytes.substr(0, bytes.size() - 100)), ErrorCode::kInvalidArgument, "checksum");

  options.engineVersion = "builtin-2";
  expectError(path, ErrorCode::kInvalidArgument, "engine version 'builtin'");
  options = {};
  options.maxEntries = 10;
  expectError(path, ErrorCode::kInvalidArgument, "maxEntries");
}

// --- threads ---

class CacheThreadsTest : public CacheTest, public testing::WithParamInterface<Retrieval> {};

TEST_P(CacheThreadsTest, ConcurrentLookupsWhileInsertsApplyInTheBackground) {
  SimilarityOptions options;
  options.retrieval = GetParam();
  options.initialCapacity = 16;  // resizes happen while readers run
  auto created = SimilarityIndex::create(options);
  ASSERT_TRUE(created);
  auto& index = *created;

  const auto requests = syntheticRequests(engine_->catalog(), 600);
  std::vector<CanonicalRequest> canon;
  for (const auto& r : requests) canon.push_back(canonical(r));

  std::atomic<bool> done{false};
  std::atomic<int> wrongTenant{0}, lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (std::size_t i = t; !done.load(); i = (i + 7) % canon.size()) {
        const std::string tenant = "t" + std::to_string(i % 5);
        if (auto hit = index->lookup(canon[i], tenant, "1")) {
          if (!hit->payloadId.starts_with(tenant + ":")) wrongTenant.fetch_add(1);
        }
        lookups.fetch_add(1);
      }
    });
  }
  std::thread writer([&] {
    for (std::size_t i = 0; i < canon.size(); ++i) {
      const std::string tenant = "t" + std::to_string(i % 5);
      index->insert(canon[i], tenant, "1", tenant + ":" + std::to_string(i));
    }
  });
  writer.join();
  index->flush();
  done = true;
  for (auto& r : readers) r.join();

  EXPECT_EQ(wrongTenant.load(), 0);
  EXPECT_GT(lookups.load(), 0);
  const auto stats = index->stats();
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.entries + stats.replaced, canon.size());
  for (std::size_t i = 0; i < canon.size(); ++i) {
    const std::string tenant = "t" + std::to_string(i % 5);
    auto hit = index->lookup(canon[i], tenant, "1");
    ASSERT_TRUE(hit) << requests[i];
    EXPECT_TRUE(hit->payloadId.starts_with(tenant + ":"));
  }
}

INSTANTIATE_TEST_SUITE_P(Retrieval, CacheThreadsTest, testing::Values(Retrieval::kGateIndex, Retrieval::kGraph),
                         [](const auto& info) { return info.param == Retrieval::kGraph ? "Graph" : "GateIndex"; });

}  // namespace
}  // namespace ymy::cache
