// The data the templates are rendered with. Every decision about what the
// generated code contains (which columns are writable, which are secret, how
// long a text may be, which field a test updates) is made here, once, so the
// templates only lay it out.

#include <algorithm>
#include <map>
#include <set>

#include <boost/json/array.hpp>

#include "codegen/internal.hpp"

namespace ymy::codegen::detail {

namespace json = boost::json;

namespace {

// Pinned versions of everything the generated code installs. Nothing here
// needs a native build.
struct Package {
  const char* name;
  const char* version;
};
constexpr Package kExpress{"express", "4.21.2"};
constexpr Package kPg{"pg", "8.13.1"};
constexpr Package kJsonWebToken{"jsonwebtoken", "9.0.2"};
constexpr Package kBcrypt{"bcryptjs", "2.4.3"};
constexpr Package kReact{"react", "18.3.1"};
constexpr Package kReactDom{"react-dom", "18.3.1"};
constexpr Package kVite{"vite", "5.4.11"};
constexpr Package kVitePluginReact{"@vitejs/plugin-react", "4.3.4"};
// The python-fastapi services (requirements.txt, `name==version`). psycopg's
// binary extra pins psycopg-binary to the same version; nothing needs a
// compiler on python:3.11-slim.
constexpr Package kPyFastapi{"fastapi", "0.115.6"};
constexpr Package kPyUvicorn{"uvicorn", "0.32.1"};
constexpr Package kPyPydantic{"pydantic", "2.10.4"};
constexpr Package kPyPsycopg{"psycopg[binary]", "3.2.3"};
constexpr Package kPyPsycopgPool{"psycopg-pool", "3.2.4"};
constexpr Package kPyJwt{"PyJWT", "2.10.1"};
constexpr Package kPyBcrypt{"bcrypt", "4.2.1"};
constexpr Package kPyHttpx{"httpx", "0.28.1"};
constexpr Package kPyPytest{"pytest", "8.3.4"};

json::array packages(std::initializer_list<Package> list) {
  json::array out;
  std::size_t i = 0;
  for (const auto& p : list) {
    out.push_back(json::object{{"name", p.name}, {"version", p.version}, {"last", ++i == list.size()}});
  }
  return out;
}

// Marks the last element of each array so templates can place separators.
json::array withLast(json::array items) {
  for (std::size_t i = 0; i < items.size(); ++i) items[i].as_object()["last"] = i + 1 == items.size();
  return items;
}

json::object named(const std::string& name) { return json::object{{"name", name}}; }

bool isServerManaged(const Column& c) {
  if (c.primaryKey) return true;
  return (c.name == "created_at" || c.name == "updated_at") && c.type == "timestamp" && !c.defaultValue.empty();
}

// Columns never sent back to clients.
bool isSecret(const Column& c) {
  return c.name == "password_hash" || c.name == "token_hash" || c.name.find("secret") != std::string::npos;
}

bool isLongText(const std::string& name) {
  static const std::set<std::string> kLong = {"description", "body",    "content",      "bio",     "notes",
                                              "note",        "message", "summary",      "details", "reason",
                                              "text",        "raw",     "instructions", "answer"};
  return kLong.count(name) > 0 || name.ends_with("_text") || name.ends_with("_notes");
}

// Upper bound on a text column's length, enforced by validation.js.
int textLimit(const std::string& name) {
  if (name == "email" || name.ends_with("_email")) return 254;
  if (name == "url" || name.ends_with("_url")) return 2048;
  if (isLongText(name)) return 10000;
  if (name == "user_agent" || name.starts_with("line") || name == "address") return 1000;
  return 255;
}

std::string inputFor(const Column& c) {
  if (c.type == "boolean") return "checkbox";
  if (c.type == "integer" || c.type == "bigint" || c.type == "decimal") return "number";
  if (c.type == "timestamp") return "datetime-local";
  if (c.type == "json" || (c.type == "text" && isLongText(c.name))) return "textarea";
  if (c.type == "text" && (c.name == "email" || c.name.ends_with("_email"))) return "email";
  if (c.type == "text" && (c.name == "url" || c.name.ends_with("_url"))) return "url";
  return "text";
}

bool isRequired(const Column& c) { return !c.nullable && c.defaultValue.empty() && !isServerManaged(c); }

std::string singleQuoted(const std::string& s) { return "'" + s + "'"; }    // identifiers only
std::string doubleQuoted(const std::string& s) { return "\"" + s + "\""; }  // identifiers only
const char* pyBool(bool b) { return b ? "True" : "False"; }

// The field a test changes to prove updates persist: a plain text column if
// there is one, otherwise a boolean, an integer or a decimal.
std::string updateFieldOf(const Entity& e) {
  for (const char* type : {"text", "boolean", "integer", "decimal"}) {
    for (const auto& c : e.columns) {
      if (isServerManaged(c) || c.unique || !c.references.empty() || c.type != type || isSecret(c)) continue;
      if (c.name == "email" || c.name.ends_with("_email")) continue;
      return c.name;
    }
  }
  return "";
}

// The column a create fills from the caller's token when the body leaves it
// out: the first non-nullable reference to users.id.
std::string ownerColumnOf(const Entity& e) {
  for (const auto& c : e.columns) {
    if (c.references == "users.id" && !c.nullable && c.type == "uuid") return c.name;
  }
  return "";
}

json::array fieldViews(const Entity& e, const std::set<std::string>& ownTables) {
  json::array fields;
  for (const auto& c : e.columns) {
    if (isServerManaged(c)) continue;
    auto [refTable, refColumn] = splitReference(c.references);
    const bool required = isRequired(c);
    const int limit = c.type == "text" ? textLimit(c.name) : 0;
    json::object f{{"name", c.name},
                   {"type", c.type},
                   {"label", titleWords(c.name)},
                   {"labelJs", jsString(titleWords(c.name))},
                   {"required", required},
                   {"requiredJs", required ? "true" : "false"},
                   {"nullableJs", c.nullable ? "true" : "false"},
                   {"uniqueJs", c.unique ? "true" : "false"},
                   {"maxLengthJs", limit > 0 ? std::to_string(limit) : "null"},
                   {"refJs", refTable.empty() ? std::string("null") : singleQuoted(refTable)},
                   {"refLocalJs", !refTable.empty() && ownTables.count(refTable) ? "true" : "false"},
                   {"input", inputFor(c)},
                   {"step", c.type == "decimal" ? "0.01" : "1"},
                   {"sqlType", c.type},
                   {"checkedJs", c.type == "boolean" &&
                                         (c.defaultValue == "TRUE" || c.defaultValue == "true" || c.defaultValue == "1")
                                     ? "true"
                                     : "false"},
                   {"hasDefault", !c.defaultValue.empty()},
                   {"defaultValue", c.defaultValue},
                   {"requiredPy", pyBool(required)},
                   {"uniquePy", pyBool(c.unique)},
                   {"maxLengthPy", limit > 0 ? std::to_string(limit) : "None"},
                   {"refPy", refTable.empty() ? std::string("None") : doubleQuoted(refTable)},
                   {"refLocalPy", pyBool(!refTable.empty() && ownTables.count(refTable))}};
    fields.push_back(std::move(f));
  }
  return withLast(std::move(fields));
}

}  // namespace

json::object entityView(const Entity& e, const std::set<std::string>& ownTables) {
  json::array columns, readable, readOnly, jsonColumns, filters, listColumns, requiredNames;
  bool hasCreatedAt = false, hasUpdatedAt = false;
  for (const auto& c : e.columns) {
    columns.push_back(named(c.name));
    if (!isSecret(c)) readable.push_back(named(c.name));
    if (isServerManaged(c)) readOnly.push_back(named(c.name));
    if (c.type == "json") jsonColumns.push_back(named(c.name));
    if (c.type == "uuid" && !c.references.empty()) filters.push_back(named(c.name));
    if (c.name == "created_at" && c.type == "timestamp") hasCreatedAt = true;
    if (c.name == "updated_at" && c.type == "timestamp") hasUpdatedAt = true;
    if (isRequired(c)) requiredNames.push_back(named(c.name));
    const bool listable = !c.primaryKey && !isSecret(c) && c.type != "json" && c.type != "uuid" &&
                          c.name != "created_at" && c.name != "updated_at";
    if (listable && listColumns.size() < 4) {
      listColumns.push_back(json::object{{"name", c.name}, {"labelJs", jsString(titleWords(c.name))}});
    }
  }
  if (listColumns.empty()) listColumns.push_back(json::object{{"name", "id"}, {"labelJs", jsString("Id")}});
  const std::string owner = ownerColumnOf(e);
  const std::string update = updateFieldOf(e);
  const bool hasFilters = !filters.empty();
  std::string orderBy = hasCreatedAt ? "\"created_at\" DESC, \"id\"" : "\"id\"";
  return json::object{{"table", e.name},
                      {"path", "/" + kebab(e.name)},
                      {"routeFile", e.name},
                      {"routeVar", camel(e.name) + "Routes"},
                      {"pascal", pascal(e.name)},
                      {"title", titleWords(e.name)},
                      {"titleJs", jsString(titleWords(e.name))},
                      {"columns", withLast(std::move(columns))},
                      {"readable", withLast(std::move(readable))},
                      {"readOnly", withLast(std::move(readOnly))},
                      {"jsonColumns", withLast(std::move(jsonColumns))},
                      {"filters", withLast(std::move(filters))},
                      {"hasFilters", hasFilters},
                      {"fields", fieldViews(e, ownTables)},
                      {"listColumns", withLast(std::move(listColumns))},
                      {"requiredNames", withLast(std::move(requiredNames))},
                      {"hasCreatedAt", hasCreatedAt},
                      {"hasUpdatedAt", hasUpdatedAt},
                      {"hasUpdatedAtJs", hasUpdatedAt ? "true" : "false"},
                      {"orderBy", orderBy},
                      {"ownerJs", owner.empty() ? std::string("null") : singleQuoted(owner)},
                      {"updateFieldJs", update.empty() ? std::string("null") : singleQuoted(update)},
                      {"ownerPy", owner.empty() ? std::string("None") : doubleQuoted(owner)},
                      {"updateFieldPy", update.empty() ? std::string("None") : doubleQuoted(update)},
                      {"hasUpdatedAtPy", pyBool(hasUpdatedAt)}};
}

namespace {

std::set<std::string> tablesOf(const std::vector<Entity>& entities) {
  std::set<std::string> out;
  for (const auto& e : entities) out.insert(e.name);
  return out;
}

bool isIdentityTable(const IdentityTables& id, const Entity& e) {
  return &e == id.users || &e == id.refreshTokens || &e == id.passwordResets;
}

// Entities in foreign-key order, optionally without the identity tables.
std::vector<const Entity*> orderedEntities(const ServiceSpec& spec, bool withoutIdentity) {
  const IdentityTables id = spec.issuesTokens ? identityTablesOf(spec.entities) : IdentityTables{};
  std::vector<const Entity*> out;
  for (std::size_t i : foreignKeyOrder(spec.entities)) {
    const Entity& e = spec.entities[i];
    if (withoutIdentity && isIdentityTable(id, e)) continue;
    out.push_back(&e);
  }
  return out;
}

json::value issuerView(const ServiceSpec& spec) {
  const IdentityTables id = identityTablesOf(spec.entities);
  if (!spec.issuesTokens || !id.users) return false;
  json::array userColumns, registerExtras;
  bool hasRole = false, hasUpdatedAt = false;
  for (const auto& c : id.users->columns) {
    if (!isSecret(c)) userColumns.push_back(named(c.name));
    if (c.name == "role" && c.type == "text") hasRole = true;
    if (c.name == "updated_at" && c.type == "timestamp") hasUpdatedAt = true;
    if (isRequired(c) && c.name != "email" && c.name != "password_hash") registerExtras.push_back(named(c.name));
  }
  auto table = [](const Entity* e) -> json::value {
    if (!e) return false;
    return json::object{{"table", e->name}};
  };
  const bool hasRegisterExtras = !registerExtras.empty();
  return json::object{{"usersTable", id.users->name},
                      {"userColumns", withLast(std::move(userColumns))},
                      {"registerExtras", withLast(std::move(registerExtras))},
                      {"hasRegisterExtras", hasRegisterExtras},
                      {"hasRole", hasRole},
                      {"hasUpdatedAt", hasUpdatedAt},
                      {"refresh", table(id.refreshTokens)},
                      {"resets", table(id.passwordResets)}};
}

json::object callView(const std::string& nodeId) {
  return json::object{{"nodeId", nodeId}, {"env", envPrefix(nodeId) + "_URL"}};
}

}  // namespace

json::object serviceView(const ServiceSpec& spec) {
  const auto own = tablesOf(spec.entities);
  json::array entities, crud, calls, endpoints;
  for (const Entity* e : orderedEntities(spec, false)) entities.push_back(entityView(*e, own));
  for (const Entity* e : orderedEntities(spec, true)) crud.push_back(entityView(*e, own));
  for (const auto& call : spec.calls) calls.push_back(callView(call));
  for (const auto& ep : spec.endpoints) {
    endpoints.push_back(json::object{
        {"method", singleLine(ep.method)}, {"path", singleLine(ep.path)}, {"summary", singleLine(ep.summary)}});
  }
  json::value issuer = issuerView(spec);
  const bool isIssuer = issuer.is_object();
  const bool hasCrud = !crud.empty(), hasCalls = !calls.empty(), hasEndpoints = !endpoints.empty();
  json::array deps =
      isIssuer ? packages({kBcrypt, kExpress, kJsonWebToken, kPg}) : packages({kExpress, kJsonWebToken, kPg});
  return json::object{{"id", spec.id},
                      {"name", singleLine(spec.name)},
                      {"nameJs", jsString(spec.name)},
                      {"nodeId", spec.nodeId},
                      {"description", singleLine(spec.description)},
                      {"descriptionJs", jsString(spec.description)},
                      {"port", std::to_string(spec.port)},
                      {"envPrefix", envPrefix(spec.nodeId)},
                      {"requiresAuth", spec.requiresAuth},
                      {"issuer", issuer},
                      {"entities", withLast(std::move(entities))},
                      {"crudEntities", withLast(std::move(crud))},
                      {"hasCrud", hasCrud},
                      {"calls", withLast(std::move(calls))},
                      {"hasCalls", hasCalls},
                      {"endpoints", withLast(std::move(endpoints))},
                      {"hasEndpoints", hasEndpoints},
                      {"dependencies", std::move(deps)},
                      {"devJwtSecret", kDevJwtSecret}};
}

namespace {

// The Pydantic type of a writable column: an alias models.py defines.
std::string pythonTypeOf(const Column& c) {
  if (c.type == "uuid") return "Uuid";
  if (c.type == "text") return "Text" + std::to_string(textLimit(c.name));
  if (c.type == "integer") return "Int32";
  if (c.type == "bigint") return "Int64";
  if (c.type == "decimal") return "Numeric";
  if (c.type == "boolean") return "Bool";
  if (c.type == "timestamp") return "Timestamp";
  return c.nullable ? "Json" : "JsonNotNull";
}

// The writable columns as Pydantic fields. A column whose name cannot be a
// field ("class", "json", "_x") gets another attribute name and keeps its
// column name as the alias clients send and receive.
json::array pythonFields(const Entity& e, std::set<int>& textLimits) {
  std::set<std::string> taken;
  for (const auto& c : e.columns) taken.insert(c.name);
  json::array out;
  for (const auto& c : e.columns) {
    if (isServerManaged(c)) continue;
    std::string attr = pythonName(c.name);
    if (attr != c.name) {
      while (taken.count(attr)) attr += '_';
      taken.insert(attr);
    }
    if (c.type == "text") textLimits.insert(textLimit(c.name));
    const std::string type = pythonTypeOf(c);
    out.push_back(json::object{{"name", c.name},
                               {"attr", attr},
                               {"aliased", attr != c.name},
                               {"required", isRequired(c)},
                               {"type", type},
                               {"optionalType", c.nullable ? "Optional[" + type + "]" : type}});
  }
  return withLast(std::move(out));
}

// Python module and model class names per table, unique within the service.
struct PythonNames {
  std::string module;  // app/routes/<module>.py
  std::string model;   // <model>Create, <model>Update in app/models.py
};

std::map<std::string, PythonNames> pythonNamesOf(const std::vector<Entity>& entities) {
  std::set<std::string> modules{"__init__"}, models;
  std::map<std::string, PythonNames> out;
  for (const auto& e : entities) {
    std::string module = pythonName(e.name);
    while (!modules.insert(module).second) module += '_';
    std::string model = pascal(e.name);
    while (!models.insert(model).second) model += '_';
    out[e.name] = {module, model};
  }
  return out;
}

}  // namespace

json::object pythonServiceView(const ServiceSpec& spec) {
  json::object view = serviceView(spec);
  const auto names = pythonNamesOf(spec.entities);
  std::map<std::string, const Entity*> byName;
  for (const auto& e : spec.entities) byName[e.name] = &e;
  std::set<int> textLimits;
  for (const char* list : {"entities", "crudEntities"}) {
    for (auto& item : view[list].as_array()) {
      auto& entity = item.as_object();
      const std::string table(entity.at("table").as_string());
      const PythonNames& n = names.at(table);
      entity["module"] = n.module;
      entity["routesAlias"] = n.module + "_routes";
      entity["model"] = n.model;
      entity["pyFields"] = pythonFields(*byName.at(table), textLimits);
    }
  }
  json::array textTypes;
  for (int limit : textLimits) {
    textTypes.push_back(json::object{{"name", "Text" + std::to_string(limit)}, {"limit", std::to_string(limit)}});
  }
  const bool isIssuer = view.at("issuer").is_object();
  if (isIssuer) {
    auto& issuer = view["issuer"].as_object();
    issuer["usersModel"] = names.at(std::string(issuer.at("usersTable").as_string())).model;
  }
  // A write route to send malformed JSON to: login on the issuer, else the
  // first table's create.
  json::value jsonProbe = false;
  if (isIssuer) {
    jsonProbe = json::object{{"path", "/auth/login"}};
  } else if (!view.at("crudEntities").as_array().empty()) {
    jsonProbe = json::object{{"path", view.at("crudEntities").as_array().front().at("path")}};
  }
  std::string testModule = "test_" + spec.nodeId;
  std::replace(testModule.begin(), testModule.end(), '-', '_');
  json::array requirements =
      isIssuer
          ? packages({kPyFastapi, kPyUvicorn, kPyPydantic, kPyPsycopg, kPyPsycopgPool, kPyJwt, kPyBcrypt, kPyHttpx,
                      kPyPytest})
          : packages({kPyFastapi, kPyUvicorn, kPyPydantic, kPyPsycopg, kPyPsycopgPool, kPyJwt, kPyHttpx, kPyPytest});
  view["name"] = sourceText(spec.name);
  view["description"] = sourceText(spec.description);
  view["namePy"] = jsString(sourceText(spec.name));
  view["descriptionPy"] = jsString(sourceText(spec.description));
  view["textTypes"] = withLast(std::move(textTypes));
  view["jsonProbe"] = std::move(jsonProbe);
  view["testModule"] = testModule;
  view["requiresAuthPy"] = pyBool(spec.requiresAuth);
  view["requirements"] = std::move(requirements);
  return view;
}

json::object frontendView(const FrontendSpec& spec) {
  json::array services, entities;
  json::value issuer = false;
  for (const auto& s : spec.services) {
    services.push_back(json::object{{"nodeId", s.nodeId},
                                    {"env", "VITE_" + envPrefix(s.nodeId) + "_URL"},
                                    {"defaultUrl", "http://localhost:" + std::to_string(s.port)}});
    if (s.issuesTokens && issuer.is_bool() && identityTablesOf(s.entities).users) {
      issuer = json::object{{"nodeId", s.nodeId}};
    }
    const auto own = tablesOf(s.entities);
    for (const Entity* e : orderedEntities(s, true)) {
      json::object view = entityView(*e, own);
      view["service"] = s.nodeId;
      view["requiresAuth"] = s.requiresAuth;
      entities.push_back(std::move(view));
    }
  }
  const bool hasEntities = !entities.empty();
  std::string package;
  for (const auto& w : words(spec.appName)) package += (package.empty() ? "" : "-") + w;
  if (package.empty()) package = "app";
  return json::object{
      {"appName", singleLine(spec.appName)},           {"appNameJs", jsString(spec.appName)},
      {"appNameHtml", htmlText(spec.appName)},         {"packageName", package + "-frontend"},
      {"services", withLast(std::move(services))},     {"issuer", issuer},
      {"entities", withLast(std::move(entities))},     {"hasEntities", hasEntities},
      {"dependencies", packages({kReact, kReactDom})}, {"devDependencies", packages({kVitePluginReact, kVite})}};
}

json::object integrationView(const std::vector<ServiceSpec>& services) {
  // All the platform's tables, so a reference into another service's table
  // is filled with a row the test created there.
  std::vector<Entity> all;
  std::vector<const ServiceSpec*> ownerOf;
  json::value issuer = false;
  json::array serviceViews;
  for (const auto& s : services) {
    serviceViews.push_back(json::object{{"nodeId", s.nodeId},
                                        {"env", envPrefix(s.nodeId) + "_URL"},
                                        {"defaultUrl", "http://localhost:" + std::to_string(s.port)}});
    const IdentityTables id = s.issuesTokens ? identityTablesOf(s.entities) : IdentityTables{};
    if (id.users && issuer.is_bool()) issuer = json::object{{"nodeId", s.nodeId}};
    for (const auto& e : s.entities) {
      if (isIdentityTable(id, e)) continue;
      all.push_back(e);
      ownerOf.push_back(&s);
    }
  }
  const auto allTables = tablesOf(all);
  json::array entities;
  for (std::size_t i : foreignKeyOrder(all)) {
    json::object view = entityView(all[i], allTables);
    view["service"] = ownerOf[i]->nodeId;
    view["requiresAuth"] = ownerOf[i]->requiresAuth;
    entities.push_back(std::move(view));
  }
  return json::object{{"services", withLast(std::move(serviceViews))},
                      {"issuer", issuer},
                      {"entities", withLast(std::move(entities))},
                      {"devJwtSecret", kDevJwtSecret},
                      {"dependencies", packages({kJsonWebToken})}};
}

json::object composeView(const std::vector<ServiceSpec>& services) {
  json::array views, frontendEnv;
  std::map<std::string, int> ports;
  for (const auto& s : services) ports[s.nodeId] = s.port;
  for (const auto& s : services) {
    const bool python = s.stack == kPythonFastapi;
    json::array env;
    auto add = [&env](const std::string& key, const std::string& value) {
      env.push_back(json::object{{"key", key}, {"value", jsString(value)}});
    };
    add(python ? "APP_ENV" : "NODE_ENV", "production");
    add("PORT", std::to_string(s.port));
    add("DATABASE_URL", "postgres://app:app@postgres:5432/app");
    env.push_back(json::object{{"key", "JWT_SECRET"}, {"value", jsString("${JWT_SECRET:?set JWT_SECRET}")}});
    for (const auto& call : s.calls) {
      auto port = ports.find(call);
      add(envPrefix(call) + "_URL", "http://" + call + ":" + std::to_string(port != ports.end() ? port->second : 3000));
    }
    // Each image starts the service from its Dockerfile's CMD (node
    // src/server.js; uvicorn on $PORT), so build and PORT are all it takes.
    views.push_back(json::object{
        {"nodeId", s.nodeId}, {"port", std::to_string(s.port)}, {"stack", s.stack}, {"env", std::move(env)}});
    frontendEnv.push_back(json::object{{"key", "VITE_" + envPrefix(s.nodeId) + "_URL"},
                                       {"value", jsString("http://localhost:" + std::to_string(s.port))}});
  }
  const bool hasServices = !views.empty();
  return json::object{
      {"services", withLast(std::move(views))}, {"hasServices", hasServices}, {"frontendEnv", std::move(frontendEnv)}};
}

}  // namespace ymy::codegen::detail
