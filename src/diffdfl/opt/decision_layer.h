// The differentiable decision layer: samples [B, M, n_y] → decisions z* [B, n_z], with both
// gradient estimators of Diffusion-DFL built on one adjoint solve per context.
//
// Reparameterization (gradients flow into whatever produced the samples):
//   opt::DecisionLayer layer(std::make_shared<opt::PowerProgram>(opt::PowerOptions{}));
//   torch::Tensor samples = model.sample(x, 25, GraphMode::kCheckpointed);  // [B, 25, 24]
//   torch::Tensor z = layer.decide(samples);                                 // [B, 24] float64
//   task_cost(y_true, z).mean().backward();
//
// Score function (detached weights for the weighted ELBO surrogate):
//   opt::Solution sol = layer.solve(samples);
//   torch::Tensor dl_dz = ...;                       // ∂ℓ/∂z from the realised cost at sol.z
//   torch::Tensor w = layer.sf_weights(samples, sol, dl_dz);     // [B, M]
//
// Deterministic DFL is the same with M = 1. With `pooled` all B·M samples of a batch form one
// program (the reference's synthetic task) and every row of z is that one decision.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "diffdfl/opt/program.h"

namespace diffdfl::opt {

struct LayerOptions {
  SolverOptions solver;
  /// Solve one program over all B·M samples of the batch and share its decision.
  bool pooled = false;

  void validate() const { solver.validate(); }
};

/// Counters a trainer reports per epoch.
struct LayerStats {
  int64_t solves = 0;            ///< instances solved
  int64_t solve_failures = 0;    ///< instances with an unusable status
  int64_t adjoint_failures = 0;  ///< usable solves whose adjoint system was singular
};

class DecisionLayer {
 public:
  DecisionLayer(std::shared_ptr<const StochasticProgram> program, LayerOptions options = {});

  const StochasticProgram& program() const { return *program_; }
  const LayerOptions& options() const { return options_; }

  /// Solves without building a graph. Throws InvalidArgument for malformed or non-finite samples
  /// (naming the batch index); numerical trouble is per-instance status in the result, and an
  /// instance whose z, duals or objective overflowed (samples near 1e300) is kNumerical, never
  /// kSolved.
  Solution solve(const torch::Tensor& samples) const;

  /// z* with a custom backward (reparameterization). Gradients w.r.t. the samples are
  /// ∂ℓ/∂ŷ_bm = −(1/M)(∂∇_z f/∂y)ᵀ a_b, zero for instances whose solve or adjoint failed or whose
  /// gradient is not finite (counted in stats().adjoint_failures). The
  /// result is float64; `solution` (optional) receives the solve's statuses and duals.
  torch::Tensor decide(const torch::Tensor& samples, Solution* solution = nullptr) const;

  /// Score-function weights w_bm = −a_bᵀ ∇_z f(ŷ_bm, z_b) → [B, M] float64 (zero for failed
  /// instances and non-finite weights, counted as adjoint failures), for a solution returned by
  /// solve(samples) and ∂ℓ/∂z [B, n_z].
  torch::Tensor sf_weights(const torch::Tensor& samples, const Solution& solution,
                           const torch::Tensor& dl_dz) const;

  /// Counters since construction or the last reset (thread-compatible, not thread-safe).
  const LayerStats& stats() const { return *stats_; }
  void reset_stats() { *stats_ = LayerStats{}; }

 private:
  std::shared_ptr<const StochasticProgram> program_;
  LayerOptions options_;
  std::shared_ptr<LayerStats> stats_;
};

}  // namespace diffdfl::opt
