// ops-001 (deployment, load balancer, monitoring) and test-001 (load,
// regression and benchmark tests) for the static path.
//
// A scale intent gets the whole scaled deployment of its target: a
// docker-compose.yml with one service per member of the scaled topology,
// deploy/nginx.conf, deploy/redis-cluster.conf and monitoring/prometheus.yml
// (the deployment task), monitoring/alerts.yml (the monitoring task). The
// topology is the one the canvas shows after the merge (REPLACE_COMPONENT):
// the counts of arch-001's output["scaled"], else cap-001's
// output["capacity"], else fallbacks; the node ids the merger gives.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <sstream>

#include <boost/json/serialize.hpp>

#include "agents/flow_items.hpp"
#include "agents/support.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;
namespace json = boost::json;

// ---- Reading the sizing -----------------------------------------------------

std::optional<double> numberIn(const json::object* o, std::string_view key) {
  if (!o) return std::nullopt;
  auto it = o->find(key);
  if (it == o->end()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

std::optional<int> countIn(const json::object* o, std::string_view key) {
  auto n = numberIn(o, key);
  if (!n || *n < 0 || *n > 1000) return std::nullopt;  // a count, not garbage
  return static_cast<int>(std::lround(*n));
}

// The first of the values that is there.
template <typename T>
std::optional<T> firstOf(std::initializer_list<std::optional<T>> values) {
  for (const auto& v : values) {
    if (v) return v;
  }
  return std::nullopt;
}

std::optional<bool> boolIn(const json::object* o, std::string_view key) {
  if (!o) return std::nullopt;
  auto it = o->find(key);
  if (it == o->end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

std::string stringIn(const json::object* o, std::string_view key) {
  if (!o) return {};
  auto it = o->find(key);
  return it != o->end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "MySQL single instance" -> "mysql"; "" when the text names neither engine.
std::string engineIn(std::string_view text) {
  const auto t = lower(text);
  if (t.find("mysql") != std::string::npos || t.find("maria") != std::string::npos) return "mysql";
  if (t.find("postgres") != std::string::npos) return "postgresql";
  return {};
}

// The newest output[key] object among the completed ancestors.
std::optional<json::object> ancestorOutput(const executor::TaskContext& ctx, std::string_view key) {
  std::optional<json::object> found;
  for (const auto& [task, result] : ctx.ancestors()) {
    auto it = result->output.find(key);
    if (it != result->output.end() && it->value().is_object()) found = it->value().get_object();
  }
  return found;
}

// ---- The canvas the merge will produce -------------------------------------

// The base canvas with the canvas patches of the completed ancestors applied in
// plan order (by id, as the assembler does). The merger's REPLACE_COMPONENT
// runs later, at assembly; ids it will give are derived below by its rules.
Canvas currentCanvas(const executor::TaskContext& ctx) {
  Canvas c = ctx.input().baseCanvas;
  for (const auto& [task, result] : ctx.ancestors()) {
    for (const auto& id : result->removeNodes) {
      std::erase_if(c.nodes, [&](const CanvasNode& n) { return n.id == id; });
      std::erase_if(c.edges, [&](const CanvasEdge& e) { return e.source == id || e.target == id; });
    }
    for (const auto& n : result->canvasUpdate.nodes) {
      auto it = std::find_if(c.nodes.begin(), c.nodes.end(), [&](const CanvasNode& m) { return m.id == n.id; });
      if (it != c.nodes.end()) {
        *it = n;
      } else {
        c.nodes.push_back(n);
      }
    }
    for (const auto& e : result->canvasUpdate.edges) c.edges.push_back(e);
  }
  return c;
}

const CanvasNode* sourceOfType(const Canvas& canvas, const std::string& target, std::string_view type) {
  for (const auto& e : canvas.edges) {
    if (e.target != target) continue;
    const auto* n = canvas.findNode(e.source);
    if (n && n->type == type) return n;
  }
  return nullptr;
}

// `wanted`, or wanted-2, wanted-3, ... when a node of another type holds it.
std::string claimId(const Canvas& canvas, const std::string& wanted, std::string_view type) {
  for (int n = 1;; ++n) {
    std::string id = n == 1 ? wanted : wanted + "-" + std::to_string(n);
    const auto* node = canvas.findNode(id);
    if (!node || node->type == type) return id;
  }
}

// ---- The scaled deployment ---------------------------------------------------

// What a scale intent deploys for its target. Compose services are named after
// the canvas nodes; a node that stands for a group (the target's instances, the
// session store's nodes) gives services <node>-1..n.
struct ScaledDeployment {
  std::string target;  // "auth-service"
  std::string label;   // "Auth Service"
  int port = 3000;
  std::string healthPath = "/health";
  int rps = 0;
  int estimatedCapacity = 0;
  double perInstanceRps = 0;
  int instances = 2;
  std::string loadBalancer;  // empty: none (a single instance publishes its port)
  std::string sessions;      // Redis Cluster node, "" when sessions stay where they are
  int sessionNodes = 0;
  std::string cache;
  int cacheNodes = 0;
  struct Database {
    std::string id;      // the primary
    std::string engine;  // "mysql" or "postgresql"
    std::vector<std::string> replicas;
    int maxConnections = 500;
  };
  std::optional<Database> database;
  std::string monitoring;
  bool scaledByArchitect = false;  // an ancestor's output["scaled"]: the merger builds the canvas

  std::vector<std::string> instanceNames() const { return members(target, instances); }
  std::vector<std::string> sessionNames() const { return members(sessions, sessionNodes); }
  std::vector<std::string> cacheNames() const {
    return cacheNodes == 1 ? std::vector<std::string>{cache} : members(cache, cacheNodes);
  }
  std::string redisExporter() const { return monitoring + "-redis-exporter"; }
  std::string exporterOf(const std::string& node) const { return monitoring + "-" + node + "-exporter"; }
  int minInstances() const {
    // The instances needed to carry the target load at the sized rate.
    if (perInstanceRps <= 0) return std::max(1, instances - 1);
    return std::clamp(static_cast<int>(std::ceil(rps / perInstanceRps)), 1, instances);
  }

 private:
  static std::vector<std::string> members(const std::string& base, int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) out.push_back(base + "-" + std::to_string(i));
    return out;
  }
};

ScaledDeployment scaledDeployment(const executor::TaskContext& ctx) {
  const auto& input = ctx.input();
  const auto capacity = detail::capacityOf(ctx);
  const auto scaled = ancestorOutput(ctx, "scaled");
  const json::object* cap = capacity ? &*capacity : nullptr;
  const json::object* arch = scaled ? &*scaled : nullptr;
  const Canvas canvas = currentCanvas(ctx);

  ScaledDeployment d;
  d.target = detail::targetNode(input);
  d.scaledByArchitect = arch != nullptr;
  const CanvasNode* node = canvas.findNode(d.target);
  d.label = node && !node->label.empty() ? node->label : detail::titleCase(d.target);
  if (auto port = countIn(node ? &node->config : nullptr, "port"); port && *port > 0) d.port = *port;

  const double rps = numberIn(cap, "rps").value_or(detail::targetRps(input));
  d.rps = static_cast<int>(std::lround(rps));
  // The counts the canvas shows (arch-001 hands them to the merger), else the
  // sizing's, else a sizing of our own: 500 RPS per instance with 10% headroom.
  d.instances = firstOf({countIn(arch, "instances"), countIn(cap, "instances")})
                    .value_or(std::max(2, static_cast<int>(std::ceil(rps * 1.1 / 500))));
  d.instances = std::max(1, d.instances);
  d.perInstanceRps = numberIn(cap, "perInstanceRps").value_or(0);
  if (d.perInstanceRps <= 0) d.perInstanceRps = rps * 1.1 / d.instances;
  d.estimatedCapacity =
      static_cast<int>(std::lround(numberIn(cap, "estimatedCapacity").value_or(d.instances * d.perInstanceRps)));

  const auto lbCount = countIn(cap, "loadBalancers");
  const bool wantsLb =
      firstOf({boolIn(arch, "loadBalancer"), lbCount ? std::optional<bool>(*lbCount > 0) : std::nullopt})
          .value_or(d.instances > 1);
  if (wantsLb || d.instances > 1) {
    const auto* inFront = sourceOfType(canvas, d.target, "load_balancer");
    d.loadBalancer = inFront ? inFront->id : claimId(canvas, d.target + "-lb", "load_balancer");
  }

  const bool noSessionStore = stringIn(cap, "sessionStore") == "none";
  d.sessionNodes =
      firstOf({countIn(arch, "sessionNodes"), countIn(cap, "sessionNodes")}).value_or(noSessionStore ? 0 : 3);
  // A Redis Cluster needs three masters.
  if (d.sessionNodes > 0) {
    d.sessionNodes = std::max(3, d.sessionNodes);
    d.sessions = claimId(canvas, d.target + "-sessions", "cache");
  }
  d.cacheNodes = firstOf({countIn(arch, "cacheNodes"), countIn(cap, "cacheNodes")}).value_or(1);
  if (d.cacheNodes > 0) d.cache = claimId(canvas, d.target + "-cache", "cache");

  // The database: the one the target uses on the canvas, else one of its own
  // when the sizing has a database tier.
  const CanvasNode* db = databaseOf(canvas, d.target);
  const int replicas = firstOf({countIn(arch, "readReplicas"), countIn(cap, "readReplicas")})
                           .value_or(db ? std::max(1, static_cast<int>(std::ceil(rps * 0.8 / 2500))) : 0);
  const bool sizedDatabase = countIn(cap, "databasePrimaries").value_or(0) > 0 || replicas > 0;
  if (db || sizedDatabase) {
    ScaledDeployment::Database database;
    database.id = db ? db->id : claimId(canvas, d.target + "-db", "database");
    for (std::string text : {stringIn(cap, "databaseEngine"), db ? stringIn(&db->config, "engine") : std::string(),
                             db ? db->label : std::string(), node ? stringIn(&node->config, "database") : std::string(),
                             stringIn(cap, "database")}) {
      database.engine = engineIn(text);
      if (!database.engine.empty()) break;
    }
    if (database.engine.empty()) database.engine = "postgresql";
    database.maxConnections = database.engine == "mysql" ? 500 : 300;
    for (int i = 1; i <= replicas; ++i) database.replicas.push_back(database.id + "-replica-" + std::to_string(i));
    d.database = std::move(database);
  }

  const CanvasNode* monitoring = sourceOfType(canvas, d.target, "monitoring");
  if (!monitoring) {
    auto it = std::find_if(canvas.nodes.begin(), canvas.nodes.end(),
                           [](const CanvasNode& n) { return n.type == "monitoring"; });
    if (it != canvas.nodes.end()) monitoring = &*it;
  }
  d.monitoring = monitoring ? monitoring->id : "monitoring";
  return d;
}

// ---- Views the templates render --------------------------------------------

// A YAML double-quoted scalar (JSON's string syntax is YAML's).
std::string quoted(const std::string& s) { return json::serialize(json::value(s)); }

std::string joined(const std::vector<std::string>& items, const std::string& suffix, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item + suffix;
  return out;
}

json::array namesOf(const std::vector<std::string>& names) {
  json::array out;
  for (const auto& n : names) out.push_back(json::object{{"name", n}});
  return out;
}

std::string sqlName(const std::string& id) {
  std::string out = detail::slug(id);
  std::replace(out.begin(), out.end(), '-', '_');
  return out.substr(0, 32);  // MySQL user names end at 32 characters
}

std::string secret(const char* name, const char* what) {
  return quoted("${" + std::string(name) + ":?set " + name + " (" + what + ")}");
}

// What config.js and the compose services agree on: the environment of every
// instance of the target.
json::array instanceEnvironment(const ScaledDeployment& d) {
  json::array env;
  auto add = [&](const std::string& key, const std::string& value) {
    env.push_back(json::object{{"key", key}, {"value", value}});
  };
  add("INSTANCE_COUNT", quoted(std::to_string(d.instances)));
  add("JWT_SECRET", secret("JWT_SECRET", "one secret shared by every instance"));
  // Always set, empty or "none" when the deployment has no such piece, so
  // config.js never falls back to its development defaults.
  add("SESSION_STORE", quoted(d.sessions.empty() ? "none" : "redis-cluster"));
  if (!d.sessions.empty()) add("REDIS_CLUSTER_NODES", quoted(joined(d.sessionNames(), ":6379", ",")));
  add("CACHE_NODES", quoted(d.cache.empty() ? "" : joined(d.cacheNames(), ":6379", ",")));
  if (d.database) {
    const auto& db = *d.database;
    const std::string port = db.engine == "mysql" ? ":3306" : ":5432";
    add("DB_ENGINE", quoted(db.engine));
    add("DB_PRIMARY", quoted(db.id + port));
    add("DB_READ_REPLICAS", quoted(joined(db.replicas, port, ",")));
    add("DB_NAME", quoted(sqlName(db.id)));
    add("DB_USER", quoted(sqlName(d.target)));
    add("DB_PASSWORD", secret("DB_PASSWORD", "the service's database user"));
    add("DB_MAX_CONNECTIONS", quoted(std::to_string(db.maxConnections)));
  }
  return env;
}

json::object composeView(const ScaledDeployment& d) {
  std::vector<std::string> volumes;
  json::array dependencies;
  auto dependOn = [&](const std::string& service, const char* condition) {
    dependencies.push_back(json::object{{"service", service}, {"condition", condition}});
  };
  json::object view{
      {"project", detail::slug(d.target)},
      {"target", d.target},
      {"label", d.label},
      {"rps", d.rps},
      {"estimatedCapacity", d.estimatedCapacity},
      {"instances", d.instances},
      {"port", d.port},
      {"healthPath", d.healthPath},
      {"instanceList", namesOf(d.instanceNames())},
      {"sharedEnv", instanceEnvironment(d)},
      {"publish", d.loadBalancer.empty()},
      {"loadBalancer", !d.loadBalancer.empty()},
      {"lb", d.loadBalancer},
      {"httpPort", 8080},
      {"httpsPort", 8443},
      {"monitoringId", d.monitoring},
  };
  std::vector<std::string> secrets = {"JWT_SECRET"};
  if (!d.sessions.empty()) {
    json::array nodes;
    for (const auto& name : d.sessionNames()) {
      nodes.push_back(json::object{{"name", name}, {"volume", name + "-data"}});
      volumes.push_back(name + "-data");
    }
    view["sessions"] = true;
    view["sessionsId"] = d.sessions;
    view["sessionNodes"] = d.sessionNodes;
    view["sessionNodeList"] = std::move(nodes);
    view["firstSessionNode"] = d.sessionNames().front();
    view["sessionHosts"] = joined(d.sessionNames(), "", " ");
    view["clusterReplicas"] = d.sessionNodes >= 6 ? 1 : 0;
    dependOn(d.sessions + "-init", "service_completed_successfully");
  }
  if (!d.cache.empty()) {
    view["cache"] = true;
    view["cacheNodeList"] = namesOf(d.cacheNames());
    view["cacheSummary"] = d.cacheNodes == 1 ? d.cache : d.cache + "-1.." + std::to_string(d.cacheNodes);
    for (const auto& name : d.cacheNames()) dependOn(name, "service_healthy");
  }
  if (d.database) {
    const auto& db = *d.database;
    const bool mysql = db.engine == "mysql";
    json::array replicas, exporters;
    volumes.push_back(db.id + "-data");
    exporters.push_back(json::object{{"exporter", d.exporterOf(db.id)}, {"node", db.id}});
    for (std::size_t i = 0; i < db.replicas.size(); ++i) {
      const auto& name = db.replicas[i];
      replicas.push_back(
          json::object{{"name", name}, {"index", i + 1}, {"serverId", i + 2}, {"volume", name + "-data"}});
      exporters.push_back(json::object{{"exporter", d.exporterOf(name)}, {"node", name}});
      volumes.push_back(name + "-data");
    }
    if (mysql) secrets.push_back("DB_ROOT_PASSWORD");
    for (const char* s : {"DB_PASSWORD", "DB_REPLICATION_PASSWORD", "DB_MONITOR_PASSWORD"}) secrets.push_back(s);
    view["database"] = json::object{
        {"mysql", mysql},
        {"postgresql", !mysql},
        {"engineName", mysql ? "MySQL" : "PostgreSQL"},
        {"primary", db.id},
        {"primaryVolume", db.id + "-data"},
        {"hasReplicas", !db.replicas.empty()},
        {"replicaSummary", joined(db.replicas, "", ", ")},
        {"replicaHosts", joined(db.replicas, "", " ")},
        {"replicaList", std::move(replicas)},
        {"exporterList", std::move(exporters)},
        {"maxConnections", db.maxConnections},
        {"databaseName", sqlName(db.id)},
        {"appUser", sqlName(d.target)},
        {"rootPassword", secret("DB_ROOT_PASSWORD", "MySQL root")},
        {"appPassword", secret("DB_PASSWORD", "the service's database user")},
        {"replicationPassword", secret("DB_REPLICATION_PASSWORD", "the replication user")},
        {"monitorPassword", secret("DB_MONITOR_PASSWORD", "the metrics exporter's user")},
    };
    if (mysql) {
      dependOn(db.id + "-init", "service_completed_successfully");
    } else {
      dependOn(db.id, "service_healthy");
    }
    for (const auto& name : db.replicas) dependOn(name, "service_healthy");
  }
  if (!d.sessions.empty() || !d.cache.empty()) view["redisExporter"] = d.redisExporter();
  volumes.push_back(d.monitoring + "-data");
  view["monitoringVolume"] = d.monitoring + "-data";
  view["volumes"] = json::array(volumes.begin(), volumes.end());
  view["secretNames"] = joined(secrets, "", " ");
  view["hasInstanceDependencies"] = !dependencies.empty();
  view["instanceDependencies"] = std::move(dependencies);
  return view;
}

json::array backendsOf(const std::vector<std::string>& hosts, int port) {
  json::array out;
  for (const auto& h : hosts) out.push_back(json::object{{"host", h}, {"port", port}});
  return out;
}

json::object nginxView(const ScaledDeployment& d) {
  json::object view{{"service", d.target},
                    {"instances", d.instances},
                    {"upstream", detail::slug(d.target)},
                    {"backends", backendsOf(d.instanceNames(), d.port)},
                    {"httpPort", 80},
                    {"healthPath", d.healthPath},
                    {"tls", true},
                    {"certNote", "self-signed, made by " + d.loadBalancer + "-certs in docker-compose.yml"}};
  if (!d.sessions.empty()) {
    view["statelessNote"] = "Sessions live in " + d.sessions + " (Redis Cluster): any instance serves any request.";
  }
  return view;
}

json::object redisClusterView(const ScaledDeployment& d) {
  const bool withReplicas = d.sessionNodes >= 6;
  return json::object{{"target", d.target},
                      {"sessionsId", d.sessions},
                      {"sessionNodes", d.sessionNodes},
                      {"masters", withReplicas ? d.sessionNodes / 2 : d.sessionNodes},
                      {"withReplicas", withReplicas},
                      {"maxMemory", "512mb"}};
}

json::object prometheusView(const ScaledDeployment& d) {
  json::array instances;
  for (const auto& name : d.instanceNames()) instances.push_back(json::object{{"name", name}, {"port", d.port}});
  json::array redisJobs;
  auto redisJob = [&](const std::string& job, const std::vector<std::string>& hosts) {
    json::array list;
    for (const auto& h : hosts) list.push_back(json::object{{"host", h}});
    redisJobs.push_back(json::object{{"job", job}, {"hosts", std::move(list)}, {"exporter", d.redisExporter()}});
  };
  if (!d.sessions.empty()) redisJob(d.sessions, d.sessionNames());
  if (!d.cache.empty()) redisJob(d.cache, d.cacheNames());
  json::object view{
      {"target", d.target},     {"monitoringId", d.monitoring},         {"redisExporterName", d.redisExporter()},
      {"serviceJob", d.target}, {"instanceList", std::move(instances)}, {"redisJobs", std::move(redisJobs)}};
  if (d.database) {
    const auto& db = *d.database;
    const int port = db.engine == "mysql" ? 9104 : 9187;
    json::array exporters;
    exporters.push_back(
        json::object{{"exporter", d.exporterOf(db.id)}, {"exporterPort", port}, {"node", db.id}, {"role", "primary"}});
    for (const auto& r : db.replicas) {
      exporters.push_back(
          json::object{{"exporter", d.exporterOf(r)}, {"exporterPort", port}, {"node", r}, {"role", "replica"}});
    }
    view["database"] = json::object{{"job", db.id}, {"exporterList", std::move(exporters)}};
  }
  return view;
}

// "auth-service" -> "AuthService": alert names are identifiers.
std::string alertPrefix(const std::string& id) {
  std::string p = detail::titleCase(detail::slug(id));
  p.erase(std::remove(p.begin(), p.end(), '-'), p.end());
  return p;
}

json::object serviceAlerts(const std::string& target, double rps, double p99Seconds) {
  return json::object{{"name", target},
                      {"alertPrefix", alertPrefix(target)},
                      {"p99Seconds", p99Seconds},
                      {"saturationRps", static_cast<int>(rps * 0.8)}};
}

json::object alertsView(const ScaledDeployment& d, double p99Seconds) {
  auto service = serviceAlerts(d.target, d.rps, p99Seconds);
  service["instanceGroup"] = json::object{{"job", d.target}, {"minInstances", d.minInstances()}};
  // Prometheus' own templating, passed as text so Mustache leaves it alone.
  json::object view{{"scaled", true},
                    {"target", d.target},
                    {"rps", d.rps},
                    {"instances", d.instances},
                    {"group", d.target + "-instances"},
                    {"labelsInstance", "{{ $labels.instance }}"},
                    {"labelsNode", "{{ $labels.node }}"},
                    {"services", json::array{std::move(service)}}};
  if (!d.sessions.empty()) {
    view["sessionStore"] = json::object{
        {"group", d.sessions}, {"job", d.sessions}, {"id", d.sessions}, {"alertPrefix", alertPrefix(d.sessions)}};
  }
  if (!d.cache.empty()) {
    view["cache"] = json::object{{"group", d.cache}, {"job", d.cache}, {"alertPrefix", alertPrefix(d.cache)}};
  }
  if (d.database) {
    const auto& db = *d.database;
    const bool mysql = db.engine == "mysql";
    view["database"] = json::object{{"group", db.id + (db.replicas.empty() ? "" : "-replication")},
                                    {"job", db.id},
                                    {"primary", db.id},
                                    {"alertPrefix", alertPrefix(db.id)},
                                    {"engineName", mysql ? "MySQL" : "PostgreSQL"},
                                    {"mysql", mysql},
                                    {"postgresql", !mysql},
                                    {"upMetric", mysql ? "mysql_up" : "pg_up"},
                                    {"hasReplicas", !db.replicas.empty()},
                                    {"replicas", db.replicas.size()},
                                    {"maxLagSeconds", 30}};
  }
  return view;
}

// The canvas nodes and edges the files describe that the canvas will not have:
// nothing when arch-001 scaled the target (the merger adds them all), else the
// pieces the current canvas lacks, with the ids the merger would give them.
void fillCanvas(const ScaledDeployment& d, const Canvas& canvas, executor::TaskResult& result) {
  if (d.scaledByArchitect) return;
  auto& patch = result.canvasUpdate;
  auto addEdge = [&](const std::string& from, const std::string& to, const char* type) {
    const bool joined = std::any_of(canvas.edges.begin(), canvas.edges.end(),
                                    [&](const CanvasEdge& e) { return e.source == from && e.target == to; });
    if (!joined) patch.edges.push_back(CanvasEdge{"", from, to, type});
  };
  auto addNode = [&](CanvasNode node, const std::string& from, const std::string& to, const char* type) {
    if (!canvas.findNode(node.id)) patch.nodes.push_back(std::move(node));
    addEdge(from, to, type);
  };
  if (const auto* target = canvas.findNode(d.target)) {
    auto it = target->config.find("instances");
    if (it == target->config.end() || it->value() != json::value(d.instances)) {
      CanvasNode scaled = *target;
      scaled.config["instances"] = d.instances;
      patch.nodes.push_back(std::move(scaled));
    }
  }
  if (!d.loadBalancer.empty()) {
    addNode(CanvasNode{d.loadBalancer,
                       "load_balancer",
                       "Load Balancer (NGINX)",
                       {},
                       {{"algorithm", "round-robin"}, {"upstream", d.target}}},
            d.loadBalancer, d.target, "routes");
  }
  if (!d.sessions.empty()) {
    addNode(CanvasNode{d.sessions,
                       "cache",
                       "Redis Cluster (" + std::to_string(d.sessionNodes) + " nodes)",
                       {},
                       {{"engine", "Redis"}, {"nodes", d.sessionNodes}, {"role", "sessions"}}},
            d.target, d.sessions, "sessions");
  }
  if (!d.cache.empty()) {
    addNode(
        CanvasNode{
            d.cache, "cache", "Redis Cache", {}, {{"engine", "Redis"}, {"nodes", d.cacheNodes}, {"role", "cache"}}},
        d.target, d.cache, "cache");
  }
  if (d.database) {
    const auto& db = *d.database;
    const std::string engine = db.engine == "mysql" ? "MySQL" : "PostgreSQL";
    addNode(CanvasNode{db.id, "database", d.label + " DB (" + engine + ")", {}, {{"engine", engine}}}, d.target, db.id,
            "reads");
    for (std::size_t i = 0; i < db.replicas.size(); ++i) {
      addNode(CanvasNode{db.replicas[i],
                         "database",
                         "Read replica " + std::to_string(i + 1) + " of " + db.id,
                         {},
                         {{"role", "read-replica"}, {"replicaOf", db.id}, {"engine", engine}}},
              db.id, db.replicas[i], "replicates");
      addEdge(d.target, db.replicas[i], "reads");
    }
  }
}

// ---- A component added to the design -------------------------------------------

// How a piece of infrastructure runs in a container, and how its clients
// reach it. Chosen by node type, then by the product the request or the
// canvas names ("kafka", "MySQL", "memcached").
struct Runtime {
  std::string engine;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> environment;
  std::vector<int> ports;
  std::vector<std::string> healthcheck;
  std::string dataPath;
  std::string urlVariable;
  std::string urlFormat;  // "{host}" is the service name
};

std::optional<Runtime> runtimeFor(const std::string& nodeType, const std::string& hints) {
  auto says = [&](std::string_view word) { return hints.find(word) != std::string::npos; };
  if (nodeType == "cache") {
    if (says("memcache")) {
      return Runtime{"Memcached", "memcached:1.6-alpine", {"memcached", "-m", "256"}, {}, {11211},
                     {"CMD-SHELL", "nc -z localhost 11211"}, "/tmp", "MEMCACHED_SERVERS", "{host}:11211"};
    }
    return Runtime{"Redis",
                   "redis:7-alpine",
                   {"redis-server", "--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru", "--save", ""},
                   {},
                   {6379},
                   {"CMD", "redis-cli", "ping"},
                   "/data",
                   "REDIS_URL",
                   "redis://{host}:6379/0"};
  }
  if (nodeType == "queue") {
    if (says("kafka") || says("stream")) {
      return Runtime{"Kafka", "apache/kafka:3.7.0", {}, {}, {9092},
                     {"CMD-SHELL", "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092"},
                     "/var/lib/kafka/data", "KAFKA_BROKERS", "{host}:9092"};
    }
    return Runtime{"RabbitMQ", "rabbitmq:3.13-management", {}, {}, {5672, 15672},
                   {"CMD", "rabbitmq-diagnostics", "-q", "ping"}, "/var/lib/rabbitmq", "AMQP_URL",
                   "amqp://guest:guest@{host}:5672"};
  }
  if (nodeType == "search") {
    if (says("opensearch")) {
      return Runtime{"OpenSearch", "opensearchproject/opensearch:2.13.0", {},
                     {{"discovery.type", "single-node"}, {"DISABLE_SECURITY_PLUGIN", "true"},
                      {"OPENSEARCH_JAVA_OPTS", "-Xms512m -Xmx512m"}},
                     {9200}, {"CMD-SHELL", "curl -fs http://localhost:9200/_cluster/health"},
                     "/usr/share/opensearch/data", "SEARCH_URL", "http://{host}:9200"};
    }
    return Runtime{"Elasticsearch", "elasticsearch:8.13.4", {},
                   {{"discovery.type", "single-node"}, {"xpack.security.enabled", "false"},
                    {"ES_JAVA_OPTS", "-Xms512m -Xmx512m"}},
                   {9200}, {"CMD-SHELL", "curl -fs http://localhost:9200/_cluster/health"},
                   "/usr/share/elasticsearch/data", "SEARCH_URL", "http://{host}:9200"};
  }
  if (nodeType == "storage") {
    return Runtime{"MinIO (S3 API)", "minio/minio", {"server", "/data", "--console-address", ":9001"},
                   {{"MINIO_ROOT_USER", "${MINIO_ROOT_USER:-minio}"},
                    {"MINIO_ROOT_PASSWORD", "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}"}},
                   {9000, 9001}, {"CMD", "mc", "ready", "local"}, "/data", "S3_ENDPOINT", "http://{host}:9000"};
  }
  if (nodeType == "database") {
    if (says("mysql") || says("mariadb")) {
      return Runtime{"MySQL", "mysql:8.4", {},
                     {{"MYSQL_ROOT_PASSWORD", "${MYSQL_ROOT_PASSWORD:?set MYSQL_ROOT_PASSWORD}"}, {"MYSQL_DATABASE", "app"}},
                     {3306}, {"CMD", "mysqladmin", "ping", "-h", "localhost"}, "/var/lib/mysql", "DATABASE_URL",
                     "mysql://root:${MYSQL_ROOT_PASSWORD}@{host}:3306/app"};
    }
    return Runtime{"PostgreSQL", "postgres:16-alpine", {},
                   {{"POSTGRES_PASSWORD", "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"}, {"POSTGRES_DB", "app"}},
                   {5432}, {"CMD-SHELL", "pg_isready -U postgres"}, "/var/lib/postgresql/data", "DATABASE_URL",
                   "postgres://postgres:${POSTGRES_PASSWORD}@{host}:5432/app"};
  }
  return std::nullopt;
}

std::string quotedList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + json::serialize(json::value(item));
  return out;
}

// ---- The agents ----------------------------------------------------------------

class OpsAgent final : public executor::Agent {
 public:
  explicit OpsAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kOpsAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    const bool monitoring = detail::containsWord(ctx.task().name, "monitoring");
    if (scalesATarget(ctx)) return monitoring ? scaledMonitoring(ctx) : scaledDeployment(ctx);
    if (monitoring) return alerts(ctx);
    if (auto added = addedComponent(ctx)) return componentConfig(ctx, *added);
    return loadBalancer(ctx);
  }

  // Deployment (load balancer or alerts) of the services as sized, in front
  // of their APIs.
  executor::TaskFlow flow(const executor::TaskContext&) const override {
    executor::TaskFlow out;
    out.known = true;
    out.produces.insert(std::string(flow::kDeploy));
    out.consumes.insert(std::string(flow::kAnyService));
    out.consumes.insert(std::string(flow::kAnyCapacity));
    out.uses.insert(std::string(flow::kAnyApi));
    return out;
  }

 private:
  // A scale intent about a component of the design: the whole scaled
  // deployment. A target that is not on the canvas ("system") keeps the
  // single-file answers below.
  static bool scalesATarget(const executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    return input.frame.intent == Intent::kScaleComponent && currentCanvas(ctx).findNode(detail::targetNode(input));
  }

  static double p99Seconds(const executor::ExecutionInput& input) {
    return input.frame.params.latencyMs ? *input.frame.params.latencyMs / 1000 : 0.5;
  }

  Result<std::string> render(const std::string& name, const json::object& view) const {
    return env_.generator.render(name, view);
  }

  Result<executor::TaskResult> scaledDeployment(executor::TaskContext& ctx) {
    const ScaledDeployment d = ::ymy::agents::scaledDeployment(ctx);
    executor::TaskResult result;
    if (!step(ctx, "Writing docker-compose.yml for " + std::to_string(d.instances) + " instances...", 0.4)) {
      return cancelled();
    }
    struct File {
      const char* templateName;
      std::string path;
      json::object view;
    };
    std::vector<File> files;
    files.push_back({"deploy/scaled-compose.yml", "docker-compose.yml", composeView(d)});
    if (!d.loadBalancer.empty()) files.push_back({"ops/nginx.conf", "deploy/nginx.conf", nginxView(d)});
    if (!d.sessions.empty()) {
      files.push_back({"deploy/redis-cluster.conf", "deploy/redis-cluster.conf", redisClusterView(d)});
    }
    files.push_back({"ops/prometheus.yml", "monitoring/prometheus.yml", prometheusView(d)});
    Result<void> rendered;
    ctx.cpuBound([&] {
      for (auto& f : files) {
        auto text = render(f.templateName, f.view);
        if (!text) {
          rendered = tl::unexpected(text.error());
          return;
        }
        result.files.push_back({f.path, std::move(*text)});
      }
    });
    if (!rendered) return tl::unexpected(rendered.error());
    if (!step(ctx, "Writing the load balancer and Redis Cluster configuration...", 0.6)) return cancelled();
    fillCanvas(d, currentCanvas(ctx), result);
    std::ostringstream summary;
    summary << "docker-compose.yml: " << d.instances << " instances of " << d.target;
    if (!d.loadBalancer.empty()) summary << " behind " << d.loadBalancer << " (NGINX)";
    if (!d.sessions.empty()) summary << ", a " << d.sessionNodes << "-node Redis Cluster";
    if (d.database) {
      summary << ", " << d.database->id;
      if (!d.database->replicas.empty()) summary << " with " << d.database->replicas.size() << " read replicas";
    }
    result.summary = summary.str();
    return result;
  }

  Result<executor::TaskResult> scaledMonitoring(executor::TaskContext& ctx) {
    const ScaledDeployment d = ::ymy::agents::scaledDeployment(ctx);
    if (!step(ctx, "Writing alert rules...", 1.0)) return cancelled();
    auto text = render("ops/alerts.yml", alertsView(d, p99Seconds(ctx.input())));
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({"monitoring/alerts.yml", *text});
    const Canvas canvas = currentCanvas(ctx);
    if (!d.scaledByArchitect && !canvas.findNode(d.monitoring)) {
      result.canvasUpdate.nodes.push_back(
          CanvasNode{d.monitoring, "monitoring", "Monitoring", {}, {{"stack", "Prometheus + Grafana"}}});
      result.canvasUpdate.edges.push_back(CanvasEdge{"", d.monitoring, d.target, "scrapes"});
    }
    std::string covered = "its " + std::to_string(d.instances) + " instances";
    if (!d.sessions.empty()) covered += ", " + d.sessions;
    if (!d.cache.empty()) covered += ", " + d.cache;
    if (d.database)
      covered += d.database->replicas.empty() ? ", " + d.database->id : ", replication of " + d.database->id;
    result.summary = "Alert rules for " + d.target + ": " + covered;
    return result;
  }

  // Other intents: alert rules for the target alone.
  Result<executor::TaskResult> alerts(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Writing alert rules...", 1.0)) return cancelled();
    json::object data{{"group", target + "-alerts"},
                      {"services", json::array{serviceAlerts(target, detail::targetRps(input), p99Seconds(input))}}};
    auto text = render("ops/alerts.yml", data);
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({"monitoring/alerts.yml", *text});
    result.canvasUpdate.nodes.push_back(
        CanvasNode{"monitoring", "monitoring", "Monitoring", {}, {{"stack", "Prometheus + Grafana"}}});
    // Monitoring added for its own sake watches the services (the architect
    // connects it); it does not scrape itself.
    if (target != "monitoring") result.canvasUpdate.edges.push_back(CanvasEdge{"", "monitoring", target, "scrapes"});
    result.summary = "Alert rules for error rate, p99 latency and saturation of " + target;
    return result;
  }

  // The infrastructure an ADD run's "<Name> Configuration" task is about,
  // when it is one that runs as a container of its own.
  struct Added {
    const Component* component;
    std::string nodeId;
    std::string label;
    Runtime runtime;
  };
  std::optional<Added> addedComponent(const executor::TaskContext& ctx) const {
    const auto& input = ctx.input();
    if (input.frame.intent != Intent::kAddComponent) return std::nullopt;
    for (const auto& c : env_.catalog.components()) {
      if (ctx.task().name != c.name + " Configuration") continue;
      const Canvas canvas = currentCanvas(ctx);
      std::string nodeId = c.nodeId, label = c.name, hints = input.request;
      if (const auto* n = detail::canvasNodeFor(env_, canvas, c)) {
        nodeId = n->id;
        label = n->label.empty() ? n->id : n->label;
        hints += " " + n->label + " " + json::serialize(n->config);
      }
      std::transform(hints.begin(), hints.end(), hints.begin(), [](unsigned char ch) { return std::tolower(ch); });
      auto runtime = runtimeFor(c.nodeType, hints);
      if (!runtime) return std::nullopt;
      return Added{&c, nodeId, label, std::move(*runtime)};
    }
    return std::nullopt;
  }

  // A compose file that runs the added component beside the design's, and
  // points the services that use it (their edges to it) at it.
  Result<executor::TaskResult> componentConfig(executor::TaskContext& ctx, const Added& added) {
    if (!step(ctx, "Writing the " + added.runtime.engine + " service and its clients' settings...", 1.0)) {
      return cancelled();
    }
    const Canvas canvas = currentCanvas(ctx);
    const std::string service = detail::slug(added.nodeId);
    std::string url = added.runtime.urlFormat;
    url.replace(url.find("{host}"), 6, service);
    json::array clients;
    std::string clientList;
    for (const auto& e : canvas.edges) {
      const auto* from = canvas.findNode(e.source);
      if (e.target != added.nodeId || !from || !detail::isServiceNode(*from)) continue;
      clients.push_back(json::object{{"name", detail::slug(from->id)}, {"urlVariable", added.runtime.urlVariable},
                                     {"url", url}, {"service", service}});
      clientList += (clientList.empty() ? "" : ", ") + from->id;
    }
    json::array environment, ports;
    for (const auto& [key, value] : added.runtime.environment) environment.push_back(json::object{{"key", key}, {"value", value}});
    for (int port : added.runtime.ports) ports.push_back(port);
    const std::string path = "deploy/" + service + ".compose.yml";
    auto text = render("deploy/component-compose.yml",
                       json::object{{"label", added.label},
                                    {"engine", added.runtime.engine},
                                    {"path", path},
                                    {"service", service},
                                    {"image", added.runtime.image},
                                    {"hasCommand", !added.runtime.command.empty()},
                                    {"commandList", quotedList(added.runtime.command)},
                                    {"hasEnvironment", !environment.empty()},
                                    {"environment", environment},
                                    {"ports", ports},
                                    {"healthcheckList", quotedList(added.runtime.healthcheck)},
                                    {"dataPath", added.runtime.dataPath},
                                    {"hasClients", !clients.empty()},
                                    {"clientList", clientList},
                                    {"urlVariable", added.runtime.urlVariable},
                                    {"clients", clients}});
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({path, *text});
    result.summary = added.runtime.engine + " for " + added.nodeId +
                     (clientList.empty() ? std::string() : ", used by " + clientList) + " (" + path + ")";
    return result;
  }

  // Other intents: an NGINX upstream over the sized instances.
  Result<executor::TaskResult> loadBalancer(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Writing the load balancer configuration...", 1.0)) return cancelled();
    auto cap = detail::capacityOf(ctx);
    const int instances = countIn(cap ? &*cap : nullptr, "instances").value_or(2);
    std::vector<std::string> hosts;
    for (int i = 1; i <= instances; ++i) hosts.push_back(target + "-" + std::to_string(i));
    auto text = render("ops/nginx.conf", json::object{{"service", target},
                                                      {"instances", instances},
                                                      {"upstream", detail::slug(target)},
                                                      {"backends", backendsOf(hosts, 3000)},
                                                      {"httpPort", 8080},
                                                      {"healthPath", "/health"}});
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({"deploy/nginx.conf", *text});
    const bool hasLb = std::any_of(input.baseCanvas.nodes.begin(), input.baseCanvas.nodes.end(),
                                   [](const CanvasNode& n) { return n.type == "load_balancer"; });
    const auto* targetNode = currentCanvas(ctx).findNode(target);
    const bool balancesAService = !targetNode || detail::isServiceNode(*targetNode);
    if (!hasLb && balancesAService) {
      result.canvasUpdate.nodes.push_back(
          CanvasNode{"load-balancer", "load_balancer", "Load Balancer (NGINX)", {}, {{"algorithm", "round-robin"}}});
      result.canvasUpdate.edges.push_back(CanvasEdge{"", "load-balancer", target, "routes"});
    }
    result.summary = "NGINX upstream over " + std::to_string(instances) + " instances of " + target;
    return result;
  }

  const AgentEnvironment& env_;
};

class TestAgent final : public executor::Agent {
 public:
  explicit TestAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kTestAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    if (isLoadTest(ctx.task())) return loadTest(ctx);
    return regressionTests(ctx);
  }

  // A load test drives the APIs at the sized capacity; regression tests walk
  // the APIs of the services the design has.
  executor::TaskFlow flow(const executor::TaskContext& ctx) const override {
    executor::TaskFlow out;
    out.known = true;
    out.consumes.insert(std::string(flow::kAnyApi));
    if (isLoadTest(ctx.task())) {
      out.produces.insert(std::string(flow::kLoadTests));
      out.consumes.insert(std::string(flow::kAnyCapacity));
    } else {
      out.produces.insert(std::string(flow::kRegressionTests));
      out.consumes.insert(std::string(flow::kAnyService));
    }
    return out;
  }

 private:
  static bool isLoadTest(const Task& task) {
    return detail::containsWord(task.name, "load test") || detail::containsWord(task.name, "benchmark");
  }

  // Integration or regression tests over the services the design has after
  // the change (a removed target is left out).
  Result<executor::TaskResult> regressionTests(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    if (!step(ctx, "Collecting the affected services...", 0.5)) return cancelled();
    auto arch = detail::fallbackArchitecture(env_, input);
    std::vector<codegen::ServiceSpec> specs;
    for (const auto& s : arch.services) {
      if (input.frame.intent == Intent::kRemoveComponent && s.nodeId == detail::targetNode(input)) continue;
      specs.push_back(detail::serviceSpec(env_, s, nullptr, input.preferences));
    }
    executor::TaskResult result;
    if (!specs.empty()) {
      auto files = env_.generator.integrationTests(specs);
      if (!files) return tl::unexpected(files.error());
      result.files = std::move(*files);
    }
    if (!step(ctx, "Writing test scenarios...", 0.5)) return cancelled();
    result.summary = ctx.task().name + " for " + std::to_string(specs.size()) + " service(s)";
    return result;
  }

  // At the sized load, through the load balancer when the target is scaled:
  // the instances' health route, which the load balancer proxies (its own
  // /healthz would test NGINX alone).
  Result<executor::TaskResult> loadTest(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Writing the load test...", 1.0)) return cancelled();
    const double p99 = input.frame.params.latencyMs ? *input.frame.params.latencyMs : 500;
    auto cap = detail::capacityOf(ctx);
    const int rps =
        static_cast<int>(std::lround(numberIn(cap ? &*cap : nullptr, "rps").value_or(detail::targetRps(input))));
    const bool scaled = input.frame.intent == Intent::kScaleComponent && input.baseCanvas.findNode(target);
    auto text = env_.generator.render("ops/load-test", json::object{{"service", target},
                                                                    {"targetRps", rps},
                                                                    {"path", scaled ? "/health" : "/healthz"},
                                                                    {"maxErrorRate", 0.01},
                                                                    {"maxP99Ms", p99}});
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({"load-tests/" + detail::slug(target) + ".load-test.js", *text});
    result.summary = "Load test for " + target + " at " + std::to_string(rps) + " RPS";
    return result;
  }

  const AgentEnvironment& env_;
};

}  // namespace

std::unique_ptr<executor::Agent> makeOpsAgent(const AgentEnvironment& env) { return std::make_unique<OpsAgent>(env); }
std::unique_ptr<executor::Agent> makeTestAgent(const AgentEnvironment& env) { return std::make_unique<TestAgent>(env); }

}  // namespace ymy::agents
