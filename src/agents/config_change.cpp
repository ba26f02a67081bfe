#include "agents/config_change.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "intent/text.hpp"

namespace ymy::agents {
namespace {

enum class Kind { kDatabase, kCache, kQueue, kSearch, kProtocol };

struct Technology {
  std::string_view word;  // one token, as intent::tokenize writes it
  std::string_view name;  // how configs name it
  Kind kind;
};

// clang-format off
constexpr Technology kTechnologies[] = {
    {"postgres", "PostgreSQL", Kind::kDatabase},  {"postgresql", "PostgreSQL", Kind::kDatabase},
    {"mysql", "MySQL", Kind::kDatabase},          {"mariadb", "MariaDB", Kind::kDatabase},
    {"mongodb", "MongoDB", Kind::kDatabase},      {"mongo", "MongoDB", Kind::kDatabase},
    {"dynamodb", "DynamoDB", Kind::kDatabase},    {"cassandra", "Cassandra", Kind::kDatabase},
    {"cockroachdb", "CockroachDB", Kind::kDatabase}, {"sqlite", "SQLite", Kind::kDatabase},
    {"aurora", "Amazon Aurora", Kind::kDatabase},
    {"redis", "Redis", Kind::kCache},             {"valkey", "Valkey", Kind::kCache},
    {"memcached", "Memcached", Kind::kCache},     {"memcache", "Memcached", Kind::kCache},
    {"kafka", "Kafka", Kind::kQueue},             {"rabbitmq", "RabbitMQ", Kind::kQueue},
    {"sqs", "Amazon SQS", Kind::kQueue},          {"nats", "NATS", Kind::kQueue},
    {"kinesis", "Amazon Kinesis", Kind::kQueue},  {"activemq", "ActiveMQ", Kind::kQueue},
    {"elasticsearch", "Elasticsearch", Kind::kSearch}, {"opensearch", "OpenSearch", Kind::kSearch},
    {"meilisearch", "Meilisearch", Kind::kSearch}, {"solr", "Solr", Kind::kSearch},
    {"grpc", "gRPC", Kind::kProtocol},            {"graphql", "GraphQL", Kind::kProtocol},
    {"websocket", "WebSocket", Kind::kProtocol},  {"websockets", "WebSocket", Kind::kProtocol},
};
// clang-format on

// Not "nodes": "a 3-node Redis cluster for sessions" counts the cluster's
// nodes, not the service's instances.
constexpr std::string_view kCountWords[] = {"instance", "instances", "replica",    "replicas", "pod",    "pods",
                                            "server",   "servers",   "container",  "containers", "copies", "worker",
                                            "workers"};

const Technology* technology(std::string_view word) {
  for (const auto& t : kTechnologies) {
    if (t.word == word) return &t;
  }
  return nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool any(std::string_view word, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// The technology of `kind` a config value names, with where it is written.
struct Current {
  std::string key;
  std::string value;
  const Technology* technology;
};
std::optional<Current> currentOf(const CanvasNode& node, Kind kind) {
  for (const auto& [key, value] : node.config) {
    if (!value.is_string()) continue;
    const std::string text = lower(value.get_string());
    for (const auto& t : kTechnologies) {
      if (t.kind == kind && text.find(t.word) != std::string::npos) {
        return Current{std::string(key), std::string(value.get_string()), &t};
      }
    }
  }
  return std::nullopt;
}

std::string defaultKey(const CanvasNode& node, Kind kind, bool aboutSessions) {
  if (node.type != "service" && node.type != "gateway") return kind == Kind::kProtocol ? "protocol" : "engine";
  switch (kind) {
    case Kind::kDatabase: return "database";
    case Kind::kCache: return aboutSessions ? "session_store" : "cache";
    case Kind::kQueue: return "queue";
    case Kind::kSearch: return "search";
    case Kind::kProtocol: return "protocol";
  }
  return "engine";
}

}  // namespace

boost::json::object requestedConfigChanges(std::string_view request, const CanvasNode& node) {
  boost::json::object changes;
  const auto tokens = intent::tokenize(request);

  // "to 4 instances", "3 read replicas": on a database node replicas are
  // read replicas beside the primary; elsewhere every count is instances.
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    if (tokens[i].kind != intent::Token::Kind::kNumber || tokens[i].percentSign) continue;
    const double n = tokens[i].value;
    if (n < 0 || n > 10'000 || n != static_cast<double>(static_cast<long long>(n))) continue;
    std::size_t w = i + 1;
    if (tokens[w].text == "read" && w + 1 < tokens.size()) ++w;
    const auto& word = tokens[w].text;
    if (std::find(std::begin(kCountWords), std::end(kCountWords), word) == std::end(kCountWords)) continue;
    const bool replicas = word.starts_with("replica");
    if (node.type == "database" && (replicas || tokens[w - 1].text == "read")) {
      changes["replicas"] = static_cast<std::int64_t>(n);
    } else if (n >= 1) {
      changes["instances"] = static_cast<std::int64_t>(n);
    }
  }

  // The technology switched to: one the request names that the node does not
  // use yet, preferring the one after "to", "with", "use" ... and never one
  // after "from" or "of" ("instead of MySQL").
  struct Mention {
    std::size_t at;
    const Technology* technology;
  };
  std::vector<Mention> mentions;
  bool aboutSessions = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].stem == "session") aboutSessions = true;
    if (const auto* t = technology(tokens[i].text)) mentions.push_back({i, t});
  }
  auto follows = [&](std::size_t at, std::initializer_list<std::string_view> words) {
    for (std::size_t back = 1; back <= 2 && back <= at; ++back) {
      if (any(tokens[at - back].text, words)) return true;
    }
    return false;
  };
  const Mention* chosen = nullptr;
  for (const auto& m : mentions) {
    const auto current = currentOf(node, m.technology->kind);
    if (current && current->technology->name == m.technology->name) continue;
    if (follows(m.at, {"from", "of"})) continue;
    const bool preferred = follows(m.at, {"to", "with", "into", "onto", "use", "using", "by", "for"});
    if (!chosen || preferred) chosen = &m;
    if (preferred) break;
  }
  if (chosen) {
    const auto* t = chosen->technology;
    if (auto current = currentOf(node, t->kind)) {
      // "MySQL with 2 read replicas" -> "PostgreSQL with 2 read replicas"
      std::string value = current->value;
      const std::string text = lower(value);
      const auto at = text.find(current->technology->word);
      std::size_t end = at + current->technology->word.size();
      while (end < value.size() && std::isalnum(static_cast<unsigned char>(value[end]))) ++end;
      value.replace(at, end - at, t->name);
      changes[current->key] = value;
    } else {
      changes[defaultKey(node, t->kind, aboutSessions)] = t->name;
    }
  }
  return changes;
}

}  // namespace ymy::agents
