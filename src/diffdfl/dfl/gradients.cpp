#include "diffdfl/dfl/gradients.h"

#include <cmath>

#include "diffdfl/dfl/batches.h"

namespace diffdfl::dfl {

torch::Tensor masked_mean(const torch::Tensor& values, const torch::Tensor& ok) {
  const torch::Tensor okd = ok.to(values.dtype());
  return (values * okd).sum() / okd.sum().clamp_min(1.0);
}

void clear_grads(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

std::vector<torch::Tensor> take_grads(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  out.reserve(params.size());
  for (const auto& p : params)
    out.push_back(p.grad().defined() ? p.grad().detach().clone() : torch::zeros_like(p));
  return out;
}

double global_norm(const std::vector<torch::Tensor>& grads) {
  double total = 0;
  for (const auto& g : grads)
    total += g.pow(2).sum().item<double>();
  return std::sqrt(total);
}

FitGradient fit_gradient(models::Predictor& predictor, const std::vector<torch::Tensor>& params,
                         const torch::Tensor& x, const torch::Tensor& y, int64_t draws) {
  clear_grads(params);
  FitGradient out;
  for (int64_t k = 0; k < draws; ++k) {
    const torch::Tensor l = predictor.fit_loss(x, y) / static_cast<double>(draws);
    l.backward();
    out.loss += l.item<double>();
  }
  out.grads = take_grads(params);
  out.norm = global_norm(out.grads);
  clear_grads(params);
  return out;
}

FitGradient dfl_fit_gradient(models::Predictor& predictor, const std::vector<torch::Tensor>& params,
                             const torch::Tensor& x, const torch::Tensor& y,
                             const RunConfig& config, int64_t epoch, int64_t batch) {
  const torch::Tensor y_fit =
      config.shuffle_targets ? shuffled_rows(y, config.seed, "dfl.fit", epoch, batch) : y;
  return fit_gradient(predictor, params, x, y_fit, config.train.mix.fit_draws);
}

void set_mixed_gradients(const std::vector<torch::Tensor>& params,
                         const std::vector<torch::Tensor>& g_dfl, double n_dfl,
                         const std::vector<torch::Tensor>& g_fit, double n_fit,
                         const MixConfig& mix) {
  const bool mixing = !g_fit.empty();
  double s_dfl = 1.0;
  double s_fit = 1.0;
  if (mixing && mix.normalize == "dfl") s_dfl = n_dfl > 1e-30 ? n_fit / n_dfl : 0.0;
  if (mixing && mix.normalize == "fit") s_fit = n_fit > 1e-30 ? n_dfl / n_fit : 0.0;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor g = g_dfl[i] * (mix.dfl_weight * s_dfl);
    if (mixing) g = g + g_fit[i] * (mix.fit_weight * s_fit);
    params[i].mutable_grad() = g;
  }
}

}  // namespace diffdfl::dfl
