// db-001: the relational schema for what its prompt names. Table names the
// catalog knows come with their columns; components named in the prompt bring
// their tables; anything else the prompt lists becomes a table of its own
// ("... and wishlists" -> wishlists linked to users). Each table gets an owning
// service from the architecture, so code generation follows the schema.

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "agents/flow_items.hpp"
#include "agents/support.hpp"
#include "intent/requested_items.hpp"

namespace ymy::agents {
namespace {

using detail::cancelled;
using detail::step;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  auto notSpace = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), notSpace));
  s.erase(std::find_if(s.rbegin(), s.rend(), notSpace).base(), s.end());
  return s;
}

// Sentences of `text`: a '.' followed by a space, a comma or the end closes one
// ("... for PostgreSQL., plus wishlists" is two).
std::vector<std::string> sentences(const std::string& text) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '.') continue;
    if (i + 1 < text.size() && text[i + 1] != ' ' && text[i + 1] != ',') continue;
    out.push_back(text.substr(begin, i - begin));
    begin = i + 1;
  }
  if (begin < text.size()) out.push_back(text.substr(begin));
  return out;
}

// The list a schema prompt enumerates: after "including"/"tables for"/
// "schema for"/"create the", up to the end of that sentence, plus later
// sentences that continue it ("Also add wishlists.", ", plus wishlists"); split
// on commas, "and", "with" and "plus".
std::vector<std::string> listItems(const std::string& prompt) {
  std::string text = lower(prompt);
  std::size_t start = 0;
  for (const char* opener : {" including ", " tables for ", " schema for ", " schemas for ", "create the "}) {
    auto at = text.find(opener);
    if (at != std::string::npos) {
      start = at + std::string(opener).size();
      break;
    }
  }
  auto parts = sentences(text.substr(start));
  std::string list = parts.empty() ? std::string() : parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string more = parts[i];
    more.erase(0, more.find_first_not_of(" ,;"));
    bool continues = false;
    for (bool stripped = true; stripped;) {
      stripped = false;
      for (const char* lead : {"plus ", "and ", "also ", "add ", "as well as "}) {
        if (more.starts_with(lead)) {
          more.erase(0, std::string(lead).size());
          continues = stripped = true;
        }
      }
    }
    if (continues) list += "," + more;
  }
  for (const char* sep : {" and ", " with ", " plus ", ";"}) {
    std::size_t at;
    while ((at = list.find(sep)) != std::string::npos) list.replace(at, std::string(sep).size(), ",");
  }
  std::vector<std::string> items;
  std::stringstream split(list);
  std::string item;
  while (std::getline(split, item, ',')) {
    item = trim(item);
    for (const char* prefix : {"and ", "the ", "a ", "an ", "also "}) {
      if (item.starts_with(prefix)) item = item.substr(std::string(prefix).size());
    }
    for (const char* cut : {" for ", " in ", " on "}) {
      if (auto at = item.find(cut); at != std::string::npos) item.resize(at);
    }
    for (const char* suffix : {" tables", " table", " records"}) {
      if (item.ends_with(suffix)) item.resize(item.size() - std::string(suffix).size());
    }
    static const std::set<std::string> kNotTables = {
        "keys", "key", "foreign keys", "primary keys", "indexes", "index", "constraints", "relationships",
        "migrations", "sql", "postgresql", "mysql", "tables", "schema", "schemas", "reversible", "backfill plan"};
    if (!item.empty() && !kNotTables.count(item)) items.push_back(item);
  }
  return items;
}

class DatabaseAgent final : public executor::Agent {
 public:
  explicit DatabaseAgent(const AgentEnvironment& env) : env_(env) {
    for (const auto& c : env.catalog.components()) {
      for (const auto& e : c.entities) tables_.emplace(e.name, std::make_pair(&c, &e));
    }
  }
  std::string_view id() const override { return kDatabaseAgent; }

  Result<executor::TaskResult> run(executor::TaskContext& ctx) override {
    const auto& input = ctx.input();
    const Schema schema = design(ctx.task().prompt, detail::architectureFor(env_, ctx));
    std::vector<std::string> names;
    for (const auto& t : schema.tables) names.push_back(t.name);
    if (!step(ctx, "Designing " + (names.empty() ? std::string("core") : joinFirst(names, 2)) + " schemas...", 0.4)) {
      return cancelled();
    }
    if (!step(ctx, "Adding relationships, indexes and constraints...", 0.4)) return cancelled();
    executor::TaskResult result;
    result.files.push_back({"database/schema.sql", codegen::schemaSql(schema.tables, input.frame.target)});
    if (!step(ctx, "Validating the schema...", 0.2)) return cancelled();
    result.output["schema"] = toJson(schema);
    std::set<std::string> owners;
    for (const auto& [t, o] : schema.owner) owners.insert(o);
    result.summary = "Database schema with " + std::to_string(schema.tables.size()) + " tables designed for " +
                     std::to_string(owners.size()) + " service" + (owners.size() == 1 ? "" : "s");
    return result;
  }

  // One table:<owner>/<table> per table run() would create, with run()'s
  // owner. Any architecture change can move ownership, so it consumes every
  // service.
  executor::TaskFlow flow(const executor::TaskContext& ctx) const override {
    const Schema schema = design(ctx.task().prompt, detail::architectureFor(env_, ctx));
    executor::TaskFlow out;
    out.known = true;
    for (const auto& [table, owner] : schema.owner) out.produces.insert(flow::table(owner, table));
    out.consumes.insert(std::string(flow::kAnyService));
    return out;
  }

 private:
  // The schema for a prompt against an architecture: the prompt's tables in
  // order (catalog tables with their columns, the tables of components it
  // names, a synthesized table per other noun phrase), then the tables the
  // architecture's services own that the prompt left out; each with its
  // owner (ownerOf). Pure: run() and flow() both call it.
  Schema design(const std::string& prompt, const Architecture& arch) const {
    std::vector<std::string> order;  // table names in prompt order
    std::map<std::string, Entity> entities;
    std::map<std::string, const Component*> componentOf;  // catalog tables only
    auto addTable = [&](const Entity& e, const Component* c) {
      if (entities.emplace(e.name, e).second) {
        order.push_back(e.name);
        componentOf[e.name] = c;
      }
    };

    std::vector<std::string> unknown;
    for (const auto& item : listItems(prompt)) {
      std::string asTable = item;
      std::replace(asTable.begin(), asTable.end(), ' ', '_');
      if (auto it = tables_.find(asTable); it != tables_.end()) {
        addTable(*it->second.second, it->second.first);
        continue;
      }
      if (auto it = tables_.find(codegen::tableNameFor(item)); it != tables_.end()) {
        addTable(*it->second.second, it->second.first);
        continue;
      }
      // A component claims the item only when its name covers every meaningful
      // word: "recommendation engine" is the recommendation component, but
      // "pet profiles" is not the user component's "profiles".
      auto tokens = intent::tokenize(item);
      auto found = intent::findRequestedItems(tokens, env_.matcher, env_.catalog, true, false);
      bool whole = true;
      for (std::size_t k = 0; k < tokens.size(); ++k) {
        whole = whole && (found.covered[k] || intent::isStopword(tokens[k].text) || intent::isSystemNoun(tokens[k].text));
      }
      if (!whole) found.components.clear();
      bool matched = false;
      for (const auto& [pos, id] : found.components) {
        const auto* c = env_.catalog.find(id);
        for (const auto& e : c->entities) addTable(e, c);
        matched = matched || !c->entities.empty();
      }
      if (!matched) unknown.push_back(item);
    }
    // Services of the architecture whose tables the prompt did not list still own theirs.
    for (const auto& s : arch.services) {
      for (const auto& t : s.tables) {
        if (auto it = tables_.find(t); it != tables_.end()) addTable(*it->second.second, it->second.first);
      }
    }
    const bool hasUsers = entities.count("users") > 0;
    for (const auto& item : unknown) {
      if (item.size() > 60 || std::count(item.begin(), item.end(), ' ') > 3) continue;  // not a noun phrase
      bool meaningful = false;
      for (const auto& t : intent::tokenize(item)) meaningful = meaningful || !intent::isStopword(t.text);
      if (!meaningful) continue;
      addTable(codegen::synthesizeEntity(item, hasUsers), nullptr);
    }
    for (const auto& s : arch.services) {
      for (const auto& t : s.tables) {
        if (!entities.count(t)) addTable(codegen::synthesizeEntity(t, hasUsers), nullptr);
      }
    }

    Schema schema;
    for (const auto& name : order) schema.tables.push_back(entities.at(name));
    for (const auto& name : order) schema.owner[name] = ownerOf(name, entities.at(name), componentOf[name], arch, schema);
    return schema;
  }

  static std::string joinFirst(const std::vector<std::string>& items, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < n; ++i) out += (i ? " and " : "") + items[i];
    return out;
  }

  // The service that owns a table, the first of:
  //   1. the service listing it;
  //   2. the service that is its catalog component;
  //   3. the owner of a table it references;
  //   4. a service its component depends on;
  //   5. the owner of a table its name names ("product_similarities" ->
  //      products, "cart_reminders" -> carts);
  //   6. the first service, in architecture order, that is not the token issuer.
  // The token issuer's tables and the issuer itself count in 3 to 5 only when
  // the table is its own: everything references users and depends on auth,
  // which says little about ownership, so a "user behavior tracking" or a
  // recommendation table goes with the domain, not with auth.
  std::string ownerOf(const std::string& table, const Entity& entity, const Component* component,
                      const Architecture& arch, const Schema& schema) const {
    for (const auto& s : arch.services) {
      if (std::find(s.tables.begin(), s.tables.end(), table) != s.tables.end()) return s.nodeId;
    }
    if (component) {
      if (const auto* s = arch.findById(component->id)) return s->nodeId;
    }
    auto isIssuer = [&](const std::string& nodeId) {
      const auto* s = arch.findByNodeId(nodeId);
      return s && s->issuesTokens;
    };
    // The owner of another table, unless that says little (users, the issuer's).
    auto domainOwnerOf = [&](const std::string& other) -> std::string {
      if (other == table || other == "users") return {};
      std::string owner;
      if (auto it = schema.owner.find(other); it != schema.owner.end()) {
        owner = it->second;
      } else {
        auto lists = [&](const ServicePlan& s) {
          return std::find(s.tables.begin(), s.tables.end(), other) != s.tables.end();
        };
        if (auto it = std::find_if(arch.services.begin(), arch.services.end(), lists); it != arch.services.end()) {
          owner = it->nodeId;
        }
      }
      return isIssuer(owner) ? std::string() : owner;
    };
    for (const auto& col : entity.columns) {
      if (col.references.empty()) continue;
      if (auto owner = domainOwnerOf(col.references.substr(0, col.references.find('.'))); !owner.empty()) return owner;
    }
    if (component) {
      for (const auto& dep : component->dependsOn) {
        if (const auto* s = arch.findById(dep); s && !s->issuesTokens) return s->nodeId;
      }
    }
    std::stringstream words(table);
    for (std::string word; std::getline(words, word, '_');) {
      if (word.empty()) continue;
      if (auto owner = domainOwnerOf(codegen::tableNameFor(word)); !owner.empty()) return owner;
    }
    for (const auto& s : arch.services) {
      if (!s.issuesTokens) return s.nodeId;
    }
    return arch.services.empty() ? "core-service" : arch.services.front().nodeId;
  }

  const AgentEnvironment& env_;
  std::map<std::string, std::pair<const Component*, const Entity*>> tables_;
};

}  // namespace

std::unique_ptr<executor::Agent> makeDatabaseAgent(const AgentEnvironment& env) {
  return std::make_unique<DatabaseAgent>(env);
}

}  // namespace ymy::agents
