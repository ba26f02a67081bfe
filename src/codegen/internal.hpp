#pragma once
// Private to the codegen module: naming helpers, entity ordering, the
// template data ("view models") the generators render, and the one entry
// point to the Mustache library (kept in render.cpp so only that translation
// unit pays for the header).

#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "codegen/codegen.hpp"

namespace ymy::codegen::detail {

// ---- Rendering --------------------------------------------------------------

// Renders Mustache `text` with `data`. Objects, arrays and strings map to
// Mustache objects, lists and strings; booleans drive sections; numbers render
// as their decimal text. Nothing is HTML-escaped: templates produce code, and
// the view models hand over text already escaped for where it goes.
// `name` names the template in errors.
Result<std::string> renderMustache(const std::string& name, const std::string& text, const boost::json::value& data);

// ---- Naming -----------------------------------------------------------------

std::vector<std::string> words(const std::string& phrase);  // lowercase [a-z0-9]+ runs
std::string pluralize(const std::string& word);
std::string kebab(const std::string& name);        // "cart_items" -> "cart-items"
std::string pascal(const std::string& name);       // "cart_items" -> "CartItems"
std::string camel(const std::string& name);        // "cart_items" -> "cartItems"
std::string titleWords(const std::string& name);   // "cart_items" -> "Cart Items"
std::string envPrefix(const std::string& nodeId);  // "auth-service" -> "AUTH_SERVICE"
bool isIdentifier(const std::string& name);        // [a-z_][a-z0-9_]*, at most 63 characters
bool isNodeId(const std::string& id);              // [a-z0-9][a-z0-9-]*, at most 63 characters

// Python names. isPythonKeyword: the hard keywords of Python 3.11 (soft ones
// such as `match` and `type` are valid names). pythonName: `name` usable as a
// Python identifier and Pydantic field: a keyword, a name BaseModel already
// has, or one in its model_ namespace gets a trailing '_' ("class" ->
// "class_", "json" -> "json_"), a leading '_' (Pydantic would make it
// private) gets an 'f' before it ("_x" -> "f_x").
bool isPythonKeyword(const std::string& name);
std::string pythonName(const std::string& name);

// Text escaped for a context: a JSON/JS double-quoted string literal (with
// quotes), and HTML text. A JSON string literal is a Python one too, once the
// text is sourceText.
std::string jsString(const std::string& text);
std::string htmlText(const std::string& text);

// ---- Entities ---------------------------------------------------------------

// Indexes of `entities` in foreign-key order: a table comes after the tables it
// references inside the list; ties keep the input order. `broken` receives the
// references ("table.column") left out to break a cycle.
std::vector<std::size_t> foreignKeyOrder(const std::vector<Entity>& entities, std::set<std::string>* broken = nullptr);

// "users.id" -> {"users", "id"}; {"", ""} when malformed.
std::pair<std::string, std::string> splitReference(const std::string& reference);

// Checks a spec before anything is rendered: names usable as folders, tables
// and columns, known column types, one uuid primary key named id per table.
Result<void> checkService(const ServiceSpec& spec);

// checkService for each, and no nodeId or table twice across `services`
// (their files and the tests' bookkeeping are keyed by both).
Result<void> checkServices(const std::vector<ServiceSpec>& services);

// `text` on one line (CR and LF become spaces): names and descriptions go into
// code comments, where a newline would end the comment.
std::string singleLine(std::string text);

// `text` fit for a line of Python source (a `#` comment, a string literal):
// on one line, without control characters (a NUL byte makes the file
// uncompilable), invalid UTF-8 replaced by '?'.
std::string sourceText(const std::string& text);

// The identity tables of a token issuer: users (email, password_hash), and when
// present refresh tokens and password resets (token_hash, user_id, expires_at).
struct IdentityTables {
  const Entity* users = nullptr;
  const Entity* refreshTokens = nullptr;
  const Entity* passwordResets = nullptr;
};
IdentityTables identityTablesOf(const std::vector<Entity>& entities);

// ---- View models ------------------------------------------------------------

// Everything the node-express templates need for one service.
boost::json::object serviceView(const ServiceSpec& spec);

// serviceView plus what the python-fastapi templates need: module and model
// names, Pydantic field declarations, pinned requirements.
boost::json::object pythonServiceView(const ServiceSpec& spec);

// One entity for the templates; `ownTables` are the tables of the same
// service (references to others are external).
boost::json::object entityView(const Entity& entity, const std::set<std::string>& ownTables);

boost::json::object frontendView(const FrontendSpec& spec);
boost::json::object integrationView(const std::vector<ServiceSpec>& services);
boost::json::object composeView(const std::vector<ServiceSpec>& services);

// Development-only JWT secret shared by the generated services and their tests
// when JWT_SECRET is unset (and refused when NODE_ENV=production).
inline constexpr const char* kDevJwtSecret = "dev-only-secret-change-me";

}  // namespace ymy::codegen::detail
