#include "intent/params.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace ymy::intent {
namespace {

struct Case {
  const char* text;
  std::optional<double> rps, latencyMs, users, connections, availability, percentile;
};

void PrintTo(const Case& c, std::ostream* os) { *os << '"' << c.text << '"'; }

class ParamsTest : public testing::TestWithParam<Case> {};

TEST_P(ParamsTest, Extracts) {
  const auto& c = GetParam();
  auto p = extractParams(tokenize(c.text));
  EXPECT_EQ(p.rps, c.rps) << c.text;
  EXPECT_EQ(p.latencyMs, c.latencyMs) << c.text;
  EXPECT_EQ(p.users, c.users) << c.text;
  EXPECT_EQ(p.connections, c.connections) << c.text;
  EXPECT_EQ(p.availability, c.availability) << c.text;
  EXPECT_EQ(p.percentile, c.percentile) << c.text;
}

constexpr std::nullopt_t no = std::nullopt;

INSTANTIATE_TEST_SUITE_P(
    Phrasings, ParamsTest,
    testing::Values(
        Case{"make it scalable to 5000 RPS", 5000, no, no, no, no, no},
        Case{"handle 5k req/s", 5000, no, no, no, no, no},
        Case{"5,000 requests per second at peak", 5000, no, no, no, no, no},
        Case{"12k QPS on search", 12000, no, no, no, no, no},
        Case{"300k requests per minute", 5000, no, no, no, no, no},
        Case{"1.2M orders per hour", 1.2e6 / 3600, no, no, no, no, no},
        Case{"8640000 messages a day", 100, no, no, no, no, no},
        Case{"2,500 api calls/sec", 2500, no, no, no, no, no},
        Case{"throughput of 900", 900, no, no, no, no, no},
        Case{"10 million users", no, no, 1e7, no, no, no},
        Case{"2M DAU", no, no, 2e6, no, no, no},
        Case{"50k daily active users", no, no, 5e4, no, no, no},
        Case{"p99 under 200ms", no, 200, no, no, no, 99},
        Case{"keep the 95th percentile below 1.5 seconds latency", no, 1500, no, no, no, 95},
        Case{"respond within 2 seconds", no, 2000, no, no, no, no},
        Case{"50k concurrent websocket connections", no, no, no, 5e4, no, no},
        Case{"100,000 concurrent connections", no, no, no, 1e5, no, no},
        Case{"99.99% uptime", no, no, no, no, 99.99, no},
        Case{"an SLA of 99.9 percent", no, no, no, no, 99.9, no},
        Case{"10 million users and 20k RPS with p95 under 300 ms", 20000, 300, 1e7, no, no, 95},
        Case{"add 3 replicas to the cart", no, no, no, no, no, no},
        // Anything counted per a period is a rate; amounts of data are not.
        Case{"the shortener takes 50k redirects per second", 50000, no, no, no, no, no},
        Case{"answer 20k bid requests per second", 20000, no, no, no, no, no},
        Case{"ingest 2 GB per day of logs", no, no, no, no, no, no},
        Case{"sensors report every 5 seconds", no, no, no, no, no, no},
        Case{"sessions expire after 30 minutes", no, no, no, no, no, no},
        Case{"scale to 1M concurrent users", no, no, no, 1e6, no, no},
        Case{"200k players online at the same time", no, no, 2e5, no, no, no},
        Case{"cut costs by 30%", no, no, no, no, no, no}),
    [](const testing::TestParamInfo<Case>& info) { return "case" + std::to_string(info.index); });

}  // namespace
}  // namespace ymy::intent
