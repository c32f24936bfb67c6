// The standardisation's statistics are exact, order-fixed sums (the same bits on every machine).
// The digests of every task's data are checked in tests/tasks/data_reproducibility_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/data/dataset.h"

namespace diffdfl::data {
namespace {

TEST(Reproducibility, StandardizerStatisticsAreExactSums) {
  // 1e8 + small offsets: a naive float sum in another order would differ in the last bits, and a
  // badly conditioned one-pass variance would lose the offsets altogether.
  std::vector<double> v;
  for (int i = 0; i < 4001; ++i)
    v.push_back(1e8 + 0.1 * (i % 7) + 1e-3 * (i % 3));
  const torch::Tensor rows = torch::tensor(v, torch::kDouble).view({-1, 1});
  const Standardizer s = Standardizer::fit(rows);
  long double mean = 0;
  for (const double x : v)
    mean += x;
  mean /= v.size();
  long double ss = 0;
  for (const double x : v)
    ss += (x - mean) * (x - mean);
  EXPECT_NEAR(s.mean.item<double>(), static_cast<double>(mean), 1e-8);
  EXPECT_NEAR(s.std.item<double>(), std::sqrt(static_cast<double>(ss / v.size())), 1e-9);
  // The same rows give the same bits.
  EXPECT_TRUE(torch::equal(Standardizer::fit(rows).mean, s.mean));
  EXPECT_TRUE(torch::equal(Standardizer::fit(rows).std, s.std));
}

}  // namespace
}  // namespace diffdfl::data
