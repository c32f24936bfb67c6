// Predictor: the interface behind every method's model of y | x (docs/architecture.md): a fitting loss,
// M samples per context, and a log-density (exact, or the diffusion ELBO surrogate) with a
// memory-bounded score-function backward.
//
// Targets can be modelled on a normalised scale: with the fixed affine transform
// y = shift + scale ⊙ y_norm (default identity; set it from training data with
// set_target_transform), fit_loss works on y_norm, sample() returns raw units, and log_density() of
// raw samples is the density of y_norm minus Σ log scale where the density is exact (Gaussian); the
// diffusion ELBO surrogate Ê is defined up to θ-independent constants and leaves the Jacobian out.
// The Jacobian term does not depend on θ, so score-function gradients are the same either way.
//
// Example (two-stage fit, then score-function DFL):
//   auto pred = std::make_unique<DiffusionPredictor>(x_dim, y_dim, opts);
//   auto [shift, scale] = target_standardization(train_y);
//   pred->set_target_transform(shift, scale);
//   torch::Tensor loss = pred->fit_loss(x, y);                    // scalar
//   loss.backward();
//   torch::Tensor yhat = pred->sample(x, M, GraphMode::kNone);    // [B, M, y_dim], raw units
//   torch::Tensor w = ...;                                        // [B, M] detached SF weights
//   double s = pred->surrogate_backward(x, yhat, w, 1.0 / M);     // accumulates ∇θ S in .grad
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>

#include "diffdfl/models/graph_mode.h"
#include "diffdfl/models/model.h"

namespace diffdfl::models {

/// A conditional model of y | x.
class Predictor : public Model {
 public:
  int64_t x_dim() const { return x_dim_; }
  int64_t y_dim() const { return y_dim_; }

  /// The two-stage fitting loss on (x [B, x_dim], y [B, y_dim] raw units): a scalar with graph.
  /// Diffusion: denoising loss with t ~ U{0..T−1}; Gaussian: full NLL; MLP: MSE (all on y_norm,
  /// mean over elements).
  virtual torch::Tensor fit_loss(const torch::Tensor& x, const torch::Tensor& y) = 0;

  /// M samples per context: [B, M, y_dim] in raw units. kNone: no graph (NoGradGuard);
  /// kFull: full graph; kCheckpointed: diffusion's segment checkpointing, kFull elsewhere.
  virtual torch::Tensor sample(const torch::Tensor& x, int64_t M, GraphMode mode) = 0;

  /// Whether log_density()/surrogate_backward() are available.
  virtual bool has_log_density() const { return false; }

  /// log p(samples | x) or its surrogate: x [B, x_dim], samples [B, M, y_dim] (raw units,
  /// typically detached) → [B, M], differentiable w.r.t. the parameters. Throws InvalidArgument
  /// where the model has no density (deterministic MLP).
  virtual torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& samples);

  /// Score-function backward with bounded memory: S = scale · Σ_{b,m} w_bm · log_density_bm.
  /// Accumulates ∇θ S into the parameters' .grad (never zeroes them) and returns S's value.
  /// weights: [B, M], treated as constants. The base implementation does one backward of
  /// log_density; the diffusion model evaluates the ELBO surrogate chunk by chunk.
  virtual double surrogate_backward(const torch::Tensor& x, const torch::Tensor& samples,
                                    const torch::Tensor& weights, double scale);

  /// Whether sample() returns one point forecast repeated M times (the MLP): such a model decides
  /// from one sample per context and has no sampling noise to average over.
  virtual bool is_point_forecast() const { return false; }

  /// The graph mode sample() should be given for reparameterization when `requested` is
  /// configured: the diffusion sampler honours it (full or checkpointed); every other model keeps
  /// the full graph.
  virtual GraphMode rp_graph_mode(GraphMode /*requested*/) const { return GraphMode::kFull; }

  /// The training targets' per-coordinate range [lo, hi] ([y_dim] each, raw units), for models
  /// that clamp their samples to it (the diffusion model's sampler.clip_x0_range); ignored by the
  /// others. Set the target transform first.
  virtual void set_target_range(const torch::Tensor& /*lo*/, const torch::Tensor& /*hi*/) {}

  /// The number of reverse steps S of an iterative sampler (diffusion; 0 = all T), and whether
  /// set_sample_steps can change it. Models without one report 0 and false.
  virtual int64_t sample_steps() const { return 0; }
  virtual bool has_sample_steps() const { return false; }
  /// Sets S (InvalidArgument where has_sample_steps() is false). Prefer ScopedSampleSteps.
  virtual void set_sample_steps(int64_t steps);

  /// Sets y = shift + scale ⊙ y_norm. shift, scale: [y_dim], finite, scale > 0.
  void set_target_transform(const torch::Tensor& shift, const torch::Tensor& scale);
  /// Current transform (on the model's device and dtype).
  torch::Tensor target_shift() const { return target_shift_; }
  torch::Tensor target_scale() const { return target_scale_; }
  /// (y − shift) / scale and shift + scale ⊙ y_norm (broadcast over the last dim).
  torch::Tensor normalize_targets(const torch::Tensor& y) const;
  torch::Tensor denormalize_targets(const torch::Tensor& y_norm) const;
  /// Σ_d log scale_d (0-dim): log p_raw(y) = log p_norm(y_norm) − this.
  torch::Tensor log_abs_det_scale() const;

 protected:
  Predictor(int64_t x_dim, int64_t y_dim, torch::Device device, torch::Dtype dtype);

  /// x as this model's dtype/device after checking shape [B, x_dim] and finiteness.
  torch::Tensor prepare_x(const torch::Tensor& x) const;
  /// y [B, y_dim] (raw) → normalised, this model's dtype/device; checks shape, batch size,
  /// finiteness.
  torch::Tensor prepare_y(const torch::Tensor& y, int64_t batch) const;
  /// samples [B, M, y_dim] (raw) → normalised, this model's dtype/device; checks as above.
  torch::Tensor prepare_samples(const torch::Tensor& samples, int64_t batch) const;
  /// weights [B, M] → detached, this model's dtype/device.
  torch::Tensor prepare_weights(const torch::Tensor& weights, int64_t batch, int64_t m) const;
  static void check_sample_count(int64_t M);

 private:
  int64_t x_dim_;
  int64_t y_dim_;
  torch::Tensor target_shift_;  // buffers of the root module
  torch::Tensor target_scale_;
};

/// Samples with S reverse steps for the guard's lifetime (e.g. a cheaper sampler for evaluation);
/// the previous S is restored when the guard ends, also when an exception leaves the scope. A
/// model without an iterative sampler is left alone.
///
/// Example:
///   {
///     ScopedSampleSteps fewer(predictor, /*steps=*/20);
///     predictor.sample(x, M, GraphMode::kNone);   // with 20 steps
///   }                                             // back to the configured steps
class ScopedSampleSteps {
 public:
  ScopedSampleSteps(Predictor& predictor, int64_t steps);
  ~ScopedSampleSteps();
  ScopedSampleSteps(const ScopedSampleSteps&) = delete;
  ScopedSampleSteps& operator=(const ScopedSampleSteps&) = delete;

 private:
  Predictor& predictor_;
  int64_t saved_ = 0;
  bool active_ = false;
};

/// (mean, std) of y [N, y_dim] over rows, std floored at min_scale: a target transform that
/// standardises the training targets.
std::pair<torch::Tensor, torch::Tensor> target_standardization(const torch::Tensor& y,
                                                               double min_scale = 1e-8);

}  // namespace diffdfl::models
