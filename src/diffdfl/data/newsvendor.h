// The newsvendor data: a small task whose ground truth is known exactly, for checking that the
// whole pipeline (data → predictor → decision layer → DFL) finds a known answer.
//
//   x ~ N(0, I_d)                                      contexts, d = x_dim
//   y_j | x = base + w_jᵀ x + σ ε_j,  ε_j ~ N(0, 1)    demand of product j = 1..n (y_dim)
//
// W = (w_j) is drawn from the seed with entries N(0, loading²/d), so Var(w_jᵀx) ≈ loading². The
// conditional law of y is Gaussian with a known mean, so the optimal order for any cost of the
// newsvendor program is known in closed form (tasks/newsvendor_task.cpp, tests/tasks). x is not
// standardised (it is standard normal already); y is in demand units.
//
// Example:
//   data::NewsvendorOptions o;
//   o.seed = 3;
//   data::Dataset ds = data::make_newsvendor(o);
//   ds.train.x.sizes();                 // [640, 5]
//   torch::Tensor mu = data::newsvendor_mean(ds.meta, ds.test.x);   // [200, 4] E[y | x]
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "diffdfl/data/dataset.h"

namespace diffdfl::data {

struct NewsvendorOptions {
  uint64_t seed = 1;
  int64_t n_samples = 1000;         ///< N
  int64_t x_dim = 5;                ///< d
  int64_t y_dim = 4;                ///< n products
  double base = 10.0;               ///< mean demand at x = 0
  double loading = 1.5;             ///< sd of the context's effect w_jᵀx
  double sigma = 1.0;               ///< sd of the demand given x
  double trainhold_fraction = 0.8;  ///< the first int(f·N) samples are train+hold, the rest test
  double hold_fraction = 0.2;       ///< hold = n_th − int((1 − f)·n_th) of the n_th rows

  /// Throws InvalidArgument naming the bad field.
  void validate() const;
};

/// The dataset; meta holds "W" ([y_dim][x_dim]), "base" and "sigma" besides the split layout.
Dataset make_newsvendor(const NewsvendorOptions& options);

/// E[y | x] = base + W x for contexts x [N, x_dim], from a newsvendor dataset's meta → [N, y_dim].
torch::Tensor newsvendor_mean(const nlohmann::json& meta, const torch::Tensor& x);

}  // namespace diffdfl::data
