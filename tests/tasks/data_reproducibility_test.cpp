// Every registered task's data has the same bits on every x86-64 machine and for every thread
// count: its training split has a known digest, whatever torch::set_num_threads says. Across
// instruction sets (AVX2 / AVX-512 kernels) the CLI test DataCli.TrainingDataDigestIsTheSameOnEvery
// CpuKind checks the same digests with LibTorch forced to each.
#include <gtest/gtest.h>

#include <cmath>

#include "data/data_test_util.h"
#include "data/expected_digests.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::tasks {
namespace {

std::string train_digest(const std::string& task, int threads) {
  const int saved = torch::get_num_threads();
  torch::set_num_threads(threads);
  DatasetOptions o;
  o.task = task;
  o.data_dir = data::testing::shipped_data_dir().string();
  const std::string d = data::digest(load_dataset(o).train);
  torch::set_num_threads(saved);
  return d;
}

TEST(Reproducibility, TrainingDigestsAreKnownAndIndependentOfThreads) {
  // Every registered task has a checked-in digest.
  for (const std::string& task : task_names()) {
    EXPECT_EQ(data::testing::expected_train_digests().count(task), 1u) << task;
  }
  for (const auto& [task, expected] : data::testing::expected_train_digests()) {
    const std::string one = train_digest(task, 1);
    EXPECT_EQ(one, expected) << task << ": the training data changed";
    EXPECT_EQ(train_digest(task, 2), one) << task << ": the data depends on the thread count";
  }
}

}  // namespace
}  // namespace diffdfl::tasks
