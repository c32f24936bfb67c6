// DiffusionPredictor: the conditional diffusion model of Diffusion-DFL (as in the authors' code).
//
//   fit_loss       mean over rows and dims of (ε − ε_θ(√ᾱ_t y + √(1−ᾱ_t) ε, t, x))², t ~ U{0..T−1}
//   sample         DDIM(η, S strided steps) or DDPM ancestral (diffusion_sampler.h); graph modes
//                  none / full / checkpointed (same gradient as full, O(√S) activations)
//   log_density    the ELBO surrogate Ê(ŷ | x) = −Σ_k c_k ‖ε_θ(y_k, t_k, x) − ε_k‖² with
//                  y_k = √ᾱ_{t_k} ŷ + √(1−ᾱ_{t_k}) ε_k, over K draws (t_k, ε_k) per sample;
//                  c_k = 1/K for uniform t (the reference), the importance-sampling
//                  coefficients of timestep_sampler.h otherwise, times T·λ_{t_k} with
//                  ElboWeighting::kLambda (then Ê is an unbiased estimate of the true variational
//                  bound Σ_t −λ_t E‖ε_θ − ε‖², up to θ-independent constants). Ê carries no
//                  Jacobian term for the target transform (it is a surrogate defined up to
//                  θ-independent constants).
//   surrogate_backward  S = scale·Σ w_bm Ê_bm, back-propagated chunk by chunk (≤ elbo.chunk_rows
//                  network rows at a time) so that B·M·K rows never live at once.
// Randomness (t, ε, sampler noise) comes from the global generators (t always from the CPU one);
// the timestep sampler's histories and u are saved with the model.
//
// Example (power task, CPU preset):
//   DiffusionOptions o;
//   o.network.width = 256;
//   o.sampler.steps = 50;                       // S; 0 = T (the reference's 1000-step DDIM)
//   o.elbo.draws = 10;                          // K
//   o.timestep_sampler.kind = TimestepSamplerKind::kSecondMomentPower;
//   DiffusionPredictor diff(/*x_dim=*/149, /*y_dim=*/24, o);
//   torch::Tensor loss = diff.fit_loss(x, y);
//   torch::Tensor yhat = diff.sample(x, 25, GraphMode::kCheckpointed);   // [B, 25, 24]
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diffdfl/models/denoiser.h"
#include "diffdfl/models/diffusion_sampler.h"
#include "diffdfl/models/eps_network.h"
#include "diffdfl/models/noise_schedule.h"
#include "diffdfl/models/predictor.h"
#include "diffdfl/models/timestep_sampler.h"

namespace diffdfl::models {

enum class ElboWeighting {
  kUnit,    ///< the DDPM "simple" loss (the reference)
  kLambda,  ///< the true ELBO weights λ_t (times T, so the estimate targets the bound itself)
};

std::string to_string(ElboWeighting w);
ElboWeighting parse_elbo_weighting(const std::string& name);  ///< "unit" | "lambda"

struct ElboOptions {
  int64_t draws = 10;  ///< K (timestep/noise draws per sample)
  ElboWeighting weighting = ElboWeighting::kUnit;
  int64_t chunk_rows = 16384;  ///< network rows evaluated at once (memory bound)

  void validate() const;
};

struct DiffusionOptions {
  NoiseScheduleOptions schedule;
  EpsNetworkOptions network;  ///< ignored by LinearEpsDiffusion
  SamplerOptions sampler;
  ElboOptions elbo;
  TimestepSamplerOptions timestep_sampler;

  /// Throws InvalidArgument naming the bad field (also checks sampler.steps ≤ schedule.steps).
  void validate() const;
};

class DiffusionPredictor : public Predictor {
 public:
  DiffusionPredictor(int64_t x_dim, int64_t y_dim, const DiffusionOptions& options = {},
                     torch::Device device = torch::kCPU, torch::Dtype dtype = torch::kFloat);

  std::string kind() const override { return "diffusion"; }

  torch::Tensor fit_loss(const torch::Tensor& x, const torch::Tensor& y) override;
  /// The denoising loss at given steps t [B] (int64), mean over rows and dims.
  torch::Tensor denoising_loss(const torch::Tensor& x, const torch::Tensor& y,
                               const torch::Tensor& t);

  torch::Tensor sample(const torch::Tensor& x, int64_t M, GraphMode mode) override;
  /// The sampler started from a given y_start [B, M, y_dim] (N(0, I) draw in normalised units).
  torch::Tensor sample_from(const torch::Tensor& x, const torch::Tensor& y_start, GraphMode mode);

  bool has_log_density() const override { return true; }
  /// Ê [B, M] with graph. Chunked, but with grad enabled every chunk's graph is kept until the
  /// caller's backward, so memory grows with B·M·K: use surrogate_backward for bounded memory.
  /// Updates the timestep sampler's history (except for uniform timesteps).
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& samples) override;
  double surrogate_backward(const torch::Tensor& x, const torch::Tensor& samples,
                            const torch::Tensor& weights, double scale) override;

  GraphMode rp_graph_mode(GraphMode requested) const override { return requested; }
  /// Calls set_x0_range.
  void set_target_range(const torch::Tensor& lo, const torch::Tensor& hi) override {
    set_x0_range(lo, hi);
  }
  int64_t sample_steps() const override { return options_.sampler.steps; }
  bool has_sample_steps() const override { return true; }
  /// set_sampler with sampler.steps = steps.
  void set_sample_steps(int64_t steps) override;

  const DiffusionOptions& options() const { return options_; }
  /// Replaces the sampler settings (kind, η, S, segments), e.g. more steps for evaluation.
  void set_sampler(const SamplerOptions& sampler);
  /// Replaces the ELBO settings (K, weighting, chunk size).
  void set_elbo(const ElboOptions& elbo);
  /// The per-coordinate range [lo, hi] (raw units, [y_dim] each) that sampler.clip_x0_range clamps
  /// every step's ŷ0 to: typically the training targets' min and max. Set the target transform
  /// first (the bounds are stored in model units). Saved with the model; ±∞ until set.
  void set_x0_range(const torch::Tensor& lo, const torch::Tensor& hi);
  const NoiseSchedule& schedule() const { return schedule_; }
  const std::vector<ReverseStep>& reverse_plan() const { return plan_; }
  TimestepSampler& timestep_sampler() { return timestep_sampler_; }
  const TimestepSampler& timestep_sampler() const { return timestep_sampler_; }
  DenoiserImpl& denoiser() { return *net_; }
  std::shared_ptr<DenoiserImpl> denoiser_ptr() { return net_; }

 protected:
  /// For models with another ε-network (LinearEpsDiffusion).
  DiffusionPredictor(std::shared_ptr<DenoiserImpl> net, const DiffusionOptions& options,
                     torch::Device device, torch::Dtype dtype);

  void save_extra(torch::serialize::OutputArchive& archive) const override;
  void load_extra(torch::serialize::InputArchive& archive) override;
  void on_moved() override;

 private:
  // ELBO evaluation over draws planned for all B·M samples; calls `sink(c0, c1, g0, g1, loss)`
  // for each chunk with the per-row losses ℓ [c1−c0, g1−g0] (with graph when grad is enabled).
  struct ElboPlan;
  ElboPlan plan_elbo(int64_t B, int64_t M);
  template <typename Sink>
  void evaluate_elbo(const torch::Tensor& x, const torch::Tensor& samples_norm,
                     const ElboPlan& plan, Sink&& sink);
  void finish_elbo(const ElboPlan& plan, const std::vector<torch::Tensor>& losses);
  torch::Tensor run_sampler(const torch::Tensor& xn, const torch::Tensor& y_start, GraphMode mode);

  DiffusionOptions options_;
  NoiseSchedule schedule_;
  std::vector<ReverseStep> plan_;
  TimestepSampler timestep_sampler_;
  std::shared_ptr<DenoiserImpl> net_;
  // Schedule tensors on the model's device and dtype.
  torch::Tensor sqrt_ab_, sqrt_1mab_, lambda_;
  torch::Tensor x0_lo_, x0_hi_;  // buffers: set_x0_range in model units
};

}  // namespace diffdfl::models
