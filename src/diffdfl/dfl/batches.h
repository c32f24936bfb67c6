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

/// The rows of y [B, ...] in a random order drawn from (seed, purpose, epoch, batch): pairs each x
/// with another row's y. Only meaningful where y is known to be independent of x (the synthetic
/// task, as the reference's pretraining does), where it keeps a conditional model from memorising
/// the training pairs.
torch::Tensor shuffled_rows(const torch::Tensor& y, uint64_t seed, const std::string& purpose,
                            int64_t epoch, int64_t batch);

}  // namespace diffdfl::dfl
