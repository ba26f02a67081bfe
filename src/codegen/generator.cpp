// Which template becomes which file. The view models (view_model.cpp) decide
// the content; this file only maps templates to output paths.

#include <fstream>
#include <sstream>
#include <system_error>

#include "codegen/codegen.hpp"
#include "codegen/internal.hpp"

namespace ymy::codegen {

namespace json = boost::json;

namespace {

constexpr const char* kSuffix = ".mustache";

// A file rendered once per generator call: template key -> output path below
// the generator's root folder.
struct Fixed {
  const char* templateName;
  const char* path;
};

json::object merged(json::object base, const json::object& extra) {
  for (const auto& [key, value] : extra) base[key] = value;
  return base;
}

}  // namespace

Result<Generator> Generator::load(const std::filesystem::path& templateDir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(templateDir, ec)) {
    return fail(ErrorCode::kNotFound, "template directory " + templateDir.string() + " does not exist");
  }
  Generator generator;
  std::filesystem::recursive_directory_iterator it(templateDir, ec), end;
  if (ec) return fail(ErrorCode::kIo, "cannot list " + templateDir.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(ErrorCode::kIo, "cannot list " + templateDir.string() + ": " + ec.message());
    if (!it->is_regular_file(ec)) continue;
    const std::string file = it->path().filename().string();
    if (file.size() <= std::string(kSuffix).size() || !file.ends_with(kSuffix)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) return fail(ErrorCode::kIo, "cannot read template " + it->path().string());
    std::string key = std::filesystem::relative(it->path(), templateDir, ec).generic_string();
    key.resize(key.size() - std::string(kSuffix).size());
    // Parse now so a broken template fails at load, naming the file.
    if (auto ok = detail::renderMustache(key, text.str(), json::object{}); !ok) return tl::unexpected(ok.error());
    generator.templates_.emplace(std::move(key), text.str());
  }
  if (generator.templates_.empty()) {
    return fail(ErrorCode::kNotFound, "no *.mustache templates under " + templateDir.string());
  }
  return generator;
}

Result<std::string> Generator::render(const std::string& name, const json::value& data) const {
  auto it = templates_.find(name);
  if (it == templates_.end()) return fail(ErrorCode::kNotFound, "template " + name + ".mustache is missing");
  return detail::renderMustache(name, it->second, data);
}

namespace {

// Renders "<stack>/<template>" into "<nodeId>/<path>".
class ServiceFiles {
 public:
  ServiceFiles(const Generator& generator, const ServiceSpec& spec, std::string stack)
      : generator_(generator), root_(spec.nodeId + "/"), stack_(std::move(stack)) {}

  Result<void> emit(const std::string& templateName, const std::string& path, const json::value& data) {
    auto text = generator_.render(stack_ + "/" + templateName, data);
    if (!text) return tl::unexpected(text.error());
    files_.push_back({root_ + path, std::move(*text)});
    return {};
  }
  void add(const std::string& path, std::string content) { files_.push_back({root_ + path, std::move(content)}); }
  std::vector<GeneratedFile> take() { return std::move(files_); }

 private:
  const Generator& generator_;
  std::string root_;
  std::string stack_;
  std::vector<GeneratedFile> files_;
};

Result<std::vector<GeneratedFile>> nodeExpressService(const Generator& generator, const ServiceSpec& spec) {
  const json::object view = detail::serviceView(spec);
  ServiceFiles out(generator, spec, kNodeExpress);
  static constexpr Fixed kFiles[] = {
      {"package.json", "package.json"},
      {"README.md", "README.md"},
      {"env.example", ".env.example"},
      {"Dockerfile", "Dockerfile"},
      {"dockerignore", ".dockerignore"},
      {"src/server.js", "src/server.js"},
      {"src/app.js", "src/app.js"},
      {"src/config.js", "src/config.js"},
      {"src/db.js", "src/db.js"},
      {"src/errors.js", "src/errors.js"},
      {"src/validation.js", "src/validation.js"},
      {"src/middleware/auth.js", "src/middleware/auth.js"},
  };
  for (const auto& f : kFiles) {
    if (auto ok = out.emit(f.templateName, f.path, view); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& entity : view.at("crudEntities").as_array()) {
    json::object data =
        merged(entity.as_object(), json::object{{"nodeId", spec.nodeId}, {"requiresAuth", spec.requiresAuth}});
    const std::string path = "src/routes/" + std::string(entity.at("routeFile").as_string()) + ".js";
    if (auto ok = out.emit("src/routes/entity.js", path, data); !ok) return tl::unexpected(ok.error());
  }
  if (view.at("issuer").is_object()) {
    if (auto ok = out.emit("src/routes/auth.js", "src/routes/auth.js", view); !ok) return tl::unexpected(ok.error());
  }
  if (!spec.calls.empty()) {
    if (auto ok = out.emit("src/services.js", "src/services.js", view); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = out.emit("test/service.test.js", "test/" + spec.nodeId + ".test.js", view); !ok) {
    return tl::unexpected(ok.error());
  }
  out.add("schema.sql", schemaSql(spec.entities, spec.name + " schema"));
  return out.take();
}

Result<std::vector<GeneratedFile>> pythonFastapiService(const Generator& generator, const ServiceSpec& spec) {
  const json::object view = detail::pythonServiceView(spec);
  ServiceFiles out(generator, spec, kPythonFastapi);
  static constexpr Fixed kFiles[] = {
      {"requirements.txt", "requirements.txt"},
      {"README.md", "README.md"},
      {"env.example", ".env.example"},
      {"Dockerfile", "Dockerfile"},
      {"dockerignore", ".dockerignore"},
      {"app/__init__.py", "app/__init__.py"},
      {"app/main.py", "app/main.py"},
      {"app/config.py", "app/config.py"},
      {"app/db.py", "app/db.py"},
      {"app/errors.py", "app/errors.py"},
      {"app/validation.py", "app/validation.py"},
      {"app/models.py", "app/models.py"},
      {"app/auth.py", "app/auth.py"},
      {"app/routes/__init__.py", "app/routes/__init__.py"},
  };
  for (const auto& f : kFiles) {
    if (auto ok = out.emit(f.templateName, f.path, view); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& entity : view.at("crudEntities").as_array()) {
    json::object data =
        merged(entity.as_object(), json::object{{"nodeId", spec.nodeId}, {"requiresAuth", spec.requiresAuth}});
    const std::string path = "app/routes/" + std::string(entity.at("module").as_string()) + ".py";
    if (auto ok = out.emit("app/routes/entity.py", path, data); !ok) return tl::unexpected(ok.error());
  }
  if (!spec.calls.empty()) {
    if (auto ok = out.emit("app/services.py", "app/services.py", view); !ok) return tl::unexpected(ok.error());
  }
  const std::string testFile = "tests/" + std::string(view.at("testModule").as_string()) + ".py";
  if (auto ok = out.emit("tests/test_service.py", testFile, view); !ok) return tl::unexpected(ok.error());
  out.add("schema.sql", schemaSql(spec.entities, spec.name + " schema"));
  return out.take();
}

}  // namespace

Result<std::vector<GeneratedFile>> Generator::service(const ServiceSpec& spec) const {
  if (auto ok = detail::checkService(spec); !ok) return tl::unexpected(ok.error());
  if (spec.stack == kPythonFastapi) return pythonFastapiService(*this, spec);
  return nodeExpressService(*this, spec);
}

Result<std::vector<GeneratedFile>> Generator::frontend(const FrontendSpec& spec) const {
  if (auto ok = detail::checkServices(spec.services); !ok) return tl::unexpected(ok.error());
  const json::object view = detail::frontendView(spec);
  std::vector<GeneratedFile> files;
  auto emit = [&](const std::string& templateName, const std::string& path, const json::value& data) -> Result<void> {
    auto text = render("react/" + templateName, data);
    if (!text) return tl::unexpected(text.error());
    files.push_back({"frontend/" + path, std::move(*text)});
    return {};
  };
  static constexpr Fixed kFiles[] = {
      {"package.json", "package.json"},     {"README.md", "README.md"},
      {"index.html", "index.html"},         {"vite.config.js", "vite.config.js"},
      {"src/main.jsx", "src/main.jsx"},     {"src/App.jsx", "src/App.jsx"},
      {"src/api.js", "src/api.js"},         {"src/fields.js", "src/fields.js"},
      {"src/styles.css", "src/styles.css"}, {"src/components/FieldInput.jsx", "src/components/FieldInput.jsx"},
  };
  for (const auto& f : kFiles) {
    if (auto ok = emit(f.templateName, f.path, view); !ok) return tl::unexpected(ok.error());
  }
  for (const auto& entity : view.at("entities").as_array()) {
    const std::string name(entity.at("pascal").as_string());
    if (auto ok = emit("src/components/EntityList.jsx", "src/components/" + name + "List.jsx", entity); !ok) {
      return tl::unexpected(ok.error());
    }
    if (auto ok = emit("src/components/EntityForm.jsx", "src/components/" + name + "Form.jsx", entity); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (view.at("issuer").is_object()) {
    for (const char* name : {"src/components/Login.jsx", "src/components/Register.jsx"}) {
      if (auto ok = emit(name, name, view); !ok) return tl::unexpected(ok.error());
    }
  }
  return files;
}

Result<std::vector<GeneratedFile>> Generator::integrationTests(const std::vector<ServiceSpec>& services) const {
  if (auto ok = detail::checkServices(services); !ok) return tl::unexpected(ok.error());
  const json::object view = detail::integrationView(services);
  std::vector<GeneratedFile> files;
  static constexpr Fixed kFiles[] = {
      {"package.json", "package.json"},
      {"README.md", "README.md"},
      {"test/platform.test.js", "test/platform.test.js"},
  };
  for (const auto& f : kFiles) {
    auto text = render(std::string("integration/") + f.templateName, view);
    if (!text) return tl::unexpected(text.error());
    files.push_back({std::string("integration-tests/") + f.path, std::move(*text)});
  }
  return files;
}

Result<GeneratedFile> Generator::dockerCompose(const std::vector<ServiceSpec>& services) const {
  if (auto ok = detail::checkServices(services); !ok) return tl::unexpected(ok.error());
  auto text = render("deploy/docker-compose.yml", detail::composeView(services));
  if (!text) return tl::unexpected(text.error());
  return GeneratedFile{"docker-compose.yml", std::move(*text)};
}

}  // namespace ymy::codegen
