#include "diffdfl/opt/portfolio.h"

#include "diffdfl/core/error.h"

namespace diffdfl::opt {

void PortfolioOptions::validate() const {
  DIFFDFL_CHECK(n >= 2, "portfolio.n must be >= 2, got ", n);
  DIFFDFL_CHECK(std::isfinite(alpha) && alpha >= 0, "portfolio.alpha must be >= 0, got ", alpha);
  DIFFDFL_CHECK(std::isfinite(kkt_ridge) && kkt_ridge >= 0,
                "portfolio.kkt_ridge must be >= 0, got ", kkt_ridge);
}

PortfolioProgram::PortfolioProgram(PortfolioOptions options) : options_(options) {
  options_.validate();
  const LinearConstraints box = LinearConstraints::box(options_.n, 0.0, 1.0);
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  constraints_ = LinearConstraints::make(box.G, box.h, torch::ones({1, options_.n}, f64),
                                         torch::ones({1}, f64));
}

torch::Tensor PortfolioProgram::cost(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor s = (y * z).sum(-1);
  return 0.5 * options_.alpha * s * s - s;
}

torch::Tensor PortfolioProgram::grad_z(const torch::Tensor& y, const torch::Tensor& z) const {
  const torch::Tensor s = torch::matmul(y, z.unsqueeze(-1));  // [B, M, 1]
  return (options_.alpha * s - 1.0) * y;
}

torch::Tensor PortfolioProgram::saa_hessian(const torch::Tensor& y,
                                            const torch::Tensor& /*z*/) const {
  return options_.alpha / static_cast<double>(y.size(1)) * torch::matmul(y.transpose(1, 2), y);
}

HessianForm PortfolioProgram::hessian_form(const torch::Tensor& y, const torch::Tensor& z) const {
  if (y.size(1) >= options_.n) return HessianForm::dense(saa_hessian(y, z));
  const double scale = std::sqrt(options_.alpha / static_cast<double>(y.size(1)));
  return HessianForm::diag_plus_lowrank(torch::zeros({y.size(0), options_.n}, y.options()),
                                        scale * y.transpose(1, 2));
}

torch::Tensor PortfolioProgram::cross_vjp(const torch::Tensor& y, const torch::Tensor& z,
                                          const torch::Tensor& v) const {
  // (∂∇_z f/∂y)ᵀ v = (α s − 1) v + α z (yᵀv).
  const torch::Tensor s = torch::matmul(y, z.unsqueeze(-1));   // [B, M, 1]
  const torch::Tensor yv = torch::matmul(y, v.unsqueeze(-1));  // [B, M, 1]
  return (options_.alpha * s - 1.0) * v.unsqueeze(1) + options_.alpha * yv * z.unsqueeze(1);
}

torch::Tensor PortfolioProgram::initial_point(const torch::Tensor& y) const {
  return torch::full({y.size(0), options_.n}, 1.0 / static_cast<double>(options_.n),
                     y.options().dtype(torch::kDouble));
}

}  // namespace diffdfl::opt
