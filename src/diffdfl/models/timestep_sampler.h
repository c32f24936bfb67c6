// TimestepSampler: how the ELBO surrogate draws its K timesteps per sample, and the coefficients
// that turn per-draw losses into Ê (the authors' code; paper §1.5; improved-DDPM's
// LossSecondMomentResampler).
//
//   kUniform            t ~ U{0..T−1}; Ê = −(1/K) Σ_k ℓ_k.
//   kSweep              t_k = ⌊k·T/K⌋, k = 0..K−1 for every sample (K = T: each step once, the
//                       reference's portfolio task); Ê = −(1/K) Σ_k ℓ_k. No randomness in t.
//   kSecondMoment       once every t has `history` losses, p_t ∝ √mean(ℓ²) over its history, mixed
//                       p ← (1−u) p + u/T; ω = 1/(T p_t); Ê = −(1/K) Σ_k ω_k ℓ_k (plain, unbiased
//                       IS).
//   kSecondMomentPower  the power task's variant: ω normalised to mean 1 over all draws of the
//                       call, clipped above at its `clip_quantile` quantile, self-normalised per
//                       sample: Ê = −Σ_k ω_k ℓ_k / (Σ_k ω_k + 1e-12); then u adapts to the
//                       effective sample size ESS = (Σω)²/Σω² of the clipped weights over all N
//                       draws: ESS < ess_low·N → u ← min(u_max, u_up_mul·u + u_up_add); ESS >
//                       ess_high·N → u ← max(u_min, u_down_mul·u − u_down_sub).
// Until every t has a full history, p is uniform and ω = 1. Randomness comes from the global CPU
// generator; the state (histories, u) is saved with the model so a resumed run is bit-identical.
//
// Example:
//   TimestepSamplerOptions o;
//   o.kind = TimestepSamplerKind::kSecondMoment;
//   TimestepSampler s(/*T=*/1000, o);
//   TimestepDraw d = s.draw(/*samples=*/B * M, /*K=*/10);   // d.t [B·M, K], d.coef [B·M, K]
//   ... loss[n, k] = ‖ε_θ(...) − ε‖² ...
//   s.update(d.t, loss);                                    // push the losses into the histories
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace diffdfl::models {

enum class TimestepSamplerKind { kUniform, kSweep, kSecondMoment, kSecondMomentPower };

std::string to_string(TimestepSamplerKind kind);
/// "uniform" | "sweep" | "second_moment" | "second_moment_power".
TimestepSamplerKind parse_timestep_sampler(const std::string& name);

struct TimestepSamplerOptions {
  TimestepSamplerKind kind = TimestepSamplerKind::kUniform;
  int64_t history = 10;       ///< losses kept per timestep
  double uniform_mix = 1e-3;  ///< initial u (reference: 1e-3 power, 1e-4 synthetic/stock)
  // Power variant.
  double clip_quantile = 0.95;
  double ess_low = 0.6;
  double ess_high = 0.9;
  double u_min = 0.05;
  double u_max = 0.5;
  double u_up_mul = 1.1;
  double u_up_add = 0.02;
  double u_down_mul = 0.95;
  double u_down_sub = 0.01;

  void validate() const;
};

/// K draws for each of N samples (CPU tensors).
struct TimestepDraw {
  torch::Tensor t;     ///< [N, K] int64
  torch::Tensor coef;  ///< [N, K] float64: Ê_n = −Σ_k coef[n, k] · ℓ[n, k]
  double ess = 0;      ///< effective sample size of the importance weights over all N·K draws
};

class TimestepSampler {
 public:
  TimestepSampler(int64_t T, const TimestepSamplerOptions& options = {});

  const TimestepSamplerOptions& options() const { return options_; }
  int64_t steps() const { return T_; }
  /// Whether draws use the history (importance-sampling kinds only).
  bool uses_history() const;
  /// Every timestep has a full history (before that, p is uniform).
  bool warmed_up() const;
  /// Current p_t, [T] float64 (uniform until warmed up, for kUniform and for kSweep).
  torch::Tensor probabilities() const;
  /// Current uniform mixing weight u.
  double uniform_mix() const { return u_; }

  /// Draws t ~ p for N samples × K draws and computes the Ê coefficients (see the header comment).
  /// The power variant adapts u here (it affects the next draw).
  TimestepDraw draw(int64_t N, int64_t K);

  /// Pushes per-draw losses (t and losses of the same shape, any device) into the histories, in
  /// row-major order. A no-op for kUniform and kSweep.
  void update(const torch::Tensor& t, const torch::Tensor& losses);

  /// Serialisation under keys "<prefix>.history", "<prefix>.count", "<prefix>.u".
  void save(torch::serialize::OutputArchive& archive, const std::string& prefix) const;
  void load(torch::serialize::InputArchive& archive, const std::string& prefix);

 private:
  int64_t T_;
  TimestepSamplerOptions options_;
  torch::Tensor history_;  // [T, H] float64, oldest first
  torch::Tensor count_;    // [T] int64, entries filled (≤ H)
  double u_;
};

}  // namespace diffdfl::models
