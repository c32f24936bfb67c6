// Synthetic product allocation (risk-averse exponential utility), the paper's first task:
//
//   f(y, z) = exp(−yᵀz),   0 ≤ z ≤ C   (C = 2, n = 10 in the paper).
//
// Smooth and strictly convex wherever the samples span R^n, so the KKT derivative is exact.
// Solved by the generic interior-point method with closed-form derivatives:
//   ∇_z f = −y e,  ∇²_zz f = e y yᵀ,  ∂∇_z f/∂y = e (y zᵀ − I),  e = exp(−yᵀz).
//
// Example:
//   auto prog = std::make_shared<opt::AllocationProgram>(opt::AllocationOptions{});
//   opt::DecisionLayer layer(prog, opt::LayerOptions{});      // per-context problems
//   torch::Tensor z = layer.decide(samples);                  // samples [B, M, 10]
#pragma once

#include "diffdfl/opt/program.h"

namespace diffdfl::opt {

struct AllocationOptions {
  int64_t n = 10;         ///< decision and parameter dimension
  double capacity = 2.0;  ///< C in 0 ≤ z ≤ C

  void validate() const;
};

class AllocationProgram : public StochasticProgram {
 public:
  explicit AllocationProgram(AllocationOptions options);

  std::string name() const override { return "allocation"; }
  int64_t n_y() const override { return options_.n; }
  int64_t n_z() const override { return options_.n; }
  const LinearConstraints& constraints() const override { return constraints_; }
  const AllocationOptions& options() const { return options_; }

  torch::Tensor cost(const torch::Tensor& y, const torch::Tensor& z) const override;
  torch::Tensor grad_z(const torch::Tensor& y, const torch::Tensor& z) const override;
  torch::Tensor saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const override;
  torch::Tensor cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                          const torch::Tensor& v) const override;
  torch::Tensor initial_point(const torch::Tensor& y) const override;

 private:
  AllocationOptions options_;
  LinearConstraints constraints_;
};

}  // namespace diffdfl::opt
