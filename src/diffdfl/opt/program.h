// The stochastic program behind the decision layer:
//
//   z*(Ŷ) = argmin_z (1/M) Σ_m f(ŷ_m, z)   s.t.  G z ≤ h,  A z = b,
//
// batched over contexts: samples [B, M, n_y] → decisions [B, n_z]. A program provides its
// per-sample cost and constraints; the derivatives (per-sample ∇_z f, the SAA Hessian, and the
// cross-derivative product v ↦ (∂∇_z f / ∂y)ᵀ v) default to LibTorch autograd on the cost, and the
// built-in programs override them with closed forms. Solving defaults to the generic batched
// interior-point method (ipm.h); a program with structure overrides `solve` (power scheduling
// does).
//
// Example (a user program that only writes its cost, see CostFunctionProgram below):
//   auto prog = std::make_shared<opt::CostFunctionProgram>(
//       "newsvendor", /*n_y=*/3, /*n_z=*/3, opt::LinearConstraints::box(3, 0, 10),
//       [](const torch::Tensor& y, const torch::Tensor& z) {   // y, z: [B, M, 3]
//         return (2 * torch::relu(y - z) + torch::relu(z - y) + 0.05 * (z - y).pow(2)).sum(-1);
//       });
//   opt::Solution sol = prog->solve(samples, {});
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

#include "diffdfl/opt/constraints.h"
#include "diffdfl/opt/kkt_adjoint.h"
#include "diffdfl/opt/solution.h"
#include "diffdfl/opt/solver_options.h"

namespace diffdfl::opt {

class StochasticProgram {
 public:
  virtual ~StochasticProgram() = default;

  virtual std::string name() const = 0;
  virtual int64_t n_y() const = 0;
  virtual int64_t n_z() const = 0;
  /// The constraints (float64, CPU); the solvers move them to the samples' device.
  virtual const LinearConstraints& constraints() const = 0;

  /// Per-sample cost f(ŷ_bm, z_bm): y [B, M, n_y], z [B, M, n_z] (the decision of context b
  /// repeated over its samples) → [B, M]. Must be written in LibTorch ops for the autograd
  /// defaults.
  virtual torch::Tensor cost(const torch::Tensor& y, const torch::Tensor& z) const = 0;

  /// Per-sample gradient ∇_z f(ŷ_bm, z_b): y [B, M, n_y], z [B, n_z] → [B, M, n_z].
  virtual torch::Tensor grad_z(const torch::Tensor& y, const torch::Tensor& z) const;
  /// SAA Hessian (1/M) Σ_m ∇²_zz f(ŷ_bm, z_b) → [B, n_z, n_z].
  virtual torch::Tensor saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const;
  /// The SAA Hessian in the form the solvers use: dense by default; a program whose Hessian is
  /// diagonal plus low rank returns that form (the solvers then use the Woodbury identity).
  virtual HessianForm hessian_form(const torch::Tensor& y, const torch::Tensor& z) const {
    return HessianForm::dense(saa_hessian(y, z));
  }
  /// Cross-derivative product per sample: v [B, n_z] ↦ (∂∇_z f(ŷ_bm, z_b) / ∂y)ᵀ v_b → [B, M, n_y].
  virtual torch::Tensor cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                                  const torch::Tensor& v) const;
  /// True when the SAA objective is quadratic in z (the IPM then takes full Newton steps).
  virtual bool quadratic_in_z() const { return false; }
  /// A point from which the IPM starts (default zeros) → [B, n_z].
  virtual torch::Tensor initial_point(const torch::Tensor& y) const;

  /// Solves the batch. Default: the generic interior-point method on (cost, grad_z, saa_hessian).
  virtual Solution solve(const torch::Tensor& y, const SolverOptions& options) const;

  /// Ridge added to the whole KKT matrix before the adjoint solve (the reference's regulariser for
  /// the portfolio, `kkt_ridge`); 0 = exact derivative.
  virtual double kkt_ridge() const { return 0.0; }

  /// One adjoint per context: a_b = first n_z entries of K_bᵀ⁻¹ (∂ℓ/∂z_b ; 0), K_b the
  /// differentiated KKT matrix at the solution (kkt_adjoint.h). dl_dz [B, n_z]. Rows of unusable
  /// solves are zero.
  virtual Adjoint adjoint(const torch::Tensor& y, const Solution& sol,
                          const torch::Tensor& dl_dz) const;
  /// Reparameterization gradient ∂ℓ/∂ŷ_bm = −(1/M)(∂∇_z f(ŷ_bm, z_b)/∂y)ᵀ a_b → [B, M, n_y].
  virtual torch::Tensor sample_gradient(const torch::Tensor& y, const Solution& sol,
                                        const torch::Tensor& dl_dz, const torch::Tensor& a) const;
  /// Score-function weights w_bm = −a_bᵀ ∇_z f(ŷ_bm, z_b) → [B, M] (detached).
  virtual torch::Tensor sf_weights(const torch::Tensor& y, const Solution& sol,
                                   const torch::Tensor& a) const;

  /// Throws InvalidArgument unless y is [B, M, n_y] (B, M ≥ 1) and finite; the message names the
  /// first bad batch index.
  void check_samples(const torch::Tensor& y) const;
};

/// A program defined by its cost alone; every derivative comes from autograd. Convenient for new
/// problems; the closed-form programs are several times faster (bench/bench_opt.cpp measures it).
class CostFunctionProgram : public StochasticProgram {
 public:
  using CostFn = std::function<torch::Tensor(const torch::Tensor& y, const torch::Tensor& z)>;

  CostFunctionProgram(std::string name, int64_t n_y, int64_t n_z, LinearConstraints constraints,
                      CostFn cost);

  std::string name() const override { return name_; }
  int64_t n_y() const override { return n_y_; }
  int64_t n_z() const override { return n_z_; }
  const LinearConstraints& constraints() const override { return constraints_; }
  torch::Tensor cost(const torch::Tensor& y, const torch::Tensor& z) const override;

 private:
  std::string name_;
  int64_t n_y_;
  int64_t n_z_;
  LinearConstraints constraints_;
  CostFn cost_;
};

/// (1/M) Σ_m f(ŷ_bm, z_b) → [B].
torch::Tensor saa_objective(const StochasticProgram& program, const torch::Tensor& y,
                            const torch::Tensor& z);

}  // namespace diffdfl::opt
