#pragma once
// The builtin engine assembled from the shipped data: catalog, trained intent
// model, analyzer and planner. Immutable after load; share it across threads.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agents/builtin.hpp"
#include "codegen/codegen.hpp"
#include "context/context.hpp"
#include "executor/agent.hpp"
#include "intent/analyzer.hpp"
#include "intent/classifier.hpp"
#include "model/canvas.hpp"
#include "model/catalog.hpp"
#include "model/error.hpp"
#include "planner/planner.hpp"

namespace ymy::engine {

// Where data/ is: $YOUMEYOU_DATA_DIR, then beside the binary (../data, ./data),
// then the source tree the binary was built from.
std::filesystem::path defaultDataDir();

struct Analysis {
  IntentFrame frame;
  context::Context context;
  intent::Reading reading;  // the request's tokens and catalog mentions (for the cache's canonicaliser)
};

class Engine {
 public:
  // `capacityOverrides`: an optional JSON file merged over the capacity
  // baselines (data/capacity/baselines.json), e.g. a measured rpsPerUnit.
  static Result<std::unique_ptr<Engine>> load(const std::filesystem::path& dataDir,
                                              const std::filesystem::path& capacityOverrides = {});

  Result<Analysis> analyze(std::string_view request, const Canvas* canvas,
                           const std::vector<std::string>& preferences = {}) const;
  Result<planner::PlanOutcome> plan(const Analysis& analysis, std::string_view request,
                                    double staticThreshold = planner::kDefaultStaticThreshold) const;

  // "builtin-<code version>-<hash of the data files>": what cached answers
  // are keyed under, so another engine never serves them.
  const std::string& version() const { return version_; }
  const Catalog& catalog() const { return catalog_; }
  const intent::IntentClassifier& classifier() const { return classifier_; }
  const intent::IntentAnalyzer& analyzer() const { return *analyzer_; }
  const codegen::Generator& generator() const { return *generator_; }
  const executor::AgentRegistry& agents() const { return agents_; }
  const capacity::CapacityModel& capacity() const { return *capacity_; }

 private:
  Engine() = default;
  std::string version_;
  Catalog catalog_;
  intent::IntentClassifier classifier_;
  std::unique_ptr<intent::IntentAnalyzer> analyzer_;  // refers to the two above
  std::unique_ptr<codegen::Generator> generator_;
  std::unique_ptr<capacity::CapacityModel> capacity_;
  std::unique_ptr<agents::AgentEnvironment> environment_;  // refers to the above
  executor::AgentRegistry agents_;
};

// Loads and validates a canvas file; errors name the file and the field path.
Result<Canvas> loadCanvasFile(const std::filesystem::path& path);

}  // namespace ymy::engine
