#pragma once
// What a canvas node says about a component's current deployment, read
// tolerantly (config keys in snake_case, camelCase or with spaces; counts and
// rates as numbers or as text like "3 instances", "100 RPS", "5k"), the
// capacity that deployment has, and what stops it from scaling.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capacity/baselines.hpp"
#include "model/canvas.hpp"
#include "model/error.hpp"

namespace ymy::capacity {

enum class BottleneckKind {
  kSingleInstance,    // one instance: no horizontal scaling, no failover
  kInMemorySessions,  // sessions in process memory: instances cannot share users
  kSingleDatabase,    // a database without read replicas
  kNoCache,           // read-heavy load reaching the database with no cache in front
  kNoLoadBalancer,    // several instances with nothing spreading traffic over them
};

const char* bottleneckKindName(BottleneckKind kind);  // "single_instance", ...

struct Bottleneck {
  BottleneckKind kind = BottleneckKind::kSingleInstance;
  std::string component;  // node id
  std::string reason;     // one sentence a user reads
};

enum class SessionStore {
  kNone,         // no server-side sessions (stateless tokens) or none mentioned
  kInMemory,     // in the process: lost on restart, not shared between instances
  kDistributed,  // Redis, Memcached, a database: shared by every instance
};

const char* sessionStoreName(SessionStore store);  // "none", "in_memory", "distributed"

struct CurrentConfig {
  std::string component;  // node id
  std::string label;
  Workload workload = Workload::kIoBound;
  std::string workloadSource;  // why: "from config.workload", "inferred from 'auth' in the id", "default: ..."

  int instances = 1;
  bool hasLoadBalancer = false;
  std::string loadBalancer;  // as written ("NGINX"), or the neighbouring node's label
  SessionStore sessionStore = SessionStore::kNone;
  std::string sessionStoreText;  // as written ("Memory", "Redis")
  bool hasDatabase = false;
  std::string database;  // as written ("MySQL single instance")
  int readReplicas = 0;
  bool hasCache = false;
  std::string cache;
  bool hasQueue = false;
  std::optional<double> rpsPerInstance;  // a measured figure from the config, replaces the baseline

  std::optional<double> statedCapacityRps;  // what the config claims ("100 RPS")
  double modelCapacityRps = 0;              // what the baselines give this deployment
  std::string modelLimitingTier;
  double currentCapacityRps = 0;  // stated when given, else the model's

  std::vector<Bottleneck> bottlenecks;
  std::vector<std::string> notes;
};

// Reads the node's type, id, label and config; with `canvas`, also its
// neighbours (a database, cache, load balancer or queue node connected by an
// edge counts as the component's own, a gateway or ingress routing to it as
// its load balancer, a cache named like "session" as its session store).
// On a service node `replicas` counts instances (as in Kubernetes); database
// read replicas are `read_replicas` or part of the database's description.
// Workload: config `workload` when given, else cpu_bound for
// auth/login/session/token-like names, static for frontends and CDNs,
// io_bound otherwise. The current capacity is the config's stated figure
// (`estimated_capacity`, `capacity`, `max_rps`, ...) when it has one, else the
// model's. Errors (an unknown workload, a count that is not a number, fewer
// than one instance) name the node and the config key; an unreadable stated
// capacity is only a note.
Result<CurrentConfig> analyseComponent(const CanvasNode& node, const Baselines& baselines,
                                       const Canvas* canvas = nullptr);

// The workload a node's id, label and type suggest, with the reason.
std::pair<Workload, std::string> inferWorkload(const CanvasNode& node);

// A request rate from text: "100 RPS", "5k", "1,500 req/s", "1.2M", "6000 rpm"
// (per minute and per hour are converted to per second). nullopt without a number.
std::optional<double> parseRate(std::string_view text);

// A count from text: "3", "3 instances", "x3", "three". nullopt without one.
std::optional<double> parseCount(std::string_view text);

}  // namespace ymy::capacity
