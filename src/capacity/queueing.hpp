#pragma once
// The queueing check: each tier of a design is an M/M/c queue (Poisson
// arrivals, exponential service times, c identical servers, first come first
// served). From it come utilisation, the probability of waiting (Erlang C),
// mean and percentile response times, and the largest load a design supports
// while every tier stays under the target utilisation (and the p99 target).
//
// Pure functions of their arguments; no state, safe from any thread.

#include <optional>
#include <string>
#include <vector>

namespace ymy::capacity {

// Erlang B: probability that all `servers` are busy in a loss system offered
// `offeredErlangs` (= arrival rate / service rate per server). Computed by the
// recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), which stays in [0, 1]
// at every step and is stable for thousands of servers.
double erlangB(int servers, double offeredErlangs);

// Erlang C: probability that an arrival waits, C = B / (1 - rho (1 - B)) with
// rho = a / c. Returns 1 when the queue is unstable (a >= c).
double erlangC(int servers, double offeredErlangs);

struct QueueStats {
  double utilisation = 0;     // rho = lambda / (c mu)
  bool stable = false;        // rho < 1; when false every time below is +infinity
  double probWait = 0;        // Erlang C
  double meanWaitMs = 0;      // C / (c mu - lambda)
  double meanResponseMs = 0;  // mean wait + 1 / mu
  double p50Ms = 0;           // response time (wait + service) percentiles
  double p99Ms = 0;
};

// One M/M/c queue. Rates are per second, times in the result in milliseconds.
// Requires servers >= 1, serviceRatePerServer > 0, arrivalRps >= 0.
QueueStats mmc(double arrivalRps, double serviceRatePerServer, int servers);

// Quantile q in (0, 1) of the M/M/c response time R = W + S, in milliseconds.
// W is 0 with probability 1 - C and otherwise exponential with rate
// theta = c mu - lambda (P(W > t) = C e^{-theta t}); S is exponential with rate
// mu. P(R > t) has a closed form; the quantile is found by bisection on it.
double responseQuantileMs(double arrivalRps, double serviceRatePerServer, int servers, double q);

// One tier of a design, as the check sees it.
struct TierLoad {
  std::string tier;        // "app", "database_replicas", ...
  int units = 1;           // instances, nodes or replicas
  int serversPerUnit = 1;  // parallel servers in one unit
  double unitRps = 0;      // work items one unit completes per second when saturated
  double perRequest = 1;   // work items per request arriving at the design (0: the tier gets no work)
  double visitShare = 1;   // share of requests whose response waits on this tier (0: asynchronous work)

  double offeredRps(double requestRps) const { return requestRps * perRequest; }
  // Requests per second the tier supports at `utilisation` (+infinity without work).
  double requestRpsAt(double utilisation) const;
};

struct TierCheck {
  std::string tier;
  double offeredRps = 0;  // work items per second arriving at the tier
  QueueStats stats;
  double serviceOnlyP99Ms = 0;  // p99 with no waiting: what more units cannot remove
};

// Percentiles of a request's response time through the tiers: the sum of the
// tiers' response times, each tier included with probability visitShare,
// independently. Each tier's response time has the Laplace transform
// mu/(mu+s) * (1 - C + C theta/(theta+s)); the path's is the product of
// (1 - p + p L(s)), and its distribution function is recovered by numerical
// inversion (Abate and Whitt's Euler algorithm), then bisected for the
// percentile. +infinity when a visited tier is unstable.
double pathQuantileMs(const std::vector<TierLoad>& tiers, double requestRps, double q);

struct DesignCheck {
  double requestRps = 0;
  std::vector<TierCheck> tiers;
  double pathP50Ms = 0;  // a request's response time through the design (pathQuantileMs)
  double pathP99Ms = 0;
  bool withinUtilisation = false;  // every tier at or under the target utilisation
  bool withinLatency = false;      // pathP99Ms at or under the target (true without one)

  bool passes() const { return withinUtilisation && withinLatency; }
};

DesignCheck checkDesign(const std::vector<TierLoad>& tiers, double requestRps, double targetUtilisation,
                        std::optional<double> p99TargetMs);

struct SupportedLoad {
  double requestRps = 0;     // the largest load at which the design passes
  std::string limitingTier;  // the tier that stops it from going higher
  std::string limitedBy;     // "utilisation" or "p99"
};

// The largest request rate at which checkDesign passes. Utilisation is linear
// in the load, so its bound is exact: min over tiers of requestRpsAt(target).
// The p99 bound is then found by bisection below it (the path p99 grows with
// the load). 0 when not even a trickle passes (a p99 target below the service
// times alone).
SupportedLoad supportedLoad(const std::vector<TierLoad>& tiers, double targetUtilisation,
                            std::optional<double> p99TargetMs);

}  // namespace ymy::capacity
