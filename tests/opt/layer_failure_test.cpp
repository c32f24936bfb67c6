// Failure scenarios of the decision layer, one test each: infeasible constraints, NaN samples,
// wrong shapes, M = 1, identical samples, a degenerate active set.
#include <gtest/gtest.h>

#include "diffdfl/core/error.h"
#include "diffdfl/opt/allocation.h"
#include "diffdfl/opt/decision_layer.h"
#include "diffdfl/opt/power.h"
#include "opt_test_util.h"

namespace diffdfl::opt {
namespace {

using testing::f64;

/// ½‖z − y‖² averaged over samples: z* = projection of the sample mean.
std::shared_ptr<CostFunctionProgram> projection_program(LinearConstraints c, int64_t n) {
  return std::make_shared<CostFunctionProgram>(
      "projection", n, n, std::move(c),
      [](const torch::Tensor& y, const torch::Tensor& z) { return 0.5 * (z - y).pow(2).sum(-1); });
}

TEST(LayerFailure, InfeasibleUserProgramIsAStatusAndAZeroGradient) {
  // z₀ ≤ −1 and z₀ ≥ 1 cannot both hold.
  const auto c = LinearConstraints::make(torch::tensor({{1.0, 0.0}, {-1.0, 0.0}}, f64()),
                                         torch::tensor({-1.0, -1.0}, f64()));
  const DecisionLayer layer(projection_program(c, 2));
  const torch::Tensor y = torch::randn({3, 4, 2}, make_generator(1), f64()).requires_grad_(true);
  Solution sol;
  const torch::Tensor z = layer.decide(y, &sol);
  for (const SolveStatus s : sol.status)
    EXPECT_EQ(s, SolveStatus::kInfeasible);
  EXPECT_EQ(layer.stats().solve_failures, 3);
  EXPECT_FALSE(sol.ok_mask().any().item<bool>());
  z.sum().backward();
  EXPECT_EQ(y.grad().abs().max().item<double>(), 0.0);
}

TEST(LayerFailure, NaNSampleIsRejectedWithItsBatchIndex) {
  const DecisionLayer layer(std::make_shared<AllocationProgram>(AllocationOptions{}));
  torch::Tensor y = torch::rand({4, 3, 10}, make_generator(2), f64());
  y.index_put_({2, 1, 5}, std::nan(""));
  try {
    layer.solve(y);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("batch element 2"), std::string::npos) << e.what();
  }
  y.index_put_({2, 1, 5}, std::numeric_limits<double>::infinity());
  EXPECT_THROW(layer.decide(y), InvalidArgument);
}

TEST(LayerFailure, WrongShapeNamesExpectedAndActual) {
  const DecisionLayer layer(std::make_shared<AllocationProgram>(AllocationOptions{}));
  try {
    layer.solve(torch::rand({4, 10}, f64()));
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("expected shape [*, *, 10], got [4, 10]"),
              std::string::npos)
        << e.what();
  }
}

TEST(LayerFailure, SingleSampleDeterministicMode) {
  // M = 1 on the allocation task: the optimum of exp(−ŷᵀz) over the box is a vertex, whose exact
  // derivative is zero (the reference's deterministic DFL has no signal here, §9.17).
  const DecisionLayer layer(std::make_shared<AllocationProgram>(AllocationOptions{}));
  const torch::Tensor y =
      (torch::rand({5, 1, 10}, make_generator(3), f64()) - 0.3).requires_grad_(true);
  Solution sol;
  const torch::Tensor z = layer.decide(y, &sol);
  ASSERT_TRUE(sol.all_ok()) << sol.brief();
  const torch::Tensor vertex =
      torch::where(y.detach().squeeze(1) > 0, torch::full_like(z, 2.0), torch::zeros_like(z));
  EXPECT_LT((z - vertex).abs().max().item<double>(), 1e-7);
  z.sum().backward();
  EXPECT_LT(y.grad().abs().max().item<double>(), 1e-6);
}

TEST(LayerFailure, IdenticalSamplesBehaveLikeOne) {
  const auto prog = std::make_shared<AllocationProgram>(AllocationOptions{});
  const DecisionLayer layer(prog);
  torch::Tensor y1 = torch::full({2, 1, 10}, 0.5, f64());
  y1.index_put_({torch::indexing::Slice(), 0, torch::indexing::Slice(0, 3)}, -1.5);
  const torch::Tensor y7 = y1.expand({2, 7, 10}).contiguous();
  const Solution a = layer.solve(y1);
  const Solution b = layer.solve(y7);
  ASSERT_TRUE(a.all_ok() && b.all_ok());
  EXPECT_LT((a.z - b.z).abs().max().item<double>(), 1e-9);
}

TEST(LayerFailure, DegenerateActiveSetGivesAOneSidedFiniteGradient) {
  // Projection onto [0, 1]²: the mean of coordinate 0 is exactly 0, so z₀ = 0 with a zero
  // multiplier.
  const auto prog = projection_program(LinearConstraints::box(2, 0.0, 1.0), 2);
  const DecisionLayer layer(prog);
  const torch::Tensor y = torch::tensor({{{0.2, 0.4}, {-0.2, 0.6}}}, f64()).requires_grad_(true);
  Solution sol;
  const torch::Tensor z = layer.decide(y, &sol);
  ASSERT_TRUE(sol.all_ok()) << sol.brief();
  // At a degenerate vertex an interior-point method converges at the rate √(sᵀλ), so z₀ is only
  // accurate to about √tol.
  EXPECT_NEAR(z[0][0].item<double>(), 0.0, 1e-4);
  EXPECT_NEAR(z[0][1].item<double>(), 0.5, 1e-8);
  z.sum().backward();
  const torch::Tensor g = y.grad();
  EXPECT_TRUE(torch::isfinite(g).all().item<bool>());
  // The interior coordinate has the exact derivative 1/M per sample; the degenerate one lies
  // between its one-sided derivatives 0 and 1/M.
  EXPECT_NEAR(g[0][0][1].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(g[0][1][1].item<double>(), 0.5, 1e-6);
  EXPECT_GE(g[0][0][0].item<double>(), -1e-9);
  EXPECT_LE(g[0][0][0].item<double>(), 0.5 + 1e-9);
}

TEST(LayerFailure, OverflowingSamplesAreNeverReportedSolved) {
  // Power samples of 1e300: the costs overflow to inf. The status must not claim a solution.
  const DecisionLayer power(std::make_shared<PowerProgram>(PowerOptions{}));
  torch::Tensor y = 1.5 + 0.1 * torch::rand({2, 3, 24}, make_generator(4), f64());
  y.index_put_({1}, 1e300);
  const Solution sol = power.solve(y);
  EXPECT_EQ(sol.status[0], SolveStatus::kSolved);
  EXPECT_EQ(sol.status[1], SolveStatus::kNumerical);
  EXPECT_EQ(power.stats().solve_failures, 1);

  // Allocation with one value of 1e300: whatever the solve says, no gradient may be NaN, and an
  // overflowed one counts as a failure.
  const DecisionLayer alloc(std::make_shared<AllocationProgram>(AllocationOptions{}));
  torch::Tensor a = 0.5 * torch::ones({1, 1, 10}, f64());
  a.index_put_({0, 0, 4}, 1e300);
  const torch::Tensor leaf = a.clone().requires_grad_(true);
  Solution s;
  const torch::Tensor z = alloc.decide(leaf, &s);
  z.sum().backward();
  EXPECT_TRUE(torch::isfinite(leaf.grad()).all().item<bool>()) << leaf.grad();
  const torch::Tensor w = alloc.sf_weights(a, s, torch::ones({1, 10}, f64()));
  EXPECT_TRUE(torch::isfinite(w).all().item<bool>()) << w;
  // Its adjoint overflows: counted as a failure.
  EXPECT_TRUE(!usable(s.status[0]) || alloc.stats().adjoint_failures >= 1)
      << "an overflowed gradient was not counted: " << alloc.stats().adjoint_failures;
}

}  // namespace
}  // namespace diffdfl::opt
