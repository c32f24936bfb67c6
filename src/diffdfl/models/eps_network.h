// EpsNetwork: the reference ε-network of the conditional diffusion model (as in the authors' code).
//
//   emb(t)  = Linear(E→H) → SiLU → Linear(H→E) applied to [cos(t f_0..t f_{E/2−1}), sin(...)],
//             f_k = exp(−ln(max_period)·k/(E/2))                          (E = 16, H = 256)
//   input   = [y_t, emb(t), x]                                             (n = y_dim + E + x_dim)
//   trunk   = LayerNorm(n) → Linear(n→W) → SiLU → (LayerNorm(W) → Linear(W→W) → SiLU) × (depth−1)
//             → LayerNorm(W) → Linear(W→y_dim)                             (paper: W = 1024, depth
//             3)
// With InputNorm::kContext the first LayerNorm covers x only: Linear([y_t, emb(t), LN(x)]), and
// the x block W_x LN(x) + b is one per-context row.
//
// predict() evaluates exactly this function but never forms the concatenated input. With
// W_γ = W·diag(γ) of the first LayerNorm + Linear and μ, r = 1/√(var + eps) the row statistics of
// v = [y, e, x] (computed from per-block centred sums, numerically stable),
//   Linear(LN(v)) = [r·y, r·e, −r·μ, 1] · [W_γ,y, W_γ,e, W γ, W β + b]ᵀ + r·(W_γ,x x),
// i.e. one GEMM over the rows with y_dim (+E) + 2 input columns, plus one broadcast multiply-add
// of the per-context row W_γ,x x. That row, mean(x) and Σ(x − mean)² are computed once per context
// by condition() and shared by the context's rows and by every sampling step; with a shared step
// t the embedding is computed once and moves into the per-context row. A sampling step therefore
// costs O(y_dim·W) instead of O((y_dim + E + x_dim)·W) per row in the first layer. On the float32
// CPU no-grad path each SiLU + following LayerNorm runs as one fused per-row kernel
// (silu_layer_norm.h). forward_reference() is the literal concatenate → LayerNorm → Linear form
// with LibTorch ops; tests check that both agree.
//
// Example:
//   EpsNetworkOptions o;
//   o.width = 256;
//   auto net = std::make_shared<EpsNetworkImpl>(/*x_dim=*/149, /*y_dim=*/24, o);
//   DenoiserContext ctx = net->condition(x);                      // x [B, 149]
//   torch::Tensor eps = net->predict(y_t, torch::scalar_tensor(10, torch::kLong), ctx);
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/models/denoiser.h"

namespace diffdfl::models {

/// Where the first LayerNorm sits.
enum class InputNorm {
  /// One LayerNorm over the concatenated [y_t, emb(t), x] (the reference). The row statistics are
  /// dominated by x when x_dim ≫ y_dim, so the scale of x decides how strongly y_t reaches the
  /// network: contexts whose x lies far from the training data (the portfolio's test period) see a
  /// squashed y_t and produce ε̂ far off (docs/models.md §2.2).
  kJoint,
  /// LayerNorm over x alone; y_t (unit variance by construction) and emb(t) enter the first
  /// Linear unnormalised, so no context can rescale them.
  kContext,
};

std::string to_string(InputNorm norm);
InputNorm parse_input_norm(const std::string& name);  ///< "joint" | "context"

struct EpsNetworkOptions {
  int64_t width = 1024;         ///< W
  int64_t depth = 3;            ///< number of hidden Linear layers (n→W, then depth−1 of W→W)
  int64_t time_embed_dim = 16;  ///< E (even)
  int64_t time_hidden = 256;    ///< H
  double max_period = 1e4;      ///< of the sinusoidal embedding
  double layer_norm_eps = 1e-5;
  InputNorm input_norm = InputNorm::kJoint;

  void validate() const;
};

/// Sinusoidal embedding of integer steps t (any shape) → [..., dim]: the cos block first, then the
/// sin block (reference order), in `dtype`.
torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim, double max_period,
                                   torch::Dtype dtype);

class EpsNetworkImpl : public DenoiserImpl {
 public:
  EpsNetworkImpl(int64_t x_dim, int64_t y_dim, const EpsNetworkOptions& options = {});

  int64_t x_dim() const override { return x_dim_; }
  int64_t y_dim() const override { return y_dim_; }
  const EpsNetworkOptions& options() const { return options_; }

  /// kJoint: ctx.tensors = {P_x [C, W], mean(x) [C], Σ(x − mean)² [C], W_γ,y [W, y_dim],
  /// W_γ,e [W, E], W γ [W], W β + b [W]}; kContext: {W_x LN(x) + b [C, W], W_y, W_e}.
  DenoiserContext condition(const torch::Tensor& x) override;
  torch::Tensor predict(const torch::Tensor& y_t, const torch::Tensor& t,
                        const DenoiserContext& ctx) override;

  /// Rows with their own contexts (the fitting loss): the reference's concatenate → LayerNorm →
  /// Linear first layer, which is cheaper than the split form when every row has its own x.
  torch::Tensor forward_rows(const torch::Tensor& y_t, const torch::Tensor& t,
                             const torch::Tensor& x) override;

  /// The literal reference computation on rows with LibTorch ops only (no fused kernel):
  /// y_t [R, y_dim], t [R], x [R, x_dim] → [R, y_dim].
  torch::Tensor forward_reference(const torch::Tensor& y_t, const torch::Tensor& t,
                                  const torch::Tensor& x);

  /// The time-embedding MLP applied to steps t (any shape) → [..., E].
  torch::Tensor time_embedding(const torch::Tensor& t);

  /// Multiply-adds ×2 per row of one predict() call with a shared step (the sampling case);
  /// `reference` counts the concatenated first layer instead of the split one.
  int64_t flops_per_row(bool reference) const;

 private:
  int64_t x_dim_;
  int64_t y_dim_;
  EpsNetworkOptions options_;
  torch::nn::Linear time_fc1_{nullptr}, time_fc2_{nullptr};
  torch::nn::LayerNorm in_norm_{nullptr};  ///< over [y, e, x] (kJoint) or x (kContext, x_dim > 0)
  torch::nn::Linear in_fc_{nullptr};
  std::vector<torch::nn::LayerNorm> hidden_norms_;
  std::vector<torch::nn::Linear> hidden_fcs_;
  torch::nn::LayerNorm out_norm_{nullptr};
  torch::nn::Linear out_fc_{nullptr};

  /// SiLU of the first layer's pre-activation h, then the rest of the trunk (fused SiLU+LayerNorm
  /// kernel on the float32 CPU no-grad path, LibTorch ops otherwise).
  torch::Tensor trunk(torch::Tensor h);
  DenoiserContext condition_context_norm(const torch::Tensor& x);
  torch::Tensor predict_context_norm(const torch::Tensor& y, const torch::Tensor& t,
                                     const DenoiserContext& ctx);
};

}  // namespace diffdfl::models
