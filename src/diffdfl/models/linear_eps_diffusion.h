// LinearEpsDiffusion: a diffusion model whose ε-network is linear per timestep,
//   ε_θ(y_t, t, x) = A_t y_t + B_t x + c_t        (the authors' code; paper §3.3(a)),
// so that every sampler of diffusion_sampler.h is a linear-Gaussian chain
//   y ← K_j y + d_j + σ_j ξ,   K_j = c_y I + c_ε A_{t_j},   d_j = c_ε (B_{t_j} x + c_{t_j}),
// and y0 | x is exactly Gaussian: y0 | x ~ N(G x + g, Σ) with, over the steps j in execution order
// and Q_j = K_{S−1} ⋯ K_{j+1} (the steps after j),
//   G = Σ_j c_ε,j Q_j B_{t_j},  g = Σ_j c_ε,j Q_j c_{t_j},  Σ = Q_{−1} Q_{−1}ᵀ + Σ_j σ_j² Q_j Q_jᵀ.
// exact_log_density() is therefore the true log p_θ(y0 | x) of the configured sampler (use DDPM
// for the ancestral chain), differentiable w.r.t. A, B, c — the ground truth against which the
// ELBO surrogate's gradient (log_density(), inherited) is compared in the gradient-fidelity
// experiment. Everything else (fit loss, samplers, ELBO, checkpointing) is DiffusionPredictor's.
// Use float64 (the default here).
//
// Example:
//   DiffusionOptions o;
//   o.schedule.steps = 1000;
//   o.sampler.kind = SamplerKind::kDdpm;
//   LinearEpsDiffusion lin(/*x_dim=*/2, /*y_dim=*/2, o);
//   torch::Tensor y = lin.sample(x, 10, GraphMode::kNone);        // [B, 10, 2]
//   torch::Tensor exact = lin.exact_log_density(x, y);           // [B, 10], exact
//   torch::Tensor elbo = lin.log_density(x, y);                  // [B, 10], surrogate Ê
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "diffdfl/models/denoiser.h"
#include "diffdfl/models/diffusion.h"

namespace diffdfl::models {

struct LinearEpsOptions {
  double init_std = 1e-3;  ///< A, B, c ~ N(0, init_std²) (the reference)

  void validate() const;
};

/// ε̂ = A_t y + B_t x + c_t with parameters A [T, n, n], B [T, n, x_dim], c [T, n].
/// condition(x) returns {x}.
class LinearEpsNetworkImpl : public DenoiserImpl {
 public:
  LinearEpsNetworkImpl(int64_t T, int64_t x_dim, int64_t y_dim,
                       const LinearEpsOptions& options = {});

  int64_t x_dim() const override { return x_dim_; }
  int64_t y_dim() const override { return y_dim_; }
  DenoiserContext condition(const torch::Tensor& x) override;
  torch::Tensor predict(const torch::Tensor& y_t, const torch::Tensor& t,
                        const DenoiserContext& ctx) override;

  torch::Tensor A;
  torch::Tensor B;
  torch::Tensor c;

 private:
  int64_t x_dim_;
  int64_t y_dim_;
};

class LinearEpsDiffusion : public DiffusionPredictor {
 public:
  LinearEpsDiffusion(int64_t x_dim, int64_t y_dim, const DiffusionOptions& options = {},
                     const LinearEpsOptions& linear = {}, torch::Device device = torch::kCPU,
                     torch::Dtype dtype = torch::kDouble);

  std::string kind() const override { return "linear_eps_diffusion"; }

  /// y0_norm | x ~ N(gain·x + offset, covariance) under the configured sampler (normalised units).
  struct GaussianMarginal {
    torch::Tensor gain;        ///< [y_dim, x_dim]
    torch::Tensor offset;      ///< [y_dim]
    torch::Tensor covariance;  ///< [y_dim, y_dim]
  };
  /// Differentiable w.r.t. A, B, c.
  GaussianMarginal marginal();

  /// Exact log p(samples | x): x [B, x_dim], samples [B, M, y_dim] raw → [B, M] (includes
  /// −Σ log scale). Throws Error if the marginal covariance is not positive definite.
  torch::Tensor exact_log_density(const torch::Tensor& x, const torch::Tensor& samples);

  LinearEpsNetworkImpl& network() { return *linear_; }

 private:
  LinearEpsDiffusion(std::shared_ptr<LinearEpsNetworkImpl> net, const DiffusionOptions& options,
                     torch::Device device, torch::Dtype dtype);
  std::shared_ptr<LinearEpsNetworkImpl> linear_;
};

}  // namespace diffdfl::models
