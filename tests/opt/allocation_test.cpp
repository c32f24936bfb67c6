// Allocation program: closed form, KKT residuals, gradients against central differences, pooling,
// and the autograd (cost-only) path against the closed-form derivatives.
#include "diffdfl/opt/allocation.h"

#include <gtest/gtest.h>

#include "diffdfl/opt/decision_layer.h"
#include "opt_test_util.h"

namespace diffdfl::opt {
namespace {

using testing::central_differences;
using testing::f64;
using testing::rel_error;

/// Samples of the synthetic task's bimodal distribution: 0.5(1 + 0.15ε) w.p. 0.9 else 0.5(−3 +
/// 0.15ε).
torch::Tensor bimodal(int64_t B, int64_t M, int64_t n, uint64_t seed) {
  auto gen = make_generator(seed);
  const torch::Tensor high = torch::rand({B, M, n}, gen, f64()) < 0.9;
  const torch::Tensor eps = torch::randn({B, M, n}, gen, f64());
  return 0.5 * torch::where(high, 1 + 0.15 * eps, -3 + 0.15 * eps);
}

std::shared_ptr<AllocationProgram> program(int64_t n) {
  AllocationOptions o;
  o.n = n;
  return std::make_shared<AllocationProgram>(o);
}

TEST(Allocation, OneDimensionalTwoPointClosedForm) {
  // 9 samples at 0.5 and 1 at −1.5: z* = ln(−b(1−p)/(a p)) / (b − a) = ln(1/3) / (−2).
  torch::Tensor y = torch::full({1, 10, 1}, 0.5, f64());
  y.index_put_({0, 9, 0}, -1.5);
  const Solution sol = program(1)->solve(y, {});
  ASSERT_EQ(sol.status[0], SolveStatus::kSolved) << sol.brief();
  EXPECT_NEAR(sol.z.item<double>(), std::log(1.0 / 3.0) / -2.0, 1e-9);
  const double zs = std::log(1.0 / 3.0) / -2.0;
  EXPECT_NEAR(sol.objective.item<double>(), 0.9 * std::exp(-0.5 * zs) + 0.1 * std::exp(1.5 * zs),
              1e-12);
  // All samples positive: the optimum is the upper bound C with λ_upper = −F'(C) > 0.
  const Solution corner = program(1)->solve(torch::full({1, 4, 1}, 0.5, f64()), {});
  EXPECT_NEAR(corner.z.item<double>(), 2.0, 1e-9);
  EXPECT_NEAR(corner.ineq_duals[0][1].item<double>(), 0.5 * std::exp(-1.0), 1e-9);
}

TEST(Allocation, KktResidualsOfSolvedInstances) {
  const auto prog = program(10);
  const torch::Tensor y = bimodal(16, 30, 10, 3);
  const Solution sol = prog->solve(y, {});
  ASSERT_TRUE(sol.all_ok()) << sol.brief();
  const LinearConstraints& c = prog->constraints();
  const torch::Tensor g = prog->grad_z(y, sol.z).mean(1);
  const torch::Tensor stat = g + torch::matmul(sol.ineq_duals, c.G);
  EXPECT_LT((stat.abs().amax(1) / (1 + g.abs().amax(1))).max().item<double>(), 1e-9);
  EXPECT_GE(sol.ineq_duals.min().item<double>(), 0.0);
  EXPECT_GE(sol.slacks.min().item<double>(), -1e-12);
  EXPECT_LT((sol.ineq_duals * sol.slacks).abs().max().item<double>(), 1e-9);
}

TEST(Allocation, ReparameterizationGradientMatchesCentralDifferences) {
  const auto prog = program(4);
  const DecisionLayer layer(prog);
  const torch::Tensor y = bimodal(3, 6, 4, 5);
  auto gen = make_generator(6);
  const torch::Tensor u = torch::randn({3, 4}, gen, f64());
  const torch::Tensor yg = y.clone().requires_grad_(true);
  (layer.decide(yg) * u).sum().backward();
  SolverOptions tight;
  tight.tol = 1e-12;
  const torch::Tensor fd = central_differences(
      [&](const torch::Tensor& yy) { return (prog->solve(yy, tight).z * u).sum().item<double>(); },
      y, 1e-6);
  EXPECT_LT(rel_error(yg.grad(), fd), 1e-6) << yg.grad() << fd;
  EXPECT_GT(yg.grad().abs().max().item<double>(), 1e-3);  // not a vacuous comparison
}

TEST(Allocation, ScoreFunctionWeightsUseTheSameAdjoint) {
  const auto prog = program(5);
  const DecisionLayer layer(prog);
  const torch::Tensor y = bimodal(4, 8, 5, 9);
  const torch::Tensor u = torch::randn({4, 5}, make_generator(10), f64());
  const Solution sol = layer.solve(y);
  const torch::Tensor w = layer.sf_weights(y, sol, u);
  // Independent: solve the full (unreduced) KKT system K_bᵀ a = (u; 0) densely.
  const torch::Tensor K = kkt_matrix(prog->saa_hessian(y, sol.z), prog->constraints(), sol, 0.0);
  const torch::Tensor rhs = torch::cat({u, torch::zeros({4, 10}, f64())}, 1).unsqueeze(-1);
  const torch::Tensor a = torch::linalg_solve(K.transpose(1, 2), rhs)
                              .squeeze(-1)
                              .index({torch::indexing::Slice(), torch::indexing::Slice(0, 5)});
  const torch::Tensor expected = -(prog->grad_z(y, sol.z) * a.unsqueeze(1)).sum(-1);
  EXPECT_LT(rel_error(w, expected), 1e-7);
  // The RP gradient is the same adjoint through the cross-derivative: compare to the dense adjoint.
  const torch::Tensor yg = y.clone().requires_grad_(true);
  (layer.decide(yg) * u).sum().backward();
  EXPECT_LT(rel_error(yg.grad(), -prog->cross_vjp(y, sol.z, a) / 8.0), 1e-7);
}

TEST(Allocation, PooledModeSharesOneDecisionAndItsGradient) {
  const auto prog = program(3);
  LayerOptions lo;
  lo.pooled = true;
  const DecisionLayer pooled(prog, lo);
  const torch::Tensor y = bimodal(4, 5, 3, 12);
  const torch::Tensor yg = y.clone().requires_grad_(true);
  const torch::Tensor z = pooled.decide(yg);
  ASSERT_EQ(z.sizes(), torch::IntArrayRef({4, 3}));
  const Solution joint = prog->solve(y.reshape({1, 20, 3}), {});
  EXPECT_LT((z - joint.z).abs().max().item<double>(), 1e-12);
  const torch::Tensor u = torch::randn({4, 3}, make_generator(13), f64());
  (z * u).sum().backward();
  SolverOptions tight;
  tight.tol = 1e-12;
  const torch::Tensor fd = central_differences(
      [&](const torch::Tensor& yy) {
        return (prog->solve(yy.reshape({1, 20, 3}), tight).z * u.sum(0)).sum().item<double>();
      },
      y, 1e-6);
  EXPECT_LT(rel_error(yg.grad(), fd), 1e-6);
}

TEST(Allocation, AutogradProgramMatchesClosedForms) {
  const auto closed = program(4);
  const auto autograd = std::make_shared<CostFunctionProgram>(
      "allocation-autograd", 4, 4, LinearConstraints::box(4, 0.0, 2.0),
      [](const torch::Tensor& y, const torch::Tensor& z) { return torch::exp(-(y * z).sum(-1)); });
  const torch::Tensor y = bimodal(3, 7, 4, 21);
  const torch::Tensor z = torch::rand({3, 4}, make_generator(22), f64()) * 2;
  const torch::Tensor v = torch::randn({3, 4}, make_generator(23), f64());
  EXPECT_LT(rel_error(autograd->grad_z(y, z), closed->grad_z(y, z)), 1e-12);
  EXPECT_LT(rel_error(autograd->saa_hessian(y, z), closed->saa_hessian(y, z)), 1e-12);
  EXPECT_LT(rel_error(autograd->cross_vjp(y, z, v), closed->cross_vjp(y, z, v)), 1e-12);
  const Solution a = autograd->solve(y, {});
  const Solution b = closed->solve(y, {});
  ASSERT_TRUE(a.all_ok() && b.all_ok());
  // Different start points (the closed-form program starts inside the box): both meet the KKT
  // tolerance, so the objectives agree closely and z to within complementarity / multiplier.
  EXPECT_LT(rel_error(a.objective, b.objective), 1e-10);
  EXPECT_LT((a.z - b.z).abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace diffdfl::opt
