// Portfolio program: the vertex solution, KKT residuals, gradients of the smooth (risk-averse) case
// against central differences, and the reference's ridge-regularised adjoint against the full KKT.
#include "diffdfl/opt/portfolio.h"

#include <gtest/gtest.h>

#include "diffdfl/core/error.h"
#include "diffdfl/opt/decision_layer.h"
#include "opt_test_util.h"

namespace diffdfl::opt {
namespace {

using testing::central_differences;
using testing::f64;
using testing::rel_error;
using torch::indexing::Slice;

PortfolioOptions options(int64_t n, double alpha, double ridge) {
  PortfolioOptions o;
  o.n = n;
  o.alpha = alpha;
  o.kkt_ridge = ridge;
  return o;
}

/// Daily-return-like samples; asset `best` gets a clearly larger mean.
torch::Tensor returns(int64_t B, int64_t M, int64_t n, uint64_t seed, int64_t best = -1) {
  auto gen = make_generator(seed);
  torch::Tensor y = 0.0005 + 0.01 * torch::randn({B, M, n}, gen, f64());
  if (best >= 0) y.index({Slice(), Slice(), best}) += 0.05;
  return y;
}

void expect_kkt(const PortfolioProgram& prog, const torch::Tensor& y, const Solution& sol,
                double tol) {
  const LinearConstraints& c = prog.constraints();
  const torch::Tensor g = prog.grad_z(y, sol.z).mean(1);
  const torch::Tensor stat =
      g + torch::matmul(sol.ineq_duals, c.G) + torch::matmul(sol.eq_duals, c.A);
  EXPECT_LT((stat.abs().amax(1) / (1 + g.abs().amax(1))).max().item<double>(), tol);
  EXPECT_LT((sol.z.sum(1) - 1).abs().max().item<double>(), tol);
  EXPECT_GE(sol.ineq_duals.min().item<double>(), 0.0);
  EXPECT_GE(sol.slacks.min().item<double>(), -tol);
  EXPECT_LT((sol.ineq_duals * sol.slacks).abs().max().item<double>(), tol);
}

TEST(Portfolio, UniqueBestMeanGivesThatVertex) {
  const PortfolioProgram prog(options(20, 1e-6, 1e-6));
  const torch::Tensor y = returns(6, 10, 20, 1, /*best=*/7);
  const Solution sol = prog.solve(y, {});
  for (const SolveStatus s : sol.status)
    ASSERT_EQ(s, SolveStatus::kSolved) << sol.brief();
  torch::Tensor vertex = torch::zeros({6, 20}, f64());
  vertex.index_put_({Slice(), 7}, 1.0);
  EXPECT_LT((sol.z - vertex).abs().max().item<double>(), 1e-8);
  expect_kkt(prog, y, sol, 1e-9);
}

TEST(Portfolio, KktResidualsAtPaperSizes) {
  const PortfolioProgram prog(options(50, 1e-6, 1e-6));
  const torch::Tensor y = returns(16, 10, 50, 2);
  const Solution sol = prog.solve(y, {});
  for (const SolveStatus s : sol.status)
    ASSERT_EQ(s, SolveStatus::kSolved) << sol.brief();
  expect_kkt(prog, y, sol, 1e-9);
}

TEST(Portfolio, SmoothRiskAverseGradientMatchesCentralDifferences) {
  // α large enough that the optimum is interior in several assets: a smooth solution map.
  const auto prog = std::make_shared<PortfolioProgram>(options(5, 4.0, 0.0));
  auto gen = make_generator(3);
  const torch::Tensor y = 0.3 + 0.4 * torch::randn({3, 6, 5}, gen, f64());
  const torch::Tensor u = torch::randn({3, 5}, make_generator(4), f64());
  const torch::Tensor yg = y.clone().requires_grad_(true);
  Solution sol;
  (DecisionLayer(prog).decide(yg, &sol) * u).sum().backward();
  EXPECT_GT((sol.z > 1e-6).sum().item<int64_t>(), 3 + 2);  // more than one asset held somewhere
  SolverOptions tight;
  tight.tol = 1e-12;
  const torch::Tensor fd = central_differences(
      [&](const torch::Tensor& yy) { return (prog->solve(yy, tight).z * u).sum().item<double>(); },
      y, 1e-6);
  EXPECT_LT(rel_error(yg.grad(), fd), 1e-5);
  EXPECT_GT(yg.grad().abs().max().item<double>(), 1e-2);
}

TEST(Portfolio, RidgeAdjointEqualsTheFullRegularisedKkt) {
  const auto prog = std::make_shared<PortfolioProgram>(options(8, 1e-6, 1e-6));
  const torch::Tensor y = returns(5, 10, 8, 5);
  const Solution sol = prog->solve(y, {});
  const torch::Tensor u = torch::randn({5, 8}, make_generator(6), f64());
  const Adjoint adj = prog->adjoint(y, sol, u);
  ASSERT_EQ(adj.failures(), 0);
  // The reference: (K + 1e-6 I) solved densely with all 3n + 1 rows.
  const torch::Tensor K = kkt_matrix(prog->saa_hessian(y, sol.z), prog->constraints(), sol, 1e-6);
  const torch::Tensor rhs = torch::cat({u, torch::zeros({5, 17}, f64())}, 1).unsqueeze(-1);
  const torch::Tensor a =
      torch::linalg_solve(K.transpose(1, 2), rhs).squeeze(-1).index({Slice(), Slice(0, 8)});
  EXPECT_LT(rel_error(adj.a, a), 1e-8);
  EXPECT_GT(adj.a.abs().max().item<double>(), 0.0);
}

TEST(Portfolio, ExactDerivativeAtAVertexIsZero) {
  const auto prog = std::make_shared<PortfolioProgram>(options(6, 1e-6, 0.0));
  const torch::Tensor y = returns(3, 10, 6, 7, /*best=*/2);
  const torch::Tensor yg = y.clone().requires_grad_(true);
  (DecisionLayer(prog).decide(yg) * torch::randn({3, 6}, make_generator(8), f64()))
      .sum()
      .backward();
  EXPECT_LT(yg.grad().abs().max().item<double>(), 1e-8);
}

TEST(Portfolio, RejectsBadOptions) {
  EXPECT_THROW(PortfolioProgram(options(1, 1e-6, 0)), InvalidArgument);
  EXPECT_THROW(PortfolioProgram(options(5, -1, 0)), InvalidArgument);
  EXPECT_THROW(PortfolioProgram(options(5, 1e-6, -1)), InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::opt
