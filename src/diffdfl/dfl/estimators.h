// The DFL gradient of one batch, in one place: the two estimators of ∇θ E[f(y, z*(ŷ_{1:M}))]
// (reparameterization and score function), the deterministic path of the point predictor and the
// policy, and the step that mixes the DFL gradient with the fitting-loss gradient (the reference's
// gradient-norm matching) before the optimizer step. DflTrainer calls dfl_backward + mixed_step;
// the gradient-fidelity experiment (experiment/gradcos_sf_rp.cpp) calls the pieces on shared
// samples, so both form every gradient with the same code.
//
// Maths (B contexts, M samples each, ok_b = the solve of context b is usable):
//   cost         L = Σ_b ok_b f(y_b, z*_b) / max(1, Σ_b ok_b)                 (masked_mean)
//   RP           ∇θ L through DecisionLayer::decide and the sampler's graph
//   SF           weights w_bm from ∂L/∂z* through the KKT adjoint (DecisionLayer::sf_weights),
//                then ∇θ [s · Σ_bm w_bm log p(ŷ_bm | x_b)] with s = 1/M per context, 1/(B·M) for a
//                pooled program (one program over the whole batch)
//   mixing       g = w_dfl·s_dfl·g_dfl + w_fit·s_fit·g_fit (set_mixed_gradients)
//
// Shapes: x [B, x_dim], y [B, n_y], samples [B, M, n_y], weights [B, M].
//
// Example (one trainer step):
//   optimizer.zero_grad();
//   const DflBatchLoss l = dfl_backward(pred, nullptr, problem, x, y, {est, M, rp_graph});
//   const StepOutcome s = mixed_step(optimizer, params, take_grads(params), l.cost, pred, x, y,
//                                    step_options, epoch, batch);
//
// Example (the experiment's pieces on one draw):
//   const torch::Tensor s = draw_samples(pred, x, M, Estimator::kReparameterization, rp_graph);
//   opt::Solution sol;
//   rp_cost(problem, s, y, &sol).backward();                         // the RP gradient
//   const ScoreWeights w = sf_weights(problem, s.detach(), sol, y);
//   sf_backward(pred, problem, x, s.detach(), w.weights, M);          // the SF gradient
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "diffdfl/core/distributed.h"
#include "diffdfl/dfl/gradients.h"
#include "diffdfl/dfl/method.h"
#include "diffdfl/dfl/problem.h"
#include "diffdfl/dfl/train_config.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

/// How the DFL gradient of a batch is estimated.
///
/// Example: EstimatorOptions o{Estimator::kScoreFunction, /*samples=*/32,
/// models::GraphMode::kNone};
struct EstimatorOptions {
  Estimator estimator = Estimator::kReparameterization;
  int64_t samples = 1;  ///< configured M per context (a point forecast uses 1)
  /// Graph of the reparameterized diffusion sampler (other predictors always keep the full graph).
  models::GraphMode rp_graph = models::GraphMode::kFull;
};

/// The result of one DFL backward on a batch.
struct DflBatchLoss {
  /// Mean realised cost over the usable instances; NaN when there is nothing to learn from
  /// (non-finite samples, or every solve failed), in which case no gradient was accumulated.
  double cost = std::numeric_limits<double>::quiet_NaN();
  int64_t failures = 0;  ///< unusable solves of the batch
};

/// The samples an estimator differentiates: for kReparameterization with a graph (rp_graph for
/// the diffusion model, the full graph for the others), for kScoreFunction detached.
/// M = samples_per_context(predictor, configured) is the caller's (the trainer's) choice.
torch::Tensor draw_samples(models::Predictor& predictor, const torch::Tensor& x, int64_t M,
                           Estimator estimator, models::GraphMode rp_graph);

/// True when every sample is finite (a diverged sampler gives NaN/inf).
bool all_finite(const torch::Tensor& samples);

/// Reparameterization: the mean realised cost over usable instances of the decisions
/// DecisionLayer::decide(samples) as a differentiable scalar; `solution` receives the solve.
torch::Tensor rp_cost(const DecisionProblem& problem, const torch::Tensor& samples,
                      const torch::Tensor& y, opt::Solution* solution);

/// Score function, step 1: the weights of each sample, from ∂L/∂z at the solution's (detached)
/// decisions through the KKT adjoint; and L's value.
struct ScoreWeights {
  torch::Tensor weights;  ///< [B, M], detached
  double cost = std::numeric_limits<double>::quiet_NaN();
};
ScoreWeights sf_weights(const DecisionProblem& problem, const torch::Tensor& samples,
                        const opt::Solution& solution, const torch::Tensor& y);

/// The score-function scale for B contexts of M samples: 1/M, or 1/(B·M) for a pooled program.
double sf_scale(const DecisionProblem& problem, int64_t B, int64_t M);

/// Score function, step 2: accumulates ∇θ [sf_scale · Σ_bm w_bm log p(ŷ_bm | x_b)] into .grad
/// (Predictor::surrogate_backward) on detached samples.
void sf_backward(models::Predictor& predictor, const DecisionProblem& problem,
                 const torch::Tensor& x, const torch::Tensor& samples, const torch::Tensor& weights,
                 int64_t M);

/// The whole DFL backward of a batch: accumulates ∇θ of the mean realised cost into .grad with
/// the estimator of `options` (kDirect: the policy's projected decisions). Exactly one of
/// `predictor` and `policy` is non-null.
DflBatchLoss dfl_backward(models::Predictor* predictor, models::PolicyNet* policy,
                          const DecisionProblem& problem, const torch::Tensor& x,
                          const torch::Tensor& y, const EstimatorOptions& options);

/// What the step after the DFL backward needs: the mixing, clipping and the fitting term's
/// target shuffling (batches.h, purpose "dfl.fit").
///
/// Example: StepOptions s{cfg.train.mix, cfg.train.grad_clip, cfg.shuffle_targets, cfg.seed};
struct StepOptions {
  MixConfig mix;
  double grad_clip = 0;  ///< global-norm clip of the mixed gradient; 0 = none
  bool shuffle_targets = false;
  uint64_t seed = 0;
  /// Data-parallel ranks (null: one process): the fitting term's gradient and loss of this rank's
  /// shard are averaged over the ranks (dist::weighted_mean) before mixing, so every rank mixes
  /// and steps identically. `g_dfl` must already be the ranks' average (the trainer does it).
  dist::Communicator* comm = nullptr;
};

/// The fitting term of DFL step (epoch, batch): fit_gradient (gradients.h) with mix.fit_draws
/// draws, on y permuted within the batch when shuffle_targets. Leaves .grad cleared.
FitGradient dfl_fit_gradient(models::Predictor& predictor, const std::vector<torch::Tensor>& params,
                             const torch::Tensor& x, const torch::Tensor& y,
                             const StepOptions& options, int64_t epoch, int64_t batch);

/// Writes g = w_dfl·s_dfl·g_dfl + w_fit·s_fit·g_fit into the parameters' .grad (as in the authors'
/// code): with mix.normalize = "dfl", s_dfl = ‖g_fit‖/‖g_dfl‖; with "fit", s_fit = ‖g_dfl‖/‖g_fit‖;
/// the other scale is 1 (a zero norm gives scale 0). An empty `g_fit` means no fitting term.
void set_mixed_gradients(const std::vector<torch::Tensor>& params,
                         const std::vector<torch::Tensor>& g_dfl, double n_dfl,
                         const std::vector<torch::Tensor>& g_fit, double n_fit,
                         const MixConfig& mix);

/// The outcome of mixed_step.
struct StepOutcome {
  double fit = std::numeric_limits<double>::quiet_NaN();  ///< fitting loss when mixed in
  bool skipped = false;  ///< non-finite cost or gradient: no step was taken, .grad zeroed
};

/// One optimizer step from the DFL gradient `g_dfl` (of a batch whose cost is `cost`): the fitting
/// term is mixed in when `predictor` is given and mix.fit_weight > 0 (its gradient is drawn even
/// when the step is then skipped, so the random stream does not depend on the outcome), then the
/// gradient is clipped and the optimizer steps. Skips when the cost, ‖g_dfl‖ or the fitting
/// gradient's norm is not finite.
StepOutcome mixed_step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params,
                       const std::vector<torch::Tensor>& g_dfl, double cost,
                       models::Predictor* predictor, const torch::Tensor& x, const torch::Tensor& y,
                       const StepOptions& options, int64_t epoch, int64_t batch);

}  // namespace diffdfl::dfl
