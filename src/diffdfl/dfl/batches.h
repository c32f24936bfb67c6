// Minibatch indices for an epoch: a permutation drawn from (seed, purpose, epoch) alone, so that a
// resumed run sees exactly the batches an uninterrupted one would.
//
// Example:
//   for (const torch::Tensor& idx : dfl::epoch_batches(2042, 64, seed, "dfl", epoch))
//     train_step(x.index_select(0, idx), y.index_select(0, idx));
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace diffdfl::dfl {

/// Shuffled index batches covering 0..n−1; batch_size 0 = one full batch. The last batch may be
/// smaller; a last batch of one row is merged into the previous one (BatchNorm needs ≥ 2 rows).
std::vector<torch::Tensor> epoch_batches(int64_t n, int64_t batch_size, uint64_t seed,
                                         const std::string& purpose, int64_t epoch);

}  // namespace diffdfl::dfl
