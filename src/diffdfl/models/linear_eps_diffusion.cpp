#include "diffdfl/models/linear_eps_diffusion.h"

#include <cmath>

#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {
constexpr double kLog2Pi = 1.8378770664093454835606594728112;
}

void LinearEpsOptions::validate() const {
  DIFFDFL_CHECK(init_std >= 0 && std::isfinite(init_std),
                "LinearEpsOptions.init_std must be >= 0, got ", init_std);
}

LinearEpsNetworkImpl::LinearEpsNetworkImpl(int64_t T, int64_t x_dim, int64_t y_dim,
                                           const LinearEpsOptions& options)
    : x_dim_(x_dim), y_dim_(y_dim) {
  options.validate();
  DIFFDFL_CHECK(T >= 1 && x_dim >= 0 && y_dim >= 1, "LinearEpsNetwork: bad sizes T=", T,
                " x_dim=", x_dim, " y_dim=", y_dim);
  A = register_parameter("A", torch::randn({T, y_dim, y_dim}) * options.init_std);
  B = register_parameter("B", torch::randn({T, y_dim, x_dim}) * options.init_std);
  c = register_parameter("c", torch::randn({T, y_dim}) * options.init_std);
}

DenoiserContext LinearEpsNetworkImpl::condition(const torch::Tensor& x) {
  DIFFDFL_CHECK(x.dim() == 2 && x.size(1) == x_dim_, "LinearEpsNetwork: x must be [C, ", x_dim_,
                "], got ", x.sizes());
  return DenoiserContext{{x}};
}

torch::Tensor LinearEpsNetworkImpl::predict(const torch::Tensor& y, const torch::Tensor& t,
                                            const DenoiserContext& ctx) {
  const torch::Tensor& x = ctx.tensors.at(0);
  const int64_t C = y.size(0), G = y.size(1), n = y_dim_;
  if (t.dim() == 0) {
    const torch::Tensor idx = t.reshape({1});
    const torch::Tensor At = A.index_select(0, idx).squeeze(0);  // [n, n]
    const torch::Tensor Bt = B.index_select(0, idx).squeeze(0);  // [n, x]
    const torch::Tensor ct = c.index_select(0, idx).squeeze(0);  // [n]
    return torch::matmul(y, At.t()) + (torch::matmul(x, Bt.t()) + ct).unsqueeze(1);
  }
  const torch::Tensor flat = t.reshape({-1});
  const torch::Tensor At = A.index_select(0, flat).view({C, G, n, n});
  const torch::Tensor Bt = B.index_select(0, flat).view({C, G, n, x_dim_});
  const torch::Tensor ct = c.index_select(0, flat).view({C, G, n});
  return torch::matmul(At, y.unsqueeze(-1)).squeeze(-1) +
         torch::matmul(Bt, x.view({C, 1, x_dim_, 1})).squeeze(-1) + ct;
}

LinearEpsDiffusion::LinearEpsDiffusion(int64_t x_dim, int64_t y_dim,
                                       const DiffusionOptions& options,
                                       const LinearEpsOptions& linear, torch::Device device,
                                       torch::Dtype dtype)
    : LinearEpsDiffusion(
          std::make_shared<LinearEpsNetworkImpl>(options.schedule.steps, x_dim, y_dim, linear),
          options, device, dtype) {}

LinearEpsDiffusion::LinearEpsDiffusion(std::shared_ptr<LinearEpsNetworkImpl> net,
                                       const DiffusionOptions& options, torch::Device device,
                                       torch::Dtype dtype)
    : DiffusionPredictor(net, options, device, dtype), linear_(std::move(net)) {}

LinearEpsDiffusion::GaussianMarginal LinearEpsDiffusion::marginal() {
  const int64_t n = y_dim();
  const auto opts = tensor_options();
  const torch::Tensor eye = torch::eye(n, opts);
  torch::Tensor Q = eye;  // product of the steps after j
  torch::Tensor gain = torch::zeros({n, x_dim()}, opts);
  torch::Tensor offset = torch::zeros({n}, opts);
  torch::Tensor cov = torch::zeros({n, n}, opts);
  const auto& plan = reverse_plan();
  for (auto it = plan.rbegin(); it != plan.rend(); ++it) {
    const ReverseStep& s = *it;
    const torch::Tensor At = linear_->A[s.t];
    gain = gain + s.c_eps * torch::matmul(Q, linear_->B[s.t]);
    offset = offset + s.c_eps * torch::matmul(Q, linear_->c[s.t]);
    if (s.sigma > 0) cov = cov + (s.sigma * s.sigma) * torch::matmul(Q, Q.t());
    Q = torch::matmul(Q, s.c_y * eye + s.c_eps * At);
  }
  cov = cov + torch::matmul(Q, Q.t());
  return {gain, offset, cov};
}

torch::Tensor LinearEpsDiffusion::exact_log_density(const torch::Tensor& x,
                                                    const torch::Tensor& samples) {
  const torch::Tensor xn = prepare_x(x);
  const int64_t Bn = xn.size(0);
  const torch::Tensor sn = prepare_samples(samples, Bn);
  const int64_t M = sn.size(1), n = y_dim();
  const GaussianMarginal m = marginal();
  const auto [L, info] = torch::linalg_cholesky_ex(m.covariance);
  if (info.item<int64_t>() != 0) {
    fail<Error>(
        "LinearEpsDiffusion: the covariance of y0 | x is not positive definite (Cholesky info ",
        info.item<int64_t>(), ")");
  }
  const torch::Tensor mean = torch::matmul(xn, m.gain.t()) + m.offset;  // [B, n]
  const torch::Tensor diff = (sn - mean.unsqueeze(1)).reshape({Bn * M, n}).t();
  const torch::Tensor z = torch::linalg_solve_triangular(L, diff, /*upper=*/false);
  const torch::Tensor quad = z.pow(2).sum(0).view({Bn, M});
  const torch::Tensor logdet = 2.0 * torch::log(torch::diagonal(L)).sum();
  return -0.5 * (quad + logdet + static_cast<double>(n) * kLog2Pi) - log_abs_det_scale();
}

}  // namespace diffdfl::models
