// ops-001 (deployment, load balancer, monitoring) and test-001 (load,
// regression and benchmark tests) for the static path.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "agents/flow_items.hpp"
#include "agents/support.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;

int instancesOf(const executor::TaskContext& ctx) {
  auto cap = detail::capacityOf(ctx);
  if (cap && cap->contains("instances") && cap->at("instances").is_int64()) {
    return static_cast<int>(cap->at("instances").get_int64());
  }
  return 2;
}

class OpsAgent final : public executor::Agent {
 public:
  explicit OpsAgent(const AgentEnvironment& env) : env_(env) {}
  std::string_view id() const override { return kOpsAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    executor::TaskResult result;
    if (detail::containsWord(ctx.task().name, "monitoring")) {
      if (!step(ctx, "Writing alert rules...", 1.0)) return cancelled();
      const double rps = detail::targetRps(input);
      const double p99 = input.frame.params.latencyMs ? *input.frame.params.latencyMs / 1000 : 0.5;
      boost::json::object data{
          {"group", target + "-alerts"},
          {"services", boost::json::array{boost::json::object{{"name", target},
                                                              {"alertPrefix", detail::titleCase(detail::slug(target))},
                                                              {"p99Seconds", p99},
                                                              {"saturationRps", static_cast<int>(rps * 0.8)}}}},
      };
      // Alert names must be identifiers: "Auth-Service" -> "AuthService".
      auto& prefix = data["services"].as_array()[0].as_object()["alertPrefix"];
      std::string p(prefix.as_string());
      p.erase(std::remove(p.begin(), p.end(), '-'), p.end());
      prefix = p;
      auto text = env_.generator.render("ops/alerts.yml", data);
      if (!text) return tl::unexpected(text.error());
      result.files.push_back({"monitoring/alerts.yml", *text});
      result.canvasUpdate.nodes.push_back(CanvasNode{"monitoring", "monitoring", "Monitoring", {}, {{"stack", "Prometheus + Grafana"}}});
      result.canvasUpdate.edges.push_back(CanvasEdge{"", "monitoring", target, "scrapes"});
      result.summary = "Alert rules for error rate, p99 latency and saturation of " + target;
      return result;
    }
    if (!step(ctx, "Writing the load balancer configuration...", 1.0)) return cancelled();
    const int instances = instancesOf(ctx);
    boost::json::array backends;
    for (int i = 1; i <= instances; ++i) {
      backends.push_back(boost::json::object{{"host", target + "-" + std::to_string(i)}, {"port", 3000}});
    }
    auto text = env_.generator.render("ops/nginx.conf", boost::json::object{{"service", target},
                                                                             {"instances", instances},
                                                                             {"upstream", detail::slug(target)},
                                                                             {"backends", std::move(backends)}});
    if (!text) return tl::unexpected(text.error());
    result.files.push_back({"deploy/nginx.conf", *text});
    const bool hasLb = std::any_of(input.baseCanvas.nodes.begin(), input.baseCanvas.nodes.end(),
                                   [](const CanvasNode& n) { return n.type == "load_balancer"; });
    if (!hasLb) {
      result.canvasUpdate.nodes.push_back(
          CanvasNode{"load-balancer", "load_balancer", "Load Balancer (NGINX)", {}, {{"algorithm", "round-robin"}}});
      result.canvasUpdate.edges.push_back(CanvasEdge{"", "load-balancer", target, "routes"});
    }
    result.summary = "NGINX upstream over " + std::to_string(instances) + " instances of " + target;
    return result;
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

  Result<executor::TaskResult> loadTest(executor::TaskContext& ctx) {
    const auto& input = ctx.input();
    const std::string target = detail::targetNode(input);
    if (!step(ctx, "Writing the load test...", 1.0)) return cancelled();
    const double p99 = input.frame.params.latencyMs ? *input.frame.params.latencyMs : 500;
    auto text = env_.generator.render("ops/load-test", boost::json::object{{"service", target},
                                                                           {"targetRps", static_cast<int>(detail::targetRps(input))},
                                                                           {"path", "/healthz"},
                                                                           {"maxErrorRate", 0.01},
                                                                           {"maxP99Ms", p99}});
    if (!text) return tl::unexpected(text.error());
    executor::TaskResult result;
    result.files.push_back({"load-tests/" + detail::slug(target) + ".load-test.js", *text});
    result.summary = "Load test for " + target + " at " + std::to_string(static_cast<int>(detail::targetRps(input))) + " RPS";
    return result;
  }

  const AgentEnvironment& env_;
};

}  // namespace

std::unique_ptr<executor::Agent> makeOpsAgent(const AgentEnvironment& env) { return std::make_unique<OpsAgent>(env); }
std::unique_ptr<executor::Agent> makeTestAgent(const AgentEnvironment& env) { return std::make_unique<TestAgent>(env); }

}  // namespace ymy::agents
