// What a MODIFY request sets on a node: counts and technology switches, in
// phrasings beyond the ones the code names.

#include "agents/config_change.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

namespace ymy::agents {
namespace {

CanvasNode node(std::string id, std::string type, boost::json::object config) {
  return CanvasNode{std::move(id), std::move(type), "", {}, std::move(config)};
}

TEST(ConfigChange, CountsAndTechnologySwitches) {
  struct Case {
    const char* request;
    CanvasNode node;
    boost::json::object expected;
  };
  for (const auto& c : std::vector<Case>{
           {"set the auth service to 4 instances", node("auth", "service", {{"instances", 1}}), {{"instances", 4}}},
           {"run 6 pods of checkout", node("checkout", "service", {}), {{"instances", 6}}},
           {"give the primary db 2 read replicas", node("db", "database", {{"replicas", 0}}), {{"replicas", 2}}},
           {"switch the database from MySQL to PostgreSQL", node("db", "database", {{"engine", "MySQL"}}),
            {{"engine", "PostgreSQL"}}},
           {"move users off postgres and onto cassandra", node("db", "database", {{"engine", "PostgreSQL"}}),
            {{"engine", "Cassandra"}}},
           {"replace the Kafka queue with AWS SQS", node("mq", "queue", {{"engine", "Kafka"}}), {{"engine", "Amazon SQS"}}},
           {"use MongoDB instead of MySQL for orders",
            node("orders", "service", {{"database", "MySQL with 2 read replicas"}}),
            {{"database", "MongoDB with 2 read replicas"}}},
           {"keep auth sessions in redis", node("auth", "service", {{"session_store", "memory"}}),
            {{"session_store", "Redis"}}},
           {"move auth sessions to a 3 node redis cluster", node("auth", "service", {{"instances", 2}}),
            {{"session_store", "Redis"}}},
           {"use gRPC between cart and product", node("cart", "service", {}), {{"protocol", "gRPC"}}},
           // Nothing stated: nothing set. A technology the node has already is no switch.
           {"fix the jwt expiry bug", node("auth", "service", {{"instances", 2}}), {}},
           {"tune the PostgreSQL indexes", node("db", "database", {{"engine", "PostgreSQL"}}), {}},
           {"p99 under 200 ms with 99.9% availability", node("api", "service", {}), {}},
       }) {
    EXPECT_EQ(requestedConfigChanges(c.request, c.node), c.expected)
        << c.request << " -> " << boost::json::serialize(requestedConfigChanges(c.request, c.node));
  }
}

}  // namespace
}  // namespace ymy::agents
