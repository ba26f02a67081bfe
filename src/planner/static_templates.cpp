// The STATIC path: pattern templates per intent. Each touches only what the
// request and the canvas require: the target component, the nodes connected
// to it, and infrastructure the canvas lacks.

#include <algorithm>
#include <set>

#include "planner/plan_builder.hpp"

namespace ymy::planner::detail {

namespace {

bool mentionsAny(const std::string& haystack, std::initializer_list<const char*> needles) {
  std::string lower = haystack;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(needles.begin(), needles.end(), [&](const char* n) { return lower.find(n) != std::string::npos; });
}

bool isDataNode(const TargetInfo& t) {
  if (t.onCanvas && (t.onCanvas->type == "database" || t.onCanvas->config.contains("database"))) return true;
  return t.component && (!t.component->entities.empty() || t.component->nodeType == "database");
}

// Targets of the request: its components, or the frame's target alone.
std::vector<TargetInfo> targetsOf(const PlanRequest& r, std::size_t limit) {
  std::vector<TargetInfo> out;
  for (const auto& id : r.frame.components) {
    if (out.size() == limit) break;
    out.push_back(resolveTarget(r, id));
  }
  if (out.empty()) out.push_back(resolveTarget(r, ""));
  return out;
}

std::vector<std::string> labels(const std::vector<TargetInfo>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets) out.push_back(t.label);
  return out;
}

std::string loadTarget(const Params& p) {
  if (p.rps) return formatCount(*p.rps) + " RPS";
  if (p.users) return formatCount(*p.users) + " users";
  if (p.connections) return formatCount(*p.connections) + " concurrent connections";
  return "the expected peak load";
}

PlanOutcome scale(const PlanRequest& r) {
  PlanBuilder b;
  const auto targets = targetsOf(r, 4);
  const std::string load = loadTarget(r.frame.params);
  const bool hasLb = r.context.hasNodeType("load_balancer") || r.context.hasComponent("load-balancer");
  const bool hasMonitoring = r.context.hasNodeType("monitoring") || r.context.hasComponent("monitoring");
  std::vector<std::string> codeTasks, topologyTasks;
  for (const auto& t : targets) {
    std::string current = t.onCanvas && !t.onCanvas->config.empty()
                              ? " Current configuration: " + describeConfig(*t.onCanvas) + "."
                              : " It has no recorded configuration; assume a single instance.";
    auto analyze = b.add("Analyze " + t.label + " Capacity",
                         "Derive current capacity and bottlenecks of " + t.nodeId, TaskType::kAnalysis,
                         kArchitectAgent, 10,
                         "Derive the current capacity of " + t.nodeId + " from its instances, database, session store, "
                         "and cache, and identify the bottlenecks that stop it reaching " + load + "." + current);
    auto size = b.add("Size " + t.label + " for " + load, "Compute instances, replicas, and cache nodes with headroom",
                      TaskType::kAnalysis, kCapacityAgent, 10,
                      "Compute the instances, database read replicas, and cache nodes " + t.nodeId + " needs for " +
                          load + " with 10% headroom, name the tier that limits it, and check utilisation and "
                          "p50/p99 latency per tier with a queueing model." + scaleClause(r.frame.params),
                      {analyze});
    std::string topology = "Replace " + t.nodeId + " with its horizontally scaled version: the computed number of "
                           "stateless instances" +
                           std::string(hasLb ? " behind the existing load balancer" : " behind a new load balancer") +
                           ", a Redis cluster for sessions and hot reads, and read replicas for its database. "
                           "Update every connection to it.";
    topologyTasks.push_back(b.add("Scale " + t.label + " Topology", "Replace the component with its scaled topology",
                                  TaskType::kArchitecture, kArchitectAgent, 15, topology, {size}));
    codeTasks.push_back(b.add("Update " + t.label + " Configuration",
                              "Make the service stateless and point it at the shared stores", TaskType::kCodeGeneration,
                              kCodeAgent, 20,
                              "Update the configuration of " + t.nodeId + " for " + load +
                                  ": externalise sessions to Redis, use a connection pool sized per instance, "
                                  "route reads to replicas, and cache token validation.",
                              {size}));
  }
  auto deploy = b.add(hasLb ? "Deployment Config" : "Load Balancer & Deployment Config",
                      "Generate the deployment and load-balancing configuration", TaskType::kConfiguration, kOpsAgent, 15,
                      std::string(hasLb ? "Update the existing load balancer upstreams" : "Generate nginx.conf with round-robin upstreams and health checks") +
                          ", docker-compose.yml with the scaled instances, and the Redis cluster configuration for " +
                          joinList(labels(targets)) + ".",
                      topologyTasks);
  std::vector<std::string> testDeps = codeTasks;
  testDeps.push_back(deploy);
  if (!hasMonitoring) {
    b.add("Monitoring & Alerts", "Add monitoring and alerting for the scaled tier", TaskType::kConfiguration, kOpsAgent, 10,
          "Add a monitoring service with alert rules for request rate, error rate, p99 latency, and saturation of " +
              joinList(labels(targets)) + " at " + load + ".",
          topologyTasks);
  }
  b.add("Load Test at " + load, "Verify the scaled design meets the target", TaskType::kTesting, kTestAgent, 15,
        "Generate a load test that drives " + joinList(labels(targets)) + " at " + load +
            " and asserts the error rate and p99 latency stay within bounds.",
        testDeps, true);
  return {Route::kStatic, "High-RPS Service Scaling", b.finish()};
}

// The named pattern an ADD request matches: the infrastructure it adds, when
// that is all it adds.
std::string addPattern(const PlanRequest& r) {
  if (mentionsAny(std::string(r.requestText), {"read replica", "replicas"})) return "Add Read Replicas";
  const auto& first = r.frame.components.empty() ? std::string() : r.frame.components.front();
  if (first == "cache") return "Add Cache";
  if (first == "queue") return "Add Queue";
  if (first == "monitoring") return "Add Monitoring";
  return "Add Component";
}

PlanOutcome add(const PlanRequest& r) {
  PlanBuilder b;
  // What the request names and the canvas has already is where the new parts
  // attach ("a cache in front of the product service"): it is wired, not
  // built again.
  std::vector<TargetInfo> targets, anchors;
  for (auto& t : targetsOf(r, 6)) (t.onCanvas ? anchors : targets).push_back(std::move(t));
  if (targets.empty()) {
    targets = std::move(anchors);  // all of it exists: the work is the wiring
    anchors.clear();
  }
  const Stack stack = stackFor(r.context.userPreferences);
  std::string where = r.context.empty ? "a new design" : "the existing design (" +
                                                             std::to_string(r.context.components.size()) + " components)";
  const std::string attached = anchors.empty() ? "" : ", attached to " + joinList(labels(anchors));
  auto arch = b.add("Integrate " + joinList(labels(targets)) + " into Architecture",
                    "Place the new components and their connections", TaskType::kArchitecture, kArchitectAgent, 20,
                    "Add " + joinList(labels(targets)) + " to " + where + attached +
                        ": choose its connections to existing services, its data ownership, and its API." +
                        scaleClause(r.frame.params));
  std::vector<std::string> finals;
  for (const auto& t : targets) {
    if (t.onCanvas) continue;  // everything named exists: only the wiring below
    if (t.component && t.component->isService()) {
      std::string schemaOrArch = arch;
      if (!t.component->entities.empty()) {
        std::vector<std::string> tables;
        for (const auto& e : t.component->entities) tables.push_back(e.name);
        schemaOrArch = b.add(t.label + " Schema", "Tables for " + t.label, TaskType::kArchitecture, kDatabaseAgent, 15,
                             "Create the " + joinList(tables) + " tables for " + t.label +
                                 " with keys, indexes, and constraints for " + stack.database + ".",
                             {arch});
      }
      std::vector<std::string> features;
      for (const auto& f : t.component->features) features.push_back(f);
      finals.push_back(b.add(t.label + " Implementation", t.component->description, TaskType::kCodeGeneration, kCodeAgent,
                             t.component->estimatedTime,
                             "Generate the " + t.label + " with " + joinList(features) +
                                 ". Include models, routes and controllers with input validation, and unit tests. Stack: " +
                                 stack.backend + ".",
                             {schemaOrArch}));
    } else {
      std::string name = t.component ? t.component->name : t.label;
      finals.push_back(b.add(name + " Configuration", "Configure " + name, TaskType::kConfiguration, kOpsAgent, 15,
                             "Generate the configuration for " + name + " (" +
                                 (t.component ? t.component->description : std::string("new component")) +
                                 ") and the client settings of the services that use it.",
                             {arch}));
    }
  }
  if (!r.context.empty) {
    const std::string which = anchors.empty() ? "the existing services" : joinList(labels(anchors));
    if (finals.empty()) finals.push_back(arch);
    finals.push_back(b.add("Wire " + joinList(labels(targets)) + " into Existing Services",
                    "Update existing services to call the new components", TaskType::kCodeGeneration, kCodeAgent, 20,
                    "Update " + which + " that interact" + (anchors.size() == 1 ? "s" : "") + " with " +
                        joinList(labels(targets)) +
                        " (clients, routes, and configuration), leaving unrelated services unchanged.",
                    finals));
  }
  if (finals.empty()) finals.push_back(arch);
  b.add("Integration Tests", "Test the new components with their neighbours", TaskType::kTesting, kTestAgent, 15,
        "Generate integration tests for " + joinList(labels(targets)) + " and the services that call them.", finals, true);
  return {Route::kStatic, addPattern(r), b.finish()};
}

PlanOutcome modify(const PlanRequest& r, std::string_view requestText) {
  PlanBuilder b;
  const auto targets = targetsOf(r, 4);
  const bool interfaceChange = mentionsAny(std::string(requestText),
                                           {"api", "grpc", "rest", "graphql", "protocol", "event", "async", "queue",
                                            "endpoint", "contract", "rename", "websocket", "kafka", "call"});
  const bool dataChange = mentionsAny(std::string(requestText),
                                      {"database", " db", "schema", "table", "column", "postgres", "mysql", "mongo",
                                       "dynamo", "sql", "index", "migrat", "store", "redis", "cassandra"});
  std::vector<std::string> finals;
  for (const auto& t : targets) {
    auto assess = b.add("Assess Change to " + t.label, "Find what the change touches", TaskType::kAnalysis, kArchitectAgent,
                        10, "Assess the requested change to " + t.nodeId + ": \"" + std::string(requestText) +
                                "\". List the configuration, data, and interfaces it touches.");
    auto design = b.add("Update " + t.label + " Design", "Apply the change to the component", TaskType::kArchitecture,
                        kArchitectAgent, 15, "Update the design of " + t.nodeId + " to apply: \"" +
                                                 std::string(requestText) + "\". Keep its other connections unchanged.",
                        {assess});
    std::string codeDep = design;
    if (dataChange || (isDataNode(t) && t.onCanvas && t.onCanvas->type == "database")) {
      codeDep = b.add("Migrate " + t.label + " Data", "Schema and data migration", TaskType::kArchitecture, kDatabaseAgent,
                      20, "Write the schema and data migration for " + t.nodeId +
                              " that the change needs, reversible, with a backfill plan.",
                      {design});
    }
    auto code = b.add("Update " + t.label + " Code", "Regenerate the affected code", TaskType::kCodeGeneration, kCodeAgent,
                      25, "Regenerate the code and configuration of " + t.nodeId + " for the change: \"" +
                              std::string(requestText) + "\".",
                      {codeDep});
    finals.push_back(code);
    if (interfaceChange && t.onCanvas) {
      for (const auto& caller : t.onCanvas->callers) {
        finals.push_back(b.add("Update " + caller + " Integration", "Adapt a caller to the new interface",
                               TaskType::kCodeGeneration, kCodeAgent, 15,
                               "Update " + caller + " to call " + t.nodeId + " through its changed interface.", {code}));
      }
    }
  }
  b.add("Regression Tests", "Verify the change and its neighbours", TaskType::kTesting, kTestAgent, 15,
        "Generate regression tests for " + joinList(labels(targets)) + " covering the change and every connection to it.",
        finals, true);
  return {Route::kStatic, "Modify Component", b.finish()};
}

PlanOutcome remove(const PlanRequest& r) {
  PlanBuilder b;
  const auto targets = targetsOf(r, 4);
  std::vector<std::string> finals;
  for (const auto& t : targets) {
    std::vector<std::string> callers = t.onCanvas ? t.onCanvas->callers : std::vector<std::string>{};
    auto find = b.add("Find Dependents of " + t.label, "List everything that uses the component", TaskType::kAnalysis,
                      kArchitectAgent, 10,
                      "List the services, data, and connections that depend on " + t.nodeId +
                          (callers.empty() ? std::string(" (the canvas shows no callers).")
                                           : " (callers on the canvas: " + joinList(callers) + ")."));
    auto rewire = b.add("Remove " + t.label + " and Rewire", "Delete the node and its edges", TaskType::kArchitecture,
                        kArchitectAgent, 10,
                        "Remove " + t.nodeId + " and its connections from the design, and reroute or drop what called it.",
                        {find});
    finals.push_back(rewire);
    for (const auto& caller : callers) {
      finals.push_back(b.add("Update " + caller, "Remove the dependency from a caller", TaskType::kCodeGeneration, kCodeAgent,
                             15, "Remove the calls from " + caller + " to " + t.nodeId +
                                     " and handle the missing capability gracefully.",
                             {rewire}));
    }
    if (isDataNode(t)) {
      finals.push_back(b.add("Archive " + t.label + " Data", "Export and retire the component's data",
                             TaskType::kArchitecture, kDatabaseAgent, 15,
                             "Write the export and archival of the data owned by " + t.nodeId +
                                 ", and the migration that drops its tables once archived.",
                             {find}));
    }
  }
  b.add("Regression Tests", "Verify nothing still depends on the removed parts", TaskType::kTesting, kTestAgent, 15,
        "Generate regression tests proving the design works without " + joinList(labels(targets)) + ".", finals, true);
  return {Route::kStatic, "Remove Component", b.finish()};
}

PlanOutcome optimize(const PlanRequest& r, std::string_view requestText) {
  PlanBuilder b;
  const auto targets = targetsOf(r, 4);
  const bool dataChange = mentionsAny(std::string(requestText),
                                      {"query", "queries", "database", " db", "index", "sql", "n+1", "slow"});
  std::vector<std::string> finals;
  std::string goal = scaleClause(r.frame.params);
  for (const auto& t : targets) {
    auto profile = b.add("Profile " + t.label, "Find where time, money, or resources go", TaskType::kAnalysis,
                         kArchitectAgent, 10,
                         "Profile " + t.nodeId + " for the goal \"" + std::string(requestText) +
                             "\": find the dominant costs in latency, resources, and spend." + goal);
    auto plan = b.add("Optimization Plan for " + t.label, "Choose the changes with the best payoff",
                      TaskType::kArchitecture, r.frame.params.latencyMs ? kCapacityAgent : kArchitectAgent, 10,
                      "Choose the optimizations for " + t.nodeId +
                          " (caching, batching, indexes, connection pooling, right-sizing) and estimate each one's effect.",
                      {profile});
    finals.push_back(b.add("Apply " + t.label + " Optimizations", "Regenerate code and configuration",
                           TaskType::kCodeGeneration, kCodeAgent, 20,
                           "Apply the chosen optimizations to the code and configuration of " + t.nodeId + ".", {plan}));
    if (dataChange || isDataNode(t)) {
      finals.push_back(b.add("Tune " + t.label + " Queries and Indexes", "Database tuning", TaskType::kArchitecture,
                             kDatabaseAgent, 15,
                             "Add the indexes and rewrite the queries of " + t.nodeId + " that the profile shows are slow.",
                             {plan}));
    }
  }
  b.add("Benchmark", "Measure before and after", TaskType::kTesting, kTestAgent, 10,
        "Generate a benchmark that measures " + joinList(labels(targets)) + " before and after the optimizations." + goal,
        finals, true);
  return {Route::kStatic, "Optimize Component", b.finish()};
}

PlanOutcome analyze(const PlanRequest& r, std::string_view requestText) {
  PlanBuilder b;
  const auto targets = targetsOf(r, 4);
  std::string subject = targets.size() == 1 && targets[0].nodeId == "system" ? "the design" : joinList(labels(targets));
  std::vector<std::string> deps;
  deps.push_back(b.add("Analyze " + (subject == "the design" ? std::string("Design") : subject), "Read the design and answer",
                       TaskType::kAnalysis, kArchitectAgent, 10,
                       "Analyze " + subject + " to answer: \"" + std::string(requestText) +
                           "\". Cover single points of failure, bottlenecks, and risky connections."));
  const bool capacity = !r.frame.params.empty() ||
                        mentionsAny(std::string(requestText), {"rps", "capacity", "handle", "load", "throughput",
                                                                "how many", "scale", "latency", "cost"});
  if (capacity) {
    deps.push_back(b.add("Estimate Capacity", "Estimate what the design sustains", TaskType::kAnalysis, kCapacityAgent, 10,
                         "Estimate the capacity, utilisation per tier, and p99 latency of " + subject +
                             " from its configuration." + scaleClause(r.frame.params)));
  }
  b.add("Analysis Report", "Summarise the findings", TaskType::kAnalysis, kArchitectAgent, 5,
        "Write a report for " + subject + " with findings ranked by risk and the recommended next steps.", deps, true);
  return {Route::kStatic, "Design Analysis", b.finish()};
}

}  // namespace

PlanOutcome staticPlan(const PlanRequest& r) {
  // The request text is not in the frame; templates quote the change from the
  // components and parameters instead when it is unavailable.
  const std::string text(r.requestText.empty() ? std::string_view(r.frame.target) : r.requestText);
  switch (r.frame.intent) {
    case Intent::kScaleComponent: return scale(r);
    case Intent::kAddComponent: return add(r);
    case Intent::kModifyComponent: return modify(r, text);
    case Intent::kRemoveComponent: return remove(r);
    case Intent::kOptimize: return optimize(r, text);
    case Intent::kAnalyze: return analyze(r, text);
    case Intent::kBuildFromScratch: break;
  }
  return dynamicPlan(r);  // a build always needs the whole DAG
}

}  // namespace ymy::planner::detail
