// The data pipeline gives the same bits on every x86-64 machine and for every thread count: the
// training split of each task has a known digest, whatever torch::set_num_threads says. Across
// instruction sets (AVX2 / AVX-512 kernels) the CLI test DataCli.TrainingDataDigestIsTheSameOnEvery
// CpuKind checks the same digests with LibTorch forced to each.
#include <gtest/gtest.h>

#include <cmath>

#include "data_test_util.h"
#include "diffdfl/data/dataset.h"
#include "expected_digests.h"

namespace diffdfl::data {
namespace {

std::string train_digest(const std::string& task, int threads) {
  const int saved = torch::get_num_threads();
  torch::set_num_threads(threads);
  DatasetOptions o;
  o.task = task;
  o.data_dir = testing::shipped_data_dir().string();
  const std::string d = digest(load_dataset(o).train);
  torch::set_num_threads(saved);
  return d;
}

TEST(Reproducibility, TrainingDigestsAreKnownAndIndependentOfThreads) {
  for (const auto& [task, expected] : testing::expected_train_digests()) {
    const std::string one = train_digest(task, 1);
    EXPECT_EQ(one, expected) << task << ": the training data changed";
    EXPECT_EQ(train_digest(task, 2), one) << task << ": the data depends on the thread count";
  }
}

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
