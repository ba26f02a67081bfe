#include "capacity/queueing.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>

namespace ymy::capacity {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// P(R > t) for R = W + S (see responseQuantileMs), t in seconds.
double responseSurvival(double t, double probWait, double mu, double theta) {
  const double service = std::exp(-mu * t);
  // P(X + S > t) for X ~ Exp(theta), S ~ Exp(mu): (theta e^{-mu t} - mu e^{-theta t}) / (theta - mu),
  // which tends to (1 + mu t) e^{-mu t} as theta -> mu; use the limit where the
  // difference would cancel catastrophically.
  double waitedThenServed;
  if (std::abs(theta - mu) <= 1e-7 * mu) {
    waitedThenServed = (1 + mu * t) * service;
  } else {
    waitedThenServed = (theta * service - mu * std::exp(-theta * t)) / (theta - mu);
  }
  return (1 - probWait) * service + probWait * std::clamp(waitedThenServed, 0.0, 1.0);
}

// A tier as it enters a request's path: visited with probability `visit`;
// service rate mu and waiting rate theta per millisecond, probability of
// waiting C.
struct PathTier {
  double visit = 1;
  double mu = 1;
  double theta = 1;
  double probWait = 0;
};

// Abate and Whitt's Euler algorithm ("A unified framework for numerically
// inverting Laplace transforms", 2006): f(t) ~ 10^{M/3}/t sum_k eta_k
// Re fhat(beta_k / t). With M = 14 it gives about 8 significant digits in
// double precision, plenty for a percentile.
class EulerInversion {
 public:
  EulerInversion() {
    constexpr int m = kM;
    std::array<double, 2 * m + 1> xi{};
    xi[0] = 0.5;
    for (int k = 1; k <= m; ++k) xi[k] = 1;
    xi[2 * m] = std::pow(2.0, -m);
    double binomial = 1;
    for (int k = 1; k < m; ++k) {
      binomial = binomial * (m - k + 1) / k;
      xi[2 * m - k] = xi[2 * m - k + 1] + std::pow(2.0, -m) * binomial;
    }
    for (int k = 0; k <= 2 * m; ++k) {
      eta_[k] = (k % 2 ? -1 : 1) * xi[k];
      beta_[k] = {m * std::log(10.0) / 3, std::numbers::pi * k};
    }
  }

  template <class Transform>
  double operator()(const Transform& fhat, double t) const {
    double sum = 0;
    for (std::size_t k = 0; k < eta_.size(); ++k) sum += eta_[k] * std::real(fhat(beta_[k] / t));
    return std::pow(10.0, kM / 3.0) / t * sum;
  }

 private:
  static constexpr int kM = 14;
  std::array<double, 2 * kM + 1> eta_{};
  std::array<std::complex<double>, 2 * kM + 1> beta_{};
};

// P(path response <= t), t in milliseconds.
double pathCdf(const std::vector<PathTier>& tiers, double t) {
  static const EulerInversion invert;
  if (t <= 0) return 0;
  auto cdfTransform = [&](std::complex<double> s) {
    std::complex<double> product = 1;
    for (const auto& tier : tiers) {
      auto response = tier.mu / (tier.mu + s) * ((1 - tier.probWait) + tier.probWait * tier.theta / (tier.theta + s));
      product *= (1 - tier.visit) + tier.visit * response;
    }
    return product / s;
  };
  return invert(cdfTransform, t);
}

double pathQuantile(const std::vector<PathTier>& tiers, double q, double guessMs) {
  if (tiers.empty()) return 0;
  double lo = 0;
  double hi = std::max(guessMs, 1e-6);
  for (int i = 0; i < 200 && pathCdf(tiers, hi) < q; ++i) hi *= 2;
  for (int i = 0; i < 60 && hi - lo > 1e-9 * hi; ++i) {
    double mid = (lo + hi) / 2;
    (pathCdf(tiers, mid) < q ? lo : hi) = mid;
  }
  return hi;
}

// The tiers on a request's path at a load; false when a visited tier is unstable.
bool pathTiers(const std::vector<TierLoad>& tiers, const std::vector<QueueStats>& stats, double requestRps,
               std::vector<PathTier>& out, double& guessMs) {
  guessMs = 0;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const auto& tier = tiers[i];
    if (tier.visitShare <= 0) continue;
    if (!stats[i].stable) return false;
    const double mu = tier.unitRps / tier.serversPerUnit / 1000.0;
    const double theta = tier.units * tier.serversPerUnit * mu - tier.offeredRps(requestRps) / 1000.0;
    out.push_back({std::min(1.0, tier.visitShare), mu, theta, stats[i].probWait});
    guessMs += stats[i].p99Ms;
  }
  return true;
}

}  // namespace

double erlangB(int servers, double offeredErlangs) {
  assert(servers >= 0 && offeredErlangs >= 0);
  double b = 1.0;
  for (int k = 1; k <= servers; ++k) b = offeredErlangs * b / (k + offeredErlangs * b);
  return b;
}

double erlangC(int servers, double offeredErlangs) {
  assert(servers >= 1);
  const double rho = offeredErlangs / servers;
  if (rho >= 1) return 1.0;
  const double b = erlangB(servers, offeredErlangs);
  return b / (1 - rho * (1 - b));
}

double responseQuantileMs(double arrivalRps, double serviceRatePerServer, int servers, double q) {
  assert(q > 0 && q < 1 && servers >= 1 && serviceRatePerServer > 0);
  const double mu = serviceRatePerServer;
  const double theta = servers * mu - arrivalRps;
  if (theta <= 0) return kInf;
  const double probWait = erlangC(servers, arrivalRps / mu);
  const double tail = 1 - q;
  // Bracket: the response is at most the sum of two exponentials with the
  // slower rate, whose survival at hi is below `tail` once hi is large enough.
  double lo = 0;
  double hi = 1.0 / std::min(mu, theta);
  while (responseSurvival(hi, probWait, mu, theta) > tail) hi *= 2;
  for (int i = 0; i < 100 && hi - lo > 1e-12 * hi; ++i) {
    double mid = (lo + hi) / 2;
    (responseSurvival(mid, probWait, mu, theta) > tail ? lo : hi) = mid;
  }
  return hi * 1000.0;
}

QueueStats mmc(double arrivalRps, double serviceRatePerServer, int servers) {
  assert(servers >= 1 && serviceRatePerServer > 0 && arrivalRps >= 0);
  QueueStats s;
  const double capacity = servers * serviceRatePerServer;
  s.utilisation = arrivalRps / capacity;
  s.stable = s.utilisation < 1;
  if (!s.stable) {
    s.probWait = 1;
    s.meanWaitMs = s.meanResponseMs = s.p50Ms = s.p99Ms = kInf;
    return s;
  }
  s.probWait = erlangC(servers, arrivalRps / serviceRatePerServer);
  s.meanWaitMs = 1000.0 * s.probWait / (capacity - arrivalRps);
  s.meanResponseMs = s.meanWaitMs + 1000.0 / serviceRatePerServer;
  s.p50Ms = responseQuantileMs(arrivalRps, serviceRatePerServer, servers, 0.5);
  s.p99Ms = responseQuantileMs(arrivalRps, serviceRatePerServer, servers, 0.99);
  return s;
}

double TierLoad::requestRpsAt(double utilisation) const {
  if (perRequest <= 0) return kInf;
  return utilisation * units * unitRps / perRequest;
}

double pathQuantileMs(const std::vector<TierLoad>& tiers, double requestRps, double q) {
  assert(q > 0 && q < 1);
  std::vector<QueueStats> stats;
  for (const auto& tier : tiers) {
    stats.push_back(
        mmc(tier.offeredRps(requestRps), tier.unitRps / tier.serversPerUnit, tier.units * tier.serversPerUnit));
  }
  std::vector<PathTier> path;
  double guess = 0;
  if (!pathTiers(tiers, stats, requestRps, path, guess)) return kInf;
  return pathQuantile(path, q, guess);
}

DesignCheck checkDesign(const std::vector<TierLoad>& tiers, double requestRps, double targetUtilisation,
                        std::optional<double> p99TargetMs) {
  DesignCheck check;
  check.requestRps = requestRps;
  check.withinUtilisation = true;
  std::vector<QueueStats> stats;
  for (const auto& tier : tiers) {
    TierCheck t;
    t.tier = tier.tier;
    t.offeredRps = tier.offeredRps(requestRps);
    const int servers = tier.units * tier.serversPerUnit;
    const double mu = tier.unitRps / tier.serversPerUnit;
    t.stats = mmc(t.offeredRps, mu, servers);
    t.serviceOnlyP99Ms = 1000.0 * std::log(100.0) / mu;
    // A small tolerance so a load computed as exactly the target passes.
    if (t.stats.utilisation > targetUtilisation * (1 + 1e-9)) check.withinUtilisation = false;
    stats.push_back(t.stats);
    check.tiers.push_back(std::move(t));
  }
  std::vector<PathTier> path;
  double guess = 0;
  if (pathTiers(tiers, stats, requestRps, path, guess)) {
    check.pathP50Ms = pathQuantile(path, 0.5, guess);
    check.pathP99Ms = pathQuantile(path, 0.99, guess);
  } else {
    check.pathP50Ms = check.pathP99Ms = kInf;
  }
  check.withinLatency = !p99TargetMs || check.pathP99Ms <= *p99TargetMs;
  return check;
}

SupportedLoad supportedLoad(const std::vector<TierLoad>& tiers, double targetUtilisation,
                            std::optional<double> p99TargetMs) {
  SupportedLoad result;
  result.limitedBy = "utilisation";
  double bound = kInf;
  for (const auto& tier : tiers) {
    double rps = tier.requestRpsAt(targetUtilisation);
    if (rps < bound) {
      bound = rps;
      result.limitingTier = tier.tier;
    }
  }
  if (!std::isfinite(bound)) return result;  // no tier gets work: nothing to claim
  result.requestRps = bound;
  if (!p99TargetMs || checkDesign(tiers, bound, targetUtilisation, p99TargetMs).withinLatency) return result;

  // The path p99 rises with the load: bisect for the largest load within the target.
  double lo = 0;
  double hi = bound;
  if (!checkDesign(tiers, 0, targetUtilisation, p99TargetMs).withinLatency) hi = 0;
  for (int i = 0; i < 60 && hi - lo > 1e-6 * bound; ++i) {
    double mid = (lo + hi) / 2;
    (checkDesign(tiers, mid, targetUtilisation, p99TargetMs).withinLatency ? lo : hi) = mid;
  }
  result.requestRps = lo;
  result.limitedBy = "p99";
  // The tier whose queueing adds the most to the p99 just above the supported load.
  auto above = checkDesign(tiers, std::max(hi, lo), targetUtilisation, p99TargetMs);
  double worst = -1;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (tiers[i].visitShare <= 0 || tiers[i].perRequest <= 0) continue;
    const auto& t = above.tiers[i];
    double delay =
        std::min(1.0, tiers[i].visitShare) * (hi > 0 ? t.stats.p99Ms - t.serviceOnlyP99Ms : t.serviceOnlyP99Ms);
    if (delay > worst) {
      worst = delay;
      result.limitingTier = t.tier;
    }
  }
  return result;
}

}  // namespace ymy::capacity
