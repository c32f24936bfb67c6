// Helpers shared by the decision-layer tests: seeded random instances and central differences.
#pragma once

#include <torch/torch.h>

#include <functional>

#include "diffdfl/core/seed.h"

namespace diffdfl::opt::testing {

inline torch::TensorOptions f64() {
  return torch::TensorOptions().dtype(torch::kDouble);
}

/// Central finite differences of a scalar function of y, entry by entry.
inline torch::Tensor central_differences(const std::function<double(const torch::Tensor&)>& fn,
                                         const torch::Tensor& y, double eps) {
  torch::Tensor grad = torch::zeros_like(y);
  torch::Tensor flat = y.clone().reshape({-1});
  torch::Tensor gflat = grad.view({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double orig = flat[i].item<double>();
    flat[i] = orig + eps;
    const double up = fn(flat.view(y.sizes()));
    flat[i] = orig - eps;
    const double down = fn(flat.view(y.sizes()));
    flat[i] = orig;
    gflat[i] = (up - down) / (2 * eps);
  }
  return grad;
}

/// max |a − b| / (1 + max |b|): the relative error used by the gradient checks.
inline double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / (1.0 + b.abs().max().item<double>());
}

}  // namespace diffdfl::opt::testing
