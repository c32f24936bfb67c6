#include "diffdfl/opt/allocation.h"

#include "diffdfl/core/error.h"

namespace diffdfl::opt {

void AllocationOptions::validate() const {
  DIFFDFL_CHECK(n >= 1, "allocation.n must be >= 1, got ", n);
  DIFFDFL_CHECK(std::isfinite(capacity) && capacity > 0, "allocation.capacity must be > 0, got ",
                capacity);
}

AllocationProgram::AllocationProgram(AllocationOptions options) : options_(options) {
  options_.validate();
  constraints_ = LinearConstraints::box(options_.n, 0.0, options_.capacity);
}

namespace {
/// exp(−yᵀz) per sample: y [B, M, n], z [B, n] → [B, M].
torch::Tensor utility_weights(const torch::Tensor& y, const torch::Tensor& z) {
  return torch::exp(-torch::matmul(y, z.unsqueeze(-1)).squeeze(-1));
}
}  // namespace

torch::Tensor AllocationProgram::cost(const torch::Tensor& y, const torch::Tensor& z) const {
  return torch::exp(-(y * z).sum(-1));
}

torch::Tensor AllocationProgram::grad_z(const torch::Tensor& y, const torch::Tensor& z) const {
  return -y * utility_weights(y, z).unsqueeze(-1);
}

torch::Tensor AllocationProgram::saa_hessian(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor e = utility_weights(y, z);  // [B, M]
  return torch::matmul(y.transpose(1, 2) * e.unsqueeze(1), y) / static_cast<double>(y.size(1));
}

torch::Tensor AllocationProgram::cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                                           const torch::Tensor& v) const {
  // (∂∇_z f/∂y)ᵀ v = e (z (yᵀv) − v).
  const torch::Tensor e = utility_weights(y, z).unsqueeze(-1);  // [B, M, 1]
  const torch::Tensor yv = torch::matmul(y, v.unsqueeze(-1));   // [B, M, 1]
  return e * (yv * z.unsqueeze(1) - v.unsqueeze(1));
}

torch::Tensor AllocationProgram::initial_point(const torch::Tensor& y) const {
  return torch::full({y.size(0), options_.n}, 0.25 * options_.capacity,
                     y.options().dtype(torch::kDouble));
}

}  // namespace diffdfl::opt
