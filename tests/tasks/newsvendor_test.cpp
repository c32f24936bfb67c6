// The newsvendor task has a known answer: its SAA decision is the sample τ-expectile, for Gaussian
// demand the optimal order is μ + σ·e_τ, and on the task's own data the oracle that knows
// p(y | x) reaches the closed-form expected cost while a decision blind to x does worse.
#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/core/seed.h"
#include "diffdfl/data/newsvendor.h"
#include "diffdfl/tasks/newsvendor.h"
#include "diffdfl/tasks/task.h"
#include "opt/opt_test_util.h"

namespace diffdfl::tasks {
namespace {

/// The τ-expectile of the values by bisection: an independent formulation of the SAA solution.
double sample_expectile(const torch::Tensor& v, double tau) {
  double lo = v.min().item<double>(), hi = v.max().item<double>();
  for (int it = 0; it < 200; ++it) {
    const double e = 0.5 * (lo + hi);
    const double g = tau * torch::relu(v - e).sum().item<double>() -
                     (1 - tau) * torch::relu(e - v).sum().item<double>();
    (g > 0 ? lo : hi) = e;
  }
  return 0.5 * (lo + hi);
}

TEST(NewsvendorTask, ClosedFormsAgreeWithQuadrature) {
  const NewsvendorCosts c;  // τ = 0.8
  EXPECT_NEAR(standard_normal_expectile(0.5), 0.0, 1e-12);
  EXPECT_NEAR(standard_normal_expectile(0.2), -standard_normal_expectile(0.8), 1e-12);
  // E f(y, z) by the trapezoid rule over the normal density.
  const auto quad = [&](double mu, double sigma, double z) {
    double total = 0;
    const int n = 40001;
    const double lo = mu - 12 * sigma, h = 24 * sigma / (n - 1);
    for (int k = 0; k < n; ++k) {
      const double y = lo + h * k;
      const double d = y - z;
      const double f = 0.5 * c.under * std::pow(std::max(d, 0.0), 2) +
                       0.5 * c.over * std::pow(std::max(-d, 0.0), 2);
      const double pdf =
          std::exp(-0.5 * std::pow((y - mu) / sigma, 2)) / (sigma * std::sqrt(2 * M_PI));
      total += (k == 0 || k == n - 1 ? 0.5 : 1.0) * f * pdf;
    }
    return total * h;
  };
  for (double z : {7.0, 10.0, 11.3, 14.0}) {
    EXPECT_NEAR(gaussian_expected_cost(10.0, 2.0, z, c), quad(10.0, 2.0, z), 1e-8) << z;
  }
  // The optimal order is the minimiser.
  const double zs = gaussian_optimal_order(10.0, 2.0, c);
  EXPECT_GT(zs, 10.0);  // τ > ½: order above the mean
  for (double dz : {-0.01, 0.01}) {
    EXPECT_LT(gaussian_expected_cost(10.0, 2.0, zs, c),
              gaussian_expected_cost(10.0, 2.0, zs + dz, c));
  }
}

TEST(NewsvendorTask, TheLayerSolvesTheSampleExpectileExactly) {
  const TaskProblem p = make_problem("newsvendor", {}, {}, 3);
  const auto gen = make_generator(11);
  const torch::Tensor y = 10.0 + 2.0 * torch::randn({4, 400, 3}, gen, torch::kDouble);
  const opt::Solution sol = p.problem.layer->solve(y);
  ASSERT_EQ(sol.failures(), 0);
  const double tau = NewsvendorCosts{}.tau();
  for (int64_t b = 0; b < 4; ++b) {
    for (int64_t j = 0; j < 3; ++j) {
      EXPECT_NEAR(sol.z[b][j].item<double>(), sample_expectile(y.select(0, b).select(1, j), tau),
                  1e-7);
    }
  }
}

TEST(NewsvendorTask, ManySamplesGiveTheGaussianOptimalOrder) {
  const TaskProblem p = make_problem("newsvendor", {}, {}, 2);
  const auto gen = make_generator(12);
  // Two contexts, μ = (8, 12), σ = 1.5, M = 8000: the sample expectile's SE is about 0.02.
  const torch::Tensor mu = torch::tensor({8.0, 12.0}, torch::kDouble).view({2, 1, 1});
  const torch::Tensor y = mu + 1.5 * torch::randn({2, 8000, 2}, gen, torch::kDouble);
  const torch::Tensor z = p.problem.layer->solve(y).z;
  for (int64_t b = 0; b < 2; ++b) {
    const double expected = gaussian_optimal_order(mu[b].item<double>(), 1.5, NewsvendorCosts{});
    EXPECT_NEAR(z[b][0].item<double>(), expected, 0.1);
    EXPECT_NEAR(z[b][1].item<double>(), expected, 0.1);
  }
}

TEST(NewsvendorTask, SampleGradientMatchesCentralDifferences) {
  const TaskProblem p = make_problem("newsvendor", {}, {}, 2);
  const auto gen = make_generator(13);
  const torch::Tensor y0 = 10.0 + torch::randn({1, 6, 2}, gen, torch::kDouble);
  const torch::Tensor w = torch::tensor({{0.7, -1.3}}, torch::kDouble);
  const auto loss = [&](const torch::Tensor& y) {
    return (p.problem.layer->solve(y.view({1, 6, 2})).z * w).sum().item<double>();
  };
  const torch::Tensor y = y0.clone().requires_grad_(true);
  (p.problem.layer->decide(y) * w).sum().backward();
  const torch::Tensor fd = opt::testing::central_differences(loss, y0, 1e-6);
  EXPECT_LT(opt::testing::rel_error(y.grad(), fd), 1e-6) << y.grad() << fd;
}

TEST(NewsvendorTask, TheOracleReachesTheKnownCostAndIgnoringXDoesWorse) {
  DatasetOptions o;
  o.task = "newsvendor";
  const data::Dataset ds = load_dataset(o);
  const TaskProblem p = make_problem("newsvendor", {}, {}, ds.y_dim);
  const NewsvendorCosts c;
  const double sigma = ds.meta["sigma"].get<double>();
  const torch::Tensor mu = data::newsvendor_mean(ds.meta, ds.test.x);
  const torch::Tensor oracle = mu + sigma * standard_normal_expectile(c.tau());
  const torch::Tensor cost = p.problem.cost(ds.test.y, oracle);  // [N], summed over products
  const double expected =
      ds.y_dim *
      gaussian_expected_cost(0.0, sigma, oracle[0][0].item<double>() - mu[0][0].item<double>(), c);
  const double se = cost.std().item<double>() / std::sqrt(static_cast<double>(cost.size(0)));
  EXPECT_NEAR(cost.mean().item<double>(), expected, 4 * se);
  // One order for every context (the training demand's expectile): blind to x, clearly worse.
  torch::Tensor blind = torch::empty({1, ds.y_dim}, torch::kDouble);
  for (int64_t j = 0; j < ds.y_dim; ++j)
    blind[0][j] = sample_expectile(ds.train.y.select(1, j), c.tau());
  const double blind_cost =
      p.problem.cost(ds.test.y, blind.expand_as(ds.test.y)).mean().item<double>();
  EXPECT_GT(blind_cost, expected + 6 * se);
}

}  // namespace
}  // namespace diffdfl::tasks
