// The synthetic allocation task (as in the authors' code) and its contextual variant.
//
// Data: x ~ N(0, I_20); each of the 10 coordinates of y is independently
//   0.5·(1 + 0.15·ε)   with probability 1 − p_low   (the high mode, ≈ +0.5)
//   0.5·(−3 + 0.15·ε)  with probability p_low       (the low mode,  ≈ −1.5),   ε ~ N(0, 1).
// N = 1000 samples: the first 800 are train+hold, the last 200 test; train+hold is split by a
// seeded permutation into 640 train / 160 hold (rows keep their order inside each split).
//
// "synthetic": p_low = 0.1 for every sample, so y does not depend on x (as in the reference).
// "synthetic-contextual": p_low depends on x through a fixed, seeded logistic map
//   p_low_i(x) = sigmoid(a + w_iᵀx),   i = 1..10,
//   w_i = s · u_i / ‖u_i‖,   u_i ~ N(0, I_20) from the seed (stream "synthetic.contextual_map"),
// so that w_iᵀx ~ N(0, s²) for x ~ N(0, I) with s = context_strength (default 1.5), and the
// intercept a is solved numerically so that the population mean E_x[p_low_i(x)] equals p_low (0.1).
// The marginal distribution of y is therefore the same as in "synthetic"; only the conditional
// p(y | x) differs. With s = 1.5 (a ≈ −2.953), p_low(x) has median ≈ 0.050, 10 % / 90 %
// quantiles ≈ 0.008 / 0.26 and 1 % / 99 % quantiles ≈ 0.002 / 0.63 over contexts: a genuine
// conditional distribution to learn.
//
// Random streams (core/seed.h): "synthetic.data" draws, in order, x = randn(N, 20), u = rand(N, 10)
// (coordinate i is low iff u < p_low_i) and ε = randn(N, 10); "synthetic.hold_split" the hold
// permutation. The plain and contextual variants share these streams, so with one seed they have
// the same x and ε.
//
// Example:
//   SyntheticOptions o;
//   o.seed = 7;
//   o.contextual = true;
//   Dataset ds = make_synthetic(o);          // ds.task == "synthetic-contextual"
//   ds.train.x.sizes();                      // [640, 20]
//   ContextualMap map = make_contextual_map(o);
//   torch::Tensor p = map.p_low(ds.test.x);  // [200, 10], the true low-mode probabilities
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "diffdfl/data/dataset.h"

namespace diffdfl::data {

/// The largest magnitude of scale·high, scale·low and scale·noise that SyntheticOptions accepts:
/// targets (and the costs built from them) stay far inside float64.
inline constexpr double kSyntheticMaxMagnitude = 1e6;

/// Options of make_synthetic. Defaults reproduce the reference.
///
/// Example:
///   SyntheticOptions o;
///   o.seed = 3;
///   o.n_samples = 20000;   // a larger sample; the splits keep their fractions (12800/3200/4000)
///   Dataset ds = make_synthetic(o);
struct SyntheticOptions {
  uint64_t seed = 1;
  bool contextual = false;   ///< the contextual variant (task "synthetic-contextual")
  int64_t n_samples = 1000;  ///< N
  int64_t x_dim = 20;
  int64_t y_dim = 10;
  double trainhold_fraction = 0.8;  ///< the first int(f·N) samples are train+hold, the rest test
  double hold_fraction = 0.2;  ///< hold = n_th − int((1 − f)·n_th) of the n_th train+hold rows
  double p_low = 0.1;          ///< probability (contextual: population mean) of the low mode
  double high = 1.0;           ///< centre of the high mode before scaling
  double low = -3.0;           ///< centre of the low mode before scaling
  double noise = 0.15;         ///< standard deviation of the noise before scaling
  double scale = 0.5;          ///< y = scale · (centre + noise·ε)
  double context_strength = 1.5;  ///< s: standard deviation of w_iᵀx (contextual only)

  /// Throws InvalidArgument naming the bad field (e.g. "SyntheticOptions.p_low must be in (0, 1)").
  void validate() const;
};

/// The logistic map of the contextual variant: p_low(x) = sigmoid(a + x Wᵀ).
///
/// Example:
///   ContextualMap m = make_contextual_map(opts);
///   torch::Tensor p = m.p_low(x);   // x [N, 20] -> [N, 10]
struct ContextualMap {
  torch::Tensor w;  ///< [y_dim, x_dim] float64, each row of norm context_strength
  torch::Tensor a;  ///< [y_dim] float64 (all equal: the intercept that makes E_x[p_low] = p_low)

  torch::Tensor p_low(const torch::Tensor& x) const;
};

/// The map the seed of `options` fixes (independent of options.contextual).
ContextualMap make_contextual_map(const SyntheticOptions& options);

/// Generates the synthetic dataset. meta: seed, n_samples, p_low, modes, noise, scale, contextual
/// (and, for the contextual variant, "contextual_map": {"w", "a", "context_strength"}).
Dataset make_synthetic(const SyntheticOptions& options);

}  // namespace diffdfl::data
