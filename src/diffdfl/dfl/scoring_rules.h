// Proper scoring rules and calibration checks of a predictive distribution given by samples: how
// good a density model is, apart from the decisions taken from it. All take samples [B, M, n] and
// the truth y [B, n] (any floating dtype; computed in float64) and return one value per context
// [B], to be averaged over a split.
//
//   crps             CRPS per coordinate, averaged over the n coordinates, with the fair (unbiased)
//                    ensemble estimator  mean_m |x_m − y| − Σ_{m<m'} |x_m − x_m'| / (M(M−1))
//                    (Ferro 2014); its expectation is the CRPS of the sampled distribution. M = 1
//                    gives the absolute error.
//   energy_score     the multivariate generalisation: mean_m ‖x_m − y‖ − Σ_{m<m'} ‖x_m − x_m'‖ /
//                    (M(M−1)) (fair, Euclidean norm; Gneiting & Raftery 2007). n = 1 equals crps.
//   interval_coverage  fraction of the n coordinates whose y lies in the central interval
//                    [q_{(1−level)/2}, q_{(1+level)/2}] of the samples (linear interpolation);
//                    ≈ level for a calibrated model.
//   outside_fraction fraction of the M·n sample coordinates outside the training range widened by
//                    half its width on each side, [lo − w/2, hi + w/2] with w = hi − lo: samples no
//                    plausible model of the data would draw (a sampler's outliers).
//
// Example:
//   torch::Tensor s = dfl::crps(samples, y).mean();                // lower is better
//   TargetRange r = dfl::TargetRange::of(train_y);
//   double far = dfl::outside_fraction(samples, r).mean().item<double>();
#pragma once

#include <torch/torch.h>

namespace diffdfl::dfl {

torch::Tensor crps(const torch::Tensor& samples, const torch::Tensor& y);
torch::Tensor energy_score(const torch::Tensor& samples, const torch::Tensor& y);
torch::Tensor interval_coverage(const torch::Tensor& samples, const torch::Tensor& y,
                                double level = 0.9);

/// Per-coordinate range of the training targets.
struct TargetRange {
  torch::Tensor lo, hi;                           ///< [n] float64
  static TargetRange of(const torch::Tensor& y);  ///< y [N, n]: min and max over rows
  bool defined() const { return lo.defined(); }
};

torch::Tensor outside_fraction(const torch::Tensor& samples, const TargetRange& range);

}  // namespace diffdfl::dfl
