// Gradient-fidelity experiments (issue 5; paper §1.3–1.5 and §3.3; the authors' code).
//
// (a) Score function vs reparameterization on a DFL task (default: synthetic). A diffusion
//     predictor is pretrained through the shared cache (pretrain_cache.h); then, for a few epochs
//     of reparameterization DFL training, every training batch is sampled ONCE with a graph and
//     solved once (z*, ∂ℓ/∂z). The RP gradient is autograd of the mean realised cost through
//     DecisionLayer::decide; each score-function gradient (K uniform timestep draws for every K in
//     `ks`, plus the second-moment importance sampler with `is_draws` draws) is formed on a
//     detached copy of the same samples with the same decisions and weights, exactly as
//     dfl/estimators.h forms it for DflTrainer (scale 1/M per context, 1/(B·M) for a pooled
//     program), each into freshly zeroed gradients. Every gradient comes from dfl/estimators.h, the
//     code DflTrainer trains with. Recorded per batch: the cosine similarity of the flattened
//     parameter gradients, ‖g_sf − g_rp‖/‖g_rp‖ and ‖g_sf‖/‖g_rp‖, and per epoch the cosine of the
//     gradients summed over the batches (noise averages out of sums, bias does not); optionally
//     also noise baselines: each estimator against itself on fresh samples of the same batch. Then
//     an ordinary training step is taken with the RP gradient (Adam, the configuration's
//     gradient-norm mixing with the fitting loss, as DflTrainer does).
//
// (b) ELBO-surrogate gradient vs the exact ∇θ log p on a linear-Gaussian diffusion (the
//     authors' experiment, done correctly): y = W x + σ ξ (W ~ N(0, 1) from the seed, x ~ U(−1,
//     1)), a LinearEpsDiffusion fitted with full-batch Adam on the denoising loss, y0 drawn from
//     the DDPM ancestral sampler (whose marginal is exactly the Gaussian of exact_log_density), and
//     per sample g_exact = ∇θ log p(y0 | x) and g_elbo = ∇θ Ê(y0 | x) (K draws; unit weights and
//     λ_t weights; optionally a stratified "sweep" of the timesteps), each a fresh
//     torch::autograd::grad (nothing accumulates), both with the sign of a log-likelihood. Cosines
//     over all parameters and per group A, B, c, plus the reference's per-timestep row cosines.
//
// run_gradcos writes DIR/gradcos_sf_rp.csv and DIR/gradcos_sf_rp_epochs.csv (a),
// DIR/gradcos_elbo.csv and DIR/gradcos_elbo_timesteps.csv (b), DIR/summary.md and DIR/config.json,
// all atomically, after validating the options and the configuration (nothing is created for a bad
// one). docs/methods.md explains the outputs; docs/results.md has measured numbers.
//
// Example:
//   experiment::GradcosOptions o;
//   o.part = "both";
//   o.sf_rp.config = experiment::resolve_config("configs", "cpu", "synthetic", "dfl-diffusion-rp",
//                                               /*seed=*/1, "", {});
//   o.sf_rp.paths.cache_dir = "runs/.cache";
//   o.elbo.seed = 1;
//   o.elbo.T = 1000;
//   o.out_dir = "runs/gradcos";
//   experiment::GradcosResult r = experiment::run_gradcos(o);
//   std::cout << r.summary_path << "\n";   // runs/gradcos/summary.md
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diffdfl/experiment/run.h"
#include "diffdfl/experiment/run_config.h"
#include "diffdfl/models/linear_eps_diffusion.h"

namespace diffdfl::experiment {

// ---------------------------------------------------------------------------------------------
// (a) Score function vs reparameterization.

/// Settings of part (a).
///
/// Example:
///   SfRpOptions o;
///   o.config = resolve_config("configs", "smoke", "synthetic", "dfl-diffusion-rp", 1, "", {});
///   o.epochs = 1;
///   o.ks = {10, 500};
///   o.paths.cache_dir = "/tmp/cache";
///   SfRpResult r = run_sf_vs_rp(o);
struct SfRpOptions {
  /// The resolved run configuration (resolve_config); its method must use the diffusion predictor
  /// (dfl-diffusion-rp is the natural one: the run trains with reparameterization).
  nlohmann::json config;
  int64_t epochs = 3;                            ///< DFL epochs recorded
  std::vector<int64_t> ks = {10, 50, 100, 500};  ///< uniform-timestep ELBO draws per sample
  bool importance_sampling = true;               ///< also the second-moment timestep sampler
  int64_t is_draws = 25;                         ///< its draws per sample (the reference's 25)
  double is_uniform_mix = 1e-4;  ///< its uniform mixing weight u (the reference's synthetic 1e-4)
  /// Fill the importance sampler's loss histories (no-grad ELBO evaluations of model samples)
  /// before the first batch, so that the "sf_is" rows really are importance sampled. The
  /// reference starts cold (uniform until every t has `is_history` losses).
  bool is_warmup = true;
  /// Also each estimator against itself on fresh samples of the same batch: "rp_fresh" (the RP
  /// gradient on new samples vs the RP gradient) and "sf_fresh" (the SF gradient with K_ref draws
  /// on those new samples vs the SF gradient with K_ref draws on the first ones; K_ref = the
  /// largest K in `ks` that is ≤ 100, else the smallest). They measure each estimator's own noise.
  bool noise_baselines = true;
  int64_t max_batches = 0;  ///< batches per epoch to record and train on; 0 = all
  RunPaths paths;           ///< data directory and pretrained-model cache
  bool show_progress = true;

  /// InvalidArgument naming the bad field.
  void validate() const;
};

/// One comparison on one batch.
struct SfRpRow {
  int64_t epoch = 0;
  int64_t batch = 0;
  /// "sf" (uniform t), "sf_is" (importance-sampled t), "rp_fresh" or "sf_fresh" (noise baselines)
  std::string label;
  int64_t K = 0;          ///< ELBO draws per sample (0 for rp_fresh)
  double cosine = 0;      ///< cos(g, g_ref); g_ref = g_rp, or the K_ref SF gradient for sf_fresh
  double rel_rms = 0;     ///< ‖g − g_ref‖ / ‖g_ref‖
  double norm_ratio = 0;  ///< ‖g‖ / ‖g_ref‖
};

/// Per epoch and estimator: the cosine of the gradients summed over the epoch's batches,
/// cos(Σ_b g_b, Σ_b g_ref,b). Noise averages out of the sums, a systematic difference does not.
struct SfRpEpochRow {
  int64_t epoch = 0;
  std::string label;
  int64_t K = 0;
  int64_t batches = 0;
  double cosine_of_sums = 0;
};

struct SfRpResult {
  std::vector<SfRpRow> rows;
  std::vector<SfRpEpochRow> epochs;
  nlohmann::json run_config;       ///< the complete configuration used (RunConfig::to_json)
  nlohmann::json pretrain;         ///< PretrainInfo::to_json, null without pretraining
  std::vector<double> epoch_cost;  ///< mean realised cost of the recorded batches per epoch
  int64_t skipped_batches = 0;     ///< batches with non-finite samples, cost or gradients
  int64_t parameters = 0;          ///< trainable parameters (length of the compared vectors)
  bool is_warm = false;            ///< the importance sampler had full histories at the first batch
  double seconds = 0;
};

/// Runs part (a). ConfigError / InvalidArgument for a bad configuration, before any work.
SfRpResult run_sf_vs_rp(const SfRpOptions& options);

/// Part (a)'s run configuration, read and checked (ConfigError naming the key), with the method
/// checked to use the diffusion predictor.
RunConfig sf_rp_config(const nlohmann::json& config);

// ---------------------------------------------------------------------------------------------
// (b) ELBO gradient vs the exact ∇θ log p.

/// Settings of part (b).
///
/// Example:
///   ElboGradOptions o;
///   o.T = 50;
///   o.fit_steps = 300;
///   o.contexts = 20;
///   ElboGradResult r = run_elbo_vs_exact(o);
struct ElboGradOptions {
  uint64_t seed = 1;
  int64_t x_dim = 2;
  int64_t y_dim = 2;
  int64_t T = 1000;  ///< diffusion steps; β = linspace(1e-4, 0.02)·1000/T (capped at 0.999)
  int64_t pairs = 2000;
  double noise = 0.1;        ///< σ in y = W x + σ ξ
  int64_t fit_steps = 1000;  ///< full-batch Adam steps on the denoising loss
  double lr = 1e-3;
  int64_t contexts = 100;  ///< the first `contexts` training x's, one ancestral sample each
  int64_t draws = 1000;    ///< K, ELBO (t, ε) draws per sample
  bool sweep = true;       ///< also "unit_sweep"/"lambda_sweep": stratified t_k = ⌊k·T/K⌋
  bool show_progress = true;

  void validate() const;
};

/// The data of part (b): x [N, x_dim] ~ U(−1, 1), y = x Wᵀ + σ ξ, W [y_dim, x_dim] ~ N(0, 1).
struct LinearGaussianData {
  torch::Tensor x;
  torch::Tensor y;
  torch::Tensor W;
};

/// Data from (seed, pairs, noise) alone (its own generator; the global one is untouched).
LinearGaussianData make_linear_gaussian_data(const ElboGradOptions& options);

/// The linear-ε model of part (b) (DDPM sampler over all T steps, float64, identity target
/// transform, K = draws), initialised from the global generator.
std::unique_ptr<models::LinearEpsDiffusion> make_linear_model(const ElboGradOptions& options);

/// Full-batch Adam on the denoising loss; returns the loss of every step.
std::vector<double> fit_linear_model(models::LinearEpsDiffusion& model,
                                     const LinearGaussianData& data, int64_t steps, double lr);

/// Per context c: ∇θ log p(y_c | x_c) under the configured sampler, flattened in the order
/// A, B, c of the network → [C, P] float64. x [C, x_dim], y [C, y_dim] (raw units).
torch::Tensor exact_log_density_grads(models::LinearEpsDiffusion& model, const torch::Tensor& x,
                                      const torch::Tensor& y);

/// Per context: ∇θ Ê(y_c | x_c) with the model's current ELBO settings (draws, weighting, timestep
/// sampler), same layout as exact_log_density_grads. Ê has the sign of a log-likelihood.
torch::Tensor elbo_grads(models::LinearEpsDiffusion& model, const torch::Tensor& x,
                         const torch::Tensor& y);

/// One comparison on one sample.
struct ElboGradRow {
  int64_t context = 0;
  std::string label;  ///< "unit", "lambda", "unit_sweep", "lambda_sweep"
  int64_t K = 0;
  double cos_all = 0;
  double cos_A = 0;
  double cos_B = 0;
  double cos_c = 0;
  double rel_rms = 0;     ///< ‖g_elbo − g_exact‖ / ‖g_exact‖
  double norm_ratio = 0;  ///< ‖g_elbo‖ / ‖g_exact‖
  double log_p = 0;       ///< exact log p(y0 | x)
};

/// Per label and timestep t: the mean over samples of the row cosines cos(∂/∂A_t, ∂/∂A_t) etc.,
/// over the samples whose ELBO draws visited t (the reference's per-row metric).
struct ElboTimestepRow {
  std::string label;
  int64_t t = 0;
  double cos_A = 0;
  double cos_B = 0;
  double cos_c = 0;
  int64_t count = 0;
};

struct ElboGradResult {
  std::vector<ElboGradRow> rows;
  std::vector<ElboTimestepRow> timesteps;
  std::vector<double> fit_losses;  ///< every fitting step's loss
  double eval_loss = 0;  ///< mean denoising loss of the fitted model (20 draws per pair, no grad)
  torch::Tensor W;
  double seconds = 0;
};

/// Runs part (b).
ElboGradResult run_elbo_vs_exact(const ElboGradOptions& options);

// ---------------------------------------------------------------------------------------------
// Both parts, with output files.

/// Example: see the file comment.
struct GradcosOptions {
  std::string part = "both";  ///< "a", "b" or "both"
  SfRpOptions sf_rp;
  ElboGradOptions elbo;
  std::string out_dir;

  void validate() const;
};

struct GradcosResult {
  SfRpResult sf_rp;     ///< empty unless part a ran
  ElboGradResult elbo;  ///< empty unless part b ran
  std::string summary_path;
  std::string summary;  ///< the Markdown text written there
};

/// Runs the selected parts and writes the files (see the file comment).
GradcosResult run_gradcos(const GradcosOptions& options);

/// cos(a, b) of two tensors flattened (float64); NaN if either has zero norm.
double gradient_cosine(const torch::Tensor& a, const torch::Tensor& b);

/// Parses "10,50,100,500" (positive integers) → {10, 50, 100, 500}; InvalidArgument naming
/// `what` otherwise.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);

}  // namespace diffdfl::experiment
