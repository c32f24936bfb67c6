// A task's data: train / hold / test tensors (x, y) plus metadata, built from one seed. Each task's
// loader lives in its own file (synthetic.h, power.h, portfolio.h, newsvendor.h; docs/data.md
// describes each pipeline); tasks/task.h maps a task name to its loader.
//
// Example:
//   diffdfl::data::PowerOptions opts;
//   opts.seed = 1;
//   opts.data_dir = "data";
//   diffdfl::data::Dataset ds = diffdfl::data::load_power(opts);
//   torch::Tensor x = ds.train.x;   // [2042, 149] float64, standardised with training statistics
//   torch::Tensor y = ds.train.y;   // [2042, 24]  float64, raw units (GW)
//   const auto& test = ds.split("test");
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace diffdfl::data {

/// One split. Rows are samples; `dates` holds an ISO date per row where the task has dates.
///
/// Example:
///   const Split& s = ds.test;
///   for (int64_t i = 0; i < s.size(); ++i)
///     std::cout << s.dates[i] << " " << s.y[i][0].item<double>() << "\n";
struct Split {
  torch::Tensor x;                 ///< [N, x_dim] float64 (CPU), features as the model sees them
  torch::Tensor y;                 ///< [N, y_dim] float64 (CPU), targets in raw units
  std::vector<std::string> dates;  ///< empty, or one "YYYY-MM-DD" per row

  int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

/// A task's three splits. `meta` (JSON) always holds "task" and "seed"; each loader documents the
/// rest.
///
/// Example:
///   Dataset ds = make_synthetic(SyntheticOptions{});
///   ds.x_dim;                  // 20
///   ds.meta["seed"];           // 1
///   ds.split("hold").size();   // 160
struct Dataset {
  std::string task;  ///< the task name (tasks/task.h)
  Split train, hold, test;
  int64_t x_dim = 0;
  int64_t y_dim = 0;
  nlohmann::json meta;  ///< task-specific metadata (seed, dates, tickers, standardisation, ...)

  /// The split called "train", "hold" or "test"; InvalidArgument for another name.
  const Split& split(const std::string& name) const;
};

/// One input file in memory: the name used in messages and its content. The loaders read their
/// files into these, so that the parsing can also be driven from memory (tests, fuzzing).
///
/// Example:
///   SourceText holidays{"data/power_sched/us_federal_holidays_2008-2016.csv", read_file(path)};
struct SourceText {
  std::string name;
  std::string text;
};

/// SHA-256 of a split's x then y (the shape, dtype and bytes of each), in lower-case hex. It keys
/// the pretrained-model cache (experiment::training_data_digest) and `diffdfl data summary` prints
/// it for the training split: the data pipeline is bit-identical across x86-64 machines and thread
/// counts (docs/data.md, "Reproducibility"), so equal digests mean equal data.
///
/// Example:
///   std::string d = digest(ds.train);   // "3f5c…" (64 hex digits)
std::string digest(const Split& split);

/// Per-column standardisation z = (x − mean) / std with statistics fitted on some rows. The
/// standard deviation is the population one (ddof = 0); a constant column (std ≤ 1e-12·max(1,
/// |mean|)) gets std = 1 so that it is centred but not blown up. The statistics are compensated
/// (Neumaier) sums taken row by row in a fixed order, not LibTorch reductions, whose order depends
/// on the CPU's vector width and the thread count: the same rows give the same bits on every
/// x86-64 machine.
///
/// Example:
///   Standardizer s = Standardizer::fit(x.slice(0, 0, 2553));   // training rows only
///   torch::Tensor z = s.apply(x);                              // every row, same statistics
///   torch::Tensor back = s.invert(z);                          // == x up to rounding
struct Standardizer {
  torch::Tensor mean;  ///< [cols] float64
  torch::Tensor std;   ///< [cols] float64, > 0

  static Standardizer fit(const torch::Tensor& rows);
  torch::Tensor apply(const torch::Tensor& x) const;
  torch::Tensor invert(const torch::Tensor& z) const;
  /// {"mean": [...], "std": [...]}.
  nlohmann::json to_json() const;
};

/// A seeded random partition of [0, n) into `n_fit` fitting indices and n − n_fit hold indices,
/// each returned sorted ascending (so rows keep their chronological order inside a split).
///
/// Example:
///   auto [fit, hold] = random_holdout(800, 640, derive_seed(seed, "synthetic.hold_split"));
std::pair<torch::Tensor, torch::Tensor> random_holdout(int64_t n, int64_t n_fit, uint64_t seed);

/// The split of a generated dataset of n rows (synthetic, newsvendor; the reference's): the first
/// int(trainhold_fraction·n) rows are train + hold, of which int((1 − hold_fraction)·n_th) are
/// training rows drawn at random, and the rest of the n rows are the test split.
///
/// Example:
///   const GeneratedSplit s = GeneratedSplit::of("SyntheticOptions", 1000, 0.8, 0.2);
///   s.trainhold;   // 800
///   s.fit;         // 640
struct GeneratedSplit {
  int64_t trainhold = 0;
  int64_t fit = 0;

  /// InvalidArgument naming `owner`'s field for a fraction outside (0, 1) or an empty split.
  static GeneratedSplit of(const std::string& owner, int64_t n, double trainhold_fraction,
                           double hold_fraction);

  /// Fills ds.train, ds.hold and ds.test from the n rows of (x, y): the first `trainhold` rows
  /// split at random into `fit` training rows and hold rows (random_holdout with `hold_seed`),
  /// the remaining rows test. Returns the training and the hold indices.
  std::pair<torch::Tensor, torch::Tensor> assign(Dataset& ds, const torch::Tensor& x,
                                                 const torch::Tensor& y, uint64_t hold_seed) const;
};

/// The rows `index` (int64) of (x, y, dates) as a Split; `dates` may be empty.
Split take_rows(const torch::Tensor& x, const torch::Tensor& y,
                const std::vector<std::string>& dates, const torch::Tensor& index);

/// Rows [begin, end) of (x, y, dates) as a Split; `dates` may be empty.
Split slice_rows(const torch::Tensor& x, const torch::Tensor& y,
                 const std::vector<std::string>& dates, int64_t begin, int64_t end);

}  // namespace diffdfl::data
