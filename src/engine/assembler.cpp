#include "engine/assembler.hpp"

#include <map>
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
  for (const auto& [task, result] : results) {
    auto stats = merger::applyPatch(a.canvas, {result->canvasUpdate, result->removeNodes});
    total.nodesAdded += stats.nodesAdded;
    total.nodesUpdated += stats.nodesUpdated;
    total.nodesRemoved += stats.nodesRemoved;
    total.edgesAdded += stats.edgesAdded;
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
  return a;
}

}  // namespace ymy::engine
