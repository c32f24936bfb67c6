// Stock portfolio (quadratic utility over the capped simplex), the paper's third task:
//
//   f(y, z) = ½ α (yᵀz)² − yᵀz,   Σ z = 1,  0 ≤ z ≤ 1,   α = 1e-6 in the paper.
//
// With the paper's α the SAA is almost a linear program: the optimum is (nearly) a vertex and the
// exact derivative of z* is zero almost everywhere. The reference adds 1e-6·I to the whole KKT
// matrix, which is what makes its gradients non-zero; `kkt_ridge` reproduces that (default 1e-6), 0
// gives the exact derivative, and a larger α gives a genuinely risk-averse, smooth problem.
//   ∇_z f = (α s − 1) y,  ∇²_zz f = α y yᵀ,  ∂∇_z f/∂y = (α s − 1) I + α y zᵀ,  s = yᵀz.
//
// Example:
//   opt::PortfolioOptions o; o.n = 50; o.kkt_ridge = 0;   // exact derivative
//   opt::DecisionLayer layer(std::make_shared<opt::PortfolioProgram>(o));
#pragma once

#include "diffdfl/opt/program.h"

namespace diffdfl::opt {

struct PortfolioOptions {
  int64_t n = 50;           ///< number of assets
  double alpha = 1e-6;      ///< risk aversion α ≥ 0
  double kkt_ridge = 1e-6;  ///< r·I added to the KKT matrix for the adjoint (reference: 1e-6)

  void validate() const;
};

class PortfolioProgram : public StochasticProgram {
 public:
  explicit PortfolioProgram(PortfolioOptions options);

  std::string name() const override { return "portfolio"; }
  int64_t n_y() const override { return options_.n; }
  int64_t n_z() const override { return options_.n; }
  const LinearConstraints& constraints() const override { return constraints_; }
  const PortfolioOptions& options() const { return options_; }
  double kkt_ridge() const override { return options_.kkt_ridge; }
  bool quadratic_in_z() const override { return true; }

  torch::Tensor cost(const torch::Tensor& y, const torch::Tensor& z) const override;
  torch::Tensor grad_z(const torch::Tensor& y, const torch::Tensor& z) const override;
  torch::Tensor saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const override;
  /// α/M · YᵀY as U Uᵀ with U = √(α/M) Yᵀ (rank ≤ M): O(n M²) solves for many assets.
  HessianForm hessian_form(const torch::Tensor& y, const torch::Tensor& z) const override;
  torch::Tensor cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                          const torch::Tensor& v) const override;
  torch::Tensor initial_point(const torch::Tensor& y) const override;

 private:
  PortfolioOptions options_;
  LinearConstraints constraints_;
};

}  // namespace diffdfl::opt
