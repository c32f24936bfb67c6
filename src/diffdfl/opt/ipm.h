// Generic batched primal-dual interior-point method for smooth convex programs with linear
// constraints:  min_z F_b(z)  s.t.  G z ≤ h,  A z = b,  for b = 1..B at once.
//
// Mehrotra predictor-corrector on the reduced Newton system (H + Gᵀ diag(λ/s) G, reduced_kkt.h)
// with the equalities handled by a Schur complement; a backtracking line search on the KKT residual
// for non-quadratic objectives. Everything is LibTorch tensor algebra in float64 on the device of
// z0, so the same code runs on CPU and CUDA. Each instance carries its own status; instances that
// converge are frozen while the rest continue. An instance that fails is checked with a phase-I
// problem, which tells infeasible constraints (kInfeasible) from numerical failure.
//
// Example (a batch of QPs: min ½ zᵀPz + qᵀz over the probability simplex):
//   opt::SmoothObjective obj = opt::quadratic_objective(P, q);        // P [B,n,n], q [B,n]
//   auto c = opt::LinearConstraints::make(-torch::eye(n, f64), torch::zeros({n}, f64),
//                                         torch::ones({1, n}, f64), torch::ones({1}, f64));
//   opt::Solution sol = opt::ipm_solve(obj, c, torch::full({B, n}, 1.0 / n, f64), {});
#pragma once

#include <torch/torch.h>

#include <functional>

#include "diffdfl/opt/constraints.h"
#include "diffdfl/opt/reduced_kkt.h"
#include "diffdfl/opt/solution.h"
#include "diffdfl/opt/solver_options.h"

namespace diffdfl::opt {

/// Value [B], gradient [B, n] and Hessian of the objective at z [B, n].
struct SmoothObjective {
  std::function<torch::Tensor(const torch::Tensor& z)> value;
  std::function<torch::Tensor(const torch::Tensor& z)> grad;
  std::function<HessianForm(const torch::Tensor& z)> hessian;
  /// Quadratic objectives take full (fraction-to-boundary) steps without a line search.
  bool quadratic = false;
};

/// ½ zᵀ P_b z + q_bᵀ z with P [B, n, n] (symmetric PSD) and q [B, n].
SmoothObjective quadratic_objective(const torch::Tensor& P, const torch::Tensor& q);

/// Solves the batch from the start point z0 [B, n] (need not be feasible).
Solution ipm_solve(const SmoothObjective& objective, const LinearConstraints& constraints,
                   const torch::Tensor& z0, const SolverOptions& options);

/// True when {z : G z ≤ h, A z = b} is non-empty (phase-I linear program solved by the same IPM).
bool constraints_feasible(const LinearConstraints& constraints, const SolverOptions& options);

}  // namespace diffdfl::opt
