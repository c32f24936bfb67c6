// Gradient bookkeeping shared by the DFL trainer and the gradient-fidelity experiment: copies and
// norms of parameter gradients, the masked mean over usable instances, the mixed-in fitting-loss
// gradient, and the reference's gradient-norm-matched mixing of the DFL and fitting gradients.
//
// Example (one mixed step, as DflTrainer::train_step does):
//   dfl_loss.backward();
//   std::vector<torch::Tensor> g_dfl = take_grads(params);
//   clear_grads(params);
//   const FitGradient fit = dfl_fit_gradient(predictor, params, x, y, config, epoch, batch);
//   set_mixed_gradients(params, g_dfl, global_norm(g_dfl), fit.grads, fit.norm, mix);
//   optimizer.step();
#pragma once

#include <torch/torch.h>

#include <vector>

#include "diffdfl/dfl/run_config.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

/// Mean of `values` over the rows where `ok` holds (0 when none does).
torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& ok);

/// Drops every parameter's .grad, so that the next backward starts from nothing.
void clear_grads(const std::vector<torch::Tensor>& params);

/// Copies of the parameters' gradients (zeros where undefined).
std::vector<torch::Tensor> take_grads(const std::vector<torch::Tensor>& params);

/// ‖(g_1, …, g_k)‖₂ over all tensors.
double global_norm(const std::vector<torch::Tensor>& grads);

/// The gradient of the fitting loss averaged over `draws` evaluations (each a fresh draw of the
/// predictor's loss noise), its mean loss and its global norm. Leaves the parameters' .grad
/// cleared.
struct FitGradient {
  std::vector<torch::Tensor> grads;
  double loss = 0;
  double norm = 0;
};
FitGradient fit_gradient(models::Predictor& predictor, const std::vector<torch::Tensor>& params,
                         const torch::Tensor& x, const torch::Tensor& y, int64_t draws);

/// The fitting term of DFL step (epoch, batch), as DflTrainer mixes it in: fit_gradient with
/// config.train.mix.fit_draws draws, on y permuted within the batch when config.shuffle_targets
/// (batches.h, purpose "dfl.fit").
FitGradient dfl_fit_gradient(models::Predictor& predictor, const std::vector<torch::Tensor>& params,
                             const torch::Tensor& x, const torch::Tensor& y,
                             const RunConfig& config, int64_t epoch, int64_t batch);

/// Writes g = w_dfl·s_dfl·g_dfl + w_fit·s_fit·g_fit into the parameters' .grad (as in the authors'
/// code): with mix.normalize = "dfl", s_dfl = ‖g_fit‖/‖g_dfl‖; with "fit", s_fit = ‖g_dfl‖/‖g_fit‖;
/// the other scale is 1 (a zero norm gives scale 0). An empty `g_fit` means no fitting term.
void set_mixed_gradients(const std::vector<torch::Tensor>& params,
                         const std::vector<torch::Tensor>& g_dfl, double n_dfl,
                         const std::vector<torch::Tensor>& g_fit, double n_fit,
                         const MixConfig& mix);

}  // namespace diffdfl::dfl
