#include "diffdfl/opt/kkt_adjoint.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::opt {

namespace {

using torch::indexing::Slice;

/// Solves Mᵀ x = rhs per instance; rows whose system is singular or non-finite are flagged.
std::pair<torch::Tensor, torch::Tensor> solve_transposed(const torch::Tensor& M,
                                                         const torch::Tensor& rhs) {
  auto [x, info] = torch::linalg_solve_ex(M.transpose(-2, -1), rhs.unsqueeze(-1));
  x = x.squeeze(-1);
  const torch::Tensor ok = info.eq(0) & finite_rows(x);
  return {torch::where(ok.unsqueeze(1), x, torch::zeros_like(x)), ok};
}

}  // namespace

torch::Tensor kkt_matrix(const torch::Tensor& H, const LinearConstraints& constraints,
                         const Solution& sol, double ridge) {
  const int64_t B = H.size(0);
  const int64_t n = H.size(1);
  const LinearConstraints c = constraints.to(H.device());
  const int64_t m = c.n_ineq();
  const int64_t p = c.n_eq();
  const int64_t N = n + m + p;
  const torch::Tensor lam = sol.ineq_duals;
  const torch::Tensor s = sol.slacks.clamp_min(0.0);
  torch::Tensor K = torch::zeros({B, N, N}, H.options());
  K.index_put_({Slice(), Slice(0, n), Slice(0, n)}, H);
  K.index_put_({Slice(), Slice(0, n), Slice(n, n + m)}, c.G.t());
  K.index_put_({Slice(), Slice(0, n), Slice(n + m, N)}, c.A.t());
  K.index_put_({Slice(), Slice(n, n + m), Slice(0, n)}, lam.unsqueeze(2) * c.G);
  K.index_put_({Slice(), Slice(n, n + m), Slice(n, n + m)}, torch::diag_embed(-s));
  K.index_put_({Slice(), Slice(n + m, N), Slice(0, n)}, c.A);
  if (ridge != 0.0) K = K + ridge * torch::eye(N, H.options());
  return K;
}

Adjoint kkt_adjoint(const HessianForm& hessian, const LinearConstraints& constraints,
                    const Solution& sol, const torch::Tensor& dl_dz, double ridge) {
  const int64_t B = sol.z.size(0);
  const int64_t n = sol.z.size(1);
  check_shape(dl_dz, "dl_dz", {B, n});
  DIFFDFL_CHECK(ridge >= 0.0, "kkt_ridge must be >= 0, got ", ridge);
  const LinearConstraints c = constraints.to(sol.z.device());
  const int64_t m = c.n_ineq();
  const int64_t p = c.n_eq();
  const torch::Tensor u = dl_dz.to(torch::kDouble);
  const torch::Tensor lam = sol.ineq_duals;
  const torch::Tensor s = sol.slacks.clamp_min(0.0);

  torch::Tensor a;
  torch::Tensor ok;
  if (m > 0 && c.bounds_only()) {
    // dλᵢ = λᵢ/(sᵢ − r) Gᵢ dz. With r = 0 and an exactly active bound (sᵢ = 0) the ratio is capped:
    // a diagonal entry of 1e30 pins that coordinate exactly as the hard constraint does.
    torch::Tensor denom = s - ridge;
    denom = torch::where(denom.abs() < 1e-300, torch::full_like(denom, 1e-300), denom);
    const torch::Tensor D = (lam / denom).clamp(-1e30, 1e30);
    // Kb = [H + rI + Gᵀ D G, Aᵀ; A, rI] is symmetric, so Kbᵀ a = (u; 0) is a plain solve.
    const ReducedKkt Kb(hessian, c, D, ridge, ridge, /*definite=*/false);
    a = Kb.solve(u, torch::zeros({B, p}, u.options())).first;
    ok = Kb.failed().logical_not() & finite_rows(a);
    a = torch::where(ok.unsqueeze(1), a, torch::zeros_like(a));
  } else {
    const torch::Tensor H = hessian.dense();
    torch::Tensor K;
    if (ridge != 0.0) {
      K = kkt_matrix(H, c, sol, ridge);
    } else {
      // Scale each complementarity row by 1/(λᵢ + sᵢ): [wᵢ Gᵢ, −(1 − wᵢ) eᵢ] with wᵢ = λᵢ/(λᵢ +
      // sᵢ).
      K = kkt_matrix(H, c, sol, 0.0);
      const torch::Tensor scale = 1.0 / (lam + s).clamp_min(1e-300);
      const int64_t N = n + m + p;
      torch::Tensor row_scale = torch::ones({B, N}, H.options());
      row_scale.index_put_({Slice(), Slice(n, n + m)}, scale);
      K = K * row_scale.unsqueeze(2);
      // Rows with λᵢ = sᵢ = 0 (degenerate) become dλᵢ = 0: a one-sided derivative.
      const torch::Tensor degenerate = (lam + s).le(0.0);
      if (degenerate.any().item<bool>()) {
        torch::Tensor diag = K.diagonal(0, -2, -1).index({Slice(), Slice(n, n + m)});
        diag.copy_(torch::where(degenerate, torch::full_like(diag, -1.0), diag));
      }
    }
    const torch::Tensor rhs = torch::cat({u, torch::zeros({B, m + p}, u.options())}, 1);
    std::tie(a, ok) = solve_transposed(K, rhs);
  }
  ok = ok & sol.ok_mask();
  a = a.index({Slice(), Slice(0, n)});
  return {torch::where(ok.unsqueeze(1), a, torch::zeros_like(a)), ok};
}

}  // namespace diffdfl::opt
