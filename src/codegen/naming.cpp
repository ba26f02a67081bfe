// Names for generated things (tables, folders, identifiers), synthesized
// tables and services, and the checks a spec passes before it is rendered.

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "codegen/internal.hpp"

namespace ymy::codegen {

namespace detail {

std::vector<std::string> words(const std::string& phrase) {
  std::vector<std::string> out;
  std::string current;
  for (char c : phrase) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 128) {
      current.push_back(static_cast<char>(std::tolower(u)));
    } else if (!current.empty()) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

namespace {

bool isVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string pluralize(const std::string& word) {
  static const std::unordered_map<std::string, std::string> kIrregular = {
      {"person", "people"},      {"child", "children"}, {"man", "men"},     {"woman", "women"},  {"mouse", "mice"},
      {"goose", "geese"},        {"foot", "feet"},      {"tooth", "teeth"}, {"datum", "data"},   {"medium", "media"},
      {"criterion", "criteria"}, {"leaf", "leaves"},    {"life", "lives"},  {"knife", "knives"}, {"wife", "wives"},
      {"half", "halves"},        {"shelf", "shelves"},  {"wolf", "wolves"}, {"hero", "heroes"},  {"potato", "potatoes"},
      {"tomato", "tomatoes"},    {"echo", "echoes"},    {"quiz", "quizzes"}};
  static const std::set<std::string> kUncountable = {
      "data",      "media", "news", "series", "species",  "equipment", "information", "feedback", "metadata",
      "analytics", "sheep", "fish", "deer",   "software", "hardware",  "staff",       "music"};
  if (word.empty()) return word;
  if (auto it = kIrregular.find(word); it != kIrregular.end()) return it->second;
  if (kUncountable.count(word)) return word;
  if (endsWith(word, "is") && word.size() > 3) return word.substr(0, word.size() - 2) + "es";  // analysis
  if (endsWith(word, "ss") || endsWith(word, "sh") || endsWith(word, "ch") || endsWith(word, "x") ||
      endsWith(word, "z") || endsWith(word, "us")) {
    return word + "es";
  }
  if (endsWith(word, "s")) return word;  // already plural: "points", "settings"
  if (word.size() > 1 && word.back() == 'y' && !isVowel(word[word.size() - 2])) {
    return word.substr(0, word.size() - 1) + "ies";
  }
  return word + "s";
}

std::string kebab(const std::string& name) {
  std::string out = name;
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

std::string pascal(const std::string& name) {
  std::string out;
  for (const auto& w : words(name)) {
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    out += w.substr(1);
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "T" + out;
  return out;
}

std::string camel(const std::string& name) {
  std::string out = pascal(name);
  out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

std::string titleWords(const std::string& name) {
  std::string out;
  for (const auto& w : words(name)) {
    if (!out.empty()) out += ' ';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    out += w.substr(1);
  }
  return out;
}

std::string envPrefix(const std::string& nodeId) {
  std::string out;
  for (const auto& w : words(nodeId)) {
    if (!out.empty()) out += '_';
    for (char c : w) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool isIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (std::islower(u) || std::isdigit(u) || c == '_') && u < 128;
  });
}

bool isNodeId(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(id[0])) || std::isdigit(static_cast<unsigned char>(id[0])))) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (std::islower(u) || std::isdigit(u) || c == '-') && u < 128;
  });
}

bool isPythonKeyword(const std::string& name) {
  static const std::set<std::string> kKeywords = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  return kKeywords.count(name) > 0;
}

std::string pythonName(const std::string& name) {
  // Attributes of pydantic.BaseModel (v2, with its v1 compatibility methods)
  // besides the model_* ones: a field of that name would shadow it.
  static const std::set<std::string> kModelAttributes = {
      "construct",           "copy",      "dict",      "from_orm", "json",
      "parse_file",          "parse_obj", "parse_raw", "schema",   "schema_json",
      "update_forward_refs", "validate"};
  if (name.empty()) return "f_";
  if (name[0] == '_') return "f" + name;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) return "f_" + name;
  if (isPythonKeyword(name) || name.starts_with("model_") || kModelAttributes.count(name)) return name + "_";
  return name;
}

std::string jsString(const std::string& text) { return boost::json::serialize(boost::json::string(text)); }

std::string htmlText(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::pair<std::string, std::string> splitReference(const std::string& reference) {
  auto dot = reference.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == reference.size()) return {"", ""};
  return {reference.substr(0, dot), reference.substr(dot + 1)};
}

Result<void> checkService(const ServiceSpec& spec) {
  static const std::set<std::string> kTypes = {"uuid",    "text",    "integer",   "bigint",
                                               "decimal", "boolean", "timestamp", "json"};
  const std::string where = "service '" + spec.id + "'";
  if (spec.stack != kNodeExpress && spec.stack != kPythonFastapi) {
    return fail(ErrorCode::kInvalidArgument,
                where + ": unknown stack '" + spec.stack + "' (known: " + kNodeExpress + ", " + kPythonFastapi + ")");
  }
  if (!isNodeId(spec.nodeId)) {
    return fail(ErrorCode::kInvalidArgument,
                where + ": nodeId '" + spec.nodeId + "' must be lowercase letters, digits and '-' (a folder name)");
  }
  if (spec.port < 1 || spec.port > 65535) {
    return fail(ErrorCode::kInvalidArgument, where + ": port " + std::to_string(spec.port) + " is out of range");
  }
  for (const auto& call : spec.calls) {
    if (!isNodeId(call))
      return fail(ErrorCode::kInvalidArgument, where + ": calls names an invalid nodeId '" + call + "'");
  }
  std::set<std::string> tables;
  for (std::size_t i = 0; i < spec.entities.size(); ++i) {
    const auto& e = spec.entities[i];
    const std::string at = where + ": entities[" + std::to_string(i) + "]";
    if (!isIdentifier(e.name)) {
      return fail(ErrorCode::kInvalidArgument, at + ": table name '" + e.name + "' is not a lowercase identifier");
    }
    if (!tables.insert(e.name).second) return fail(ErrorCode::kInvalidArgument, at + ": table '" + e.name + "' twice");
    std::set<std::string> columns;
    bool idKey = false;
    for (std::size_t j = 0; j < e.columns.size(); ++j) {
      const Column& c = e.columns[j];
      const std::string col = at + ".columns[" + std::to_string(j) + "] (" + e.name + "." + c.name + ")";
      if (!isIdentifier(c.name))
        return fail(ErrorCode::kInvalidArgument, col + ": column name is not a lowercase identifier");
      if (!columns.insert(c.name).second) return fail(ErrorCode::kInvalidArgument, col + ": column appears twice");
      if (!kTypes.count(c.type))
        return fail(ErrorCode::kInvalidArgument, col + ": unknown column type '" + c.type + "'");
      if (c.primaryKey) {
        if (c.name != "id" || c.type != "uuid") {
          return fail(ErrorCode::kInvalidArgument, col + ": the primary key must be a uuid column named id");
        }
        idKey = true;
      }
      if (!c.references.empty()) {
        auto [table, column] = splitReference(c.references);
        if (!isIdentifier(table) || !isIdentifier(column)) {
          return fail(ErrorCode::kInvalidArgument, col + ": references '" + c.references + "' is not table.column");
        }
      }
    }
    if (!idKey) return fail(ErrorCode::kInvalidArgument, at + " (" + e.name + "): needs a uuid primary key named id");
    for (const auto& index : e.indexes) {
      for (const auto& name : index) {
        if (!columns.count(name)) {
          return fail(ErrorCode::kInvalidArgument, at + " (" + e.name + "): index names unknown column '" + name + "'");
        }
      }
    }
  }
  return {};
}

Result<void> checkServices(const std::vector<ServiceSpec>& services) {
  std::map<std::string, std::string> nodeIds, tables;  // -> the service id that has it
  for (const auto& s : services) {
    if (auto ok = checkService(s); !ok) return ok;
    if (auto [it, fresh] = nodeIds.emplace(s.nodeId, s.id); !fresh) {
      return fail(ErrorCode::kInvalidArgument,
                  "services '" + it->second + "' and '" + s.id + "' share the nodeId '" + s.nodeId + "'");
    }
    for (const auto& e : s.entities) {
      if (auto [it, fresh] = tables.emplace(e.name, s.id); !fresh) {
        return fail(ErrorCode::kInvalidArgument,
                    "table '" + e.name + "' belongs to both service '" + it->second + "' and service '" + s.id + "'");
      }
    }
  }
  return {};
}

std::string singleLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

std::string sourceText(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n' || c == '\r') {
        out += ' ';
      } else if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence is kept whole; anything else becomes '?'.
    std::size_t length = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
    if (c >= 0xf5) length = 0;
    bool ok = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (ok && length >= 3) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      if (c == 0xe0 && c1 < 0xa0) ok = false;   // overlong
      if (c == 0xed && c1 >= 0xa0) ok = false;  // surrogates
      if (c == 0xf0 && c1 < 0x90) ok = false;   // overlong
      if (c == 0xf4 && c1 >= 0x90) ok = false;  // above U+10FFFF
    }
    if (ok) {
      const std::string sequence = text.substr(i, length);
      // U+2028 and U+2029 are line breaks to some readers of the file: a space.
      out += sequence == "\xe2\x80\xa8" || sequence == "\xe2\x80\xa9" ? std::string(" ") : sequence;
      i += length;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

IdentityTables identityTablesOf(const std::vector<Entity>& entities) {
  auto has = [](const Entity& e, std::initializer_list<const char*> names) {
    return std::all_of(names.begin(), names.end(), [&](const char* n) {
      return std::any_of(e.columns.begin(), e.columns.end(), [&](const Column& c) { return c.name == n; });
    });
  };
  IdentityTables out;
  for (const auto& e : entities) {
    if (!out.users && has(e, {"email", "password_hash"})) out.users = &e;
  }
  if (!out.users) return out;
  for (const auto& e : entities) {
    if (&e == out.users) continue;
    if (!out.refreshTokens && has(e, {"user_id", "token_hash", "expires_at", "revoked"})) {
      out.refreshTokens = &e;
    } else if (!out.passwordResets && has(e, {"user_id", "token_hash", "expires_at", "used_at"})) {
      out.passwordResets = &e;
    }
  }
  return out;
}

}  // namespace detail

std::string tableNameFor(const std::string& phrase) {
  auto parts = detail::words(phrase);
  if (parts.empty()) return "items";
  parts.back() = detail::pluralize(parts.back());
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '_';
    out += p;
  }
  if (std::isdigit(static_cast<unsigned char>(out[0]))) out = "t_" + out;
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

Entity synthesizeEntity(const std::string& phrase, bool hasUsers) {
  Entity e;
  e.name = tableNameFor(phrase);
  auto column = [](std::string name, std::string type) {
    Column c;
    c.name = std::move(name);
    c.type = std::move(type);
    return c;
  };
  Column id = column("id", "uuid");
  id.primaryKey = true;
  e.columns.push_back(id);
  e.columns.push_back(column("name", "text"));
  Column description = column("description", "text");
  description.nullable = true;
  e.columns.push_back(description);
  Column status = column("status", "text");
  status.defaultValue = "'active'";
  e.columns.push_back(status);
  if (hasUsers) {
    Column owner = column("user_id", "uuid");
    owner.references = "users.id";
    e.columns.push_back(owner);
  } else {
    Column owner = column("owner_id", "uuid");
    owner.nullable = true;
    e.columns.push_back(owner);
  }
  for (const char* name : {"created_at", "updated_at"}) {
    Column ts = column(name, "timestamp");
    ts.defaultValue = "CURRENT_TIMESTAMP";
    e.columns.push_back(ts);
  }
  e.indexes = {{hasUsers ? "user_id" : "owner_id"}, {"status"}};
  return e;
}

ServiceSpec serviceSpecFor(const Component& component, const Catalog& catalog, int port) {
  ServiceSpec spec;
  spec.id = component.id;
  spec.name = component.name;
  spec.nodeId = component.nodeId;
  spec.description = component.description;
  spec.entities = component.entities;
  spec.endpoints = component.endpoints;
  for (const auto& dep : component.dependsOn) {
    if (const auto* other = catalog.find(dep); other && other->isService()) spec.calls.push_back(other->nodeId);
  }
  spec.issuesTokens = detail::identityTablesOf(component.entities).users != nullptr;
  spec.requiresAuth = true;
  spec.port = port;
  return spec;
}

ServiceSpec synthesizeService(const std::string& phrase, bool hasUsers, int port) {
  ServiceSpec spec;
  std::string slug;
  for (const auto& w : detail::words(phrase)) slug += (slug.empty() ? "" : "-") + w;
  if (slug.empty()) slug = "feature";
  if (std::isdigit(static_cast<unsigned char>(slug[0]))) slug = "s-" + slug;
  if (slug.size() > 40) slug.resize(40);
  while (!slug.empty() && slug.back() == '-') slug.pop_back();
  Entity entity = synthesizeEntity(phrase, hasUsers);
  spec.id = slug;
  spec.name = detail::titleWords(slug) + " Service";
  spec.nodeId = slug + "-service";
  spec.description = "Manages " + detail::titleWords(entity.name) + " (synthesized from \"" + phrase + "\")";
  const std::string path = "/" + detail::kebab(entity.name);
  spec.endpoints = {{"GET", path, "List " + entity.name},
                    {"POST", path, "Create a record"},
                    {"GET", path + "/{id}", "Fetch one record"},
                    {"PUT", path + "/{id}", "Update a record"},
                    {"DELETE", path + "/{id}", "Delete a record"}};
  spec.entities.push_back(std::move(entity));
  spec.issuesTokens = false;
  spec.requiresAuth = true;
  spec.port = port;
  return spec;
}

}  // namespace ymy::codegen
