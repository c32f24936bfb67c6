// Power scheduling: the exact DP solver against an independent formulation and closed forms, its
// duals against stationarity, and both gradient modes against central differences.
#include "diffdfl/opt/power.h"

#include <gtest/gtest.h>

#include "diffdfl/core/error.h"
#include "diffdfl/opt/decision_layer.h"
#include "diffdfl/opt/power_dp.h"
#include "opt_test_util.h"

namespace diffdfl::opt {
namespace {

using testing::central_differences;
using testing::f64;
using testing::rel_error;

/// Load-like samples: a daily profile plus noise, in the data's units (≈1–3).
torch::Tensor load_samples(int64_t B, int64_t M, int64_t n, uint64_t seed, double noise = 0.15) {
  auto gen = make_generator(seed);
  const torch::Tensor hours = torch::arange(n, f64());
  const torch::Tensor profile = 1.6 + 0.5 * torch::sin(hours * (2 * M_PI / n));
  const torch::Tensor level = 0.2 * torch::randn({B, 1, 1}, gen, f64());
  return profile + level + noise * torch::randn({B, M, n}, gen, f64());
}

PowerOptions options(double ramp = 0.4, PowerGradient g = PowerGradient::kReference,
                     int64_t n = 24) {
  PowerOptions o;
  o.n = n;
  o.ramp = ramp;
  o.gradient = g;
  return o;
}

/// Per-hour minimiser of the convex piecewise quadratic F_h by enumerating every candidate: each
/// sample (kink) and the stationary point of each quadratic piece.
double per_hour_minimiser(const std::vector<double>& ys, const PowerOptions& o) {
  const auto M = static_cast<double>(ys.size());
  auto F = [&](double z) {
    double v = 0;
    for (const double y : ys)
      v += o.gamma_under * std::max(y - z, 0.0) + o.gamma_over * std::max(z - y, 0.0) +
           0.5 * (z - y) * (z - y);
    return v / M;
  };
  std::vector<double> cand(ys);
  double ybar = 0;
  for (const double y : ys)
    ybar += y;
  ybar /= M;
  for (size_t below = 0; below <= ys.size(); ++below) {
    cand.push_back(ybar - (o.gamma_over * below - o.gamma_under * (ys.size() - below)) / M);
  }
  double best = cand[0];
  for (const double z : cand) {
    if (F(z) < F(best)) best = z;
  }
  return best;
}

TEST(Power, MatchesTheDenseEpigraphQp) {
  const PowerOptions o = options(0.3);
  const PowerProgram prog(o);
  const torch::Tensor y = load_samples(3, 4, 24, 1);
  const Solution dp = prog.solve(y, {});
  const Solution qp = solve_power_epigraph_qp(o, y, {});
  ASSERT_TRUE(dp.all_ok()) << dp.brief();
  ASSERT_TRUE(qp.all_ok()) << qp.brief();
  EXPECT_LT((dp.z - qp.z).abs().max().item<double>(), 1e-7);
  EXPECT_LT(((dp.objective - qp.objective) / qp.objective).abs().max().item<double>(), 1e-9);
  EXPECT_LT((dp.ineq_duals - qp.ineq_duals).abs().max().item<double>(), 1e-6);
  // The instance exercises the constraints: some ramps bind with positive multipliers.
  EXPECT_GT(dp.ineq_duals.gt(1e-6).sum().item<int64_t>(), 0);
}

TEST(Power, InactiveRampsGiveThePerHourMinimiser) {
  const PowerOptions o = options(100.0);
  const torch::Tensor y = load_samples(2, 7, 24, 2, 0.4);
  const Solution sol = PowerProgram(o).solve(y, {});
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t h = 0; h < 24; ++h) {
      std::vector<double> ys;
      for (int64_t m = 0; m < 7; ++m)
        ys.push_back(y[b][m][h].item<double>());
      EXPECT_NEAR(sol.z[b][h].item<double>(), per_hour_minimiser(ys, o), 1e-12) << b << "," << h;
    }
  }
  EXPECT_EQ(sol.ineq_duals.abs().max().item<double>(), 0.0);
}

TEST(Power, DualsSatisfyStationarityWithSubgradients) {
  const PowerOptions o = options(0.25);
  const PowerProgram prog(o);
  const torch::Tensor y = load_samples(8, 25, 24, 3);
  const Solution sol = prog.solve(y, {});
  ASSERT_TRUE(sol.all_ok());
  EXPECT_GE(sol.ineq_duals.min().item<double>(), 0.0);
  EXPECT_LT((sol.ineq_duals * sol.slacks).abs().max().item<double>(), 1e-12);
  // −(Gᵀμ)_h must lie in ∂F_h(z_h) = [F'(z−), F'(z+)] (samples at z_h count on both sides).
  const torch::Tensor Gt_mu = torch::matmul(sol.ineq_duals, prog.constraints().G);
  const torch::Tensor r = sol.z.unsqueeze(1) - y;  // [B, M, n]
  const torch::Tensor at = r.abs() < 1e-9;
  const torch::Tensor lo = (r + torch::where(at | (r < 0), torch::full_like(r, -o.gamma_under),
                                             torch::full_like(r, o.gamma_over)))
                               .mean(1);
  const torch::Tensor hi = (r + torch::where(at | (r > 0), torch::full_like(r, o.gamma_over),
                                             torch::full_like(r, -o.gamma_under)))
                               .mean(1);
  const torch::Tensor target = -Gt_mu;
  EXPECT_GE((target - lo).min().item<double>(), -1e-9);
  EXPECT_LE((target - hi).max().item<double>(), 1e-9);
  // Most hours sit on a sample's kink at γu = 50: the regime the exact mode exists for.
  EXPECT_GT(at.any(1).to(torch::kDouble).mean().item<double>(), 0.5);
}

double weighted_decision(const PowerProgram& prog, const torch::Tensor& y, const torch::Tensor& u) {
  return (prog.solve(y, {}).z * u).sum().item<double>();
}

TEST(Power, ExactGradientMatchesCentralDifferences) {
  const PowerOptions o = options(0.2, PowerGradient::kExact, 10);
  const auto prog = std::make_shared<PowerProgram>(o);
  const DecisionLayer layer(prog);
  const torch::Tensor y = load_samples(4, 5, 10, 4);
  const torch::Tensor u = torch::randn({4, 10}, make_generator(5), f64());
  const torch::Tensor yg = y.clone().requires_grad_(true);
  (layer.decide(yg) * u).sum().backward();
  const torch::Tensor fd = central_differences(
      [&](const torch::Tensor& yy) { return weighted_decision(*prog, yy, u); }, y, 1e-7);
  EXPECT_LT(rel_error(yg.grad(), fd), 1e-6);
  EXPECT_GT(yg.grad().abs().max().item<double>(), 0.1);
}

TEST(Power, ReferenceEqualsExactWhenNoHourIsPinned) {
  // Small penalties move the optimum off the kinks (the quadratic term dominates).
  PowerOptions o = options(0.1, PowerGradient::kReference, 12);
  o.gamma_under = 0.002;
  o.gamma_over = 0.001;
  PowerOptions oe = o;
  oe.gradient = PowerGradient::kExact;
  const auto ref = std::make_shared<PowerProgram>(o);
  const auto exact = std::make_shared<PowerProgram>(oe);
  const torch::Tensor y = load_samples(5, 6, 12, 6);
  const Solution sol = ref->solve(y, {});
  const torch::Tensor yc = y.contiguous();
  for (int64_t b = 0; b < 5; ++b) {
    const auto an =
        detail::analyse_power_solution(yc[b].data_ptr<double>(), 6, 12, {0.002, 0.001, 0.1},
                                       sol.z[b].contiguous().data_ptr<double>());
    for (const int pin : an.pin_sample)
      ASSERT_EQ(pin, -1) << "instance " << b << " has a pinned hour";
  }
  EXPECT_GT(sol.ineq_duals.gt(0).sum().item<int64_t>(), 0);  // with binding ramps
  const torch::Tensor u = torch::randn({5, 12}, make_generator(7), f64());
  const torch::Tensor y1 = y.clone().requires_grad_(true);
  const torch::Tensor y2 = y.clone().requires_grad_(true);
  (DecisionLayer(ref).decide(y1) * u).sum().backward();
  (DecisionLayer(exact).decide(y2) * u).sum().backward();
  EXPECT_LT((y1.grad() - y2.grad()).abs().max().item<double>(), 1e-14);
  const torch::Tensor fd = central_differences(
      [&](const torch::Tensor& yy) { return weighted_decision(*ref, yy, u); }, y, 1e-7);
  EXPECT_LT(rel_error(y1.grad(), fd), 1e-6);
}

TEST(Power, ReferenceModeIsTheAlmostEverywhereLinearisation) {
  // With pinned hours the reference mode spreads ∂ℓ/∂z over all samples (H = I), unlike the true
  // derivative; both give the same total response to shifting every sample together.
  const PowerOptions o = options(0.4, PowerGradient::kReference, 24);
  PowerOptions oe = o;
  oe.gradient = PowerGradient::kExact;
  const torch::Tensor y = load_samples(3, 25, 24, 8);
  const torch::Tensor u = torch::randn({3, 24}, make_generator(9), f64());
  const torch::Tensor y1 = y.clone().requires_grad_(true);
  const torch::Tensor y2 = y.clone().requires_grad_(true);
  (DecisionLayer(std::make_shared<PowerProgram>(o)).decide(y1) * u).sum().backward();
  (DecisionLayer(std::make_shared<PowerProgram>(oe)).decide(y2) * u).sum().backward();
  EXPECT_GT((y1.grad() - y2.grad()).abs().max().item<double>(), 1e-3);
  EXPECT_LT((y1.grad().sum(1) - y2.grad().sum(1)).abs().max().item<double>(), 1e-10);
  // Reference: identical gradient for every sample of a context.
  EXPECT_LT((y1.grad() - y1.grad().index({torch::indexing::Slice(), torch::indexing::Slice(0, 1)}))
                .abs()
                .max()
                .item<double>(),
            1e-15);
}

TEST(Power, SingleSampleAndIdenticalSamples) {
  const PowerOptions oe = options(0.4, PowerGradient::kExact);
  const auto prog = std::make_shared<PowerProgram>(oe);
  const torch::Tensor one = load_samples(2, 1, 24, 10, 0.6);
  const torch::Tensor five = one.expand({2, 5, 24}).contiguous();
  const Solution s1 = prog->solve(one, {});
  const Solution s5 = prog->solve(five, {});
  ASSERT_TRUE(s1.all_ok() && s5.all_ok());
  EXPECT_LT((s1.z - s5.z).abs().max().item<double>(), 1e-12);
  EXPECT_LT((s1.z - solve_power_epigraph_qp(oe, one, {}).z).abs().max().item<double>(), 1e-7);
  // Where one sample is feasible it is its own optimum.
  const torch::Tensor smooth =
      torch::full({1, 1, 24}, 1.7, f64()) + 0.01 * torch::arange(24, f64());
  EXPECT_LT((prog->solve(smooth, {}).z - smooth[0]).abs().max().item<double>(), 1e-12);
  // Gradients: the sum over identical samples equals the single-sample gradient.
  const torch::Tensor u = torch::randn({2, 24}, make_generator(11), f64());
  const DecisionLayer layer(prog);
  const torch::Tensor g1 = one.clone().requires_grad_(true);
  const torch::Tensor g5 = five.clone().requires_grad_(true);
  (layer.decide(g1) * u).sum().backward();
  (layer.decide(g5) * u).sum().backward();
  EXPECT_TRUE(torch::isfinite(g5.grad()).all().item<bool>());
  EXPECT_LT((g5.grad().sum(1) - g1.grad().sum(1)).abs().max().item<double>(), 1e-12);
}

TEST(Power, DegenerateBindingRampIsSolvedWithAFiniteGradient) {
  // Without penalties each hour wants ȳ_h; two neighbours exactly c apart make a ramp active with a
  // zero multiplier.
  PowerOptions o = options(0.4, PowerGradient::kExact, 4);
  o.gamma_under = 0;
  o.gamma_over = 0;
  const auto prog = std::make_shared<PowerProgram>(o);
  const torch::Tensor y = torch::tensor({{{1.0, 1.4, 1.5, 1.2}, {1.0, 1.4, 1.5, 1.2}}}, f64());
  const torch::Tensor yg = y.clone().requires_grad_(true);
  Solution sol;
  (DecisionLayer(prog).decide(yg, &sol) * torch::ones({1, 4}, f64())).sum().backward();
  ASSERT_TRUE(sol.all_ok());
  EXPECT_LT((sol.z[0] - torch::tensor({1.0, 1.4, 1.5, 1.2}, f64())).abs().max().item<double>(),
            1e-12);
  EXPECT_LT(sol.slacks[0][0].item<double>(), 1e-12);    // active …
  EXPECT_EQ(sol.ineq_duals[0][0].item<double>(), 0.0);  // … with a zero multiplier
  EXPECT_TRUE(torch::isfinite(yg.grad()).all().item<bool>());
  EXPECT_NEAR(yg.grad().sum().item<double>(), 4.0, 1e-12);  // shifting everything shifts z
}

TEST(Power, RejectsBadOptionsAndSamples) {
  PowerOptions o;
  o.ramp = 0;
  EXPECT_THROW(PowerProgram{o}, InvalidArgument);
  o = PowerOptions{};
  o.gamma_under = -1;
  EXPECT_THROW(PowerProgram{o}, InvalidArgument);
  EXPECT_THROW(parse_power_gradient("smooth"), InvalidArgument);
  const PowerProgram prog(PowerOptions{});
  EXPECT_THROW(prog.solve(torch::ones({2, 3, 23}, f64()), {}), InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::opt
