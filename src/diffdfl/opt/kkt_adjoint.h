// The adjoint of the differentiated KKT system, shared by both gradient estimators.
//
// At a solution (z*, λ, ν) of min F(z) s.t. G z ≤ h, A z = b, the KKT conditions linearise to
//
//       [ H          Gᵀ         Aᵀ ] [dz]   [ −d∇F ]
//   K = [ diag(λ) G  −diag(s)   0  ] [dλ] = [  0   ]      s = h − G z*,  H = ∇²F(z*),
//       [ A          0          0  ] [dν]   [  0   ]
//
// and for an upstream gradient u = ∂ℓ/∂z* one adjoint a = K⁻ᵀ (u; 0; 0) gives every derivative:
// ∂ℓ/∂ŷ_m = −(1/M) (∂∇_z f(ŷ_m, z*)/∂y)ᵀ a[:n] and the score-function weights w_m = −a[:n]ᵀ ∇_z f.
// Only a[:n] is needed, so the solve uses an equivalent smaller system:
//  - bound constraints (every row of G is ±eᵢ): eliminate dλ = diag(λ/(s − r)) G dz and solve the
//    (n + p) bordered system [H + rI + Gᵀ D G, Aᵀ; A, rI] (reduced_kkt.h; Woodbury for low-rank H);
//  - general G: the full system with each complementarity row divided by (λᵢ + sᵢ), which leaves
//    a[:n] unchanged and keeps the matrix well scaled when sᵢ or λᵢ is exactly zero.
// `ridge` r > 0 adds r·I to the whole K first (the reference's portfolio regulariser).
//
// Example:
//   opt::Adjoint adj = opt::kkt_adjoint(HessianForm::dense(H), program.constraints(), sol, dl_dz,
//                                       /*ridge=*/0.0);
//   torch::Tensor a = adj.a;          // [B, n]
#pragma once

#include <torch/torch.h>

#include "diffdfl/opt/constraints.h"
#include "diffdfl/opt/reduced_kkt.h"
#include "diffdfl/opt/solution.h"

namespace diffdfl::opt {

struct Adjoint {
  torch::Tensor a;   ///< [B, n_z] float64; zero rows where !ok
  torch::Tensor ok;  ///< [B] bool: the solve was usable and the adjoint system nonsingular

  int64_t failures() const { return ok.numel() - ok.sum().item<int64_t>(); }
};

/// Adjoint for a batch. H is the SAA Hessian at sol.z; dl_dz [B, n].
Adjoint kkt_adjoint(const HessianForm& H, const LinearConstraints& constraints, const Solution& sol,
                    const torch::Tensor& dl_dz, double ridge);

/// The full KKT matrix K of the header comment (with r·I added), [B, n+m+p, n+m+p]; for tests and
/// for users who want to inspect it.
torch::Tensor kkt_matrix(const torch::Tensor& H, const LinearConstraints& constraints,
                         const Solution& sol, double ridge);

}  // namespace diffdfl::opt
