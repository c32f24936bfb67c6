#include "diffdfl/opt/reduced_kkt.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::opt {

torch::Tensor HessianForm::dense() const {
  if (!lowrank()) return full;
  return torch::diag_embed(diag) + torch::matmul(U, U.transpose(1, 2));
}

HessianForm HessianForm::dense(torch::Tensor H) {
  HessianForm f;
  f.full = std::move(H);
  return f;
}

HessianForm HessianForm::diag_plus_lowrank(torch::Tensor diag, torch::Tensor U) {
  HessianForm f;
  f.diag = std::move(diag);
  f.U = std::move(U);
  return f;
}

ReducedKkt::ReducedKkt(const HessianForm& H, const LinearConstraints& c, const torch::Tensor& D,
                       double sigma, double beta, bool definite)
    : A_(c.A), beta_(beta) {
  const int64_t B = D.size(0);
  const int64_t n = c.G.size(1);
  const auto opts = D.options();
  const bool bounds = c.bounds_only();
  // Gᵀ diag(D) G: diagonal for bound constraints.
  torch::Tensor gdg_diag;
  torch::Tensor gdg;
  if (bounds) {
    gdg_diag = c.bounds_gdg_diag(D);  // [B, n]
  } else {
    gdg = torch::matmul(c.G.t() * D.unsqueeze(1), c.G);
  }
  failed_ = torch::zeros({B}, opts.dtype(torch::kBool));

  if (bounds && H.lowrank() && H.U.size(2) < n) {
    woodbury_ = true;
    d_ = H.diag + gdg_diag + sigma;
    U_ = H.U;
    U_over_d_ = U_ / d_.unsqueeze(2);
    // The capacitance C = I + Uᵀ D⁻¹ U is small (r × r) and well conditioned; its explicit inverse
    // turns every later solve into batched products.
    const torch::Tensor cap =
        torch::eye(U_.size(2), opts) + torch::matmul(U_.transpose(1, 2), U_over_d_);
    auto [inv, info] = torch::linalg_inv_ex(cap);
    cap_inv_ = inv;
    failed_ = failed_ | info.ne(0) | d_.eq(0).any(1);
  } else {
    torch::Tensor phi = H.dense();
    phi = bounds ? phi + torch::diag_embed(gdg_diag) : phi + gdg;
    const torch::Tensor eye = torch::eye(n, opts);
    if (sigma != 0.0) phi = phi + sigma * eye;
    if (definite) {
      cholesky_ = true;
      auto [L, info] = torch::linalg_cholesky_ex(phi);
      torch::Tensor failed = info.ne(0);
      // Φ is singular where H is and the constraints leave a direction free: retry those
      // instances with a tiny, then a small, relative shift (far below the solver tolerance).
      const torch::Tensor scale = 1.0 + phi.diagonal(0, -2, -1).abs().amax(-1);
      for (const double shift : {1e-14, 1e-10}) {
        if (!failed.any().item<bool>()) break;
        auto [L2, info2] = torch::linalg_cholesky_ex(phi + (shift * scale).view({-1, 1, 1}) * eye);
        L = torch::where(failed.view({-1, 1, 1}), L2, L);
        failed = failed & info2.ne(0);
      }
      // Keep the batch computable: identity factors where it still fails.
      factor_ = torch::where(failed.view({-1, 1, 1}), eye.expand_as(L), L);
      failed_ = failed;
    } else {
      auto [lu, piv, info] = torch::linalg_lu_factor_ex(phi);
      factor_ = lu;
      pivots_ = piv;
      failed_ = info.ne(0);
    }
  }

  if (A_.size(0) > 0) {
    const int64_t p = A_.size(0);
    W_ = apply_inverse(A_.t().expand({B, n, p}).contiguous());
    torch::Tensor S = torch::matmul(A_, W_);
    if (beta_ != 0.0) S = S - beta_ * torch::eye(p, opts);
    auto [inv, info] = torch::linalg_inv_ex(S);  // p × p, p small (1 for a simplex)
    S_inv_ = inv;
    failed_ = failed_ | info.ne(0);
  }
}

torch::Tensor ReducedKkt::apply_inverse(const torch::Tensor& x) const {
  if (woodbury_) {
    // Φ⁻¹ x = x/d − (U/d) C⁻¹ Uᵀ (x/d),  C = I + Uᵀ diag(1/d) U.
    const torch::Tensor xd = x / d_.unsqueeze(2);
    const torch::Tensor t = torch::matmul(cap_inv_, torch::matmul(U_.transpose(1, 2), xd));
    return xd - torch::matmul(U_over_d_, t);
  }
  if (cholesky_) return torch::cholesky_solve(x, factor_);
  return torch::linalg_lu_solve(factor_, pivots_, x);
}

std::pair<torch::Tensor, torch::Tensor> ReducedKkt::solve(const torch::Tensor& r1,
                                                          const torch::Tensor& r2) const {
  const torch::Tensor u = apply_inverse(r1.unsqueeze(-1)).squeeze(-1);
  if (A_.size(0) == 0) return {u, torch::zeros({r1.size(0), 0}, r1.options())};
  const torch::Tensor rhs = torch::matmul(u, A_.t()) - r2;
  const torch::Tensor dnu = torch::matmul(S_inv_, rhs.unsqueeze(-1)).squeeze(-1);
  const torch::Tensor dz = u - torch::matmul(W_, dnu.unsqueeze(-1)).squeeze(-1);
  return {dz, dnu};
}

}  // namespace diffdfl::opt
