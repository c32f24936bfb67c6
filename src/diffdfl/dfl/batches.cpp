#include "diffdfl/dfl/batches.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"

namespace diffdfl::dfl {

std::vector<torch::Tensor> epoch_batches(int64_t n, int64_t batch_size, uint64_t seed,
                                         const std::string& purpose, int64_t epoch) {
  DIFFDFL_CHECK(n >= 1, "epoch_batches: no rows");
  DIFFDFL_CHECK(batch_size >= 0, "epoch_batches: batch_size must be >= 0, got ", batch_size);
  auto gen = make_generator(derive_seed(seed, purpose + ".epoch." + std::to_string(epoch)));
  const torch::Tensor perm = torch::randperm(n, gen, torch::kLong);
  const int64_t step = batch_size == 0 ? n : batch_size;
  std::vector<torch::Tensor> out;
  int64_t start = 0;
  while (start < n) {
    int64_t end = std::min(n, start + step);
    if (n - end == 1) end = n;  // no trailing batch of one row
    out.push_back(perm.slice(0, start, end));
    start = end;
  }
  return out;
}

torch::Tensor shuffled_rows(const torch::Tensor& y, uint64_t seed, const std::string& purpose,
                            int64_t epoch, int64_t batch) {
  auto gen = make_generator(derive_seed(
      seed, purpose + ".shuffle." + std::to_string(epoch) + "." + std::to_string(batch)));
  return y.index_select(0, torch::randperm(y.size(0), gen, torch::kLong).to(y.device()));
}

}  // namespace diffdfl::dfl
