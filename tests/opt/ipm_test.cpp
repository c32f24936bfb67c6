// The generic interior-point method against closed forms.
#include "diffdfl/opt/ipm.h"

#include <gtest/gtest.h>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "opt_test_util.h"

namespace diffdfl::opt {
namespace {

using testing::f64;

/// Euclidean projection onto the probability simplex (sort-based closed form, Held et al. 1974).
torch::Tensor project_simplex(const torch::Tensor& v) {
  const torch::Tensor u = std::get<0>(v.sort(-1, /*descending=*/true));
  const torch::Tensor css = u.cumsum(-1) - 1.0;
  const torch::Tensor k = torch::arange(1, v.size(-1) + 1, f64());
  const torch::Tensor cond = (u - css / k) > 0;
  const torch::Tensor rho = cond.to(torch::kLong).sum(-1, /*keepdim=*/true) - 1;
  const torch::Tensor theta = css.gather(-1, rho) / (rho + 1).to(torch::kDouble);
  return (v - theta).clamp_min(0.0);
}

TEST(Ipm, BoxProjectionMatchesClamp) {
  auto gen = make_generator(7);
  const int64_t B = 16;
  const int64_t n = 6;
  const torch::Tensor v = 2 * torch::randn({B, n}, gen, f64());
  const torch::Tensor P = torch::eye(n, f64()).expand({B, n, n});
  const Solution sol = ipm_solve(quadratic_objective(P, -v), LinearConstraints::box(n, -1.0, 1.0),
                                 torch::zeros({B, n}, f64()), {});
  ASSERT_TRUE(sol.all_ok()) << sol.brief();
  EXPECT_LT((sol.z - v.clamp(-1.0, 1.0)).abs().max().item<double>(), 1e-8);
  // Duals: λ_upper = max(v − 1, 0), λ_lower = max(−1 − v, 0) (stationarity z − v + λu − λl = 0).
  const torch::Tensor lam_lower =
      sol.ineq_duals.index({torch::indexing::Slice(), torch::indexing::Slice(0, n)});
  const torch::Tensor lam_upper =
      sol.ineq_duals.index({torch::indexing::Slice(), torch::indexing::Slice(n, 2 * n)});
  EXPECT_LT((lam_upper - (v - 1).clamp_min(0)).abs().max().item<double>(), 1e-8);
  EXPECT_LT((lam_lower - (-1 - v).clamp_min(0)).abs().max().item<double>(), 1e-8);
}

TEST(Ipm, SimplexProjectionMatchesSortFormula) {
  auto gen = make_generator(11);
  const int64_t B = 32;
  const int64_t n = 9;
  const torch::Tensor v = torch::randn({B, n}, gen, f64());
  const torch::Tensor P = torch::eye(n, f64()).expand({B, n, n});
  const auto c = LinearConstraints::make(-torch::eye(n, f64()), torch::zeros({n}, f64()),
                                         torch::ones({1, n}, f64()), torch::ones({1}, f64()));
  const Solution sol =
      ipm_solve(quadratic_objective(P, -v), c, torch::full({B, n}, 1.0 / n, f64()), {});
  ASSERT_TRUE(sol.all_ok()) << sol.brief();
  EXPECT_LT((sol.z - project_simplex(v)).abs().max().item<double>(), 1e-8);
  // KKT: z − v − λ + ν·1 = 0 with λ ≥ 0 and λ ⊙ z = 0.
  const torch::Tensor stat = sol.z - v - sol.ineq_duals + sol.eq_duals;
  EXPECT_LT(stat.abs().max().item<double>(), 1e-9);
  EXPECT_GE(sol.ineq_duals.min().item<double>(), 0.0);
  EXPECT_LT((sol.ineq_duals * sol.z).abs().max().item<double>(), 1e-9);
}

TEST(Ipm, InfeasibleConstraintsAreReportedPerInstance) {
  // z ≤ −1 and z ≥ 1: empty.
  const auto c = LinearConstraints::make(torch::tensor({{1.0}, {-1.0}}, f64()),
                                         torch::tensor({-1.0, -1.0}, f64()));
  const Solution sol =
      ipm_solve(quadratic_objective(torch::ones({3, 1, 1}, f64()), torch::zeros({3, 1}, f64())), c,
                torch::zeros({3, 1}, f64()), {});
  ASSERT_EQ(sol.batch(), 3);
  for (const SolveStatus s : sol.status)
    EXPECT_EQ(s, SolveStatus::kInfeasible);
  EXPECT_FALSE(constraints_feasible(c, {}));
  EXPECT_TRUE(constraints_feasible(LinearConstraints::box(3, 0, 1), {}));
}

TEST(Ipm, IterationLimitIsAStatusNotAnError) {
  SolverOptions o;
  o.max_iter = 2;
  const torch::Tensor P = torch::eye(4, f64()).expand({2, 4, 4});
  const Solution sol = ipm_solve(quadratic_objective(P, -3 * torch::ones({2, 4}, f64())),
                                 LinearConstraints::box(4, 0, 1), torch::zeros({2, 4}, f64()), o);
  for (const SolveStatus s : sol.status)
    EXPECT_EQ(s, SolveStatus::kMaxIter);
  EXPECT_TRUE(torch::isfinite(sol.z).all().item<bool>());
  EXPECT_NE(sol.brief().find("max-iter"), std::string::npos) << sol.brief();
}

TEST(Ipm, RejectsBadOptions) {
  SolverOptions o;
  o.tol = -1;
  EXPECT_THROW(o.validate(), InvalidArgument);
  o = SolverOptions{};
  o.max_iter = 0;
  EXPECT_THROW(o.validate(), InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::opt
