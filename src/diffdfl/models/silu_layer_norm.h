// silu_layer_norm_: LayerNorm(SiLU(h)) over the last dimension, in place — the fused CPU kernel of
// EpsNetwork's no-grad path (every SiLU of the reference trunk is followed by a LayerNorm).
//
// One row at a time (≤ a few KiB, so it stays in L1): SiLU with a vectorisable exp, then the row's
// mean and centred variance, then the affine normalisation. LibTorch runs these as three kernels
// over the whole [rows, W] tensor (SiLU, the LayerNorm statistics, the normalisation), each one a
// pass through memory, and its CPU exp is slow in some builds; on a sampling step at W = 256 this
// is most of the time outside the GEMMs. float32 on the CPU only (silu_layer_norm_supported); the
// result agrees with torch::layer_norm(torch::silu(h)) to ~1e-6 relative (tested).
//
// Example:
//   if (silu_layer_norm_supported(h)) silu_layer_norm_(h, norm->weight, norm->bias, 1e-5);
//   else h = torch::layer_norm(torch::silu(h), {W}, norm->weight, norm->bias, 1e-5);
#pragma once

#include <torch/torch.h>

namespace diffdfl::models {

/// True for a contiguous float32 CPU tensor when no autograd graph is being recorded (and no
/// FusedKernelsDisabled guard is alive on this thread).
bool silu_layer_norm_supported(const torch::Tensor& h);

/// While alive, silu_layer_norm_supported() is false on this thread. The checkpointed sampler uses
/// it so that its no-grad forward pass evaluates exactly the kernels its recomputation will.
class FusedKernelsDisabled {
 public:
  FusedKernelsDisabled();
  ~FusedKernelsDisabled();
  FusedKernelsDisabled(const FusedKernelsDisabled&) = delete;
  FusedKernelsDisabled& operator=(const FusedKernelsDisabled&) = delete;

 private:
  bool previous_;
};

/// h ← LayerNorm(SiLU(h)) over the last dim with affine gamma, beta ([W], float32, CPU). Runs over
/// rows in parallel with at::parallel_for. Requires silu_layer_norm_supported(h).
void silu_layer_norm_(torch::Tensor& h, const torch::Tensor& gamma, const torch::Tensor& beta,
                      double eps);

}  // namespace diffdfl::models
