#include "diffdfl/dfl/gradients.h"

#include <cmath>

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

}  // namespace diffdfl::dfl
