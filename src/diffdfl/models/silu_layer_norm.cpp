#include "diffdfl/models/silu_layer_norm.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {

// Compile the row kernel for AVX2 and for the baseline, and pick at load time (GCC/Clang ifunc).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__APPLE__)
#define DIFFDFL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DIFFDFL_CLONES
#endif

constexpr int kLanes = 8;

// exp(x) for x ∈ [−87, 88] (callers clamp): x = n·ln2 + r, |r| ≤ ln2/2, degree-6 polynomial
// (Cephes expf coefficients, relative error ~1e-7), 2^n assembled in the exponent bits. Written
// without branches or library calls so that the loops below vectorise.
inline float exp_approx(float x) {
  const int32_t n = static_cast<int32_t>(x * 1.44269504088896341f + 128.5f) - 128;  // floor
  const auto fx = static_cast<float>(n);
  const float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// Rows of W floats; tmp holds W floats of scratch. Every loop is a simple one so that GCC
// vectorises it (the clamp gets its own loop; sums use kLanes partial accumulators).
DIFFDFL_CLONES
void silu_ln_rows(float* __restrict data, float* __restrict tmp, int64_t rows, int64_t W,
                  const float* __restrict gamma, const float* __restrict beta, float eps) {
  const int64_t blocks = W / kLanes;
  const float inv_w = 1.0f / static_cast<float>(W);
  for (int64_t i = 0; i < rows; ++i) {
    float* __restrict row = data + i * W;
    for (int64_t j = 0; j < W; ++j)
      tmp[j] = std::min(std::max(-row[j], -87.0f), 88.0f);
    for (int64_t j = 0; j < W; ++j)
      row[j] = row[j] / (1.0f + exp_approx(tmp[j]));
    float acc[kLanes] = {0};
    for (int64_t b = 0; b < blocks; ++b) {
      for (int k = 0; k < kLanes; ++k)
        acc[k] += row[b * kLanes + k];
    }
    float sum = 0;
    for (int64_t j = blocks * kLanes; j < W; ++j)
      sum += row[j];
    for (int k = 0; k < kLanes; ++k)
      sum += acc[k];
    const float mean = sum * inv_w;
    float sq[kLanes] = {0};
    for (int64_t b = 0; b < blocks; ++b) {
      for (int k = 0; k < kLanes; ++k) {
        const float d = row[b * kLanes + k] - mean;
        sq[k] += d * d;
      }
    }
    float ss = 0;
    for (int64_t j = blocks * kLanes; j < W; ++j)
      ss += (row[j] - mean) * (row[j] - mean);
    for (int k = 0; k < kLanes; ++k)
      ss += sq[k];
    const float rstd = 1.0f / std::sqrt(ss * inv_w + eps);
    for (int64_t j = 0; j < W; ++j)
      row[j] = (row[j] - mean) * rstd * gamma[j] + beta[j];
  }
}

}  // namespace

namespace {
thread_local bool fused_disabled = false;
}

FusedKernelsDisabled::FusedKernelsDisabled() : previous_(fused_disabled) {
  fused_disabled = true;
}
FusedKernelsDisabled::~FusedKernelsDisabled() {
  fused_disabled = previous_;
}

bool silu_layer_norm_supported(const torch::Tensor& h) {
  return !fused_disabled && h.defined() && h.device().is_cpu() &&
         h.scalar_type() == torch::kFloat && h.is_contiguous() && h.dim() >= 1 && h.size(-1) > 0 &&
         !(torch::GradMode::is_enabled() && h.requires_grad());
}

void silu_layer_norm_(torch::Tensor& h, const torch::Tensor& gamma, const torch::Tensor& beta,
                      double eps) {
  DIFFDFL_CHECK(silu_layer_norm_supported(h),
                "silu_layer_norm_: h must be a contiguous float32 CPU tensor");
  const int64_t W = h.size(-1);
  const torch::Tensor g = gamma.contiguous(), b = beta.contiguous();
  DIFFDFL_CHECK(g.scalar_type() == torch::kFloat && b.scalar_type() == torch::kFloat &&
                    g.numel() == W && b.numel() == W && g.device().is_cpu() && b.device().is_cpu(),
                "silu_layer_norm_: gamma and beta must be float32 CPU tensors of size ", W);
  const int64_t rows = h.numel() / W;
  float* data = h.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  const auto e = static_cast<float>(eps);
  const int64_t grain = std::max<int64_t>(1, 32768 / W);
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> tmp(static_cast<size_t>(W));
    silu_ln_rows(data + begin * W, tmp.data(), end - begin, W, gp, bp, e);
  });
}

}  // namespace diffdfl::models
