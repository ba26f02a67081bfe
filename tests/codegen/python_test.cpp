// The python-fastapi stack: every catalog service (and synthesized ones, with
// column and table names that are Python keywords or Pydantic attributes)
// renders Python that compiles (python3 -m py_compile), requirements pinned
// with ==, and a schema that loads into SQLite. The packages cannot be
// installed here, so the services are compiled, not run; where Pydantic 2 is
// importable the generated models are imported and exercised too.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "codegen/codegen.hpp"
#include "codegen/internal.hpp"
#include "codegen/test_util.hpp"
#include "model/catalog.hpp"
#include "test_data.hpp"

namespace ymy::codegen {
namespace {

namespace fs = std::filesystem;

Column column(const std::string& name, const std::string& type, bool nullable = true) {
  Column c;
  c.name = name;
  c.type = type;
  c.nullable = nullable;
  return c;
}

// A service whose names a Python generator can trip over: a table named
// "import" (a keyword) next to "import_" (what "import" would become), columns
// named after keywords, BaseModel attributes, builtins and types, and names
// with leading underscores, of every column type.
ServiceSpec oddService(int port) {
  ServiceSpec s = synthesizeService("class", true, port);  // table "classes"
  for (const char* name : {"class",  "class_",     "from",         "global",   "import", "lambda",   "json",    "dict",
                           "schema", "model_dump", "model_config", "validate", "copy",   "datetime", "str",     "int",
                           "type",   "self",       "none",         "true",     "_",      "_private", "__init__"}) {
    s.entities[0].columns.push_back(column(name, "text"));
  }
  s.entities[0].columns.push_back(column("async", "integer", false));
  s.entities[0].columns.push_back(column("yield", "bigint"));
  s.entities[0].columns.push_back(column("decimal", "decimal", false));
  s.entities[0].columns.push_back(column("def", "boolean"));
  s.entities[0].columns.push_back(column("while", "timestamp"));
  s.entities[0].columns.push_back(column("return", "uuid"));
  s.entities[0].columns.push_back(column("payload", "json", false));
  s.entities[0].columns.push_back(column("extra", "json"));
  for (const char* table : {"import", "import_", "json"}) {
    Entity e = synthesizeEntity(table, true);
    e.name = table;
    e.indexes.clear();
    Column ref = column("pass", "uuid");
    ref.references = "classes.id";
    e.columns.push_back(ref);
    s.entities.push_back(e);
  }
  s.stack = kPythonFastapi;
  return s;
}

class CodegenPython : public test::CodegenFixture {
 protected:
  // Every service of the catalog, two features it does not know, and the odd
  // names, all as python-fastapi.
  static std::vector<ServiceSpec> allServices() {
    int port = 3001;
    std::vector<ServiceSpec> specs = catalogServices(port);
    specs.push_back(synthesizeService("pet profile", true, port++));
    specs.push_back(synthesizeService("loyalty points", false, port++));
    specs.push_back(synthesizeService("3d model", true, port++));
    specs.push_back(oddService(port++));
    for (auto& s : specs) s.stack = kPythonFastapi;
    return specs;
  }

  static ServiceSpec spec(const std::string& id, int port) {
    ServiceSpec s = serviceSpecFor(*catalog_->find(id), *catalog_, port);
    s.stack = kPythonFastapi;
    return s;
  }

  static std::map<std::string, std::string> byPath(const std::vector<GeneratedFile>& files) {
    std::map<std::string, std::string> out;
    for (const auto& f : files) out[f.path] = f.content;
    return out;
  }
};

// Compiles every file in one python3 process; the output names the failures.
test::CommandResult pyCompile(const std::vector<fs::path>& files, const fs::path& scratch) {
  std::string command =
      "python3 -c \"import py_compile,sys; [py_compile.compile(f, doraise=True) for f in sys.argv[1:]]\"";
  for (const auto& f : files) command += " " + test::shellQuote(f.string());
  return test::run(command, scratch);
}

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

TEST_F(CodegenPython, EveryServiceCompilesPinsItsRequirementsAndLoadsItsSchema) {
  ASSERT_TRUE(test::haveProgram("python3")) << "python3 is needed to check generated Python";
  ASSERT_TRUE(test::haveProgram("sqlite3")) << "sqlite3 is needed to check generated SQL (scripts/setup installs it)";
  test::TempDir dir("python-services");
  const auto specs = allServices();
  EXPECT_GE(specs.size(), 44u);
  const std::regex pinned(R"(^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,-]+\])?==[0-9]+(\.[0-9]+)*$)");
  for (const auto& s : specs) {
    auto files = generator_->service(s);
    ASSERT_TRUE(files) << s.id << ": " << files.error().message;
    for (const auto& f : *files) {
      EXPECT_TRUE(isSafeRelativePath(f.path)) << f.path;
      EXPECT_EQ(f.path.rfind(s.nodeId + "/", 0), 0u) << f.path;
      EXPECT_EQ(f.content.find('\x01'), std::string::npos) << f.path;
      EXPECT_FALSE(f.path.ends_with(".js")) << f.path;
    }
    test::writeFiles(dir.path(), *files);
    const auto root = dir.path() / s.nodeId;
    for (const char* required : {"requirements.txt", "README.md", ".env.example", "Dockerfile", "schema.sql",
                                 "app/__init__.py", "app/main.py", "app/config.py", "app/db.py", "app/errors.py",
                                 "app/validation.py", "app/models.py", "app/auth.py", "app/routes/__init__.py"}) {
      EXPECT_TRUE(fs::exists(root / required)) << s.nodeId << " lacks " << required;
    }
    std::string testModule = "test_" + s.nodeId;
    std::replace(testModule.begin(), testModule.end(), '-', '_');
    EXPECT_TRUE(fs::exists(root / "tests" / (testModule + ".py"))) << s.nodeId;
    EXPECT_EQ(fs::exists(root / "app/services.py"), !s.calls.empty()) << s.nodeId;

    // requirements.txt: every line pinned with ==, the packages the code imports.
    std::istringstream lines(test::readFile(root / "requirements.txt"));
    std::set<std::string> names;
    for (std::string line; std::getline(lines, line);) {
      EXPECT_TRUE(std::regex_match(line, pinned)) << s.nodeId << ": not pinned: '" << line << "'";
      names.insert(line.substr(0, line.find("==")));
    }
    for (const char* name :
         {"fastapi", "uvicorn", "pydantic", "psycopg[binary]", "psycopg-pool", "PyJWT", "pytest", "httpx"}) {
      EXPECT_TRUE(names.count(name)) << s.nodeId << " does not require " << name;
    }
    EXPECT_EQ(names.count("bcrypt") == 1, s.issuesTokens) << s.nodeId;

    // schema.sql is the portable DDL, unchanged, and loads.
    EXPECT_EQ(test::readFile(root / "schema.sql"), schemaSql(s.entities, s.name + " schema")) << s.nodeId;
    auto loaded = test::run("sqlite3 -bail :memory: < " + test::shellQuote((root / "schema.sql").string()), dir.path());
    EXPECT_EQ(loaded.exitCode, 0) << s.nodeId << ": " << loaded.output;
  }
  const auto sources = test::filesEndingWith(dir.path(), {".py"});
  EXPECT_GT(sources.size(), specs.size() * 10);
  auto compiled = pyCompile(sources, dir.path());
  EXPECT_EQ(compiled.exitCode, 0) << compiled.output;
}

// The one the brief names: a rendered service has a CRUD router per table,
// behind the JWT guard, and the issuer has its /auth routes.
TEST_F(CodegenPython, ServiceHasCrudRoutersBehindTheJwtGuard) {
  auto files = generator_->service(spec("catalog", 3002));
  ASSERT_TRUE(files) << files.error().message;
  auto contents = byPath(*files);
  for (const char* table : {"categories", "products", "product_images"}) {
    const std::string path = std::string("product-service/app/routes/") + table + ".py";
    ASSERT_EQ(contents.count(path), 1u) << path;
    const std::string& route = contents.at(path);
    for (const char* fragment :
         {"from ..auth import require_user", "guard_writes = require_user", "@router.get(\"\")",
          "@router.get(\"/{row_id}\")", "@router.post(\"\", status_code=201)", "@router.put(\"/{row_id}\")",
          "@router.patch(\"/{row_id}\")", "@router.delete(\"/{row_id}\", status_code=204)",
          "caller: Any = Depends(guard_writes)", "uuid.uuid4()",
          "{\"items\": rows, \"limit\": limit, \"offset\": offset}"}) {
      EXPECT_TRUE(contains(route, fragment)) << path << " lacks " << fragment;
    }
  }
  const std::string& products = contents.at("product-service/app/routes/products.py");
  EXPECT_TRUE(contains(products, "router = APIRouter(prefix=PATH, tags=[TABLE])"));
  EXPECT_TRUE(contains(products, "PATH = \"/products\""));
  EXPECT_TRUE(contains(products, "JSON_COLUMNS = frozenset([\"attributes\"])"));
  EXPECT_TRUE(contains(products, "FILTERS = [\"category_id\"]"));
  EXPECT_TRUE(contains(contents.at("product-service/app/routes/product_images.py"), "PATH = \"/product-images\""));

  const std::string& auth = contents.at("product-service/app/auth.py");
  for (const char* fragment : {"def require_user(", "jwt.decode(token, config.jwt_secret(), algorithms=[\"HS256\"])",
                               "raise ApiError(401, \"unauthorized\"", "HTTPBearer(auto_error=False"}) {
    EXPECT_TRUE(contains(auth, fragment)) << fragment;
  }
  EXPECT_FALSE(contains(auth, "/register"));  // only the issuer registers

  const std::string& main = contents.at("product-service/app/main.py");
  for (const char* fragment :
       {"from .routes import categories as categories_routes", "app.include_router(products_routes.router)",
        "@app.get(\"/health\")", "install_error_handlers(app)", "await run_in_threadpool(db.migrate)"}) {
    EXPECT_TRUE(contains(main, fragment)) << fragment;
  }
  const std::string& models = contents.at("product-service/app/models.py");
  for (const char* fragment : {"class ProductsCreate(_Model):", "class ProductsUpdate(_Model):", "    sku: Text255\n",
                               "    price: Numeric\n", "    currency: Text255 = None\n", "extra=\"forbid\""}) {
    EXPECT_TRUE(contains(models, fragment)) << fragment;
  }
  const std::string& test = contents.at("product-service/tests/test_product_service.py");
  EXPECT_TRUE(contains(test, "import httpx"));
  EXPECT_LT(test.find("\"table\": \"categories\""), test.find("\"table\": \"products\""));
  EXPECT_LT(test.find("\"table\": \"products\""), test.find("\"table\": \"product_images\""));

  // The token issuer: register, login and me in app/auth.py; its identity
  // tables get no CRUD router.
  auto authFiles = generator_->service(spec("auth", 3001));
  ASSERT_TRUE(authFiles) << authFiles.error().message;
  auto authContents = byPath(*authFiles);
  const std::string& issuer = authContents.at("auth-service/app/auth.py");
  for (const char* fragment :
       {"@router.post(\"/register\", status_code=201)", "@router.post(\"/login\")", "@router.get(\"/me\")",
        "def me(caller: CurrentUser = Depends(require_user))", "ApiError(409, \"email_taken\"", "bcrypt.hashpw(",
        "jwt.encode(", "@router.post(\"/refresh\")", "@router.post(\"/password-reset\", status_code=202)",
        "\"role\": user.get(\"role\")"}) {
    EXPECT_TRUE(contains(issuer, fragment)) << fragment;
  }
  EXPECT_TRUE(contains(authContents.at("auth-service/app/main.py"), "app.include_router(auth_router)"));
  for (const auto& [path, text] : authContents) {
    EXPECT_FALSE(path.starts_with("auth-service/app/routes/") && !path.ends_with("/__init__.py")) << path;
  }
  EXPECT_TRUE(contains(authContents.at("auth-service/requirements.txt"), "bcrypt=="));
  EXPECT_FALSE(contains(contents.at("product-service/requirements.txt"), "bcrypt"));

  // Without requiresAuth, writes are open.
  ServiceSpec open = synthesizeService("guest note", false, 3050);
  open.requiresAuth = false;
  open.stack = kPythonFastapi;
  auto openFiles = generator_->service(open);
  ASSERT_TRUE(openFiles) << openFiles.error().message;
  const std::string openRoute = byPath(*openFiles).at("guest-note-service/app/routes/guest_notes.py");
  EXPECT_FALSE(contains(openRoute, "require_user"));
  EXPECT_TRUE(contains(openRoute, "def guard_writes() -> None:"));
}

TEST_F(CodegenPython, OddNamesBecomeAliasedFieldsAndDistinctModules) {
  auto files = generator_->service(oddService(3070));
  ASSERT_TRUE(files) << files.error().message;
  auto contents = byPath(*files);
  const std::string& models = contents.at("class-service/app/models.py");
  for (const char* fragment :
       {"    class__: Optional[Text255] = Field(default=None, alias=\"class\")\n",
        "    class_: Optional[Text255] = None\n",
        "    from_: Optional[Text255] = Field(default=None, alias=\"from\")\n",
        "    json_: Optional[Text255] = Field(default=None, alias=\"json\")\n",
        "    model_dump_: Optional[Text255] = Field(default=None, alias=\"model_dump\")\n",
        "    f_private: Optional[Text255] = Field(default=None, alias=\"_private\")\n",
        "    f_: Optional[Text255] = Field(default=None, alias=\"_\")\n", "    datetime: Optional[Text255] = None\n",
        "    async_: Int32 = Field(alias=\"async\")\n", "    payload: JsonNotNull\n",
        "    extra: Optional[Json] = None\n",
        "class ImportCreate(_Model):", "class Import_Create(_Model):", "class JsonCreate(_Model):"}) {
    EXPECT_TRUE(contains(models, fragment)) << fragment;
  }
  // Tables "import" and "import_" get distinct modules; the paths keep the table names.
  EXPECT_EQ(contents.count("class-service/app/routes/import_.py"), 1u);
  EXPECT_EQ(contents.count("class-service/app/routes/import__.py"), 1u);
  EXPECT_EQ(contents.count("class-service/app/routes/json_.py"), 1u);
  EXPECT_TRUE(contains(contents.at("class-service/app/routes/import_.py"), "PATH = \"/import\""));
  EXPECT_TRUE(contains(contents.at("class-service/app/routes/import__.py"), "PATH = \"/import-\""));
  const std::string& main = contents.at("class-service/app/main.py");
  EXPECT_TRUE(contains(main, "from .routes import import_ as import__routes"));
  EXPECT_TRUE(contains(main, "from .routes import import__ as import___routes"));

  test::TempDir dir("python-odd");
  test::writeFiles(dir.path(), *files);
  auto compiled = pyCompile(test::filesEndingWith(dir.path(), {".py"}), dir.path());
  EXPECT_EQ(compiled.exitCode, 0) << compiled.output;
}

// Where Pydantic 2 is importable (not the pinned 2.10, but the same API), the
// generated models import without warnings and validate as the routes expect:
// aliases in and out, required fields, null refused for NOT NULL columns,
// length caps, strict types, unknown fields refused.
TEST_F(CodegenPython, ModelsValidateWithPydantic2) {
  auto probe = test::run("python3 -c \"import pydantic, sys; sys.exit(0 if pydantic.VERSION.startswith('2.') else 1)\"",
                         fs::temp_directory_path());
  if (probe.exitCode != 0) GTEST_SKIP() << "Pydantic 2 is not importable by python3: the models are only compiled";
  test::TempDir dir("python-pydantic");
  std::vector<std::string> modelFiles;
  for (const auto& s : allServices()) {
    auto files = generator_->service(s);
    ASSERT_TRUE(files) << s.id << ": " << files.error().message;
    for (const auto& f : *files) {
      if (f.path.ends_with("/app/models.py")) {
        test::writeFile(dir.path() / f.path, f.content);
        modelFiles.push_back((dir.path() / f.path).string());
      }
    }
  }
  test::writeFile(dir.path() / "check.py", R"PY(
import importlib.util
import sys
import warnings
from decimal import Decimal

warnings.simplefilter("error")
modules = {}
for index, path in enumerate(sys.argv[1:]):
    spec = importlib.util.spec_from_file_location(f"models_{index}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    modules[path.split("/")[-3]] = module

from pydantic import ValidationError

odd = modules["class-service"]
user = "0b7f7d8e-1111-4222-8333-444455556666"
row = odd.ClassesCreate.model_validate(
    {"name": "n", "user_id": user, "async": 5, "decimal": "12.5", "payload": {"a": [1]}, "class": "c", "class_": "k",
     "_private": "p", "json": "j"})
dumped = row.model_dump(by_alias=True, exclude_unset=True)
assert dumped == {"name": "n", "user_id": row.user_id, "async": 5, "decimal": Decimal("12.5"), "payload": {"a": [1]},
                  "class": "c", "class_": "k", "_private": "p", "json": "j"}, dumped


def problems(model, data):
    try:
        model.model_validate(data)
    except ValidationError as err:
        return {str(e["loc"][0]): e["type"] for e in err.errors()}
    return {}


assert set(problems(odd.ClassesCreate, {})) == {"name", "user_id", "async", "decimal", "payload"}
found = problems(odd.ClassesUpdate, {"async": None, "payload": None, "class": None, "name": "x" * 256,
                                     "def": 1, "while": "not a date", "return": "nope", "nope": 1, "class__": "x"})
assert set(found) == {"async", "payload", "name", "def", "while", "return", "nope", "class__"}, found
assert (found["async"], found["name"], found["def"], found["nope"]) == (
    "int_type", "string_too_long", "bool_type", "extra_forbidden"), found
assert problems(odd.ClassesUpdate, {"async": 2**31}) == {"async": "less_than_equal"}
assert problems(odd.ClassesUpdate, {"decimal": 1e10}) == {"decimal": "less_than"}
assert problems(odd.ClassesUpdate, {}) == {}
print("checked", len(modules), "model modules")
)PY");
  std::string command = "python3 " + test::shellQuote((dir.path() / "check.py").string());
  for (const auto& f : modelFiles) command += " " + test::shellQuote(f);
  auto checked = test::run(command, dir.path());
  EXPECT_EQ(checked.exitCode, 0) << checked.output;
}

TEST_F(CodegenPython, NamesAndDescriptionsCannotBreakTheSource) {
  ServiceSpec s = synthesizeService("note", false, 3060);
  s.stack = kPythonFastapi;
  s.name = "Notes\"\"\" \\N{oops} \nimport os\r\x01\x7f";
  s.name += std::string(1, '\0');
  s.name += "\xff\xfe caf\xc3\xa9 \xe2\x80\xa8 end";
  s.description = "line one\nline two \"\"\" ''' \\";
  auto files = generator_->service(s);
  ASSERT_TRUE(files) << files.error().message;
  test::TempDir dir("python-names");
  test::writeFiles(dir.path(), *files);
  const std::string main = test::readFile(dir.path() / "note-service/app/main.py");
  EXPECT_TRUE(contains(main, "# Notes\"\"\" \\N{oops}  import os ?? caf\xc3\xa9   end\n")) << main;
  auto compiled = pyCompile(test::filesEndingWith(dir.path(), {".py"}), dir.path());
  EXPECT_EQ(compiled.exitCode, 0) << compiled.output;
}

TEST(CodegenPythonNames, KeywordsAndModelAttributesAreRenamed) {
  using detail::pythonName;
  EXPECT_EQ(pythonName("name"), "name");
  EXPECT_EQ(pythonName("type"), "type");  // a soft keyword: a valid name
  EXPECT_EQ(pythonName("match"), "match");
  EXPECT_EQ(pythonName("class"), "class_");
  EXPECT_EQ(pythonName("from"), "from_");
  EXPECT_EQ(pythonName("json"), "json_");
  EXPECT_EQ(pythonName("model_dump"), "model_dump_");
  EXPECT_EQ(pythonName("model_number"), "model_number_");
  EXPECT_EQ(pythonName("_private"), "f_private");
  EXPECT_EQ(pythonName("__init__"), "f__init__");
  EXPECT_TRUE(detail::isPythonKeyword("await"));
  EXPECT_FALSE(detail::isPythonKeyword("none"));
  EXPECT_EQ(detail::sourceText(std::string("a\nb\r\x01\x7f") + '\0' + "\xff caf\xc3\xa9\xe2\x80\xa8."),
            "a b ? caf\xc3\xa9 .");
  EXPECT_EQ(detail::sourceText("\xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xf0\x9f\x99\x82"),
            "??? ??? ???? \xf0\x9f\x99\x82");
}

TEST_F(CodegenPython, UnknownStackIsAnErrorNamingIt) {
  ServiceSpec s = spec("catalog", 3002);
  s.stack = "ruby-rails";
  auto files = generator_->service(s);
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(files.error().message, "unknown stack 'ruby-rails'")) << files.error().message;
  EXPECT_FALSE(generator_->dockerCompose({s}));

  // The default stays Node.js + Express.
  ServiceSpec node = serviceSpecFor(*catalog_->find("catalog"), *catalog_, 3002);
  EXPECT_EQ(node.stack, kNodeExpress);
  auto nodeFiles = generator_->service(node);
  ASSERT_TRUE(nodeFiles);
  EXPECT_EQ(byPath(*nodeFiles).count("product-service/package.json"), 1u);
  EXPECT_EQ(byPath(*nodeFiles).count("product-service/requirements.txt"), 0u);
}

TEST_F(CodegenPython, DockerComposeBuildsAndRunsPythonServices) {
  std::vector<ServiceSpec> services{spec("auth", 3001), spec("catalog", 3002),
                                    serviceSpecFor(*catalog_->find("cart"), *catalog_, 3003)};
  auto compose = generator_->dockerCompose(services);
  ASSERT_TRUE(compose) << compose.error().message;
  YAML::Node doc;
  ASSERT_NO_THROW(doc = YAML::Load(compose->content)) << compose->content;
  for (const auto& s : services) {
    const auto node = doc["services"][s.nodeId];
    ASSERT_TRUE(node.IsMap()) << s.nodeId;
    EXPECT_EQ(node["build"].as<std::string>(), "./" + s.nodeId);
    EXPECT_EQ(node["environment"]["PORT"].as<std::string>(), std::to_string(s.port));
    EXPECT_EQ(node["environment"]["DATABASE_URL"].as<std::string>(), "postgres://app:app@postgres:5432/app");
    EXPECT_EQ(node["ports"][0].as<std::string>(), std::to_string(s.port) + ":" + std::to_string(s.port));
    const bool python = s.stack == kPythonFastapi;
    EXPECT_EQ(node["environment"]["APP_ENV"].IsDefined(), python) << s.nodeId;
    EXPECT_EQ(node["environment"]["NODE_ENV"].IsDefined(), !python) << s.nodeId;
  }
  EXPECT_EQ(doc["services"]["cart-service"]["environment"]["PRODUCT_SERVICE_URL"].as<std::string>(),
            "http://product-service:3002");

  // What the build runs: the image's CMD starts uvicorn on $PORT.
  auto files = generator_->service(spec("catalog", 3002));
  ASSERT_TRUE(files);
  const std::string dockerfile = byPath(*files).at("product-service/Dockerfile");
  for (const char* fragment : {"FROM python:3.11-slim", "pip install --no-cache-dir -r requirements.txt",
                               "ENV PORT=3002", "EXPOSE 3002", "exec uvicorn app.main:app --host 0.0.0.0 --port"}) {
    EXPECT_TRUE(contains(dockerfile, fragment)) << fragment;
  }
  const std::string readme = byPath(*files).at("product-service/README.md");
  EXPECT_TRUE(contains(readme, "pip install -r requirements.txt"));
  EXPECT_TRUE(contains(readme, "does not install the packages or run the"));
}

TEST_F(CodegenPython, RenderingIsDeterministic) {
  auto first = generator_->service(spec("order", 3004));
  auto second = generator_->service(spec("order", 3004));
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->size(), second->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].path, (*second)[i].path);
    EXPECT_EQ((*first)[i].content, (*second)[i].content) << (*first)[i].path;
  }
}

}  // namespace
}  // namespace ymy::codegen
