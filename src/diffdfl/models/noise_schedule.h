// NoiseSchedule: the forward (noising) process of a DDPM, in float64 on the CPU (as in the authors'
// code). t is 0-indexed, t ∈ {0..T−1}; ᾱ_t = Π_{s≤t}(1 − β_s) and ᾱ_{−1} := 1.
//
// Example:
//   NoiseScheduleOptions o;            // linear β from 1e-4 to 0.02, T = 1000 (the reference)
//   o.steps = 100;
//   o.beta_end = 0.2;                  // keep ᾱ_{T−1} ≈ 0 with fewer steps
//   NoiseSchedule s(o);
//   double ab = s.alpha_bar(99);       // ≈ 4e-5
//   torch::Tensor lam = s.elbo_weights();  // λ_t, [T] float64
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace diffdfl::models {

enum class BetaSchedule {
  kLinear,  ///< β_t = linspace(beta_start, beta_end, T) (the reference)
  kCosine,  ///< Nichol & Dhariwal: ᾱ(t) ∝ cos²(((t+1)/T + s)/(1 + s)·π/2), β clipped at max_beta
};

std::string to_string(BetaSchedule kind);
BetaSchedule parse_beta_schedule(const std::string& name);  ///< "linear" | "cosine"

struct NoiseScheduleOptions {
  int64_t steps = 1000;  ///< T
  BetaSchedule kind = BetaSchedule::kLinear;
  double beta_start = 1e-4;      ///< linear only
  double beta_end = 0.02;        ///< linear only
  double cosine_offset = 0.008;  ///< s of the cosine schedule
  double max_beta = 0.999;       ///< cosine only: β_t ≤ max_beta

  /// Throws InvalidArgument naming the bad field.
  void validate() const;
};

class NoiseSchedule {
 public:
  explicit NoiseSchedule(const NoiseScheduleOptions& options = {});

  const NoiseScheduleOptions& options() const { return options_; }
  int64_t steps() const { return options_.steps; }

  /// ᾱ_t for t ∈ {−1..T−1} (ᾱ_{−1} = 1).
  double alpha_bar(int64_t t) const;
  double beta(int64_t t) const;

  // Per-step tensors, [T] float64 on the CPU.
  const torch::Tensor& betas() const { return betas_; }
  const torch::Tensor& alphas() const { return alphas_; }
  const torch::Tensor& alpha_bars() const { return alpha_bars_; }
  const torch::Tensor& alpha_bars_prev() const { return alpha_bars_prev_; }  ///< ᾱ_{t−1}
  /// β̃_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t); β̃_0 = 0.
  const torch::Tensor& posterior_variances() const { return posterior_variances_; }
  /// log β̃_t with β̃_0 replaced by β̃_1 (the usual clipped log; the reference clamps at 1e-20).
  const torch::Tensor& posterior_log_variances_clipped() const { return posterior_log_var_; }
  /// The true ELBO weights of the ε-loss: λ_t = β_t² / (2 β̃_t α_t (1 − ᾱ_t)), λ_0 := λ_1.
  const torch::Tensor& elbo_weights() const { return elbo_weights_; }

 private:
  NoiseScheduleOptions options_;
  std::vector<double> betas_v_;
  std::vector<double> alpha_bars_v_;
  torch::Tensor betas_, alphas_, alpha_bars_, alpha_bars_prev_, posterior_variances_,
      posterior_log_var_, elbo_weights_;
};

/// The S timesteps of a strided sampler in ascending order: τ_i = round(i·(T−1)/(S−1)),
/// i = 0..S−1 (ties rounded up), so τ_0 = 0 and τ_{S−1} = T−1; S = T gives 0..T−1 and S = 1 gives
/// {T−1}. Strictly increasing for 1 ≤ S ≤ T.
std::vector<int64_t> strided_timesteps(int64_t T, int64_t S);

}  // namespace diffdfl::models
