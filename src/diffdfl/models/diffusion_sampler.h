// Reverse-process samplers of the diffusion model (as in the authors' code): DDIM with η over S ≤ T
// strided steps, and DDPM ancestral sampling, each in three graph modes (none / full /
// checkpointed).
//
// Both samplers are written as one linear update per step,
//   y_{prev} = c_y · y + c_ε · ε_θ(y, τ, x) + σ · ξ,     ξ ~ N(0, I),
// over the timesteps τ_{S−1} > … > τ_0 of strided_timesteps(T, S), where "prev" is the next lower
// timestep (ᾱ_prev := ᾱ_{τ_{i−1}}, and ᾱ_prev := 1 after τ_0, so the last step returns ŷ0):
//   DDIM: ŷ0 = (y − √(1−ᾱ) ε̂)/√ᾱ,  σ = η √((1−ᾱ_prev)/(1−ᾱ)) √(1 − ᾱ/ᾱ_prev),
//         y_prev = √ᾱ_prev ŷ0 + √(1−ᾱ_prev−σ²) ε̂ + σ ξ
//         ⇒ c_y = √(ᾱ_prev/ᾱ), c_ε = √(1−ᾱ_prev−σ²) − √(ᾱ_prev(1−ᾱ)/ᾱ).
//   DDPM (on the respaced chain β' = 1 − ᾱ/ᾱ_prev, α' = 1 − β'; S = T gives β' = β_t):
//         mean = (y − β'/√(1−ᾱ) ε̂)/√α', std √β̃' with β̃' = β'(1−ᾱ_prev)/(1−ᾱ), no noise at τ_0
//         ⇒ c_y = 1/√α', c_ε = −β'/(√α' √(1−ᾱ)), σ = √β̃'.
// With S = T this is the reference's `sample_elbo` (DDIM) and `p_sample` loop (DDPM), up to
// floating-point rounding (the reference forms ŷ0 explicitly). DDPM equals DDIM with η = 1.
//
// Graph modes: kNone runs under NoGradGuard; kFull records every step; kCheckpointed records
// nothing in the forward pass except the state at the start of each of the `segments` segments
// (and the noise ξ of every step when σ > 0), and its backward recomputes one segment at a time
// (last first) with grad enabled and back-propagates through it. All three modes consume the
// global generator in the same order (y_start first, then ξ step by step), so with the same seed
// they return the same samples, and kFull and kCheckpointed the same gradient.
//
// Example:
//   NoiseSchedule sched;                              // T = 1000
//   SamplerOptions so;
//   so.steps = 50;                                    // S
//   std::vector<ReverseStep> plan = plan_reverse_steps(sched, so);
//   torch::Tensor y0 = run_reverse_process(net, plan, x, torch::randn({B, M, n_y}),
//                                          GraphMode::kCheckpointed, /*segments=*/7);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/models/denoiser.h"
#include "diffdfl/models/graph_mode.h"
#include "diffdfl/models/noise_schedule.h"

namespace diffdfl::models {

enum class SamplerKind { kDdim, kDdpm };

std::string to_string(SamplerKind kind);
SamplerKind parse_sampler_kind(const std::string& name);  ///< "ddim" | "ddpm"

struct SamplerOptions {
  SamplerKind kind = SamplerKind::kDdim;
  double eta = 0.0;   ///< DDIM only (reference: 0.8 synthetic, 0 power and portfolio)
  int64_t steps = 0;  ///< S ∈ [1, T]; 0 means T (the reference)
  /// Segments of the checkpointed reparameterization; 0 means round(√S).
  int64_t checkpoint_segments = 0;
  /// If > 0, each step clamps its estimate ŷ0 = (y − √(1−ᾱ) ε̂)/√ᾱ to [−clip_x0, clip_x0]
  /// (normalised units) and continues with the ε̂ consistent with the clamped ŷ0, as DDPM's
  /// `clip_denoised`. Keeps few-step samplers from producing far outliers (ŷ0 divides by √ᾱ_T ≈
  /// 0.006 at the first step); the reference does not clip (0).
  double clip_x0 = 0.0;
  /// If set, each step also clamps ŷ0 per coordinate to the X0Bounds the model passes (the
  /// training targets' range, DiffusionPredictor::set_x0_range): thresholding to the data's range.
  bool clip_x0_range = false;

  /// Range checks that need no T (InvalidArgument naming the field).
  void validate() const;
  /// S for a schedule of T steps (validates S ≤ T).
  int64_t resolved_steps(int64_t T) const;
  /// Number of segments for a schedule of T steps: in [1, S].
  int64_t resolved_segments(int64_t T) const;
};

/// One reverse step y ← c_y·y + c_eps·ε_θ(y, t, x) + sigma·ξ (ε_θ replaced by the clamped-ŷ0
/// ε̂ when clip > 0).
struct ReverseStep {
  int64_t t = 0;
  double c_y = 1;
  double c_eps = 0;
  double sigma = 0;
  double clip = 0;               ///< SamplerOptions::clip_x0 (0: off)
  double sqrt_ab = 1;            ///< √ᾱ_t, used when clipping
  double sqrt_one_minus_ab = 0;  ///< √(1−ᾱ_t)
};

/// Per-coordinate bounds [y_dim] on every step's ŷ0, in model units, dtype and device; undefined
/// tensors mean no bounds.
struct X0Bounds {
  torch::Tensor lo, hi;
  bool defined() const { return lo.defined(); }
};

/// The S steps in execution order (t descending), coefficients computed in float64.
std::vector<ReverseStep> plan_reverse_steps(const NoiseSchedule& schedule,
                                            const SamplerOptions& options);

/// Runs the plan from y_start [C, G, y_dim] (the N(0, I) draw, normalised units) for contexts
/// x [C, x_dim]; returns y0 [C, G, y_dim]. Per-step noise is drawn from the global generator of
/// y_start's device. `segments` is used by kCheckpointed only (clamped to [1, S]). Defined
/// `bounds` clamp every step's ŷ0 (after the symmetric clip_x0).
/// kCheckpointed does not support double backward.
torch::Tensor run_reverse_process(const std::shared_ptr<DenoiserImpl>& net,
                                  const std::vector<ReverseStep>& plan, const torch::Tensor& x,
                                  const torch::Tensor& y_start, GraphMode mode, int64_t segments,
                                  const X0Bounds& bounds = {});

}  // namespace diffdfl::models
