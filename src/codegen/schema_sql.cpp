// Portable DDL. The SQL subset here is the one PostgreSQL 15 and SQLite 3
// share: inline REFERENCES (SQLite cannot ALTER TABLE ADD CONSTRAINT), type
// names SQLite maps by affinity, IF NOT EXISTS everywhere so a service can
// apply its schema on every start.

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "codegen/internal.hpp"

namespace ymy::codegen {

namespace detail {

std::vector<std::size_t> foreignKeyOrder(const std::vector<Entity>& entities, std::set<std::string>* broken) {
  std::map<std::string, std::size_t> indexOf;
  for (std::size_t i = 0; i < entities.size(); ++i) indexOf.emplace(entities[i].name, i);

  // needs[i]: tables (by index) that entity i references inside the list.
  std::vector<std::set<std::size_t>> needs(entities.size());
  for (std::size_t i = 0; i < entities.size(); ++i) {
    for (const auto& c : entities[i].columns) {
      auto [table, column] = splitReference(c.references);
      auto it = indexOf.find(table);
      if (it != indexOf.end() && it->second != i) needs[i].insert(it->second);
    }
  }

  std::vector<std::size_t> order;
  std::vector<bool> done(entities.size(), false);
  while (order.size() < entities.size()) {
    std::size_t pick = entities.size();
    for (std::size_t i = 0; i < entities.size() && pick == entities.size(); ++i) {
      if (done[i]) continue;
      bool ready = std::all_of(needs[i].begin(), needs[i].end(), [&](std::size_t n) { return done[n]; });
      if (ready) pick = i;
    }
    if (pick == entities.size()) {
      // A cycle: take the first remaining table and drop its references to the
      // tables still waiting, which would otherwise point forward.
      for (std::size_t i = 0; i < entities.size(); ++i) {
        if (done[i]) continue;
        pick = i;
        break;
      }
      for (const auto& c : entities[pick].columns) {
        auto [table, column] = splitReference(c.references);
        auto it = indexOf.find(table);
        if (it != indexOf.end() && it->second != pick && !done[it->second] && broken) {
          broken->insert(entities[pick].name + "." + c.name);
        }
      }
    }
    done[pick] = true;
    order.push_back(pick);
  }
  return order;
}

}  // namespace detail

namespace {

const std::set<std::string>& reservedWords() {
  static const std::set<std::string> kWords = {"all",          "alter",        "analyse",
                                               "analyze",      "and",          "any",
                                               "array",        "as",           "asc",
                                               "asymmetric",   "between",      "both",
                                               "case",         "cast",         "check",
                                               "collate",      "column",       "constraint",
                                               "create",       "cross",        "current_date",
                                               "current_role", "current_time", "current_timestamp",
                                               "current_user", "default",      "deferrable",
                                               "delete",       "desc",         "distinct",
                                               "do",           "drop",         "else",
                                               "end",          "escape",       "except",
                                               "exists",       "false",        "fetch",
                                               "for",          "foreign",      "from",
                                               "full",         "glob",         "grant",
                                               "group",        "having",       "in",
                                               "index",        "initially",    "inner",
                                               "insert",       "intersect",    "into",
                                               "is",           "join",         "lateral",
                                               "leading",      "left",         "like",
                                               "limit",        "localtime",    "localtimestamp",
                                               "natural",      "not",          "null",
                                               "offset",       "on",           "only",
                                               "or",           "order",        "outer",
                                               "placing",      "primary",      "references",
                                               "returning",    "right",        "select",
                                               "session_user", "set",          "some",
                                               "symmetric",    "table",        "then",
                                               "to",           "trailing",     "transaction",
                                               "true",         "union",        "unique",
                                               "update",       "user",         "using",
                                               "values",       "variadic",     "when",
                                               "where",        "window",       "with"};
  return kWords;
}

std::string ident(const std::string& name) {
  if (detail::isIdentifier(name) && !reservedWords().count(name)) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string sqlType(const std::string& type) {
  static const std::map<std::string, std::string> kTypes = {{"uuid", "UUID"},
                                                            {"text", "TEXT"},
                                                            {"integer", "INTEGER"},
                                                            {"bigint", "BIGINT"},
                                                            {"decimal", "NUMERIC(12,2)"},
                                                            {"boolean", "BOOLEAN"},
                                                            {"timestamp", "TIMESTAMP"},
                                                            {"json", "JSONB"}};
  auto it = kTypes.find(type);
  return it == kTypes.end() ? "TEXT" : it->second;
}

std::string oneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

}  // namespace

std::string schemaSql(const std::vector<Entity>& entities, const std::string& title,
                      const std::map<std::string, std::string>& tableOwners) {
  std::set<std::string> own;
  for (const auto& e : entities) own.insert(e.name);
  std::set<std::string> broken;
  const auto order = detail::foreignKeyOrder(entities, &broken);

  std::ostringstream out;
  out << "-- " << oneLine(title.empty() ? "Schema" : title) << "\n"
      << "-- Generated by YouMeYou. Portable DDL: loads into PostgreSQL 15 and SQLite 3.\n"
      << "-- Tables are in foreign-key order; every statement is idempotent (IF NOT EXISTS).\n";

  for (std::size_t index : order) {
    const Entity& e = entities[index];
    out << "\nCREATE TABLE IF NOT EXISTS " << ident(e.name) << " (\n";
    for (std::size_t i = 0; i < e.columns.size(); ++i) {
      const Column& c = e.columns[i];
      out << "  " << ident(c.name) << ' ' << sqlType(c.type);
      if (c.primaryKey) {
        out << " PRIMARY KEY NOT NULL";
      } else {
        if (!c.nullable) out << " NOT NULL";
        if (c.unique) out << " UNIQUE";
      }
      if (!c.defaultValue.empty()) out << " DEFAULT " << c.defaultValue;

      std::string comment;
      auto [table, column] = detail::splitReference(c.references);
      if (!table.empty()) {
        const std::string key = e.name + "." + c.name;
        if (own.count(table) && !broken.count(key)) {
          out << " REFERENCES " << ident(table) << " (" << ident(column) << ") ON DELETE "
              << (c.nullable ? "SET NULL" : "CASCADE");
        } else if (own.count(table)) {
          comment = "references " + c.references + " (no foreign key: it would close a reference cycle)";
        } else {
          auto owner = tableOwners.find(table);
          comment = "references " + c.references + ", owned by " +
                    (owner != tableOwners.end() ? owner->second : "another service") +
                    " (no foreign key across services)";
        }
      }
      if (i + 1 < e.columns.size()) out << ',';
      if (!comment.empty()) out << " -- " << oneLine(comment);
      out << '\n';
    }
    out << ");\n";
    for (const auto& idx : e.indexes) {
      if (idx.empty()) continue;
      std::string name = "idx_" + e.name;
      std::string cols;
      for (const auto& col : idx) {
        name += "_" + col;
        cols += (cols.empty() ? "" : ", ") + ident(col);
      }
      if (name.size() > 63) name.resize(63);
      out << "CREATE INDEX IF NOT EXISTS " << ident(name) << " ON " << ident(e.name) << " (" << cols << ");\n";
    }
  }
  return out.str();
}

}  // namespace ymy::codegen
