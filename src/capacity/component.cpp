#include "capacity/component.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <span>
#include <sstream>

#include "capacity/tiers.hpp"
#include "model/json_io.hpp"

namespace ymy::capacity {

namespace bj = boost::json;

namespace {

bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
char lowerChar(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lowerChar);
  return out;
}

// "session_store", "sessionStore" and "Session Store" all become "sessionstore".
std::string normalisedKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (isAlnum(c)) out += lowerChar(c);
  }
  return out;
}

// Lowercase words, split at non-alphanumerics and camelCase humps:
// "AuthService" and "auth-service" both give {"auth", "service"}.
std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!isAlnum(c)) {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
      continue;
    }
    bool hump =
        std::isupper(static_cast<unsigned char>(c)) && i > 0 && std::islower(static_cast<unsigned char>(text[i - 1]));
    if (hump && !current.empty()) {
      out.push_back(std::move(current));
      current.clear();
    }
    current += lowerChar(c);
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

bool anyOf(const std::string& word, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), word) != set.end();
}

std::optional<double> numberWord(const std::string& word) {
  static constexpr std::string_view kWords[] = {"zero",  "one",   "two",  "three", "four",   "five",  "six",
                                                "seven", "eight", "nine", "ten",   "eleven", "twelve"};
  auto it = std::find(std::begin(kWords), std::end(kWords), word);
  if (it != std::end(kWords)) return static_cast<double>(it - std::begin(kWords));
  if (word == "a" || word == "an" || word == "single") return 1.0;
  return std::nullopt;
}

// The first number written with digits, thousands separators and a k/M
// multiplier; `end` is set past what was consumed.
std::optional<double> firstNumber(std::string_view text, std::size_t* end = nullptr) {
  std::size_t i = 0;
  while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == text.size()) return std::nullopt;
  std::string digits;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      digits += c;
    } else if (c == ',' && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      continue;  // 1,500
    } else {
      break;
    }
  }
  double value = std::strtod(digits.c_str(), nullptr);
  auto alphaAt = [&](std::size_t j) { return j < text.size() && std::isalpha(static_cast<unsigned char>(text[j])); };
  std::string rest = lower(text.substr(i));
  if (!rest.empty() && rest[0] == 'k' &&
      (!alphaAt(i + 1) || rest.rfind("krps", 0) == 0 || rest.rfind("kreq", 0) == 0)) {
    value *= 1e3;
    ++i;
  } else if (!rest.empty() && rest[0] == 'm' && (!alphaAt(i + 1) || rest.rfind("mrps", 0) == 0)) {
    value *= 1e6;
    ++i;
  } else {
    auto trimmed = rest.substr(std::min(rest.find_first_not_of(' '), rest.size()));
    if (trimmed.rfind("thousand", 0) == 0) value *= 1e3;
    if (trimmed.rfind("million", 0) == 0) value *= 1e6;
  }
  if (end) *end = i;
  return value;
}

constexpr std::string_view kNoneWords[] = {"",    "none",     "no",      "false", "n/a", "na",       "null",
                                           "off", "disabled", "nothing", "0",     "-",   "not used", "unused"};

bool saysNone(std::string_view text) {
  std::string t = lower(text);
  t.erase(0, t.find_first_not_of(' '));
  t.erase(t.find_last_not_of(' ') + 1);
  if (std::find(std::begin(kNoneWords), std::end(kNoneWords), t) != std::end(kNoneWords)) return true;
  return t.rfind("no ", 0) == 0 || t.rfind("without", 0) == 0;
}

SessionStore classifySessions(std::string_view text) {
  if (saysNone(text)) return SessionStore::kNone;
  std::string t = lower(text);
  for (std::string_view shared :
       {"redis", "memcache", "hazelcast", "dynamo", "database", "sql", "postgres", "mongo", "cassandra", "etcd",
        "valkey", "keydb", "elasticache", "distributed", "shared", "cluster", "external", "db"}) {
    if (contains(t, shared)) return SessionStore::kDistributed;
  }
  for (std::string_view local :
       {"memory", "in process", "in-process", "inprocess", "local", "heap", "sticky", "default", "file"}) {
    if (contains(t, local)) return SessionStore::kInMemory;
  }
  for (std::string_view stateless : {"stateless", "jwt", "token", "cookie"}) {
    if (contains(t, stateless)) return SessionStore::kNone;
  }
  return SessionStore::kDistributed;  // a named store we do not know is still outside the process
}

// Read replicas written into a database description: "MySQL with 2 read
// replicas", "PostgreSQL + one replica", "primary-replica", "no replicas",
// "MongoDB replica set" (a set has 2 secondaries at least).
int replicasInText(std::string_view text) {
  auto w = words(text);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::string& word = w[i];
    bool replicaWord = word.rfind("replica", 0) == 0 || word.rfind("secondar", 0) == 0 || word.rfind("slave", 0) == 0 ||
                       word.rfind("follower", 0) == 0 || word.rfind("standby", 0) == 0;
    if (!replicaWord) continue;
    for (std::size_t back = 1; back <= 3 && back <= i; ++back) {
      const std::string& before = w[i - back];
      if (before == "no" || before == "without" || before == "zero") return 0;
      if (auto n = parseCount(before)) return static_cast<int>(*n);
      if (!anyOf(before, {"read", "hot", "warm", "async", "sync", "streaming", "live"})) break;
    }
    for (std::size_t ahead = 1; ahead <= 2 && i + ahead < w.size(); ++ahead) {
      if (auto n = parseCount(w[i + ahead])) return static_cast<int>(*n);
    }
    if (i + 1 < w.size() && w[i + 1] == "set") return 2;
    return 1;
  }
  return 0;
}

// The config object seen through key aliases.
class ConfigView {
 public:
  explicit ConfigView(const CanvasNode& node) : ConfigView(node.config, "node '" + node.id + "' config") {}
  ConfigView(const bj::object& object, std::string prefix) : prefix_(std::move(prefix)) {
    for (const auto& kv : object) entries_.push_back({normalisedKey(kv.key()), std::string(kv.key()), &kv.value()});
  }

  // The first present, non-null entry among the aliases (normalised spellings).
  std::optional<json::Reader> find(std::span<const std::string_view> aliases) const {
    for (auto alias : aliases) {
      for (const auto& e : entries_) {
        if (e.normalised == alias && !e.value->is_null()) return json::Reader(*e.value, prefix_ + "." + e.key);
      }
    }
    return std::nullopt;
  }

 private:
  struct Entry {
    std::string normalised;
    std::string key;
    const bj::value* value;
  };
  std::string prefix_;
  std::vector<Entry> entries_;
};

constexpr std::string_view kInstanceKeys[] = {"instances",         "instance", "instancecount", "numinstances",
                                              "numberofinstances", "replicas", "replicacount",  "pods",
                                              "podcount",          "servers",  "count",         "scale"};
// On a database node "replicas" counts read replicas beside the primary
// (the builtin architect writes {"replicas": 0}), not instances.
constexpr std::string_view kDatastoreInstanceKeys[] = {"instances", "instance", "instancecount", "numinstances",
                                                       "numberofinstances", "pods", "podcount", "servers", "count"};
constexpr std::string_view kDatastoreReplicaKeys[] = {"replicas", "replicacount"};
constexpr std::string_view kDatabaseKeys[] = {"database",        "db",      "datastore",  "databaseengine", "dbengine",
                                              "primarydatabase", "storage", "persistence"};
constexpr std::string_view kReadReplicaKeys[] = {"readreplicas",     "readreplica",    "dbreplicas",
                                                 "databasereplicas", "dbreadreplicas", "replicasdb"};
constexpr std::string_view kDatabaseReplicaKeys[] = {"replicas", "readreplicas", "replicacount", "readreplica"};
constexpr std::string_view kSessionKeys[] = {"sessionstore",   "sessions",          "session",     "sessionstorage",
                                             "sessionbackend", "sessionmanagement", "sessionstate"};
constexpr std::string_view kCacheKeys[] = {"cache",      "caching",      "cachelayer",
                                           "cachestore", "cachebackend", "cacheengine"};
constexpr std::string_view kLoadBalancerKeys[] = {"loadbalancer", "lb", "loadbalancing", "balancer"};
constexpr std::string_view kQueueKeys[] = {"queue", "messagequeue", "broker", "messagebroker", "mq", "eventbus"};
constexpr std::string_view kCapacityKeys[] = {"estimatedcapacity", "capacity", "currentcapacity", "maxrps",
                                              "throughput",        "rps",      "estimatedrps",    "capacityrps"};
constexpr std::string_view kWorkloadKeys[] = {"workload", "workloadtype", "workloadkind"};
constexpr std::string_view kRpsPerInstanceKeys[] = {"rpsperinstance", "perinstancerps", "instancerps",
                                                    "throughputperinstance"};
constexpr std::string_view kNameKeys[] = {"engine", "type", "name", "provider", "kind"};

// A whole count from a number, text ("3 instances") or an object such as an
// autoscaling range ({"min": 2, "max": 10} counts the minimum).
int readCount(const json::Reader& r, const char* what) {
  const auto& v = r.value();
  double n = 0;
  if (v.is_number()) {
    n = r.number();
  } else if (v.is_string()) {
    auto parsed = parseCount(v.get_string());
    if (!parsed) r.fail(std::string("expected a number of ") + what + ", got '" + std::string(v.get_string()) + "'");
    n = *parsed;
  } else if (v.is_object()) {
    for (std::string_view key : {"count", "current", "desired", "min", "instances", "replicas"}) {
      if (auto inner = r.find(key)) return readCount(*inner, what);
    }
    r.fail(std::string("expected a number of ") + what + " (or an object with count, current, desired or min)");
  } else {
    r.fail(std::string("expected a number of ") + what + ", got " + json::kindName(v));
  }
  if (n < 0 || n != std::floor(n) || n > 1'000'000) r.fail(std::string("expected a whole number of ") + what);
  return static_cast<int>(n);
}

std::string nameIn(const json::Reader& r) {
  for (auto key : kNameKeys) {
    if (auto inner = r.find(key); inner && inner->value().is_string()) return inner->str();
  }
  return {};
}

// Whether a tier the config mentions exists: true/false, a name ("NGINX",
// "none"), a count, or an object ({"engine": "Redis", "enabled": true}).
std::optional<std::string> presence(const json::Reader& r) {
  const auto& v = r.value();
  if (v.is_bool()) return v.get_bool() ? std::optional<std::string>("yes") : std::nullopt;
  if (v.is_string()) return saysNone(v.get_string()) ? std::nullopt : std::optional<std::string>(v.get_string());
  if (v.is_number()) return r.number() > 0 ? std::optional<std::string>(json::compact(v)) : std::nullopt;
  if (v.is_object()) {
    if (auto enabled = r.find("enabled"); enabled && enabled->value().is_bool() && !enabled->boolean()) {
      return std::nullopt;
    }
    std::string name = nameIn(r);
    return name.empty() ? "yes" : name;
  }
  return std::nullopt;  // an array says nothing we can read
}

std::optional<double> readRate(const json::Reader& r, std::vector<std::string>& notes) {
  const auto& v = r.value();
  std::optional<double> rate;
  if (v.is_number()) rate = r.number();
  if (v.is_string()) rate = parseRate(v.get_string());
  if (rate && *rate > 0 && std::isfinite(*rate)) return rate;
  notes.push_back(r.path() + " (" + json::compact(v) + ") has no positive request rate; ignored");
  return std::nullopt;
}

std::string nodeKind(const CanvasNode& node) {
  std::string type = normalisedKey(node.type);
  if (anyOf(type, {"database", "db", "datastore", "sql", "nosql", "rdbms", "documentstore"})) return "database";
  if (anyOf(type, {"cache"})) return "cache";
  if (anyOf(type, {"loadbalancer", "lb", "balancer"})) return "load_balancer";
  if (anyOf(type, {"gateway", "apigateway", "ingress", "reverseproxy"})) return "gateway";
  if (anyOf(type, {"queue", "messagequeue", "broker", "messagebroker", "eventbus"})) return "queue";
  return type;
}

void readNeighbours(const CanvasNode& node, const Canvas& canvas, CurrentConfig& c) {
  for (const auto& edge : canvas.edges) {
    const std::string* other = edge.source == node.id ? &edge.target : edge.target == node.id ? &edge.source : nullptr;
    if (!other || *other == node.id) continue;
    const CanvasNode* n = canvas.findNode(*other);
    if (!n) continue;
    const std::string kind = nodeKind(*n);
    const std::string name = n->label.empty() ? n->id : n->label;
    if (kind == "database") {
      if (!c.hasDatabase) c.database = name;
      c.hasDatabase = true;
      ConfigView config(*n);
      int replicas = 0;
      if (auto r = config.find(kDatabaseReplicaKeys)) {
        replicas = readCount(*r, "replicas");
      } else {
        replicas = replicasInText(name);
        if (auto engine = config.find(kNameKeys); engine && engine->value().is_string()) {
          replicas = std::max(replicas, replicasInText(engine->str()));
        }
      }
      c.readReplicas = std::max(c.readReplicas, replicas);
    } else if (kind == "cache") {
      bool holdsSessions = contains(lower(n->id + " " + n->label), "session");
      if (holdsSessions && c.sessionStore != SessionStore::kDistributed) {
        c.sessionStore = SessionStore::kDistributed;
        c.sessionStoreText = name;
      } else if (!holdsSessions) {
        c.hasCache = true;
        if (c.cache.empty()) c.cache = name;
      }
    } else if (kind == "load_balancer" || (kind == "gateway" && edge.target == node.id)) {
      // Gateways and ingresses spread requests over a service's instances too.
      c.hasLoadBalancer = true;
      if (c.loadBalancer.empty()) c.loadBalancer = name;
    } else if (kind == "queue") {
      c.hasQueue = true;
    }
  }
}

std::string rpsText(double rps) {
  std::ostringstream out;
  out << static_cast<long long>(std::floor(rps + 1e-6)) << " RPS";  // 899.9999 is 900
  return out.str();
}

void findBottlenecks(const Baselines& b, CurrentConfig& c) {
  auto add = [&](BottleneckKind kind, std::string reason) { c.bottlenecks.push_back({kind, c.component, reason}); };
  const double u = b.targetUtilisation;
  if (c.instances <= 1) {
    TrafficMix mix;
    mix.appRpsPerInstance = c.rpsPerInstance;
    double one = appUnit(c.workload, mix, b).rpsPerUnit * u;
    add(BottleneckKind::kSingleInstance,
        "Single instance: no horizontal scaling and no failover; one " + std::string(workloadName(c.workload)) +
            " instance serves about " + rpsText(one) + " at " + std::to_string(static_cast<int>(u * 100)) + "% busy");
  }
  if (c.sessionStore == SessionStore::kInMemory) {
    add(BottleneckKind::kInMemorySessions,
        "Sessions kept in process memory ('" + c.sessionStoreText +
            "'): not distributed, so instances cannot share users (scaling out breaks logins or needs sticky "
            "sessions) and a restart logs everyone out");
  }
  if (c.hasDatabase && c.readReplicas == 0) {
    add(BottleneckKind::kSingleDatabase, "Single database ('" + c.database +
                                             "') without read replicas: every read and write goes to one server, "
                                             "which is also a single point of failure");
  }
  // Reads are hot when they alone would fill a database server: that is where a
  // cache pays for itself (and where the sizing puts one).
  const double readRatio = b.trafficFor(c.workload).readRatio;
  const double reads = c.currentCapacityRps * readRatio;
  if (c.hasDatabase && !c.hasCache && readRatio >= b.policy.cacheWhenReadRatioAtLeast &&
      reads > b.replicaReads.rpsPerUnit * u) {
    add(BottleneckKind::kNoCache, "No cache in front of hot reads: about " + rpsText(reads) +
                                      " of reads reach the database, more than one database server takes at " +
                                      std::to_string(static_cast<int>(u * 100)) + "% busy");
  }
  if (c.instances > 1 && !c.hasLoadBalancer) {
    add(BottleneckKind::kNoLoadBalancer, std::to_string(c.instances) +
                                             " instances with no load balancer in front: traffic is not spread "
                                             "over them and a failed instance keeps receiving requests");
  }
}

}  // namespace

const char* bottleneckKindName(BottleneckKind kind) {
  switch (kind) {
    case BottleneckKind::kSingleInstance:
      return "single_instance";
    case BottleneckKind::kInMemorySessions:
      return "in_memory_sessions";
    case BottleneckKind::kSingleDatabase:
      return "single_database";
    case BottleneckKind::kNoCache:
      return "no_cache";
    case BottleneckKind::kNoLoadBalancer:
      return "no_load_balancer";
  }
  return "unknown";
}

const char* sessionStoreName(SessionStore store) {
  switch (store) {
    case SessionStore::kNone:
      return "none";
    case SessionStore::kInMemory:
      return "in_memory";
    case SessionStore::kDistributed:
      return "distributed";
  }
  return "none";
}

std::optional<double> parseRate(std::string_view text) {
  auto value = firstNumber(text);
  if (!value) return std::nullopt;
  std::string t = lower(text);
  if (contains(t, "rpm") || contains(t, "per min") || contains(t, "/min") || contains(t, "/ min") ||
      contains(t, "a minute")) {
    return *value / 60.0;
  }
  if (contains(t, "rph") || contains(t, "per hour") || contains(t, "/h") || contains(t, "/ h") ||
      contains(t, "an hour")) {
    return *value / 3600.0;
  }
  return value;
}

std::optional<double> parseCount(std::string_view text) {
  if (auto n = firstNumber(text)) return n;
  for (const auto& word : words(text)) {
    if (auto n = numberWord(word)) return n;
  }
  return std::nullopt;
}

std::pair<Workload, std::string> inferWorkload(const CanvasNode& node) {
  struct Source {
    const char* name;
    const std::string* text;
  };
  for (Source source : {Source{"id", &node.id}, Source{"label", &node.label}, Source{"type", &node.type}}) {
    for (const auto& word : words(*source.text)) {
      if (anyOf(word, {"auth",        "authn",     "authz",      "authentication", "authorization", "authorisation",
                       "login",       "logins",    "logon",      "signin",         "session",       "sessions",
                       "identity",    "iam",       "oauth",      "oauth2",         "oidc",          "sso",
                       "jwt",         "token",     "tokens",     "password",       "passwords",     "credential",
                       "credentials", "crypto",    "encryption", "hashing",        "transcode",     "transcoding",
                       "thumbnail",   "thumbnails"})) {
        return {Workload::kCpuBound, "inferred from '" + word + "' in the " + source.name};
      }
    }
  }
  for (Source source : {Source{"type", &node.type}, Source{"id", &node.id}, Source{"label", &node.label}}) {
    for (const auto& word : words(*source.text)) {
      if (anyOf(word, {"frontend", "cdn", "static", "assets", "spa"})) {
        return {Workload::kStatic, "inferred from '" + word + "' in the " + source.name};
      }
    }
  }
  return {Workload::kIoBound, "default: no cpu-bound or static hint in the id, label or type"};
}

Result<CurrentConfig> analyseComponent(const CanvasNode& node, const Baselines& baselines, const Canvas* canvas) {
  return json::guarded([&] {
    CurrentConfig c;
    c.component = node.id;
    c.label = node.label.empty() ? node.id : node.label;
    ConfigView config(node);

    if (auto w = config.find(kWorkloadKeys)) {
      auto parsed = parseWorkload(w->str());
      if (!parsed) {
        w->fail("unknown workload '" + w->str() + "'; expected cpu_bound, io_bound, memory_bound, streaming or static");
      }
      c.workload = *parsed;
      c.workloadSource = "from " + w->path().substr(w->path().rfind(' ') + 1);  // "from config.workload"
    } else {
      std::tie(c.workload, c.workloadSource) = inferWorkload(node);
    }

    const bool datastore = node.type == "database";
    if (datastore) {
      if (auto r = config.find(kDatastoreReplicaKeys)) c.readReplicas = readCount(*r, "read replicas");
    }
    if (auto r = datastore ? config.find(kDatastoreInstanceKeys) : config.find(kInstanceKeys)) {
      c.instances = readCount(*r, "instances");
      if (c.instances < 1) r->fail("expected at least 1 instance");
    }
    if (auto r = config.find(kDatabaseKeys)) {
      const auto& v = r->value();
      if (v.is_object()) {
        if (auto present = presence(*r)) {
          c.hasDatabase = true;
          c.database = *present;
          ConfigView database(r->object(), r->path());
          if (auto replicas = database.find(kDatabaseReplicaKeys)) c.readReplicas = readCount(*replicas, "replicas");
        }
      } else if (auto present = presence(*r)) {
        c.hasDatabase = true;
        c.database = *present;
        if (v.is_string()) c.readReplicas = replicasInText(v.get_string());
      }
    }
    if (auto r = config.find(kReadReplicaKeys)) c.readReplicas = readCount(*r, "read replicas");
    if (auto r = config.find(kSessionKeys)) {
      const auto& v = r->value();
      if (v.is_bool()) {
        // "sessions": true without a store means the framework default: in memory.
        c.sessionStore = v.get_bool() ? SessionStore::kInMemory : SessionStore::kNone;
        c.sessionStoreText = v.get_bool() ? "framework default" : "";
      } else {
        c.sessionStoreText = v.is_object() ? nameIn(*r) : v.is_string() ? std::string(v.get_string()) : "";
        c.sessionStore = classifySessions(c.sessionStoreText);
      }
    }
    if (auto r = config.find(kCacheKeys)) {
      if (auto present = presence(*r)) {
        c.hasCache = true;
        c.cache = *present;
      }
    }
    if (auto r = config.find(kLoadBalancerKeys)) {
      if (auto present = presence(*r)) {
        c.hasLoadBalancer = true;
        c.loadBalancer = *present;
      }
    }
    if (auto r = config.find(kQueueKeys)) c.hasQueue = presence(*r).has_value();
    if (auto r = config.find(kRpsPerInstanceKeys)) c.rpsPerInstance = readRate(*r, c.notes);
    if (auto r = config.find(kCapacityKeys)) c.statedCapacityRps = readRate(*r, c.notes);
    if (canvas) readNeighbours(node, *canvas, c);

    // The model's view of the deployment as it stands.
    Design design;
    design.appInstances = c.instances;
    design.loadBalancers = c.hasLoadBalancer ? 1 : 0;
    design.sessionNodes = c.sessionStore == SessionStore::kDistributed ? 1 : 0;
    design.cacheNodes = c.hasCache ? 1 : 0;
    design.primaries = c.hasDatabase ? 1 : 0;
    design.replicas = c.hasDatabase ? c.readReplicas : 0;
    design.queueNodes = c.hasQueue ? 1 : 0;
    const auto& profile = baselines.trafficFor(c.workload);
    TrafficMix mix{profile.readRatio, profile.cacheHitRatio, baselines.sessionOpsPerRequest, c.rpsPerInstance};
    auto supported = supportedLoad(tierLoads(design, c.workload, mix, baselines), baselines.targetUtilisation, {});
    c.modelCapacityRps = supported.requestRps;
    c.modelLimitingTier = supported.limitingTier;
    c.currentCapacityRps = c.statedCapacityRps.value_or(c.modelCapacityRps);
    if (c.statedCapacityRps && *c.statedCapacityRps < 0.5 * c.modelCapacityRps) {
      c.notes.push_back("stated capacity " + rpsText(*c.statedCapacityRps) + " is well below the model's " +
                        rpsText(c.modelCapacityRps) +
                        " for this deployment; the stated figure is kept as the current capacity (set "
                        "rps_per_instance in the config to size from a measured figure)");
    } else if (c.statedCapacityRps && *c.statedCapacityRps > 1.5 * c.modelCapacityRps) {
      c.notes.push_back("stated capacity " + rpsText(*c.statedCapacityRps) + " is well above the model's " +
                        rpsText(c.modelCapacityRps) + " at " +
                        std::to_string(static_cast<int>(baselines.targetUtilisation * 100)) + "% busy");
    }
    findBottlenecks(baselines, c);
    return c;
  });
}

}  // namespace ymy::capacity
