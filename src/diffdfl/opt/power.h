// Power generation scheduling (after Donti et al. 2017), the paper's second task:
//
//   f(y, z) = Σ_h γu (y_h − z_h)₊ + γo (z_h − y_h)₊ + ½ (z_h − y_h)²,   |z_{h+1} − z_h| ≤ c,
//
// γu = 50, γo = 0.5, c = 0.4, n = 24. The SAA is solved exactly by dynamic programming
// (power_dp.h): no iterations and no tolerance, O(M n²) per context, contexts in parallel on the
// CPU (samples on another device are copied to the CPU and the results copied back).
//
// The per-sample cost has kinks at z_h = ŷ_mh and the SAA optimum sits on one with positive
// probability (an hour "pinned" to one sample). Two gradient modes (docs/decision-layer.md, "Gradient semantics"):
//  - kReference: H = I and the a.e. gradient, as the paper: ∂ℓ/∂ŷ_m = a/M for every sample, where a
//    averages ∂ℓ/∂z over each chain of hours tied by binding ramps.
//  - kExact: the true derivative of the SAA solution map: a pinned chain follows its sample, so
//  that
//    sample receives the chain's whole ∂ℓ/∂z and the others nothing; unpinned chains as above.
// The two agree exactly when no hour is pinned.
//
// Example:
//   opt::PowerOptions o;
//   o.gradient = opt::PowerGradient::kExact;
//   opt::DecisionLayer layer(std::make_shared<opt::PowerProgram>(o));
//   torch::Tensor z = layer.decide(samples);   // samples [B, M, 24]
#pragma once

#include "diffdfl/opt/program.h"

namespace diffdfl::opt {

enum class PowerGradient { kReference, kExact, kSmoothed };

/// "reference" / "exact" / "smoothed" ↔ PowerGradient; InvalidArgument for another name.
PowerGradient parse_power_gradient(const std::string& name);
/// The names parse_power_gradient accepts, in that order.
const std::vector<std::string>& power_gradient_names();
const char* to_string(PowerGradient g);

struct PowerOptions {
  int64_t n = 24;             ///< hours
  double gamma_under = 50.0;  ///< γu, cost per unit of unmet load
  double gamma_over = 0.5;    ///< γo, cost per unit of excess generation
  double ramp = 0.4;          ///< c in |z_{h+1} − z_h| ≤ c
  PowerGradient gradient = PowerGradient::kReference;

  void validate() const;
};

class PowerProgram : public StochasticProgram {
 public:
  explicit PowerProgram(PowerOptions options);

  std::string name() const override { return "power"; }
  int64_t n_y() const override { return options_.n; }
  int64_t n_z() const override { return options_.n; }
  const LinearConstraints& constraints() const override { return constraints_; }
  const PowerOptions& options() const { return options_; }

  torch::Tensor cost(const torch::Tensor& y, const torch::Tensor& z) const override;
  /// The a.e. gradient −γu·1[y > z] + γo·1[z > y] + (z − y).
  torch::Tensor grad_z(const torch::Tensor& y, const torch::Tensor& z) const override;
  /// The a.e. Hessian I (smoothed mode: I + diag of smoothed_curvature).
  torch::Tensor saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const override;
  /// ∂∇_z f/∂y = −I a.e.
  torch::Tensor cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                          const torch::Tensor& v) const override;

  /// Exact dynamic-programming solve (status kSolved, one "iteration").
  Solution solve(const torch::Tensor& y, const SolverOptions& options) const override;
  /// The kernel estimate of (γu + γo) p_h(z_h) per hour → [B, n] (the smoothed mode's curvature).
  torch::Tensor smoothed_curvature(const torch::Tensor& y, const torch::Tensor& z) const;
  /// Chain-structured adjoint (see the header comment) for the configured gradient mode.
  Adjoint adjoint(const torch::Tensor& y, const Solution& sol,
                  const torch::Tensor& dl_dz) const override;
  torch::Tensor sample_gradient(const torch::Tensor& y, const Solution& sol,
                                const torch::Tensor& dl_dz, const torch::Tensor& a) const override;

 private:
  PowerOptions options_;
  LinearConstraints constraints_;
};

/// The same SAA written as the explicit epigraph QP in (z, t) with 2·M·n + 2(n − 1) constraints,
///   min ½‖z‖² − ȳᵀz + (1/M) Σ t  s.t.  t_mh ≥ γu (y_mh − z_h),  t_mh ≥ γo (z_h − y_mh),  ramps,
/// solved by the generic dense interior-point method. An independent formulation for tests and the
/// baseline of bench_opt; slow (dense (n + M n)² systems). The returned Solution holds z and the
/// ramp constraints' duals and slacks only.
Solution solve_power_epigraph_qp(const PowerOptions& options, const torch::Tensor& y,
                                 const SolverOptions& solver);

}  // namespace diffdfl::opt
