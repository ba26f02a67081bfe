#include "intent/params.hpp"

#include <set>
#include <string>

namespace ymy::intent {

namespace {

using Kind = Token::Kind;

const std::set<std::string> kRateNouns = {
    "request", "req", "reqs", "query", "queries", "call", "hit", "transaction", "tx", "txn",
    "message", "msg", "msgs", "event", "write", "read", "op", "operation", "order", "payment",
    "login", "upload", "search", "checkout", "api", "job", "task", "txs", "impression", "click",
    "signup", "lookup", "update", "post", "tweet", "notification", "ride", "booking", "trade",
};
// Amounts that are not events, so "<n> <unit> per second" is no request rate.
const std::set<std::string> kNotCounted = {"b", "kb", "mb", "gb", "tb", "pb", "kib", "mib", "gib", "tib", "byte",
                                           "bytes", "bit", "bits", "mbps", "gbps", "usd", "dollar", "dollars", "eur",
                                           "euro", "euros", "cent", "cents", "percent", "x", "time", "times"};
const std::set<std::string> kSecond = {"s", "sec", "secs", "second", "seconds"};
const std::set<std::string> kMinute = {"min", "mins", "minute", "minutes", "m"};
const std::set<std::string> kHour = {"h", "hr", "hrs", "hour", "hours"};
const std::set<std::string> kDay = {"day", "days", "d"};
const std::set<std::string> kUserNouns = {
    "user", "users", "customer", "subscriber", "member", "player", "dau", "mau", "visitor",
    "account", "people", "shopper", "student", "patient", "rider", "driver", "viewer", "listener",
    "learner", "tenant", "buyer", "seller", "reader", "gamer", "employee", "device", "fan",
};
const std::set<std::string> kLatencyWords = {
    "latency", "p50", "p90", "p95", "p99", "p999", "response", "respond", "responds", "under",
    "below", "within", "less", "faster", "fast", "slow", "slower", "ttfb", "delay", "lag", "time",
    "timing", "roundtrip", "sub", "load", "loads", "takes", "take", "returns", "return",
};

bool isWord(const std::vector<Token>& t, std::size_t i, const std::set<std::string>& set) {
  return i < t.size() && t[i].kind == Kind::kWord && (set.count(t[i].text) || set.count(t[i].stem));
}

bool isWord(const std::vector<Token>& t, std::size_t i, std::string_view w) {
  return i < t.size() && t[i].kind == Kind::kWord && (t[i].text == w || t[i].stem == w);
}

// Per-period divisor after a number at `i`, or 0 when no rate unit follows.
// Understands "rps", "qps", "tps", "rpm", "req/s", "requests per second",
// "requests a minute", "calls/min", "orders per hour", "msgs/day".
double rateDivisor(const std::vector<Token>& t, std::size_t i, std::size_t* consumed) {
  std::size_t j = i + 1;
  if (j >= t.size() || t[j].kind != Kind::kWord) return 0;
  const auto& w = t[j].text;
  *consumed = 1;
  if (w == "rps" || w == "qps" || w == "tps" || w == "ops" || w == "mps" || w == "eps" || w == "wps") return 1;
  if (w == "rpm" || w == "qpm" || w == "tpm") return 60;
  if (w == "rph") return 3600;
  // Any one qualifier: "5000 concurrent requests", "5k api calls", "20k bid requests".
  if (!isWord(t, j, kNotCounted) && j + 1 < t.size() && isWord(t, j + 1, kRateNouns)) {
    ++j;
  }
  if (!isWord(t, j, kRateNouns)) {
    // Any other thing counted "per" a period is a rate too ("50k redirects
    // per second", "2k bids per second"), unless it is an amount of data or
    // money, or another period ("5 GB per day", "3 minutes per hour").
    const bool per = isWord(t, j + 1, "per");
    const bool period = isWord(t, j + 2, kSecond) || isWord(t, j + 2, kMinute) || isWord(t, j + 2, kHour) ||
                        isWord(t, j + 2, kDay);
    if (!per || !period || isWord(t, j, kNotCounted) || isWord(t, j, kSecond) || isWord(t, j, kMinute) ||
        isWord(t, j, kHour) || isWord(t, j, kDay)) {
      return 0;
    }
  }
  std::size_t k = j + 1;
  if (isWord(t, k, "per") || isWord(t, k, "a") || isWord(t, k, "each") || isWord(t, k, "every")) ++k;
  if (isWord(t, k, kSecond)) {
    *consumed = k - i;
    return 1;
  }
  if (isWord(t, k, kMinute)) {
    *consumed = k - i;
    return 60;
  }
  if (isWord(t, k, kHour)) {
    *consumed = k - i;
    return 3600;
  }
  if (isWord(t, k, kDay)) {
    *consumed = k - i;
    return 86400;
  }
  return 0;
}

// Milliseconds per unit after a number at `i`, or 0.
double latencyUnit(const std::vector<Token>& t, std::size_t i) {
  std::size_t j = i + 1;
  if (j >= t.size() || t[j].kind != Kind::kWord) return 0;
  const auto& w = t[j].text;
  if (w == "ms" || w == "msec" || w == "millisecond" || w == "milliseconds" || w == "millis") return 1;
  if (kSecond.count(w)) return 1000;
  if (w == "us" || w == "microsecond" || w == "microseconds") return 0.001;
  return 0;
}

bool nearLatencyWord(const std::vector<Token>& t, std::size_t i) {
  std::size_t from = i >= 5 ? i - 5 : 0;
  for (std::size_t k = from; k < std::min(t.size(), i + 4); ++k) {
    if (t[k].kind == Kind::kPercentile) return true;
    if (t[k].kind == Kind::kWord && kLatencyWords.count(t[k].text)) return true;
  }
  return false;
}

}  // namespace

Params extractParams(const std::vector<Token>& t) {
  Params p;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i].kind == Kind::kPercentile) {
      if (!p.percentile) p.percentile = t[i].value;
      continue;
    }
    if (t[i].kind == Kind::kWord) {
      // "99th percentile"
      continue;
    }
    const double v = t[i].value;
    if (t[i].percentSign || isWord(t, i + 1, "percent")) {
      std::size_t from = i >= 3 ? i - 3 : 0;
      bool availability = v >= 90 && v < 100;
      for (std::size_t k = from; k < std::min(t.size(), i + 4); ++k) {
        availability = availability || isWord(t, k, "uptime") || isWord(t, k, "availability") ||
                       isWord(t, k, "sla") || isWord(t, k, "available");
      }
      if (availability && v >= 50 && v < 100 && !p.availability) p.availability = v;
      continue;
    }
    if (isWord(t, i + 1, "th") && isWord(t, i + 2, "percentile")) {
      if (!p.percentile) p.percentile = v;
      continue;
    }
    if (isWord(t, i + 1, "percentile")) {
      if (!p.percentile) p.percentile = v;
      continue;
    }
    std::size_t consumed = 0;
    if (double div = rateDivisor(t, i, &consumed); div > 0) {
      if (!p.rps) p.rps = v / div;
      i += consumed;
      continue;
    }
    if (double unit = latencyUnit(t, i); unit > 0) {
      if (!p.latencyMs && (unit == 1 || nearLatencyWord(t, i))) p.latencyMs = v * unit;
      ++i;
      continue;
    }
    // "10 million users", "2M daily active users", "50k concurrent users".
    std::size_t j = i + 1;
    while (j < t.size() && j <= i + 3 &&
           (isWord(t, j, "daily") || isWord(t, j, "monthly") || isWord(t, j, "active") ||
            isWord(t, j, "concurrent") || isWord(t, j, "registered") || isWord(t, j, "paying") ||
            isWord(t, j, "simultaneous") || isWord(t, j, "online") || isWord(t, j, "connected") ||
            isWord(t, j, "unique") || isWord(t, j, "total") || isWord(t, j, "iot"))) {
      ++j;
    }
    bool concurrent = false;
    for (std::size_t k = i + 1; k < j; ++k) {
      concurrent = concurrent || isWord(t, k, "concurrent") || isWord(t, k, "simultaneous") ||
                   isWord(t, k, "connected");
    }
    if (isWord(t, j, "websocket") || isWord(t, j, "ws") || isWord(t, j, "socket") || isWord(t, j, "tcp") ||
        isWord(t, j, "sse") || isWord(t, j, "live") || isWord(t, j, "open")) {
      if (isWord(t, j + 1, "connection") || isWord(t, j + 1, "session") || isWord(t, j + 1, "client")) {
        if (!p.connections) p.connections = v;
        i = j + 1;
        continue;
      }
    }
    if (isWord(t, j, "connection") || (concurrent && (isWord(t, j, "session") || isWord(t, j, "socket")))) {
      if (!p.connections) p.connections = v;
      i = j;
      continue;
    }
    if (isWord(t, j, kUserNouns)) {
      // Users online at the same moment hold sessions open: they load the
      // system like connections (each asks every few seconds), not like a
      // daily total of which a small share is active at once.
      if (concurrent) {
        if (!p.connections) p.connections = v;
      } else if (!p.users) {
        p.users = v;
      }
      i = j;
      continue;
    }
  }
  // "throughput of 5000" / "target 5k" without a unit: only when nothing else named a rate.
  if (!p.rps) {
    for (std::size_t i = 0; i + 2 < t.size(); ++i) {
      if ((isWord(t, i, "throughput") || isWord(t, i, "rps") || isWord(t, i, "qps")) &&
          (isWord(t, i + 1, "of") || isWord(t, i + 1, "to") || isWord(t, i + 1, "at")) &&
          t[i + 2].kind == Kind::kNumber) {
        p.rps = t[i + 2].value;
        break;
      }
    }
  }
  return p;
}

}  // namespace ymy::intent
