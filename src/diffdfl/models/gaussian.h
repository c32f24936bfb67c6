// GaussianPredictor: the Gaussian MLP baseline (as in the authors' code).
//   x → Linear(x_dim→W) → ReLU → (Linear(W→W) → ReLU) × (hidden_layers−1) → heads μ and log σ²
//   fit_loss     full Gaussian NLL, mean over elements: ½(log σ² + (y−μ)²/σ² + log 2π)
//   sample       μ + exp(½ log σ²)·ξ (reparameterised; kFull/kCheckpointed keep the graph)
//   log_density  exact: Σ_d −½(log σ²_d + (y_d−μ_d)²/σ²_d + log 2π), minus Σ_d log scale_d for raw
//                samples under a target transform. No clamp (docs/models.md §5 item 5; the
//                reference clamps it at 0 from above in two tasks, which zeroes the SF gradient for
//                small variances).
//
// Example:
//   GaussianOptions o;
//   o.width = 256;
//   GaussianPredictor g(/*x_dim=*/149, /*y_dim=*/24, o);
//   auto [mu, logvar] = g.mean_logvar(x);                  // normalised units, [B, 24] each
//   torch::Tensor y = g.sample(x, 25, GraphMode::kFull);    // [B, 25, 24], raw units, with graph
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "diffdfl/models/predictor.h"

namespace diffdfl::models {

struct GaussianOptions {
  int64_t width = 1024;       ///< W
  int64_t hidden_layers = 2;  ///< number of x→W / W→W layers before the heads

  void validate() const;
};

class GaussianPredictor : public Predictor {
 public:
  GaussianPredictor(int64_t x_dim, int64_t y_dim, const GaussianOptions& options = {},
                    torch::Device device = torch::kCPU, torch::Dtype dtype = torch::kFloat);

  std::string kind() const override { return "gaussian"; }
  const GaussianOptions& options() const { return options_; }

  /// (μ, log σ²) of y_norm | x, each [B, y_dim], with graph.
  std::pair<torch::Tensor, torch::Tensor> mean_logvar(const torch::Tensor& x);

  torch::Tensor fit_loss(const torch::Tensor& x, const torch::Tensor& y) override;
  torch::Tensor sample(const torch::Tensor& x, int64_t M, GraphMode mode) override;
  bool has_log_density() const override { return true; }
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& samples) override;

 private:
  std::pair<torch::Tensor, torch::Tensor> heads(const torch::Tensor& xn);

  GaussianOptions options_;
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear mu_head_{nullptr}, logvar_head_{nullptr};
};

}  // namespace diffdfl::models
