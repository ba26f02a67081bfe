#pragma once
// Shared by the llm tests: the plan request the fixtures were recorded for.

#include <boost/json.hpp>

#include "llm/fake_http_server.hpp"
#include "llm/provider.hpp"

namespace ymy::llm::testing {

inline constexpr const char* kTestKey = "sk-test-SECRET-0123456789abcdef";

inline boost::json::value planSchema() { return boost::json::parse(fixture("plan_schema.json")); }

inline ChatRequest planRequest() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages = {{"system", "You plan software design work as a DAG of tasks. Answer with JSON only."},
                {"user",
                 "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment "
                 "processing"}};
  r.schema = planSchema();
  r.schemaName = "plan";
  r.temperature = 0.2;
  r.maxTokens = 2048;
  return r;
}

}  // namespace ymy::llm::testing
