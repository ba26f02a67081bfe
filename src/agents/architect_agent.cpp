// arch-001: designs the architecture (services, data stores, infrastructure,
// the calls between them) from its task's prompt, and updates the canvas for
// component-level work; for ANALYSIS tasks it reads the canvas and reports.

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <boost/json/serialize.hpp>

#include "agents/config_change.hpp"
#include "agents/flow_items.hpp"
#include "agents/scaling_analysis.hpp"
#include "agents/support.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;

CanvasNode node(std::string id, std::string type, std::string label, boost::json::object config = {}) {
  CanvasNode n;
  n.id = std::move(id);
  n.type = std::move(type);
  n.label = std::move(label);
  n.config = std::move(config);
  return n;
}

CanvasEdge edge(std::string source, std::string target, std::string type) {
  return CanvasEdge{"", std::move(source), std::move(target), std::move(type)};
}

class ArchitectAgent final : public executor::Agent {
 public:
  explicit ArchitectAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kArchitectAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    switch (workOf(ctx)) {
      case Work::kAnalysis:
        return analyze(ctx);
      case Work::kDesign:
        return design(ctx);
      case Work::kUpdate:
        break;
    }
    return updateComponent(ctx);
  }

  // design(): one service:<nodeId> per service it lays out. updateComponent():
  // the components it places, or the target it removes, scales or changes.
  // analyze(): its findings, which nothing builds on.
  executor::TaskFlow flow(const executor::TaskContext& ctx) const override {
    executor::TaskFlow out;
    out.known = true;
    const auto& input = ctx.input();
    switch (workOf(ctx)) {
      case Work::kAnalysis:
        out.produces.insert(flow::findings(detail::targetNode(input)));
        break;
      case Work::kDesign:
        for (const auto& s : planServices(input, ctx.task().prompt).services) {
          out.produces.insert(flow::service(s.nodeId));
        }
        break;
      case Work::kUpdate:
        if (input.frame.intent == Intent::kAddComponent) {
          for (const auto* c : componentsToAdd(ctx.task().prompt)) out.produces.insert(flow::service(c->nodeId));
        } else {
          out.produces.insert(flow::service(detail::targetNode(input)));
        }
        break;
    }
    return out;
  }

 private:
  enum class Work { kAnalysis, kDesign, kUpdate };
  static Work workOf(const executor::TaskContext& ctx) {
    const auto& task = ctx.task();
    if (task.type == TaskType::kAnalysis) return Work::kAnalysis;
    if (ctx.input().frame.intent == Intent::kBuildFromScratch || task.name.starts_with("Architecture")) {
      return Work::kDesign;
    }
    return Work::kUpdate;
  }

  // How a service connects to a component of this node type.
  static const char* usesEdge(const std::string& nodeType) {
    if (nodeType == "cache") return "cache";
    if (nodeType == "queue") return "publishes";
    if (nodeType == "database" || nodeType == "storage" || nodeType == "search") return "reads-writes";
    return "api-call";
  }

  // The components an ADD_COMPONENT prompt names: services, then infrastructure.
  std::vector<const Component*> componentsToAdd(const std::string& prompt) const {
    auto wanted = detail::servicesInPrompt(env_, prompt);
    std::vector<const Component*> all = wanted.services;
    all.insert(all.end(), wanted.infrastructure.begin(), wanted.infrastructure.end());
    return all;
  }

  // The services design() lays out for a prompt: the catalog services it
  // names (the frame's when it names none), with the calls between them from
  // the catalog's dependsOn, then one service per unknown feature, or a core
  // service when there is nothing else. Pure: design() and flow() share it.
  Architecture planServices(const executor::ExecutionInput& input, const std::string& prompt) const {
    auto wanted = detail::servicesInPrompt(env_, prompt);
    if (wanted.services.empty() && wanted.features.empty()) {
      for (const auto& id : input.frame.components) {
        const auto* c = env_.catalog.find(id);
        if (c && c->isService()) wanted.services.push_back(c);
      }
      wanted.features = input.frame.features;
    }
    Architecture arch;
    arch.target = input.frame.target;
    arch.frontend = input.frame.intent == Intent::kBuildFromScratch;
    std::set<std::string> requested;
    for (const auto* c : wanted.services) requested.insert(c->id);
    int port = 3001;
    for (const auto* c : wanted.services) {
      ServicePlan p;
      p.id = c->id;
      p.name = c->name;
      p.nodeId = c->nodeId;
      p.description = c->description;
      p.port = port++;
      p.issuesTokens = c->id == "auth";
      p.requiresAuth = !p.issuesTokens;
      for (const auto& e : c->entities) p.tables.push_back(e.name);
      // Calls: the nearest requested components through dependsOn.
      std::set<std::string> visited;
      std::function<void(const Component&)> walk = [&](const Component& from) {
        for (const auto& dep : from.dependsOn) {
          if (!visited.insert(dep).second) continue;
          const auto* d = env_.catalog.find(dep);
          if (requested.count(dep)) {
            p.calls.push_back(d->nodeId);
          } else if (d) {
            walk(*d);
          }
        }
      };
      walk(*c);
      arch.services.push_back(std::move(p));
    }
    const bool hasAuth = requested.count("auth") > 0;
    std::set<std::string> tables;  // each table belongs to one service
    for (const auto& s : arch.services) tables.insert(s.tables.begin(), s.tables.end());
    for (const auto& f : wanted.features) {
      // A feature whose table a named service already keeps ("drivers" with
      // dispatch's drivers table) is part of that service.
      if (tables.count(codegen::tableNameFor(f))) continue;
      ServicePlan p;
      p.id = detail::slug(f);
      p.name = detail::titleCase(f) + " Service";
      p.nodeId = p.id + "-service";
      p.description = "Manages " + f;
      p.port = port++;
      p.tables = {codegen::tableNameFor(f)};
      if (hasAuth) p.calls.push_back(env_.catalog.find("auth")->nodeId);
      if (arch.findById(p.id)) continue;
      tables.insert(p.tables.begin(), p.tables.end());
      arch.services.push_back(std::move(p));
    }
    if (arch.services.empty()) {
      ServicePlan p;
      p.id = "core";
      p.name = "Core API Service";
      p.nodeId = "core-service";
      p.description = "The main API of " + arch.target;
      p.port = port++;
      p.tables = {"items"};
      arch.services.push_back(std::move(p));
    }
    return arch;
  }

  // The whole architecture, from the services the prompt names.
  Result<executor::TaskResult> design(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    if (!step(ctx, "Analyzing requirements...", 0.25)) return cancelled();
    Architecture arch = planServices(input, ctx.task().prompt);
    if (!step(ctx, "Designing microservices structure...", 0.25)) return cancelled();
    const bool hasAuth = arch.findById("auth") != nullptr;

    if (!step(ctx, "Creating API specifications...", 0.25)) return cancelled();
    executor::TaskResult result;
    auto& canvas = result.canvasUpdate;
    const auto& params = input.frame.params;
    const bool heavyLoad = (params.rps && *params.rps >= 1000) || (params.users && *params.users >= 1e6);
    std::set<std::string> workloads;
    for (const auto& s : arch.services) {
      if (const auto* c = env_.catalog.find(s.id)) workloads.insert(c->workload);
    }
    auto hasService = [&](std::initializer_list<const char*> ids) {
      return std::any_of(ids.begin(), ids.end(), [&](const char* id) { return arch.findById(id) != nullptr; });
    };
    const bool wantsCache = hasAuth || heavyLoad || hasService({"cart", "catalog", "search", "feed", "shortener"});
    const bool wantsQueue = hasService({"notification", "analytics", "order", "messaging", "video", "telemetry"});
    const bool wantsCdn = hasService({"media", "video", "music"});
    std::string stack = input.preferences.empty() ? "Node.js + Express" : input.preferences.front();

    std::string entry = "api-gateway";
    if (arch.frontend) {
      canvas.nodes.push_back(node("web-app", "frontend", "Web App", {{"framework", "React"}}));
    }
    if (wantsCdn) {
      canvas.nodes.push_back(node("cdn", "cdn", "CDN", {{"caches", "static assets and media"}}));
      arch.infrastructure.push_back("cdn");
    }
    if (heavyLoad || arch.services.size() >= 4) {
      canvas.nodes.push_back(node("load-balancer", "load_balancer", "Load Balancer", {{"algorithm", "round-robin"}}));
      arch.infrastructure.push_back("load-balancer");
      canvas.edges.push_back(edge("load-balancer", "api-gateway", "routes"));
      entry = "load-balancer";
    }
    canvas.nodes.push_back(node("api-gateway", "gateway", "API Gateway", {{"auth", hasAuth ? "JWT" : "none"}}));
    arch.infrastructure.push_back("api-gateway");
    if (arch.frontend) canvas.edges.push_back(edge("web-app", entry, "api-call"));
    if (arch.frontend && wantsCdn) canvas.edges.push_back(edge("web-app", "cdn", "loads"));

    for (const auto& s : arch.services) {
      canvas.nodes.push_back(node(s.nodeId, "service", s.name,
                                  {{"instances", heavyLoad ? 2 : 1}, {"port", s.port}, {"language", stack},
                                   {"component", s.id}}));
      canvas.edges.push_back(edge("api-gateway", s.nodeId, "api-call"));
      for (const auto& target : s.calls) canvas.edges.push_back(edge(s.nodeId, target, "api-call"));
      if (!s.tables.empty()) {
        std::string base = s.nodeId.ends_with("-service") ? s.nodeId.substr(0, s.nodeId.size() - 8) : s.nodeId;
        std::string db = base + "-db";
        canvas.nodes.push_back(node(db, "database", detail::titleCase(base) + " DB",
                                    {{"engine", "PostgreSQL"}, {"owner", s.nodeId}, {"replicas", heavyLoad ? 1 : 0}}));
        canvas.edges.push_back(edge(s.nodeId, db, "reads-writes"));
      }
    }
    if (wantsCache) {
      canvas.nodes.push_back(node("redis-cache", "cache", "Redis Cache", {{"engine", "Redis"}, {"nodes", heavyLoad ? 3 : 1}}));
      arch.infrastructure.push_back("redis-cache");
      for (const auto& s : arch.services) {
        if (s.issuesTokens || s.id == "cart" || s.id == "catalog" || s.id == "search" || s.id == "feed") {
          canvas.edges.push_back(edge(s.nodeId, "redis-cache", "cache"));
        }
      }
    }
    if (wantsQueue) {
      canvas.nodes.push_back(node("message-queue", "queue", "Message Queue", {{"engine", "RabbitMQ"}}));
      arch.infrastructure.push_back("message-queue");
      for (const auto& s : arch.services) {
        if (s.id == "order" || s.id == "payment" || s.id == "notification" || s.id == "analytics" ||
            s.id == "messaging" || s.id == "video" || s.id == "telemetry") {
          canvas.edges.push_back(edge(s.nodeId, "message-queue", s.id == "notification" || s.id == "analytics"
                                                                     ? "consumes"
                                                                     : "publishes"));
        }
      }
    }
    canvas.nodes.push_back(node("monitoring", "monitoring", "Monitoring", {{"stack", "Prometheus + Grafana"}}));
    arch.infrastructure.push_back("monitoring");

    if (!step(ctx, "Finalizing architecture diagram...", 0.25)) return cancelled();
    std::vector<codegen::ServiceSpec> specs;
    for (const auto& s : arch.services) specs.push_back(detail::serviceSpec(env_, s, nullptr, input.preferences));
    auto compose = env_.generator.dockerCompose(specs);
    if (!compose) return tl::unexpected(compose.error());
    result.files.push_back(std::move(*compose));
    result.files.push_back({"docs/architecture.md", describe(arch, canvas)});
    result.output["architecture"] = toJson(arch);
    result.summary = "Architecture designed with " + std::to_string(arch.services.size()) + " microservice" +
                     (arch.services.size() == 1 ? "" : "s") + " and " + std::to_string(arch.infrastructure.size()) +
                     " infrastructure components";
    return result;
  }

  static std::string describe(const Architecture& arch, const Canvas& canvas) {
    std::ostringstream md;
    md << "# Architecture: " << arch.target << "\n\n## Services\n\n| service | owns | calls |\n| --- | --- | --- |\n";
    for (const auto& s : arch.services) {
      md << "| " << s.name << " (`" << s.nodeId << "`, port " << s.port << ") | ";
      for (std::size_t i = 0; i < s.tables.size(); ++i) md << (i ? ", " : "") << s.tables[i];
      md << " | ";
      for (std::size_t i = 0; i < s.calls.size(); ++i) md << (i ? ", " : "") << s.calls[i];
      md << " |\n";
    }
    md << "\n## Infrastructure\n\n";
    for (const auto& n : canvas.nodes) {
      if (n.type != "service") md << "- " << n.label << " (`" << n.id << "`, " << n.type << ")\n";
    }
    md << "\n## APIs\n\nEach service exposes REST endpoints behind the API gateway; the gateway verifies JWTs issued by "
          "the auth service when there is one. Each service owns its tables and no other service writes them.\n";
    return md.str();
  }

  // Component-level changes on an existing canvas (static path).
  Result<executor::TaskResult> updateComponent(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const auto& task = ctx.task();
    executor::TaskResult result;
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Reading the current design...", 0.5)) return cancelled();
    switch (input.frame.intent) {
      case Intent::kAddComponent: {
        // What the prompt names and the canvas already has is where the new
        // parts attach ("a cache in front of the product service"), not
        // something to add again.
        std::vector<const Component*> fresh;
        std::vector<const CanvasNode*> anchors;
        for (const auto* c : componentsToAdd(task.prompt)) {
          if (const auto* existing = detail::canvasNodeFor(env_, input.baseCanvas, *c)) {
            anchors.push_back(existing);
          } else {
            fresh.push_back(c);
          }
        }
        std::set<std::pair<std::string, std::string>> connected;
        auto connect = [&](const std::string& from, const std::string& to, const char* type) {
          if (from != to && connected.emplace(from, to).second) result.canvasUpdate.edges.push_back(edge(from, to, type));
        };
        for (const auto* c : fresh) {
          result.canvasUpdate.nodes.push_back(node(c->nodeId, c->nodeType, c->name, {{"component", c->id}}));
          for (const auto& dep : c->dependsOn) {
            const auto* d = env_.catalog.find(dep);
            for (const auto& n : input.baseCanvas.nodes) {
              if (d && (n.id == d->nodeId || env_.matcher.componentOf(n.label) == dep)) connect(c->nodeId, n.id, "api-call");
            }
          }
          for (const auto& n : input.baseCanvas.nodes) {
            auto comp = env_.matcher.componentOf(n.label);
            const auto* other = env_.catalog.find(comp);
            if (other && std::find(other->dependsOn.begin(), other->dependsOn.end(), c->id) != other->dependsOn.end()) {
              connect(n.id, c->nodeId, "api-call");
            }
            if (n.type == "gateway" && c->isService()) connect(n.id, c->nodeId, "api-call");
          }
          if (c->isService()) {
            // A new service uses the stores and queues named with it.
            for (const auto* a : anchors) {
              if (!detail::isServiceNode(*a) && a->type != "gateway" && a->type != "frontend") {
                connect(c->nodeId, a->id, usesEdge(a->type));
              }
            }
          } else if (c->nodeType == "monitoring") {
            // Monitoring scrapes the services named with it, or all of them.
            for (const auto& n : input.baseCanvas.nodes) {
              const bool named = std::any_of(anchors.begin(), anchors.end(), [&](const auto* a) { return a->id == n.id; });
              if (detail::isServiceNode(n) && (named || anchors.empty())) connect(c->nodeId, n.id, "scrapes");
            }
          } else {
            // Infrastructure is used by the services named with it.
            for (const auto* a : anchors) {
              if (detail::isServiceNode(*a)) connect(a->id, c->nodeId, usesEdge(c->nodeType));
            }
          }
        }
        if (fresh.empty()) {
          // Everything named is there already: connect the named services to
          // the named infrastructure.
          for (const auto* from : anchors) {
            if (!detail::isServiceNode(*from)) continue;
            for (const auto* to : anchors) {
              if (!detail::isServiceNode(*to) && to->type != "gateway" && to->type != "frontend") {
                connect(from->id, to->id, usesEdge(to->type));
              }
            }
          }
        }
        result.summary = "Placed " + std::to_string(fresh.size()) + " new component(s) with " +
                         std::to_string(result.canvasUpdate.edges.size()) + " connection(s)";
        if (!anchors.empty()) {
          std::string names;
          for (const auto* a : anchors) names += (names.empty() ? "" : ", ") + a->id;
          result.summary += ", attached to " + names;
        }
        break;
      }
      case Intent::kRemoveComponent: {
        // Each "Remove <node> and Rewire" task removes the node its prompt
        // names (a request can name several), with the data stores only it used.
        std::string removed = target;
        for (const auto& n : input.baseCanvas.nodes) {
          if (task.prompt.starts_with("Remove " + n.id + " ")) removed = n.id;
        }
        result.removeNodes.push_back(removed);
        for (const auto& n : input.baseCanvas.nodes) {
          if (n.type != "database" && n.type != "storage" && n.type != "search") continue;
          bool used = false, onlyByRemoved = true;
          for (const auto& e : input.baseCanvas.edges) {
            if (e.source != n.id && e.target != n.id) continue;
            used = true;
            onlyByRemoved = onlyByRemoved && (e.source == removed || e.target == removed);
          }
          if (used && onlyByRemoved) result.removeNodes.push_back(n.id);
        }
        result.summary = "Removed " + removed + " and its connections";
        if (result.removeNodes.size() > 1) {
          result.summary += ", and its data store" + std::string(result.removeNodes.size() > 2 ? "s " : " ");
          for (std::size_t i = 1; i < result.removeNodes.size(); ++i) {
            result.summary += (i > 1 ? ", " : "") + result.removeNodes[i];
          }
        }
        break;
      }
      case Intent::kScaleComponent: {
        // The scaled component as the sizing has it; the merger replaces the
        // node with it when the run is assembled (REPLACE_COMPONENT).
        auto sizing = detail::capacityOf(ctx);
        auto count = [&](const char* key, std::int64_t fallback) {
          return sizing && sizing->contains(key) && sizing->at(key).is_number() ? sizing->at(key).to_number<std::int64_t>()
                                                                                 : fallback;
        };
        const auto instances = count("instances", 2);
        const auto sessionNodes = count("sessionNodes", 0);
        const auto replicas = count("readReplicas", 0);
        boost::json::object config{{"instances", instances}, {"scaling", "horizontal"}, {"stateless", true}};
        if (count("loadBalancers", instances > 1) > 0) config["load_balancer"] = "NGINX with round-robin";
        if (sessionNodes > 0) config["session_store"] = "Redis Cluster (" + std::to_string(sessionNodes) + " nodes)";
        if (sizing && sizing->contains("database") && sizing->at("database").is_string() &&
            !sizing->at("database").get_string().empty()) {
          std::string db(sizing->at("database").get_string());
          db = db.substr(0, db.find(' '));  // "MySQL single instance" -> "MySQL"
          config["database"] = replicas > 0 ? db + " with " + std::to_string(replicas) + " read replicas" : db;
        }
        if (count("cacheNodes", 0) > 0) config["caching"] = "Redis for hot reads and token validation";
        if (sizing && sizing->contains("estimatedCapacity")) {
          config["estimated_capacity"] = std::to_string(count("estimatedCapacity", 0)) + " RPS";
        }
        result.output["scaled"] = boost::json::object{{"target", target},
                                                      {"config", config},
                                                      {"instances", instances},
                                                      {"loadBalancer", instances > 1},
                                                      {"sessionNodes", sessionNodes},
                                                      {"cacheNodes", count("cacheNodes", 0)},
                                                      {"readReplicas", replicas},
                                                      {"monitoring", true}};
        result.summary = "Scaled topology for " + target + ": " + std::to_string(instances) + " instances" +
                         (sessionNodes > 0 ? ", " + std::to_string(sessionNodes) + "-node session cluster" : "") +
                         (replicas > 0 ? ", " + std::to_string(replicas) + " read replicas" : "");
        break;
      }
      default: {
        // A change to the design as a whole ("make it faster") has no node
        // of its own to record it on.
        const auto* existing = input.baseCanvas.findNode(target);
        if (!existing) {
          result.summary = "Change plan for the design as a whole: " + input.request;
          break;
        }
        CanvasNode changed = *existing;
        std::string applied;
        if (input.frame.intent == Intent::kModifyComponent) {
          for (const auto& [key, value] : requestedConfigChanges(input.request, *existing)) {
            changed.config[key] = value;
            applied += (applied.empty() ? "" : ", ") + std::string(key) + " = " +
                       (value.is_string() ? std::string(value.get_string()) : boost::json::serialize(value));
          }
        }
        changed.config["lastChange"] = input.request;
        result.canvasUpdate.nodes.push_back(std::move(changed));
        result.summary = "Updated the design of " + target + (applied.empty() ? "" : ": " + applied);
      }
    }
    return result;
  }

  // Reads the canvas around the target and reports what it sees.
  Result<executor::TaskResult> analyze(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    if (!step(ctx, "Reading components and connections...", 0.5)) return cancelled();
    const std::string target = detail::targetNode(input);
    const auto& canvas = input.baseCanvas;
    std::ostringstream md;
    md << "# " << ctx.task().name << "\n\nRequest: " << input.request << "\n\n";
    std::vector<std::string> findings;
    const CanvasNode* focus = canvas.findNode(target);
    auto countType = [&](const char* type) {
      return std::count_if(canvas.nodes.begin(), canvas.nodes.end(), [&](const CanvasNode& n) { return n.type == type; });
    };
    if (canvas.nodes.empty()) findings.push_back("The canvas is empty: there is no existing design to analyse.");
    // Who uses each node: the sources of the edges into it.
    std::map<std::string, std::vector<std::string>> usedBy;
    for (const auto& e : canvas.edges) usedBy[e.target].push_back(e.source);
    auto users = [&](const CanvasNode& n) {
      const auto it = usedBy.find(n.id);
      return it == usedBy.end() ? std::vector<std::string>{} : it->second;
    };
    auto joined = [](const std::vector<std::string>& ids) {
      std::string out;
      for (std::size_t i = 0; i < ids.size() && i < 4; ++i) out += (i ? ", " : "") + ids[i];
      return ids.size() > 4 ? out + " and " + std::to_string(ids.size() - 4) + " more" : out;
    };
    for (const auto& n : canvas.nodes) {
      if (focus && n.id != focus->id) continue;
      // Counts as the capacity model reads them ("replicas": "6 pods", {"min": 2}).
      auto read = env_.capacity.analyse(n, &canvas);
      const int instances = read ? read->instances : 1;
      const int replicas = read ? read->readReplicas : 0;
      const auto callers = users(n);
      if (detail::isServiceNode(n) && instances <= 1) {
        findings.push_back(n.id + " runs a single instance: no horizontal scaling, a single point of failure.");
      } else if ((n.type == "gateway" || n.type == "load_balancer") && instances <= 1 &&
                 std::any_of(canvas.edges.begin(), canvas.edges.end(),
                             [&](const CanvasEdge& e) { return e.source == n.id || e.target == n.id; })) {
        findings.push_back(n.id + " is a single instance that every request passes through: a single point of failure.");
      } else if (n.type == "database" && replicas == 0) {
        findings.push_back(callers.size() > 1
                               ? n.id + " is one primary without replicas shared by " + joined(callers) +
                                     ": a single point of failure for all of them, and their coupling point."
                               : n.id + " is one primary without a standby or read replicas: a single point of failure.");
      } else if ((n.type == "cache" || n.type == "queue") && instances <= 1 && !callers.empty()) {
        findings.push_back(n.id + (n.type == "cache" ? " is a single cache node used by " + joined(callers) +
                                                          ": losing it sends every read to the databases."
                                                    : " is a single broker used by " + joined(callers) +
                                                          ": messages in flight are lost with it."));
      }
      auto session = n.config.find("session_store");
      if (session != n.config.end() && session->value().is_string() &&
          detail::containsWord(std::string(session->value().get_string()), "memory")) {
        findings.push_back(n.id + " keeps sessions in memory: instances cannot share them.");
      }
      auto db = n.config.find("database");
      if (db != n.config.end() && db->value().is_string() && detail::containsWord(std::string(db->value().get_string()), "single")) {
        findings.push_back(n.id + " uses a single database instance without read replicas.");
      }
    }
    if (!canvas.nodes.empty() && countType("load_balancer") == 0 && countType("gateway") == 0) {
      findings.push_back("Nothing in front of the services spreads load: no load balancer or gateway.");
    }
    if (!canvas.nodes.empty() && countType("cache") == 0) findings.push_back("No cache in front of hot reads.");
    if (!canvas.nodes.empty() && countType("monitoring") == 0) findings.push_back("No monitoring or alerting.");
    md << "## Findings\n\n";
    for (const auto& f : findings) md << "- " << f << "\n";
    if (findings.empty()) md << "- No structural risks found in the canvas.\n";
    if (!step(ctx, "Writing findings...", 0.5)) return cancelled();
    executor::TaskResult result;
    if (input.frame.intent == Intent::kScaleComponent && focus) {
      // The spec's analysis step: what is asked, the deployment in one phrase,
      // what to change, and what the change means for security.
      auto current = env_.capacity.analyse(*focus, &canvas);
      if (!current) return tl::unexpected(current.error());
      const auto analysis = analyseScaling(env_.catalog, input, *current, detail::targetRps(input));
      md << "\n## Scaling analysis\n\n- requirement: " << analysis.requirement
         << "\n- current configuration: " << analysis.currentConfig << "\n- security: " << analysis.security
         << "\n\n### Recommendations\n\n";
      for (const auto& r : analysis.recommendations) md << "- " << r << "\n";
      md << "\n### Security implications\n\n";
      for (const auto& s : analysis.securityImplications) md << "- " << s << "\n";
      auto strings = [](const std::vector<std::string>& v) { return boost::json::array(v.begin(), v.end()); };
      ctx.emit("analysisCompleted", boost::json::object{{"requirement", analysis.requirement},
                                                        {"currentConfig", analysis.currentConfig},
                                                        {"security", analysis.security},
                                                        {"recommendations", analysis.recommendations.size()},
                                                        {"items", strings(analysis.recommendations)},
                                                        {"securityImplications", strings(analysis.securityImplications)}});
    }
    result.files.push_back({"analysis/" + detail::slug(ctx.task().id + " " + ctx.task().name) + ".md", md.str()});
    boost::json::array list;
    for (const auto& f : findings) list.emplace_back(f);
    result.output["findings"] = std::move(list);
    result.summary = std::to_string(findings.size()) + " finding(s) for " + target;
    return result;
  }

  const AgentEnvironment& env_;
};

}  // namespace

std::unique_ptr<executor::Agent> makeArchitectAgent(const AgentEnvironment& env) {
  return std::make_unique<ArchitectAgent>(env);
}

}  // namespace ymy::agents
