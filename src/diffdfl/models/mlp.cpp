#include "diffdfl/models/mlp.h"

#include "diffdfl/core/error.h"

namespace diffdfl::models {

void MlpOptions::validate() const {
  DIFFDFL_CHECK(width >= 1, "MlpOptions.width must be >= 1, got ", width);
  DIFFDFL_CHECK(hidden_layers >= 0, "MlpOptions.hidden_layers must be >= 0, got ", hidden_layers);
}

MlpPredictor::MlpPredictor(int64_t x_dim, int64_t y_dim, const MlpOptions& options,
                           torch::Device device, torch::Dtype dtype)
    : Predictor(x_dim, y_dim, device, dtype), options_(options) {
  options_.validate();
  if (options_.bias_only) {
    bias_ = root_->register_parameter("bias", torch::zeros({y_dim}));
  } else {
    DIFFDFL_CHECK(x_dim >= 1, "MlpPredictor needs x_dim >= 1 unless bias_only, got ", x_dim);
    int64_t in = x_dim;
    for (int64_t i = 0; i < options_.hidden_layers; ++i) {
      layers_.push_back(root_->register_module("fc" + std::to_string(i + 1),
                                               torch::nn::Linear(in, options_.width)));
      in = options_.width;
    }
    layers_.push_back(root_->register_module("out", torch::nn::Linear(in, y_dim)));
  }
  finish_construction();
}

torch::Tensor MlpPredictor::forward_norm(const torch::Tensor& xn) {
  if (options_.bias_only) return bias_.unsqueeze(0).expand({xn.size(0), y_dim()});
  torch::Tensor h = xn;
  for (size_t i = 0; i + 1 < layers_.size(); ++i)
    h = torch::relu(layers_[i]->forward(h));
  return layers_.back()->forward(h);
}

torch::Tensor MlpPredictor::predict(const torch::Tensor& x) {
  return denormalize_targets(forward_norm(prepare_x(x)));
}

torch::Tensor MlpPredictor::fit_loss(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor xn = prepare_x(x);
  const torch::Tensor yn = prepare_y(y, xn.size(0));
  return (forward_norm(xn) - yn).pow(2).mean();
}

torch::Tensor MlpPredictor::sample(const torch::Tensor& x, int64_t M, GraphMode mode) {
  check_sample_count(M);
  std::optional<torch::NoGradGuard> no_grad;
  if (mode == GraphMode::kNone) no_grad.emplace();
  const torch::Tensor p = predict(x);
  return p.unsqueeze(1).expand({p.size(0), M, y_dim()}).contiguous();
}

}  // namespace diffdfl::models
