// The check the dataset-loader fuzz targets share: a loaded dataset must be finite in every split.
#pragma once

#include <torch/torch.h>

#include "diffdfl/data/dataset.h"

namespace diffdfl::fuzzing {

/// Traps (a finding for libFuzzer) unless x and y of every split of `ds` are finite.
inline void trap_unless_finite(const data::Dataset& ds) {
  for (const auto* split : {&ds.train, &ds.hold, &ds.test}) {
    if (!torch::isfinite(split->x).all().item<bool>() ||
        !torch::isfinite(split->y).all().item<bool>())
      __builtin_trap();
  }
}

}  // namespace diffdfl::fuzzing
