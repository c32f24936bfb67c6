// Gradient bookkeeping under the DFL estimators (estimators.h) and the gradient-fidelity
// experiment: copies and norms of parameter gradients, the masked mean over usable instances, and
// the gradient of the fitting loss averaged over draws of its noise.
//
// Example:
//   dfl_loss.backward();
//   std::vector<torch::Tensor> g_dfl = take_grads(params);   // copies; .grad keeps its values
//   clear_grads(params);
//   const FitGradient fit = fit_gradient(predictor, params, x, y, /*draws=*/1);
//   std::cout << global_norm(g_dfl) << " vs " << fit.norm << "\n";
#pragma once

#include <torch/torch.h>

#include <vector>

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

}  // namespace diffdfl::dfl
