// Test-only: renders catalog services (and what goes with them) into a
// directory, for generated_services_run.sh to install and run.
//
//   emit_services DATA_DIR OUT_DIR [COMPONENT_ID...]     (default: auth catalog)
//
// Writes OUT_DIR/<nodeId>/... per service, OUT_DIR/integration-tests/,
// OUT_DIR/frontend/ and OUT_DIR/docker-compose.yml, and prints one line per
// service: "<nodeId> <port>".

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "codegen/codegen.hpp"
#include "model/catalog.hpp"

namespace {

bool writeAll(const std::filesystem::path& root, const std::vector<ymy::GeneratedFile>& files) {
  for (const auto& f : files) {
    if (!ymy::isSafeRelativePath(f.path)) {
      std::cerr << "emit_services: unsafe path " << f.path << "\n";
      return false;
    }
    const auto path = root / f.path;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << f.content;
    if (!out) {
      std::cerr << "emit_services: cannot write " << path << "\n";
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: emit_services DATA_DIR OUT_DIR [COMPONENT_ID...]\n";
    return 2;
  }
  const std::filesystem::path data = argv[1];
  const std::filesystem::path out = argv[2];
  std::vector<std::string> ids(argv + 3, argv + argc);
  if (ids.empty()) ids = {"auth", "catalog"};

  auto catalog = ymy::Catalog::load(data / "catalog" / "catalog.json");
  if (!catalog) {
    std::cerr << "emit_services: " << catalog.error().message << "\n";
    return 1;
  }
  auto generator = ymy::codegen::Generator::load(data / "templates");
  if (!generator) {
    std::cerr << "emit_services: " << generator.error().message << "\n";
    return 1;
  }

  std::vector<ymy::codegen::ServiceSpec> specs;
  int port = 3001;
  for (const auto& id : ids) {
    const auto* component = catalog->find(id);
    if (!component || !component->isService()) {
      std::cerr << "emit_services: '" << id << "' is not a service of the catalog\n";
      return 2;
    }
    specs.push_back(ymy::codegen::serviceSpecFor(*component, *catalog, port++));
  }

  for (const auto& spec : specs) {
    auto files = generator->service(spec);
    if (!files) {
      std::cerr << "emit_services: " << files.error().message << "\n";
      return 1;
    }
    if (!writeAll(out, *files)) return 1;
  }
  auto integration = generator->integrationTests(specs);
  auto frontend = generator->frontend({"generated platform", specs});
  auto compose = generator->dockerCompose(specs);
  if (!integration || !frontend || !compose) {
    std::cerr << "emit_services: "
              << (!integration ? integration.error().message
                  : !frontend  ? frontend.error().message
                               : compose.error().message)
              << "\n";
    return 1;
  }
  if (!writeAll(out, *integration) || !writeAll(out, *frontend) || !writeAll(out, {*compose})) return 1;
  for (const auto& spec : specs) std::cout << spec.nodeId << ' ' << spec.port << '\n';
  return 0;
}
