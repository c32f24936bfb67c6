// A task's data: train / hold / test tensors (x, y) plus metadata, built from one seed.
//
// Example:
//   diffdfl::data::Dataset ds = diffdfl::data::load_dataset("power", opts);
//   torch::Tensor x = ds.train.x;   // [2042, 149] float64, standardised with training statistics
//   torch::Tensor y = ds.train.y;   // [2042, 24]  float64, raw units (GW)
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace diffdfl::data {

/// One split. Rows are samples; `dates` holds an ISO date per row where the task has dates.
struct Split {
  torch::Tensor x;                 ///< [N, x_dim] float64 (CPU), features as the model sees them
  torch::Tensor y;                 ///< [N, y_dim] float64 (CPU), targets in raw units
  std::vector<std::string> dates;  ///< empty, or one "YYYY-MM-DD" per row

  int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

struct Dataset {
  std::string task;  ///< "synthetic", "synthetic-contextual", "power" or "portfolio"
  Split train, hold, test;
  int64_t x_dim = 0;
  int64_t y_dim = 0;
  nlohmann::json meta;  ///< task-specific metadata (seed, dates, tickers, standardisation, ...)

  /// The split called "train", "hold" or "test"; InvalidArgument for another name.
  const Split& split(const std::string& name) const;
};

}  // namespace diffdfl::data
