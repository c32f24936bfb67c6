// Argument checks for tensors with messages that name the argument, the expected and the actual shape.
//
// Example:
//   check_shape(samples, "samples", {-1, -1, 24});   // -1 = any size
//   check_finite_batch(samples, "samples");          // "samples: non-finite value in batch element 3"
#pragma once

#include <torch/torch.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace diffdfl {

/// "[2, 3, 4]" for printing in error messages.
std::string shape_string(torch::IntArrayRef sizes);

/// Throws InvalidArgument unless `t` is defined and has `expected.size()` dimensions whose sizes equal
/// `expected` where the entry is >= 0 (-1 matches any size).
void check_shape(const torch::Tensor& t, const std::string& name, std::vector<int64_t> expected);

/// Throws InvalidArgument if `t` holds NaN or Inf; the message gives the index of the first bad
/// element along dim 0 (the batch index for batched inputs).
void check_finite_batch(const torch::Tensor& t, const std::string& name);

/// True where row b (dim 0) of `t` is entirely finite; shape [t.size(0)], bool.
torch::Tensor finite_rows(const torch::Tensor& t);

}  // namespace diffdfl
