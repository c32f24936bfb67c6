#include "diffdfl/models/gaussian.h"

#include <cmath>

#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {
constexpr double kLog2Pi = 1.8378770664093454835606594728112;
}

void GaussianOptions::validate() const {
  DIFFDFL_CHECK(width >= 1, "GaussianOptions.width must be >= 1, got ", width);
  DIFFDFL_CHECK(hidden_layers >= 1, "GaussianOptions.hidden_layers must be >= 1, got ",
                hidden_layers);
}

GaussianPredictor::GaussianPredictor(int64_t x_dim, int64_t y_dim, const GaussianOptions& options,
                                     torch::Device device, torch::Dtype dtype)
    : Predictor(x_dim, y_dim, device, dtype), options_(options) {
  options_.validate();
  DIFFDFL_CHECK(x_dim >= 1, "GaussianPredictor needs x_dim >= 1, got ", x_dim);
  int64_t in = x_dim;
  for (int64_t i = 0; i < options_.hidden_layers; ++i) {
    layers_.push_back(root_->register_module("fc" + std::to_string(i + 1),
                                             torch::nn::Linear(in, options_.width)));
    in = options_.width;
  }
  mu_head_ = root_->register_module("mu_head", torch::nn::Linear(in, y_dim));
  logvar_head_ = root_->register_module("logvar_head", torch::nn::Linear(in, y_dim));
  finish_construction();
}

std::pair<torch::Tensor, torch::Tensor> GaussianPredictor::heads(const torch::Tensor& xn) {
  torch::Tensor h = xn;
  for (auto& layer : layers_)
    h = torch::relu(layer->forward(h));
  return {mu_head_->forward(h), logvar_head_->forward(h)};
}

std::pair<torch::Tensor, torch::Tensor> GaussianPredictor::mean_logvar(const torch::Tensor& x) {
  return heads(prepare_x(x));
}

torch::Tensor GaussianPredictor::fit_loss(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor xn = prepare_x(x);
  const torch::Tensor yn = prepare_y(y, xn.size(0));
  const auto [mu, logvar] = heads(xn);
  return 0.5 * (logvar + (yn - mu).pow(2) * torch::exp(-logvar) + kLog2Pi).mean();
}

torch::Tensor GaussianPredictor::sample(const torch::Tensor& x, int64_t M, GraphMode mode) {
  check_sample_count(M);
  const torch::Tensor xn = prepare_x(x);
  std::optional<torch::NoGradGuard> no_grad;
  if (mode == GraphMode::kNone) no_grad.emplace();
  const auto [mu, logvar] = heads(xn);
  const torch::Tensor xi = torch::randn({xn.size(0), M, y_dim()}, tensor_options());
  const torch::Tensor yn = mu.unsqueeze(1) + torch::exp(0.5 * logvar).unsqueeze(1) * xi;
  return denormalize_targets(yn);
}

torch::Tensor GaussianPredictor::log_density(const torch::Tensor& x, const torch::Tensor& samples) {
  const torch::Tensor xn = prepare_x(x);
  const torch::Tensor sn = prepare_samples(samples, xn.size(0));
  const auto [mu, logvar] = heads(xn);
  const torch::Tensor lv = logvar.unsqueeze(1);
  const torch::Tensor per_dim =
      -0.5 * (lv + (sn - mu.unsqueeze(1)).pow(2) * torch::exp(-lv) + kLog2Pi);
  return per_dim.sum(-1) - log_abs_det_scale();
}

}  // namespace diffdfl::models
