// Helpers shared by the models tests.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <vector>

namespace diffdfl::models::testing {

/// max |a − b| / max(max |b|, tiny): a relative error over a whole tensor.
inline double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = std::max(b.abs().max().item<double>(), 1e-300);
  return (a - b).abs().max().item<double>() / scale;
}

/// Copies of the .grad of every parameter (zeros where undefined), then zeroes the grads.
inline std::vector<torch::Tensor> take_grads(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) {
    out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
  return out;
}

/// All tensors of a list flattened into one vector.
inline torch::Tensor flatten_all(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> flat;
  for (const auto& t : ts)
    flat.push_back(t.reshape({-1}));
  return torch::cat(flat);
}

}  // namespace diffdfl::models::testing
