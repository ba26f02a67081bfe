#include "engine/assembler.hpp"

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "merger/merger.hpp"

namespace ymy::engine {

executor::Assembly DesignAssembler::assemble(
    const executor::ExecutionInput& input, const Plan&,
    const std::vector<std::pair<const Task*, const executor::TaskResult*>>& results) {
  executor::Assembly a;
  a.canvas = input.baseCanvas;
  merger::MergeStats total;
  std::map<std::string, std::size_t> byPath;
  auto add = [&](const merger::MergeStats& stats) {
    total.nodesAdded += stats.nodesAdded;
    total.nodesUpdated += stats.nodesUpdated;
    total.nodesRemoved += stats.nodesRemoved;
    total.edgesAdded += stats.edgesAdded;
  };
  std::optional<boost::json::object> scaledCapacity;
  for (const auto& [task, result] : results) {
    add(merger::applyPatch(a.canvas, {result->canvasUpdate, result->removeNodes}));
    if (auto it = result->output.find("capacity"); it != result->output.end() && it->value().is_object()) {
      scaledCapacity = it->value().get_object();
    }
    if (auto it = result->output.find("scaled"); it != result->output.end() && it->value().is_object()) {
      // REPLACE_COMPONENT: the node becomes its scaled version, with what it needs around it.
      auto scaled = scaledComponentFromJson(it->value().get_object());
      auto replaced = merger::replaceComponent(a.canvas, scaled);
      if (replaced) {
        add(merger::applyPatch(a.canvas, replaced->patch));
        a.events.emplace_back("componentReplaced",
                              boost::json::object{{"component", scaled.target},
                                                  {"strategy", "REPLACE_COMPONENT"},
                                                  {"iterations", replaced->iterations},
                                                  {"firstAccuracy", replaced->firstAccuracy},
                                                  {"accuracy", replaced->accuracy},
                                                  {"added", boost::json::array(replaced->added.begin(), replaced->added.end())},
                                                  {"rewired", replaced->rewired.size()},
                                                  {"missing", boost::json::array(replaced->missing.begin(),
                                                                                 replaced->missing.end())}});
      } else {
        a.events.emplace_back("componentReplaced", boost::json::object{{"component", scaled.target},
                                                                        {"strategy", "REPLACE_COMPONENT"},
                                                                        {"accuracy", 0},
                                                                        {"error", replaced.error().message}});
      }
    }
    for (const auto& f : result->files) {
      if (auto it = byPath.find(f.path); it != byPath.end()) {
        a.files[it->second] = f;
      } else {
        byPath[f.path] = a.files.size();
        a.files.push_back(f);
      }
    }
  }
  a.canvasChanges.componentsAdded = total.nodesAdded;
  a.canvasChanges.componentsUpdated = total.nodesUpdated;
  a.canvasChanges.connectionsCreated = total.edgesAdded;
  a.canvasChanges.nodesGenerated = total.nodesAdded + total.nodesUpdated;

  std::set<std::string> services;
  for (const auto& f : a.files) {
    a.codeGeneration.linesOfCode += static_cast<int>(f.lineCount());
    auto slash = f.path.find('/');
    // A service folder has a package.json (Node.js) or a requirements.txt (Python).
    const auto leaf = slash == std::string::npos ? std::string() : f.path.substr(slash + 1);
    if (leaf == "package.json" || leaf == "requirements.txt") {
      auto folder = f.path.substr(0, slash);
      if (folder != "frontend" && folder != "integration-tests") services.insert(folder);
    }
    if (f.path.starts_with("frontend/") && f.path.ends_with(".jsx")) ++a.codeGeneration.components;
  }
  a.codeGeneration.filesGenerated = static_cast<int>(a.files.size());
  a.codeGeneration.services = static_cast<int>(services.size());

  if (!services.empty()) {
    a.nextSteps.push_back("Start everything locally with `docker compose up` in the output folder");
    a.nextSteps.push_back("Deploy services to staging");
    if (byPath.count("integration-tests/package.json")) a.nextSteps.push_back("Run integration tests");
    a.nextSteps.push_back("Configure CI/CD pipeline");
  }
  for (const auto& f : a.files) {
    if (f.path.starts_with("load-tests/")) {
      a.nextSteps.push_back("Run " + f.path + " against staging to confirm the target load");
      break;
    }
  }
  if (byPath.count("deploy/nginx.conf")) a.nextSteps.push_back("Check deploy/nginx.conf with `nginx -t` and roll it out");
  if (a.nextSteps.empty()) a.nextSteps.push_back("Review the generated reports and apply the changes to your design");
  if (input.frame.intent == Intent::kScaleComponent && scaledCapacity) {
    const auto& c = *scaledCapacity;
    auto number = [&](const char* key) { return c.contains(key) && c.at(key).is_number() ? c.at(key).to_number<double>() : 0.0; };
    a.events.emplace_back("scalingCompleted",
                          boost::json::object{{"component", c.contains("target") ? c.at("target") : boost::json::value("")},
                                              {"newRPS", std::llround(number("estimatedCapacity"))},
                                              {"targetRPS", std::llround(number("rps"))},
                                              {"filesUpdated", a.files.size()},
                                              {"meetsTarget", c.contains("meetsTarget") && c.at("meetsTarget").is_bool() &&
                                                                  c.at("meetsTarget").get_bool()}});
  }
  return a;
}

merger::ScaledComponent scaledComponentFromJson(const boost::json::object& o) {
  merger::ScaledComponent s;
  auto integer = [&](const char* key, int fallback) {
    return o.contains(key) && o.at(key).is_number() ? static_cast<int>(o.at(key).to_number<double>()) : fallback;
  };
  if (o.contains("target") && o.at("target").is_string()) s.target = std::string(o.at("target").get_string());
  if (o.contains("config") && o.at("config").is_object()) s.config = o.at("config").get_object();
  s.instances = integer("instances", 1);
  s.loadBalancer = o.contains("loadBalancer") && o.at("loadBalancer").is_bool() && o.at("loadBalancer").get_bool();
  s.sessionNodes = integer("sessionNodes", 0);
  s.cacheNodes = integer("cacheNodes", 0);
  s.readReplicas = integer("readReplicas", 0);
  s.monitoring = !o.contains("monitoring") || !o.at("monitoring").is_bool() || o.at("monitoring").get_bool();
  return s;
}

}  // namespace ymy::engine
