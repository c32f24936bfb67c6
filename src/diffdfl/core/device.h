// Device and dtype helpers. Nothing in diffdfl hard-codes the CPU: devices and dtypes are parameters,
// and problem-side linear algebra is float64 on the device of the samples.
//
// Example:
//   torch::Device dev = parse_device("cuda:0");     // InvalidArgument if CUDA is not available
//   torch::Tensor y64 = to_problem(samples);       // float64, same device
#pragma once

#include <torch/torch.h>

#include <string>

namespace diffdfl {

/// "cpu", "cuda", "cuda:N" or "auto" (CUDA when available, else CPU). Throws InvalidArgument for an
/// unknown name or an unavailable device, with the fix in the message.
torch::Device parse_device(const std::string& name);

/// "float32" / "float64" → dtype; InvalidArgument otherwise.
torch::Dtype parse_dtype(const std::string& name);

/// `t` as float64 on its own device (the problem-side precision).
inline torch::Tensor to_problem(const torch::Tensor& t) { return t.to(torch::kDouble); }

/// Float64 options on `device`.
inline torch::TensorOptions problem_options(const torch::Device& device) {
  return torch::TensorOptions().dtype(torch::kDouble).device(device);
}

}  // namespace diffdfl
