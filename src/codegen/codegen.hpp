#pragma once
// File generators of the builtin engine. Templates live in files under
// data/templates/ and are rendered with a Mustache library; C++ builds the
// data they are rendered with, never the text itself.
//
// Everything generated is valid for its tool: SQL loads into sqlite3 and
// PostgreSQL, .js passes `node --check`, .py compiles with `python3 -m
// py_compile`, .jsx parses with esbuild, JSON and YAML parse. The Node.js
// services run: `npm install && npm start` against a PostgreSQL named by
// DATABASE_URL, and `npm test` exercises their endpoints. The Python services
// (FastAPI) serve the same routes with the same JSON shapes; their packages
// are not installed where the generator is tested, so they are compiled there,
// not run.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "model/canvas.hpp"
#include "model/catalog.hpp"
#include "model/error.hpp"
#include "model/generated_file.hpp"

namespace ymy::codegen {

// A service to generate code for: a catalog service, or one synthesised from a
// prompt ("wishlists" -> a wishlist service owning a wishlists table).
// The backend stacks a service can be generated for.
inline constexpr const char* kNodeExpress = "node-express";      // Node.js 18+, Express 4, pg
inline constexpr const char* kPythonFastapi = "python-fastapi";  // Python 3.11, FastAPI, Pydantic 2, psycopg 3

struct ServiceSpec {
  std::string id;      // "auth", "catalog", "wishlist"
  std::string name;    // "Auth Service"
  std::string nodeId;  // "auth-service": the folder name and the canvas node
  std::string description;
  std::vector<Entity> entities;      // tables this service owns
  std::vector<Endpoint> endpoints;   // documented in its README; CRUD routes come from entities
  std::vector<std::string> calls;    // nodeIds of services it calls (their URLs come from env)
  bool issuesTokens = false;         // the auth service: register, login, /auth/me
  bool requiresAuth = true;          // JWT middleware on its write routes
  int port = 3000;
  std::string stack = kNodeExpress;  // kNodeExpress or kPythonFastapi; anything else is refused
};

struct FrontendSpec {
  std::string appName;  // "e-commerce platform"
  std::vector<ServiceSpec> services;
};

class Generator {
 public:
  // Loads every *.mustache under `templateDir` (data/templates).
  static Result<Generator> load(const std::filesystem::path& templateDir);

  // The files of one service, for spec.stack (an unknown stack is an error
  // naming it). Paths are prefixed with "<nodeId>/".
  //
  // node-express: package.json (pinned versions), src/app.js, src/server.js,
  // src/db.js, src/validation.js, src/middleware/auth.js,
  // src/routes/<entity>.js, src/routes/auth.js for the token issuer,
  // test/<service>.test.js (node:test), schema.sql, README.md, .env.example,
  // Dockerfile.
  //
  // python-fastapi: requirements.txt (== pins), app/main.py, app/config.py,
  // app/db.py (psycopg 3 pool, schema.sql at start), app/errors.py,
  // app/models.py (Pydantic models per table), app/validation.py, app/auth.py
  // (JWT bearer guard; /auth routes for the token issuer),
  // app/routes/<entity>.py, tests/test_<service>.py (pytest + httpx),
  // schema.sql, README.md, .env.example, Dockerfile (python:3.11-slim,
  // uvicorn). Routes, status codes and JSON bodies are the node-express ones.
  Result<std::vector<GeneratedFile>> service(const ServiceSpec& spec) const;

  // A React app under "frontend/": package.json, index.html, src/main.jsx,
  // src/App.jsx, src/api.js, one list/form component per entity, and
  // login/register components when a token issuer exists.
  Result<std::vector<GeneratedFile>> frontend(const FrontendSpec& spec) const;

  // Cross-service tests under "integration-tests/" (node:test + fetch) that
  // walk the services' endpoints with service URLs from the environment.
  // frontend, integrationTests and dockerCompose refuse a nodeId or a table
  // that appears in two services.
  Result<std::vector<GeneratedFile>> integrationTests(const std::vector<ServiceSpec>& services) const;

  // docker-compose.yml for the services (each built from its folder and run
  // the way its stack runs), one PostgreSQL, and the frontend.
  Result<GeneratedFile> dockerCompose(const std::vector<ServiceSpec>& services) const;

  // Renders the template `name` (a key of templates_: its path under the
  // template directory without .mustache) with `data`; a missing template is
  // an error naming it. Agents use it for one-off files (nginx.conf, alerts).
  // Objects, arrays and strings are Mustache objects, lists and strings;
  // booleans (and null) drive sections; numbers render as their JSON text.
  // Nothing is HTML-escaped: callers pass text already escaped for where it
  // goes. A line holding only a section tag leaves no trace in the output.
  Result<std::string> render(const std::string& name, const boost::json::value& data) const;

 private:
  std::map<std::string, std::string> templates_;  // relative path without .mustache -> text
};

// Portable DDL (SQLite and PostgreSQL): CREATE TABLE IF NOT EXISTS in foreign-key
// order, primary keys, NOT NULL, UNIQUE, DEFAULT, REFERENCES ... ON DELETE
// CASCADE (SET NULL for nullable columns), and CREATE INDEX IF NOT EXISTS.
// References to tables not in `entities` are kept as plain columns with a
// comment naming the owner, so one service's schema loads on its own.
// `tableOwners` (table -> owning service, optional) makes that comment name the
// service rather than only the table. A reference cycle inside `entities` is
// broken the same way, at the edge that closes it.
std::string schemaSql(const std::vector<Entity>& entities, const std::string& title,
                      const std::map<std::string, std::string>& tableOwners = {});

// A ZIP archive (stored entries) of the files, paths as given.
std::string zipArchive(const std::vector<GeneratedFile>& files);

// Mermaid flowchart of a canvas ("flowchart LR", one shape per node type).
std::string mermaid(const Canvas& canvas);

// Plural snake_case table name for a phrase: "pet profile" -> "pet_profiles".
std::string tableNameFor(const std::string& phrase);

// A reasonable table for something a prompt names that the catalog does not
// know: id, name, description, status, owner column (user_id referencing
// users.id when `hasUsers`), created_at, updated_at, and indexes.
Entity synthesizeEntity(const std::string& phrase, bool hasUsers);

// The spec of a catalog service component: its tables and endpoints, `calls`
// from its dependsOn (as nodeIds), and issuesTokens when it owns a users table
// with email and password_hash columns.
ServiceSpec serviceSpecFor(const Component& component, const Catalog& catalog, int port = 3000);

// The spec of a feature the catalog does not know ("loyalty points"): one
// service "loyalty-points-service" owning synthesizeEntity(phrase, hasUsers).
ServiceSpec synthesizeService(const std::string& phrase, bool hasUsers, int port = 3000);

}  // namespace ymy::codegen
