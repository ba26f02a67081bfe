#include "engine/engine.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <cstdlib>
#include <system_error>
#include <unistd.h>

#include "model/json_io.hpp"

#ifndef YOUMEYOU_SOURCE_DATA_DIR
#define YOUMEYOU_SOURCE_DATA_DIR "data"
#endif

namespace ymy::engine {

namespace {
std::filesystem::path executableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

bool looksLikeDataDir(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::exists(dir / "catalog" / "catalog.json", ec);
}
}  // namespace

std::filesystem::path defaultDataDir() {
  if (const char* env = std::getenv("YOUMEYOU_DATA_DIR"); env && *env) return env;
  auto exeDir = executableDir();
  for (const auto& candidate : {exeDir / ".." / "data", exeDir / "data", exeDir / ".." / "share" / "youmeyou"}) {
    if (!exeDir.empty() && looksLikeDataDir(candidate)) return candidate.lexically_normal();
  }
  return YOUMEYOU_SOURCE_DATA_DIR;
}

namespace {

// Bumped when the builtin agents or generators change what they produce for
// the same data: cached answers of an older engine are then never served.
constexpr int kBuiltinCodeVersion = 1;

// FNV-1a 64 over the relative paths and contents of the files that decide
// answers, in path order.
Result<std::string> fingerprint(const std::filesystem::path& dataDir, const std::filesystem::path& capacityOverrides) {
  std::vector<std::filesystem::path> files;
  for (const char* sub : {"catalog", "models", "templates", "capacity"}) {
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(dataDir / sub, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file()) files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  if (!capacityOverrides.empty()) files.push_back(capacityOverrides);
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  };
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return fail(ErrorCode::kIo, "cannot read " + f.string());
    std::ostringstream content;
    content << in.rdbuf();
    mix(f.lexically_relative(dataDir).generic_string());
    mix(content.str());
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return "builtin-" + std::to_string(kBuiltinCodeVersion) + "-" + hex;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::load(const std::filesystem::path& dataDir,
                                             const std::filesystem::path& capacityOverrides) {
  std::unique_ptr<Engine> engine(new Engine());
  auto version = fingerprint(dataDir, capacityOverrides);
  if (!version) return tl::unexpected(version.error());
  engine->version_ = std::move(*version);
  auto catalog = Catalog::load(dataDir / "catalog" / "catalog.json");
  if (!catalog) return tl::unexpected(catalog.error());
  engine->catalog_ = std::move(*catalog);
  auto classifier = intent::IntentClassifier::load(dataDir / "models" / "intent.model");
  if (!classifier) {
    return fail(classifier.error().code,
                classifier.error().message + " (train it with scripts/train-intent, or set --data-dir)");
  }
  engine->classifier_ = std::move(*classifier);
  engine->analyzer_ = std::make_unique<intent::IntentAnalyzer>(engine->catalog_, engine->classifier_);
  auto generator = codegen::Generator::load(dataDir / "templates");
  if (!generator) return tl::unexpected(generator.error());
  engine->generator_ = std::make_unique<codegen::Generator>(std::move(*generator));
  boost::json::object overrides;
  if (!capacityOverrides.empty()) {
    auto parsed = json::parseFile(capacityOverrides, "capacity overrides");
    if (!parsed) return tl::unexpected(parsed.error());
    if (!parsed->is_object()) {
      return fail(ErrorCode::kInvalidArgument, capacityOverrides.string() + ": capacity overrides must be a JSON object");
    }
    overrides = parsed->get_object();
  }
  auto capacity = capacity::CapacityModel::load(capacity::defaultBaselinesPath(dataDir), overrides);
  if (!capacity) return tl::unexpected(capacity.error());
  engine->capacity_ = std::make_unique<capacity::CapacityModel>(std::move(*capacity));
  engine->environment_ = std::make_unique<agents::AgentEnvironment>(agents::AgentEnvironment{
      engine->catalog_, engine->analyzer_->matcher(), *engine->generator_, *engine->capacity_});
  agents::registerBuiltinAgents(engine->agents_, *engine->environment_);
  return engine;
}

Result<Analysis> Engine::analyze(std::string_view request, const Canvas* canvas,
                                 const std::vector<std::string>& preferences) const {
  Analysis a;
  auto frame = analyzer_->analyze(request, canvas, &a.reading);
  if (!frame) return tl::unexpected(frame.error());
  a.frame = std::move(*frame);
  a.context = context::extractContext(canvas, request, preferences,
                                      [&](const CanvasNode& node) { return analyzer_->componentOfNode(node); });
  return a;
}

Result<planner::PlanOutcome> Engine::plan(const Analysis& analysis, std::string_view request,
                                          double staticThreshold) const {
  planner::PlanRequest r{analysis.frame, analysis.context, catalog_, request, staticThreshold};
  return planner::makePlan(r);
}

Result<Canvas> loadCanvasFile(const std::filesystem::path& path) {
  auto value = json::parseFile(path, "canvas file");
  if (!value) return tl::unexpected(value.error());
  auto canvas = canvasFromJson(*value, "canvas");
  if (!canvas) {
    return fail(canvas.error().code, "canvas file '" + path.string() + "': " + canvas.error().message);
  }
  return canvas;
}

}  // namespace ymy::engine
