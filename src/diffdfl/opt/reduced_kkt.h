// The reduced KKT system both the interior-point method and the adjoint solve:
//
//   [ Φ  Aᵀ ] [dz]   [r1]
//   [ A  βI ] [dν] = [r2],     Φ = H + Gᵀ diag(D) G + σ I,
//
// batched over instances. The equalities are eliminated with a Schur complement (p is small). Φ is
// factorised once and reused for any number of right-hand sides:
//  - dense H: Cholesky (with retries on a tiny relative shift) when Φ is known to be definite,
//    LU otherwise (the adjoint with a ridge makes Φ indefinite);
//  - H = diag(h) + U Uᵀ of low rank r with bound constraints (Gᵀ D G diagonal): the Woodbury
//    identity, O(n r²) per instance instead of O(n³) (the portfolio with n = 400 assets, M = 10).
// Bound constraints never form Gᵀ D G densely: it is diag(D ⋅ (G∘G)).
//
// Example:
//   ReducedKkt sys(HessianForm::dense(H), constraints, lam / s, 0.0, 0.0, /*definite=*/true);
//   auto [dz, dnu] = sys.solve(r1, r2);
#pragma once

#include <torch/torch.h>

#include <utility>

#include "diffdfl/opt/constraints.h"

namespace diffdfl::opt {

/// The SAA Hessian, dense [B, n, n] or as diag(h) + U Uᵀ with h [B, n] and U [B, n, r].
struct HessianForm {
  torch::Tensor full;  ///< dense form, or undefined
  torch::Tensor diag;  ///< low-rank form: diagonal part
  torch::Tensor U;     ///< low-rank form: factor

  bool lowrank() const { return !full.defined(); }
  /// The dense matrix (materialised from the low-rank form if needed).
  torch::Tensor dense() const;

  static HessianForm dense(torch::Tensor H);
  static HessianForm diag_plus_lowrank(torch::Tensor diag, torch::Tensor U);
};

class ReducedKkt {
 public:
  /// D [B, m] weights of the constraint rows; σ a diagonal shift of Φ; β the lower-right block.
  ReducedKkt(const HessianForm& H, const LinearConstraints& constraints, const torch::Tensor& D,
             double sigma, double beta, bool definite);

  /// Instances whose factorisation failed ([B] bool); their solutions are meaningless.
  const torch::Tensor& failed() const { return failed_; }

  /// (dz [B, n], dν [B, p]) for r1 [B, n], r2 [B, p].
  std::pair<torch::Tensor, torch::Tensor> solve(const torch::Tensor& r1,
                                                const torch::Tensor& r2) const;

 private:
  torch::Tensor apply_inverse(const torch::Tensor& x) const;  // Φ⁻¹ x for x [B, n, k]

  torch::Tensor A_;
  double beta_ = 0.0;
  // Dense path: Cholesky factor or LU factorisation of Φ.
  bool cholesky_ = false;
  torch::Tensor factor_;
  torch::Tensor pivots_;
  // Woodbury path: Φ = diag(d) + U Uᵀ.
  bool woodbury_ = false;
  torch::Tensor d_;
  torch::Tensor U_over_d_;
  torch::Tensor cap_inv_;
  torch::Tensor U_;
  // Schur complement of the equalities.
  torch::Tensor W_;  // Φ⁻¹ Aᵀ [B, n, p]
  torch::Tensor S_inv_;
  torch::Tensor failed_;
};

}  // namespace diffdfl::opt
