// MlpPredictor: the deterministic point-forecast baseline (as in the authors' code).
//   default   x → Linear(x_dim→W) → ReLU → (Linear(W→W) → ReLU) × (hidden_layers−1) →
//   Linear(W→y_dim)
//             (power, portfolio: W = 1024, 3 hidden layers)
//   bias_only a learnable constant b ∈ R^{y_dim} (initialised to 0) that ignores x (the synthetic
//             task's "MLP", whose hidden network the reference zeroes and freezes)
//   fit_loss  MSE on y_norm (mean over elements); sample() repeats the point forecast M times;
//             log_density() throws (no density).
//
// Example:
//   MlpOptions o;
//   o.bias_only = true;
//   MlpPredictor mlp(/*x_dim=*/20, /*y_dim=*/10, o);
//   torch::Tensor yhat = mlp.predict(x);                   // [B, 10], raw units
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/models/predictor.h"

namespace diffdfl::models {

struct MlpOptions {
  int64_t width = 1024;
  int64_t hidden_layers = 3;
  bool bias_only = false;

  void validate() const;
};

class MlpPredictor : public Predictor {
 public:
  MlpPredictor(int64_t x_dim, int64_t y_dim, const MlpOptions& options = {},
               torch::Device device = torch::kCPU, torch::Dtype dtype = torch::kFloat);

  std::string kind() const override { return "mlp"; }
  bool is_point_forecast() const override { return true; }
  const MlpOptions& options() const { return options_; }

  /// The point forecast [B, y_dim] in raw units, with graph.
  torch::Tensor predict(const torch::Tensor& x);

  torch::Tensor fit_loss(const torch::Tensor& x, const torch::Tensor& y) override;
  /// The point forecast repeated: [B, M, y_dim] (contiguous).
  torch::Tensor sample(const torch::Tensor& x, int64_t M, GraphMode mode) override;

 private:
  torch::Tensor forward_norm(const torch::Tensor& xn);

  MlpOptions options_;
  std::vector<torch::nn::Linear> layers_;
  torch::Tensor bias_;  // bias_only
};

}  // namespace diffdfl::models
