#include "diffdfl/models/eps_network.h"

#include <cmath>
#include <string>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/models/silu_layer_norm.h"

namespace diffdfl::models {

namespace nn = torch::nn;

namespace {
const EnumNames<InputNorm>& input_norm_names() {
  static const EnumNames<InputNorm> names(
      "input normalisation", {{InputNorm::kJoint, "joint"}, {InputNorm::kContext, "context"}});
  return names;
}
}  // namespace

std::string to_string(InputNorm value) {
  return input_norm_names().name(value);
}

InputNorm parse_input_norm(const std::string& name) {
  return input_norm_names().parse(name);
}

void EpsNetworkOptions::validate() const {
  DIFFDFL_CHECK(width >= 1, "EpsNetworkOptions.width must be >= 1, got ", width);
  DIFFDFL_CHECK(depth >= 1, "EpsNetworkOptions.depth must be >= 1, got ", depth);
  DIFFDFL_CHECK(time_embed_dim >= 2 && time_embed_dim % 2 == 0,
                "EpsNetworkOptions.time_embed_dim must be even and >= 2, got ", time_embed_dim);
  DIFFDFL_CHECK(time_hidden >= 1, "EpsNetworkOptions.time_hidden must be >= 1, got ", time_hidden);
  DIFFDFL_CHECK(max_period > 1, "EpsNetworkOptions.max_period must be > 1, got ", max_period);
  DIFFDFL_CHECK(layer_norm_eps > 0, "EpsNetworkOptions.layer_norm_eps must be > 0, got ",
                layer_norm_eps);
}

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim, double max_period,
                                   torch::Dtype dtype) {
  const int64_t half = dim / 2;
  const auto opts = torch::TensorOptions().dtype(dtype).device(t.device());
  const torch::Tensor freqs =
      torch::exp(torch::arange(half, opts) * (-std::log(max_period) / static_cast<double>(half)));
  const torch::Tensor args = t.to(dtype).unsqueeze(-1) * freqs;
  return torch::cat({torch::cos(args), torch::sin(args)}, -1);
}

EpsNetworkImpl::EpsNetworkImpl(int64_t x_dim, int64_t y_dim, const EpsNetworkOptions& options)
    : x_dim_(x_dim), y_dim_(y_dim), options_(options) {
  options_.validate();
  DIFFDFL_CHECK(x_dim >= 0, "x_dim must be >= 0, got ", x_dim);
  DIFFDFL_CHECK(y_dim >= 1, "y_dim must be >= 1, got ", y_dim);
  const int64_t E = options_.time_embed_dim;
  const int64_t W = options_.width;
  const int64_t n = y_dim + E + x_dim;
  time_fc1_ = register_module("time_fc1", nn::Linear(E, options_.time_hidden));
  time_fc2_ = register_module("time_fc2", nn::Linear(options_.time_hidden, E));
  const int64_t norm_dim = options_.input_norm == InputNorm::kJoint ? n : x_dim;
  if (norm_dim > 0) {
    in_norm_ = register_module(
        "in_norm", nn::LayerNorm(nn::LayerNormOptions({norm_dim}).eps(options_.layer_norm_eps)));
  }
  in_fc_ = register_module("in_fc", nn::Linear(n, W));
  for (int64_t i = 1; i < options_.depth; ++i) {
    hidden_norms_.push_back(
        register_module("hidden_norm" + std::to_string(i),
                        nn::LayerNorm(nn::LayerNormOptions({W}).eps(options_.layer_norm_eps))));
    hidden_fcs_.push_back(register_module("hidden_fc" + std::to_string(i), nn::Linear(W, W)));
  }
  out_norm_ = register_module(
      "out_norm", nn::LayerNorm(nn::LayerNormOptions({W}).eps(options_.layer_norm_eps)));
  out_fc_ = register_module("out_fc", nn::Linear(W, y_dim));
}

torch::Tensor EpsNetworkImpl::time_embedding(const torch::Tensor& t) {
  const torch::Tensor s = sinusoidal_embedding(t, options_.time_embed_dim, options_.max_period,
                                               time_fc1_->weight.scalar_type());
  return time_fc2_->forward(torch::silu(time_fc1_->forward(s)));
}

DenoiserContext EpsNetworkImpl::condition(const torch::Tensor& x) {
  DIFFDFL_CHECK(x.dim() == 2 && x.size(1) == x_dim_, "EpsNetwork: x must be [C, ", x_dim_,
                "], got ", x.sizes());
  if (options_.input_norm == InputNorm::kContext) return condition_context_norm(x);
  const int64_t E = options_.time_embed_dim;
  const torch::Tensor& w = in_fc_->weight;             // [W, n]
  const torch::Tensor w_gamma = w * in_norm_->weight;  // W diag(γ)
  const torch::Tensor wy = w_gamma.slice(1, 0, y_dim_);
  const torch::Tensor we = w_gamma.slice(1, y_dim_, y_dim_ + E);
  torch::Tensor px, xm, xss;
  if (x_dim_ > 0) {
    const torch::Tensor wx = w_gamma.slice(1, y_dim_ + E);
    px = torch::matmul(x, wx.t());
    xm = x.mean(-1);
    xss = (x - xm.unsqueeze(-1)).pow(2).sum(-1);
  } else {
    px = torch::zeros({x.size(0), options_.width}, w.options());
    xm = torch::zeros({x.size(0)}, w.options());
    xss = torch::zeros({x.size(0)}, w.options());
  }
  const torch::Tensor wg = w_gamma.sum(1);
  const torch::Tensor c0 = torch::addmv(in_fc_->bias, w, in_norm_->bias);
  return DenoiserContext{{px, xm, xss, wy, we, wg, c0}};
}

DenoiserContext EpsNetworkImpl::condition_context_norm(const torch::Tensor& x) {
  const int64_t E = options_.time_embed_dim;
  const torch::Tensor& w = in_fc_->weight;  // [W, n]
  torch::Tensor px;
  if (x_dim_ > 0) {
    px = torch::addmm(in_fc_->bias, in_norm_->forward(x), w.slice(1, y_dim_ + E).t());
  } else {
    px = in_fc_->bias.unsqueeze(0).expand({x.size(0), options_.width});
  }
  return DenoiserContext{{px, w.slice(1, 0, y_dim_), w.slice(1, y_dim_, y_dim_ + E)}};
}

torch::Tensor EpsNetworkImpl::predict_context_norm(const torch::Tensor& y, const torch::Tensor& t,
                                                   const DenoiserContext& ctx) {
  DIFFDFL_CHECK(ctx.tensors.size() == 3,
                "EpsNetwork::predict: context was not made by condition()");
  const torch::Tensor& px = ctx.tensors[0];
  const torch::Tensor& wy = ctx.tensors[1];
  const torch::Tensor& we = ctx.tensors[2];
  DIFFDFL_CHECK(px.size(0) == y.size(0), "EpsNetwork::predict: ", px.size(0),
                " contexts but y_t has ", y.size(0));
  torch::Tensor h;
  if (t.dim() == 0) {
    const torch::Tensor e = time_embedding(t.reshape({1}));  // [1, E]
    h = torch::matmul(y, wy.t()) + (px + torch::matmul(e, we.t())).unsqueeze(1);
  } else {
    DIFFDFL_CHECK(t.dim() == 2 && t.size(0) == y.size(0) && t.size(1) == y.size(1),
                  "EpsNetwork::predict: t must be 0-dim or [C, G] = ", y.sizes().slice(0, 2),
                  ", got ", t.sizes());
    const torch::Tensor e = time_embedding(t);  // [C, G, E]
    h = torch::matmul(torch::cat({y, e}, -1), torch::cat({wy, we}, 1).t()) + px.unsqueeze(1);
  }
  return trunk(h);
}

torch::Tensor EpsNetworkImpl::predict(const torch::Tensor& y, const torch::Tensor& t,
                                      const DenoiserContext& ctx) {
  DIFFDFL_CHECK(y.dim() == 3 && y.size(2) == y_dim_, "EpsNetwork::predict: y_t must be [C, G, ",
                y_dim_, "], got ", y.sizes());
  if (options_.input_norm == InputNorm::kContext) return predict_context_norm(y, t, ctx);
  DIFFDFL_CHECK(ctx.tensors.size() == 7,
                "EpsNetwork::predict: context was not made by condition()");
  const torch::Tensor& px = ctx.tensors[0];
  const torch::Tensor& xm = ctx.tensors[1];
  const torch::Tensor& xss = ctx.tensors[2];
  const torch::Tensor& wy = ctx.tensors[3];
  const torch::Tensor& we = ctx.tensors[4];
  const torch::Tensor& wg = ctx.tensors[5];
  const torch::Tensor& c0 = ctx.tensors[6];
  DIFFDFL_CHECK(px.size(0) == y.size(0), "EpsNetwork::predict: ", px.size(0),
                " contexts but y_t has ", y.size(0));
  const bool inplace = !torch::GradMode::is_enabled();
  const double E = static_cast<double>(options_.time_embed_dim);
  const double nx = static_cast<double>(x_dim_);
  const double n = static_cast<double>(y_dim_) + E + nx;

  // Time embedding and the per-row / per-context parts of the first layer's input.
  torch::Tensor a;       // [C, G, k]: the per-row blocks ([y] or [y, e])
  torch::Tensor w_rows;  // [W, k]: their columns of W_γ
  torch::Tensor base;    // [C, W]: W_γ,x x (+ W_γ,e e for a shared step)
  torch::Tensor e_sum;   // Σ e  (0-dim or [C, G])
  torch::Tensor e_ss;    // Σ (e − ē)²
  if (t.dim() == 0) {
    const torch::Tensor e = time_embedding(t.reshape({1}));  // [1, E]
    e_sum = e.sum();
    e_ss = (e - e_sum / E).pow(2).sum();
    a = y;
    w_rows = wy;
    base = px + torch::matmul(e, we.t());
  } else {
    DIFFDFL_CHECK(t.dim() == 2 && t.size(0) == y.size(0) && t.size(1) == y.size(1),
                  "EpsNetwork::predict: t must be 0-dim or [C, G] = ", y.sizes().slice(0, 2),
                  ", got ", t.sizes());
    const torch::Tensor e = time_embedding(t);  // [C, G, E]
    e_sum = e.sum(-1);
    e_ss = (e - (e_sum / E).unsqueeze(-1)).pow(2).sum(-1);
    a = torch::cat({y, e}, -1);
    w_rows = torch::cat({wy, we}, 1);
    base = px;
  }
  // Row statistics of v = [y, e, x] from per-block sums (stable: every block is centred first).
  const torch::Tensor xm1 = xm.unsqueeze(1);                    // [C, 1]
  const torch::Tensor mu = (y.sum(-1) + e_sum + nx * xm1) / n;  // [C, G]
  const torch::Tensor var_n = (y - mu.unsqueeze(-1)).pow(2).sum(-1) + e_ss +
                              E * (e_sum / E - mu).pow(2) + xss.unsqueeze(1) +
                              nx * (xm1 - mu).pow(2);
  const torch::Tensor r = torch::rsqrt(var_n / n + options_.layer_norm_eps);  // [C, G]
  // Linear(LN(v)) = [r·a, −r·μ, 1] · [W_rows, W γ, W β + b]ᵀ + r·base_c: one GEMM over all rows
  // (bias and mean terms as two extra input columns), then one broadcast multiply-add per context.
  const torch::Tensor r1 = r.unsqueeze(-1);
  const torch::Tensor input =
      torch::cat({a * r1, -r1 * mu.unsqueeze(-1), torch::ones_like(r1)}, -1);
  const torch::Tensor weight = torch::cat({w_rows, wg.unsqueeze(1), c0.unsqueeze(1)}, 1);
  torch::Tensor h = torch::matmul(input, weight.t());  // [C, G, W]
  h = inplace ? h.addcmul_(r1, base.unsqueeze(1)) : torch::addcmul(h, r1, base.unsqueeze(1));
  return trunk(h);
}

torch::Tensor EpsNetworkImpl::trunk(torch::Tensor h) {
  const bool inplace = !torch::GradMode::is_enabled();
  if (inplace && silu_layer_norm_supported(h)) {
    // Fused SiLU + LayerNorm per row (float32 CPU, no graph).
    const double eps = options_.layer_norm_eps;
    for (size_t i = 0; i < hidden_fcs_.size(); ++i) {
      silu_layer_norm_(h, hidden_norms_[i]->weight, hidden_norms_[i]->bias, eps);
      h = hidden_fcs_[i]->forward(h);
    }
    silu_layer_norm_(h, out_norm_->weight, out_norm_->bias, eps);
    return out_fc_->forward(h);
  }
  h = inplace ? torch::silu_(h) : torch::silu(h);
  for (size_t i = 0; i < hidden_fcs_.size(); ++i) {
    h = hidden_fcs_[i]->forward(hidden_norms_[i]->forward(h));
    h = inplace ? torch::silu_(h) : torch::silu(h);
  }
  return out_fc_->forward(out_norm_->forward(h));
}

torch::Tensor EpsNetworkImpl::forward_rows(const torch::Tensor& y_t, const torch::Tensor& t,
                                           const torch::Tensor& x) {
  DIFFDFL_CHECK(y_t.dim() == 2 && y_t.size(1) == y_dim_ && x.dim() == 2 && x.size(1) == x_dim_ &&
                    x.size(0) == y_t.size(0) && t.numel() == y_t.size(0),
                "EpsNetwork::forward_rows: expected y_t [R, ", y_dim_, "], t [R], x [R, ", x_dim_,
                "], got ", y_t.sizes(), ", ", t.sizes(), ", ", x.sizes());
  const torch::Tensor e = time_embedding(t.reshape({-1}));
  if (options_.input_norm == InputNorm::kContext) {
    const torch::Tensor xn = x_dim_ > 0 ? in_norm_->forward(x) : x;
    return trunk(in_fc_->forward(torch::cat({y_t, e, xn}, -1)));
  }
  const torch::Tensor v = torch::cat({y_t, e, x}, -1);
  return trunk(in_fc_->forward(in_norm_->forward(v)));
}

torch::Tensor EpsNetworkImpl::forward_reference(const torch::Tensor& y_t, const torch::Tensor& t,
                                                const torch::Tensor& x) {
  const FusedKernelsDisabled literal;  // LibTorch ops only, as a direct port would run them
  return forward_rows(y_t, t, x);
}

int64_t EpsNetworkImpl::flops_per_row(bool reference) const {
  const int64_t W = options_.width;
  const int64_t first_in = reference ? y_dim_ + options_.time_embed_dim + x_dim_ : y_dim_;
  return 2 * (first_in * W + (options_.depth - 1) * W * W + W * y_dim_);
}

}  // namespace diffdfl::models
