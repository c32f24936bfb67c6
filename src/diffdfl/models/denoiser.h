// Denoiser: the ε-network interface the diffusion samplers, the denoising loss and the ELBO
// surrogate run on. Rows are grouped by context: y_t is [C, G, y_dim] for C contexts with G rows
// each (G = M samples while sampling, M·K draws in the ELBO, 1 in the fitting loss), so that
// everything that depends on x only is computed once per context (condition()) and broadcast.
//
// Example:
//   std::shared_ptr<DenoiserImpl> net = std::make_shared<EpsNetworkImpl>(x_dim, y_dim, opts);
//   DenoiserContext ctx = net->condition(x);                    // x [C, x_dim]
//   torch::Tensor t = torch::scalar_tensor(999, torch::kLong);  // one step for every row
//   torch::Tensor eps = net->predict(y_t, t, ctx);              // y_t [C, G, y_dim] → same shape
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace diffdfl::models {

/// What a denoiser precomputes from the contexts x [C, x_dim]; opaque to its callers (each
/// implementation documents its layout). Tensors may carry an autograd graph to the parameters.
struct DenoiserContext {
  std::vector<torch::Tensor> tensors;
};

/// Abstract ε_θ(y_t, t, x).
class DenoiserImpl : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;

  virtual int64_t x_dim() const = 0;
  virtual int64_t y_dim() const = 0;

  /// Precomputes the x-dependent part for contexts x [C, x_dim].
  virtual DenoiserContext condition(const torch::Tensor& x) = 0;

  /// ε̂ for y_t [C, G, y_dim]; t is a 0-dim long tensor (one step for all rows) or [C, G] long.
  /// Returns [C, G, y_dim].
  virtual torch::Tensor predict(const torch::Tensor& y_t, const torch::Tensor& t,
                                const DenoiserContext& ctx) = 0;

  /// ε̂ for rows that each have their own context: y_t [R, y_dim], t [R] long, x [R, x_dim] →
  /// [R, y_dim] (the fitting loss). The default goes through condition()/predict() with G = 1;
  /// implementations may override it with a faster per-row form.
  virtual torch::Tensor forward_rows(const torch::Tensor& y_t, const torch::Tensor& t,
                                     const torch::Tensor& x) {
    return predict(y_t.unsqueeze(1), t.reshape({-1, 1}), condition(x)).squeeze(1);
  }
};

}  // namespace diffdfl::models
