// The density scores against distributions whose answers are known in closed form: the CRPS of a
// Gaussian, the energy score of a standard normal at its mean, the coverage of central intervals
// of a normal for a calibrated and a too-narrow model, and the fair estimators' unbiasedness at
// small M.
#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/dfl/scoring_rules.h"

namespace diffdfl::dfl {
namespace {

double normal_pdf(double z) {
  return std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
}
double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

/// CRPS of N(mu, sigma²) at y (Gneiting & Raftery 2007).
double gaussian_crps(double mu, double sigma, double y) {
  const double z = (y - mu) / sigma;
  return sigma * (z * (2 * normal_cdf(z) - 1) + 2 * normal_pdf(z) - 1 / std::sqrt(M_PI));
}

TEST(Crps, MatchesTheGaussianClosedFormAndIsUnbiasedAtSmallM) {
  torch::manual_seed(1);
  const int64_t B = 4000, n = 3;
  const torch::Tensor mu = torch::randn({B, 1, n}, torch::kDouble);
  const torch::Tensor sigma = torch::rand({B, 1, n}, torch::kDouble) + 0.5;
  const torch::Tensor y = torch::randn({B, n}, torch::kDouble) * 1.5;
  double exact = 0;
  for (int64_t b = 0; b < B; ++b) {
    double row = 0;
    for (int64_t d = 0; d < n; ++d) {
      row += gaussian_crps(mu[b][0][d].item<double>(), sigma[b][0][d].item<double>(),
                           y[b][d].item<double>());
    }
    exact += row / static_cast<double>(n);
  }
  exact /= static_cast<double>(B);
  // The fair estimator is unbiased for every M ≥ 2: M = 4 and M = 64 both match on average.
  for (int64_t M : {4, 64}) {
    const torch::Tensor s = mu + sigma * torch::randn({B, M, n}, torch::kDouble);
    const torch::Tensor c = crps(s, y);
    ASSERT_EQ(c.sizes(), torch::IntArrayRef({B}));
    const double se = c.std().item<double>() / std::sqrt(static_cast<double>(B));
    EXPECT_NEAR(c.mean().item<double>(), exact, 4 * se) << "M=" << M;
  }
}

TEST(Crps, OfOneSampleIsTheAbsoluteErrorAndOfAnExactMatchIsZero) {
  const torch::Tensor s = torch::tensor({{{1.0, -2.0}}}, torch::kDouble);
  const torch::Tensor y = torch::tensor({{0.5, 1.0}}, torch::kDouble);
  EXPECT_NEAR(crps(s, y).item<double>(), (0.5 + 3.0) / 2, 1e-15);
  // A point mass at y scores 0 (all samples equal the truth).
  const torch::Tensor same = torch::full({1, 5, 2}, 0.25, torch::kDouble);
  EXPECT_NEAR(crps(same, torch::full({1, 2}, 0.25, torch::kDouble)).item<double>(), 0, 1e-15);
  // By hand: samples {0, 1, 3}, y = 1: mean|x − y| = 1, pair sum = 1 + 3 + 2 = 6, 6/(3·2) = 1.
  const torch::Tensor h = torch::tensor({{{3.0}, {0.0}, {1.0}}}, torch::kDouble);
  EXPECT_NEAR(crps(h, torch::tensor({{1.0}}, torch::kDouble)).item<double>(), 0.0, 1e-15);
}

TEST(EnergyScore, EqualsCrpsInOneDimensionAndMatchesTheStandardNormal) {
  torch::manual_seed(2);
  const torch::Tensor s1 = torch::randn({50, 7, 1}, torch::kDouble);
  const torch::Tensor y1 = torch::randn({50, 1}, torch::kDouble);
  EXPECT_LT((energy_score(s1, y1) - crps(s1, y1)).abs().max().item<double>(), 1e-12);
  // N(0, I_d) scored at its mean: ES = E‖X‖ − ½E‖X − X'‖ = E‖X‖(1 − 1/√2), with
  // E‖X‖ = √2 Γ((d+1)/2) / Γ(d/2).
  const int64_t d = 5, B = 3000, M = 8;
  const double mean_norm =
      std::sqrt(2.0) * std::exp(std::lgamma((d + 1) / 2.0) - std::lgamma(d / 2.0));
  const double exact = mean_norm * (1 - 1 / std::sqrt(2.0));
  const torch::Tensor es =
      energy_score(torch::randn({B, M, d}, torch::kDouble), torch::zeros({B, d}, torch::kDouble));
  const double se = es.std().item<double>() / std::sqrt(static_cast<double>(B));
  EXPECT_NEAR(es.mean().item<double>(), exact, 4 * se);
}

TEST(IntervalCoverage, IsTheLevelWhenCalibratedAndLowerWhenTooNarrow) {
  torch::manual_seed(3);
  const int64_t B = 2000, M = 400, n = 2;
  const torch::Tensor s = torch::randn({B, M, n}, torch::kDouble);
  const torch::Tensor calibrated = interval_coverage(s, torch::randn({B, n}, torch::kDouble), 0.9);
  // Sample quantiles of M = 400 draws are themselves noisy, which widens the SE a little.
  EXPECT_NEAR(calibrated.mean().item<double>(), 0.9, 0.015);
  // y ~ N(0, 4) against a N(0, 1) model: P(|2Z| ≤ 1.6449) = 2Φ(0.8224) − 1 = 0.5891.
  const torch::Tensor narrow = interval_coverage(s, 2 * torch::randn({B, n}, torch::kDouble), 0.9);
  EXPECT_NEAR(narrow.mean().item<double>(), 2 * normal_cdf(1.6448536 / 2) - 1, 0.02);
  EXPECT_THROW(interval_coverage(s, torch::zeros({B, n}), 1.0), InvalidArgument);
}

TEST(OutsideFraction, CountsSamplesBeyondTheWidenedTrainingRange) {
  const TargetRange r = TargetRange::of(torch::tensor({{0.0, 10.0}, {2.0, 20.0}}, torch::kDouble));
  EXPECT_TRUE(torch::equal(r.lo, torch::tensor({0.0, 10.0}, torch::kDouble)));
  // Widened ranges: [−1, 3] and [5, 25].
  const torch::Tensor s =
      torch::tensor({{{-0.9, 24.0}, {3.5, 4.0}}, {{-2.0, 26.0}, {0.0, 10.0}}}, torch::kDouble);
  const torch::Tensor f = outside_fraction(s, r);
  EXPECT_NEAR(f[0].item<double>(), 2.0 / 4.0, 1e-15);
  EXPECT_NEAR(f[1].item<double>(), 2.0 / 4.0, 1e-15);
  EXPECT_THROW(outside_fraction(torch::zeros({1, 2, 3}), r), InvalidArgument);
}

TEST(ScoringRules, ShapesAreChecked) {
  EXPECT_THROW(crps(torch::zeros({2, 3}), torch::zeros({2, 3})), InvalidArgument);
  EXPECT_THROW(energy_score(torch::zeros({2, 3, 4}), torch::zeros({2, 3})), InvalidArgument);
  EXPECT_THROW(crps(torch::zeros({2, 3, 4}), torch::zeros({3, 4})), InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::dfl
