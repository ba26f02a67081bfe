// The generated files are valid for their tools: JavaScript parses as Node
// parses it, JSON and YAML parse, SQL loads into SQLite, JSX parses with
// esbuild. (generated_services_run.sh goes further and runs the services.)

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <map>
#include <set>

#include "codegen/codegen.hpp"
#include "codegen/test_util.hpp"
#include "model/canvas.hpp"
#include "model/json_io.hpp"
#include "test_data.hpp"

namespace ymy::codegen {
namespace {

namespace fs = std::filesystem;

const fs::path kValidateDir = YOUMEYOU_VALIDATE_DIR;

class CodegenGenerator : public test::CodegenFixture {
 protected:
  // Every service of the catalog, then two features the catalog does not know.
  static std::vector<ServiceSpec> allServices() {
    int port = 3001;
    std::vector<ServiceSpec> specs = catalogServices(port);
    specs.push_back(synthesizeService("pet profile", true, port++));
    specs.push_back(synthesizeService("loyalty points", false, port++));
    return specs;
  }

  static ServiceSpec spec(const std::string& id, int port) {
    return serviceSpecFor(*catalog_->find(id), *catalog_, port);
  }

  static std::map<std::string, std::string> byPath(const std::vector<GeneratedFile>& files) {
    std::map<std::string, std::string> out;
    for (const auto& f : files) out[f.path] = f.content;
    return out;
  }
};

std::string joinQuoted(const std::vector<fs::path>& paths) {
  std::string out;
  for (const auto& p : paths) out += " " + test::shellQuote(p.string());
  return out;
}

void expectJsonParses(const std::vector<fs::path>& files) {
  for (const auto& file : files) {
    auto parsed = json::parse(test::readFile(file), file.string());
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().message);
  }
}

void expectNodeParses(const std::vector<fs::path>& files, const fs::path& scratch) {
  ASSERT_FALSE(files.empty());
  auto checked =
      test::run("node " + test::shellQuote((kValidateDir / "check-syntax.cjs").string()) + joinQuoted(files), scratch);
  EXPECT_EQ(checked.exitCode, 0) << checked.output;
}

TEST_F(CodegenGenerator, EveryServiceRendersFilesThatParseAndASchemaThatLoads) {
  ASSERT_TRUE(test::haveProgram("node")) << "node is needed to check generated JavaScript (scripts/setup installs it)";
  ASSERT_TRUE(test::haveProgram("sqlite3")) << "sqlite3 is needed to check generated SQL (scripts/setup installs it)";
  test::TempDir dir("services");
  const auto specs = allServices();
  EXPECT_GE(specs.size(), 40u);
  std::string allSchemas;
  for (const auto& s : specs) {
    auto files = generator_->service(s);
    ASSERT_TRUE(files) << s.id << ": " << files.error().message;
    for (const auto& f : *files) {
      EXPECT_TRUE(isSafeRelativePath(f.path)) << f.path;
      EXPECT_EQ(f.path.rfind(s.nodeId + "/", 0), 0u) << f.path;
      EXPECT_EQ(f.content.find('\x01'), std::string::npos) << f.path;
    }
    test::writeFiles(dir.path(), *files);
    const auto root = dir.path() / s.nodeId;
    for (const char* required :
         {"package.json", "README.md", ".env.example", "Dockerfile", "schema.sql", "src/server.js", "src/app.js",
          "src/db.js", "src/validation.js", "src/middleware/auth.js"}) {
      EXPECT_TRUE(fs::exists(root / required)) << s.nodeId << " lacks " << required;
    }
    EXPECT_TRUE(fs::exists(root / "test" / (s.nodeId + ".test.js"))) << s.nodeId;
    EXPECT_EQ(fs::exists(root / "src/routes/auth.js"), s.issuesTokens) << s.nodeId;
    const std::string schema = test::readFile(root / "schema.sql");
    auto loaded = test::run("sqlite3 -bail :memory: < " + test::shellQuote((root / "schema.sql").string()), dir.path());
    EXPECT_EQ(loaded.exitCode, 0) << s.nodeId << ": " << loaded.output << schema;
    allSchemas += schema;
  }
  expectNodeParses(test::filesEndingWith(dir.path(), {".js"}), dir.path());
  expectJsonParses(test::filesEndingWith(dir.path(), {".json"}));

  test::writeFile(dir.path() / "all.sql", "PRAGMA foreign_keys = ON;\n" + allSchemas);
  auto together =
      test::run("sqlite3 -bail :memory: < " + test::shellQuote((dir.path() / "all.sql").string()), dir.path());
  EXPECT_EQ(together.exitCode, 0) << together.output;
}

TEST_F(CodegenGenerator, NodeCheckAcceptsTheAuthAndCatalogServices) {
  // The bulk check above compiles files the way `node --check` does, in one
  // process; here the real command, on the two services the run test starts.
  test::TempDir dir("node-check");
  for (const char* id : {"auth", "catalog"}) {
    auto files = generator_->service(spec(id, 3001));
    ASSERT_TRUE(files) << files.error().message;
    test::writeFiles(dir.path(), *files);
  }
  for (const auto& file : test::filesEndingWith(dir.path(), {".js"})) {
    auto checked = test::run("node --check " + test::shellQuote(file.string()), dir.path());
    EXPECT_EQ(checked.exitCode, 0) << file << ": " << checked.output;
  }
}

TEST_F(CodegenGenerator, ServicePackagesPinExactVersionsAndScripts) {
  auto files = generator_->service(spec("auth", 3001));
  ASSERT_TRUE(files) << files.error().message;
  auto contents = byPath(*files);
  auto pkg = boost::json::parse(contents.at("auth-service/package.json")).as_object();
  EXPECT_EQ(pkg.at("name").as_string(), "auth-service");
  EXPECT_EQ(pkg.at("scripts").at("start").as_string(), "node src/server.js");
  EXPECT_EQ(pkg.at("scripts").at("test").as_string(), "node --test test/auth-service.test.js");
  std::set<std::string> names;
  for (const auto& [name, version] : pkg.at("dependencies").as_object()) {
    names.insert(std::string(name));
    const std::string v(version.as_string());
    EXPECT_TRUE(!v.empty() && std::isdigit(static_cast<unsigned char>(v[0])) &&
                v.find_first_of("^~*<> x") == std::string::npos)
        << name << " is not pinned: " << v;
  }
  EXPECT_EQ(names, (std::set<std::string>{"bcryptjs", "express", "jsonwebtoken", "pg"}));

  auto catalogFiles = generator_->service(spec("catalog", 3002));
  ASSERT_TRUE(catalogFiles);
  auto catalogPkg = boost::json::parse(byPath(*catalogFiles).at("product-service/package.json")).as_object();
  EXPECT_FALSE(catalogPkg.at("dependencies").as_object().contains("bcryptjs"));
}

TEST_F(CodegenGenerator, TheTokenIssuerHasRegisterLoginAndMe) {
  auto files = generator_->service(spec("auth", 3001));
  ASSERT_TRUE(files);
  auto contents = byPath(*files);
  const std::string& routes = contents.at("auth-service/src/routes/auth.js");
  for (const char* fragment : {"router.post('/register'", "router.post('/login'", "router.get('/me', requireAuth",
                               "router.post('/refresh'", "router.post('/logout'", "router.post('/password-reset'",
                               "bcrypt.hash(", "jwt.sign(", "'email_taken'", "role: user.role"}) {
    EXPECT_NE(routes.find(fragment), std::string::npos) << fragment;
  }
  // The identity tables are served by /auth only.
  EXPECT_EQ(contents.count("auth-service/src/routes/users.js"), 0u);
  EXPECT_EQ(contents.count("auth-service/src/routes/refresh_tokens.js"), 0u);
  const std::string& test = contents.at("auth-service/test/auth-service.test.js");
  EXPECT_NE(test.find("'/auth/register'"), std::string::npos);
  EXPECT_NE(test.find("'/auth/login'"), std::string::npos);
  EXPECT_EQ(test.find("const ENTITIES"), std::string::npos);
}

TEST_F(CodegenGenerator, CrudRoutesAndValidationFollowTheColumns) {
  auto files = generator_->service(spec("catalog", 3002));
  ASSERT_TRUE(files);
  auto contents = byPath(*files);
  const std::string& app = contents.at("product-service/src/app.js");
  EXPECT_NE(app.find("app.use('/products', productsRoutes);"), std::string::npos) << app;
  EXPECT_NE(app.find("app.use('/product-images', productImagesRoutes);"), std::string::npos) << app;
  const std::string& products = contents.at("product-service/src/routes/products.js");
  for (const char* fragment : {"router.get('/'", "router.get('/:id'", "router.post('/', guardWrites",
                               "router.put('/:id'", "router.patch('/:id'", "router.delete('/:id'",
                               "crypto.randomUUID()", "const JSON_COLUMNS = new Set(['attributes']);",
                               "const FILTERS = ['category_id'];", "const guardWrites = requireAuth;"}) {
    EXPECT_NE(products.find(fragment), std::string::npos) << fragment;
  }
  const std::string& validation = contents.at("product-service/src/validation.js");
  EXPECT_NE(validation.find("sku: { type: 'text', required: true, nullable: false, maxLength: 255 }"),
            std::string::npos);
  EXPECT_NE(validation.find("price: { type: 'decimal', required: true"), std::string::npos);
  EXPECT_NE(validation.find("currency: { type: 'text', required: false"), std::string::npos);  // has a default
  EXPECT_NE(validation.find("readOnly: ['id', 'created_at', 'updated_at']"), std::string::npos);
  const std::string& test = contents.at("product-service/test/product-service.test.js");
  EXPECT_NE(test.find("require('jsonwebtoken')"), std::string::npos);
  EXPECT_NE(test.find("table: 'product_images'"), std::string::npos);
  // Parents before children in the test's walk.
  EXPECT_LT(test.find("table: 'categories'"), test.find("table: 'products'"));
  EXPECT_LT(test.find("table: 'products'"), test.find("table: 'product_images'"));
}

TEST_F(CodegenGenerator, ServicesWithoutAuthLeaveWritesOpen) {
  ServiceSpec open = synthesizeService("guest note", false, 3050);
  open.requiresAuth = false;
  auto files = generator_->service(open);
  ASSERT_TRUE(files) << files.error().message;
  const auto contents = byPath(*files);
  const std::string& route = contents.at("guest-note-service/src/routes/guest_notes.js");
  EXPECT_EQ(route.find("requireAuth"), std::string::npos);
  EXPECT_NE(route.find("const guardWrites = (req, res, next) => next();"), std::string::npos);
}

TEST_F(CodegenGenerator, CallsBecomeEnvironmentConfiguredClients) {
  auto files = generator_->service(spec("cart", 3003));
  ASSERT_TRUE(files);
  auto contents = byPath(*files);
  ASSERT_EQ(contents.count("cart-service/src/services.js"), 1u);
  const std::string& clients = contents.at("cart-service/src/services.js");
  EXPECT_NE(clients.find("process.env.AUTH_SERVICE_URL"), std::string::npos);
  EXPECT_NE(clients.find("process.env.PRODUCT_SERVICE_URL"), std::string::npos);
  EXPECT_NE(contents.at("cart-service/.env.example").find("PRODUCT_SERVICE_URL="), std::string::npos);
  // Cross-service references are plain columns in the service's own schema.
  const std::string& schema = contents.at("cart-service/schema.sql");
  EXPECT_EQ(schema.find("REFERENCES products"), std::string::npos);
  EXPECT_NE(schema.find("references products.id"), std::string::npos);
  EXPECT_EQ(byPath(*generator_->service(spec("catalog", 3002))).count("product-service/src/services.js"), 0u);
}

TEST_F(CodegenGenerator, BadSpecsAreErrorsNamingTheProblem) {
  ServiceSpec s = spec("catalog", 3002);
  s.nodeId = "../escape";
  auto bad = generator_->service(s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("nodeId '../escape'"), std::string::npos) << bad.error().message;

  s = spec("catalog", 3002);
  s.entities[1].columns[2].type = "money";
  bad = generator_->service(s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("entities[1].columns[2] (products.name): unknown column type 'money'"),
            std::string::npos)
      << bad.error().message;

  s = spec("catalog", 3002);
  s.entities[0].columns[0].primaryKey = false;
  bad = generator_->service(s);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("(categories): needs a uuid primary key named id"), std::string::npos)
      << bad.error().message;

  s = spec("catalog", 3002);
  s.port = 70000;
  EXPECT_FALSE(generator_->service(s));
}

TEST_F(CodegenGenerator, LoadReportsMissingAndBrokenTemplates) {
  auto missing = Generator::load(test::dataDir() / "no-such-templates");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  test::TempDir dir("templates");
  test::writeFile(dir.path() / "node-express" / "broken.js.mustache", "const a = '{{#open}}';\n");
  auto broken = Generator::load(dir.path());
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("node-express/broken.js"), std::string::npos) << broken.error().message;

  // A generator without the service templates says which one is missing.
  test::writeFile(dir.path() / "node-express" / "broken.js.mustache", "ok\n");
  auto partial = Generator::load(dir.path());
  ASSERT_TRUE(partial) << partial.error().message;
  auto files = partial->service(spec("catalog", 3002));
  ASSERT_FALSE(files);
  EXPECT_NE(files.error().message.find("node-express/package.json.mustache is missing"), std::string::npos)
      << files.error().message;
}

TEST_F(CodegenGenerator, RenderLaysOutDataWithoutEscapingOrStrayLines) {
  test::TempDir dir("render");
  test::writeFile(dir.path() / "t.mustache",
                  "head\n"
                  "{{#off}}\n"
                  "never\n"
                  "{{/off}}\n"
                  "\n"
                  "  {{#items}}\n"
                  "item {{name}} <{{n}}>{{^last}},{{/last}}\n"
                  "  {{/items}}\n"
                  "{{^off}}\n"
                  "inverted {{obj.inner}} {{& html}}\n"
                  "{{/off}}\n"
                  "tail\n");
  auto g = Generator::load(dir.path());
  ASSERT_TRUE(g) << g.error().message;
  boost::json::value data = {
      {"off", false},
      {"items", boost::json::array{boost::json::object{{"name", "a"}, {"n", 1}, {"last", false}},
                                   boost::json::object{{"name", "b&c"}, {"n", 2.5}, {"last", true}}}},
      {"obj", {{"inner", "x\"y"}}},
      {"html", "<b>"}};
  auto text = g->render("t", data);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "head\n\nitem a <1>,\nitem b&c <2.5>\ninverted x\"y <b>\ntail\n");
  auto missing = g->render("nope", data);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "template nope.mustache is missing");
}

TEST_F(CodegenGenerator, PlatformFilesRefuseDuplicateServicesOrTables) {
  auto services = std::vector<ServiceSpec>{spec("catalog", 3002), spec("catalog", 3003)};
  auto frontend = generator_->frontend({"dup", services});
  ASSERT_FALSE(frontend);
  EXPECT_NE(frontend.error().message.find("share the nodeId 'product-service'"), std::string::npos)
      << frontend.error().message;
  services[1].nodeId = "catalog-copy";
  auto compose = generator_->dockerCompose(services);
  ASSERT_FALSE(compose);
  EXPECT_NE(compose.error().message.find("table 'categories' belongs to both"), std::string::npos)
      << compose.error().message;
  EXPECT_FALSE(generator_->integrationTests(services));
}

TEST_F(CodegenGenerator, NamesWithNewlinesStayInsideComments) {
  ServiceSpec s = synthesizeService("note", false, 3060);
  s.name = "Notes\nrequire('child_process')";
  s.description = "line one\nline two";
  auto files = generator_->service(s);
  ASSERT_TRUE(files) << files.error().message;
  test::TempDir dir("newlines");
  test::writeFiles(dir.path(), *files);
  const std::string app = test::readFile(dir.path() / "note-service/src/app.js");
  EXPECT_NE(app.find("// The Express application of note-service: Notes require('child_process')."), std::string::npos)
      << app;
  expectNodeParses(test::filesEndingWith(dir.path(), {".js"}), dir.path());
  expectJsonParses(test::filesEndingWith(dir.path(), {".json"}));
}

TEST_F(CodegenGenerator, RenderingIsDeterministic) {
  auto first = generator_->service(spec("order", 3004));
  auto second = generator_->service(spec("order", 3004));
  ASSERT_TRUE(first && second);
  ASSERT_EQ(first->size(), second->size());
  for (std::size_t i = 0; i < first->size(); ++i) {
    EXPECT_EQ((*first)[i].path, (*second)[i].path);
    EXPECT_EQ((*first)[i].content, (*second)[i].content) << (*first)[i].path;
  }
}

std::vector<ServiceSpec> ecommerce(const Catalog& catalog) {
  std::vector<ServiceSpec> out;
  int port = 3001;
  for (const char* id : {"auth", "catalog", "cart", "order", "payment"}) {
    out.push_back(serviceSpecFor(*catalog.find(id), catalog, port++));
  }
  return out;
}

TEST_F(CodegenGenerator, FrontendJsxParsesWithEsbuild) {
  const fs::path esbuild = kValidateDir / "node_modules" / ".bin" / "esbuild";
  if (!fs::exists(esbuild)) {
    GTEST_SKIP() << "esbuild is not installed: run scripts/setup (npm ci in tools/validate) to check generated JSX";
  }
  test::TempDir dir("frontend");
  auto services = ecommerce(*catalog_);
  services.push_back(synthesizeService("pet profile", true, 3010));
  auto files = generator_->frontend({"E-commerce \"platform\" <demo>", services});
  ASSERT_TRUE(files) << files.error().message;
  auto contents = byPath(*files);
  for (const char* required :
       {"frontend/package.json", "frontend/index.html", "frontend/src/main.jsx", "frontend/src/App.jsx",
        "frontend/src/api.js", "frontend/src/components/Login.jsx", "frontend/src/components/Register.jsx",
        "frontend/src/components/ProductsList.jsx", "frontend/src/components/ProductsForm.jsx",
        "frontend/src/components/PetProfilesList.jsx"}) {
    EXPECT_EQ(contents.count(required), 1u) << required;
  }
  EXPECT_EQ(contents.count("frontend/src/components/UsersList.jsx"), 0u);  // identity tables stay behind /auth
  EXPECT_NE(contents.at("frontend/index.html").find("<title>E-commerce &quot;platform&quot; &lt;demo&gt;</title>"),
            std::string::npos);
  test::writeFiles(dir.path(), *files);
  expectJsonParses(test::filesEndingWith(dir.path(), {".json"}));
  const auto sources = test::filesEndingWith(dir.path(), {".jsx", ".js"});
  ASSERT_GT(sources.size(), 10u);
  auto parsed =
      test::run(test::shellQuote(esbuild.string()) + joinQuoted(sources) + " --loader:.jsx=jsx --loader:.js=jsx" +
                    " --outdir=" + test::shellQuote((dir.path() / "out").string()) + " --log-level=error",
                dir.path());
  EXPECT_EQ(parsed.exitCode, 0) << parsed.output;
  // Bundled from main.jsx (React left external), every import between the
  // generated files resolves, with no warning.
  auto bundled = test::run("cd " + test::shellQuote((dir.path() / "frontend").string()) + " && " +
                               test::shellQuote(esbuild.string()) +
                               " src/main.jsx --bundle --format=esm --jsx=automatic --external:react"
                               " --external:react-dom --external:react/jsx-runtime --loader:.js=jsx --outdir=" +
                               test::shellQuote((dir.path() / "bundle").string()) + " --log-level=warning",
                           dir.path());
  EXPECT_EQ(bundled.exitCode, 0) << bundled.output;
  EXPECT_EQ(bundled.output, "");
  EXPECT_NE(contents.at("frontend/src/components/ProductsForm.jsx")
                .find("{ name: 'active', label: \"Active\", type: 'boolean', input: 'checkbox', step: '1', required: "
                      "false, checked: true }"),
            std::string::npos);

  // Without a token issuer there is no sign-in.
  auto noAuth = generator_->frontend({"catalog only", {spec("catalog", 3002)}});
  ASSERT_TRUE(noAuth);
  EXPECT_EQ(byPath(*noAuth).count("frontend/src/components/Login.jsx"), 0u);
  test::TempDir plain("frontend-plain");
  test::writeFiles(plain.path(), *noAuth);
  parsed = test::run(
      test::shellQuote(esbuild.string()) + joinQuoted(test::filesEndingWith(plain.path(), {".jsx", ".js"})) +
          " --loader:.jsx=jsx --loader:.js=jsx --outdir=" + test::shellQuote((plain.path() / "out").string()) +
          " --log-level=error",
      plain.path());
  EXPECT_EQ(parsed.exitCode, 0) << parsed.output;
}

TEST_F(CodegenGenerator, IntegrationTestsParseAndWalkEveryService) {
  test::TempDir dir("integration");
  auto services = ecommerce(*catalog_);
  auto files = generator_->integrationTests(services);
  ASSERT_TRUE(files) << files.error().message;
  auto contents = byPath(*files);
  ASSERT_EQ(contents.count("integration-tests/test/platform.test.js"), 1u);
  const std::string& test = contents.at("integration-tests/test/platform.test.js");
  for (const char* env :
       {"AUTH_SERVICE_URL", "PRODUCT_SERVICE_URL", "CART_SERVICE_URL", "ORDER_SERVICE_URL", "PAYMENT_SERVICE_URL"}) {
    EXPECT_NE(test.find(std::string("process.env.") + env), std::string::npos) << env;
  }
  for (const auto& s : services) {
    if (s.issuesTokens) continue;  // the issuer's tables are its identity tables, walked through /auth
    EXPECT_NE(test.find("service: '" + s.nodeId + "'"), std::string::npos) << s.nodeId;
  }
  // products (catalog) before cart_items (cart), which references it.
  EXPECT_LT(test.find("table: 'products'"), test.find("table: 'cart_items'"));
  EXPECT_NE(test.find("'/auth/register'"), std::string::npos);
  test::writeFiles(dir.path(), *files);
  expectJsonParses(test::filesEndingWith(dir.path(), {".json"}));
  expectNodeParses(test::filesEndingWith(dir.path(), {".js"}), dir.path());
}

TEST_F(CodegenGenerator, DockerComposeIsYamlNamingEveryService) {
  auto services = ecommerce(*catalog_);
  services.push_back(synthesizeService("loyalty points", true, 3020));
  auto compose = generator_->dockerCompose(services);
  ASSERT_TRUE(compose) << compose.error().message;
  EXPECT_EQ(compose->path, "docker-compose.yml");
  YAML::Node doc;
  ASSERT_NO_THROW(doc = YAML::Load(compose->content)) << compose->content;
  ASSERT_TRUE(doc["services"].IsMap());
  EXPECT_TRUE(doc["services"]["postgres"].IsMap());
  EXPECT_TRUE(doc["services"]["frontend"].IsMap());
  for (const auto& s : services) {
    const auto node = doc["services"][s.nodeId];
    ASSERT_TRUE(node.IsMap()) << s.nodeId << " missing in\n" << compose->content;
    EXPECT_EQ(node["build"].as<std::string>(), "./" + s.nodeId);
    EXPECT_EQ(node["environment"]["PORT"].as<std::string>(), std::to_string(s.port));
    EXPECT_EQ(node["environment"]["DATABASE_URL"].as<std::string>(), "postgres://app:app@postgres:5432/app");
    EXPECT_EQ(node["ports"][0].as<std::string>(), std::to_string(s.port) + ":" + std::to_string(s.port));
  }
  EXPECT_EQ(doc["services"]["cart-service"]["environment"]["PRODUCT_SERVICE_URL"].as<std::string>(),
            "http://product-service:3002");
  EXPECT_EQ(doc["services"]["frontend"]["environment"]["VITE_AUTH_SERVICE_URL"].as<std::string>(),
            "http://localhost:3001");

  auto empty = generator_->dockerCompose({});
  ASSERT_TRUE(empty);
  EXPECT_NO_THROW(YAML::Load(empty->content));
}

TEST(CodegenMermaid, FlowchartNamingEveryNode) {
  auto value = json::parseFile(test::dataDir() / "examples" / "ecommerce-basic-auth.canvas.json", "canvas");
  ASSERT_TRUE(value) << value.error().message;
  auto canvas = canvasFromJson(*value);
  ASSERT_TRUE(canvas) << canvas.error().message;
  const std::string chart = mermaid(*canvas);
  EXPECT_EQ(chart.rfind("flowchart LR\n", 0), 0u) << chart;
  for (const auto& node : canvas->nodes) EXPECT_NE(chart.find('"' + node.label + '"'), std::string::npos) << node.id;
  EXPECT_NE(chart.find("web_frontend([\"Web Frontend\"])"), std::string::npos) << chart;
  EXPECT_NE(chart.find("users_db[(\"Users DB (MySQL)\")]"), std::string::npos) << chart;
  EXPECT_NE(chart.find("auth_service[\"Auth Service\"]"), std::string::npos) << chart;
  EXPECT_NE(chart.find("web_frontend -->|\"api-call\"| api_gateway"), std::string::npos) << chart;
}

TEST(CodegenMermaid, IdsAndLabelsAreSanitised) {
  Canvas canvas;
  canvas.nodes.push_back({"end", "service", "Say \"hi\" <b>", {}, {}});
  canvas.nodes.push_back({"a-b", "queue", "", {}, {}});
  canvas.nodes.push_back({"a_b", "cache", "Cache", {}, {}});
  canvas.edges.push_back({"e1", "end", "a-b", "publishes"});
  const std::string chart = mermaid(canvas);
  EXPECT_NE(chart.find("end_node[\"Say #quot;hi#quot; #lt;b#gt;\"]"), std::string::npos) << chart;
  EXPECT_NE(chart.find("a_b>\"a-b\"]"), std::string::npos) << chart;
  EXPECT_NE(chart.find("a_b_2[[\"Cache\"]]"), std::string::npos) << chart;
  EXPECT_NE(chart.find("end_node -.->|\"publishes\"| a_b\n"), std::string::npos) << chart;
}

}  // namespace
}  // namespace ymy::codegen
