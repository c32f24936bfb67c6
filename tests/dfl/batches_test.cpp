// Minibatch order and target shuffling: every row once per epoch, seeded and reproducible; and a
// split on which every solve failed reports no cost (NaN, null in JSON) rather than 0.
#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/dfl/batches.h"
#include "diffdfl/dfl/evaluation.h"

namespace diffdfl::dfl {
namespace {

TEST(EpochBatches, CoverEveryRowOnceAndDependOnTheEpoch) {
  const auto a = epoch_batches(103, 10, 7, "train", 0);
  ASSERT_EQ(a.size(), 11u);
  const torch::Tensor all = std::get<0>(torch::cat(a).sort());
  EXPECT_TRUE(torch::equal(all, torch::arange(103, torch::kLong)));
  const auto again = epoch_batches(103, 10, 7, "train", 0);
  const auto next = epoch_batches(103, 10, 7, "train", 1);
  EXPECT_TRUE(torch::equal(torch::cat(a), torch::cat(again)));
  EXPECT_FALSE(torch::equal(torch::cat(a), torch::cat(next)));
}

TEST(ShuffledRows, IsASeededPermutationOfTheRows) {
  const torch::Tensor y = torch::arange(40, torch::kDouble).reshape({20, 2});
  const torch::Tensor s = shuffled_rows(y, 3, "pretrain", 5, 2);
  // The same rows (each row intact), in another order.
  EXPECT_TRUE(torch::equal(std::get<0>(s.select(1, 0).sort()), y.select(1, 0)));
  EXPECT_TRUE(torch::equal(s.select(1, 1) - s.select(1, 0), torch::ones({20}, torch::kDouble)));
  EXPECT_FALSE(torch::equal(s, y));
  EXPECT_TRUE(torch::equal(s, shuffled_rows(y, 3, "pretrain", 5, 2)));
  EXPECT_FALSE(torch::equal(s, shuffled_rows(y, 3, "pretrain", 5, 3)));
  EXPECT_FALSE(torch::equal(s, shuffled_rows(y, 4, "pretrain", 5, 2)));
}

TEST(SplitMetrics, NoUsableInstanceMeansNoCost) {
  SplitMetrics m;
  m.cost = std::nan("");
  m.instances = 160;
  m.solver_failures = 160;
  const nlohmann::json j = m.to_json();
  EXPECT_TRUE(j.at("cost").is_null());
  EXPECT_EQ(j.at("solver_failures").get<int64_t>(), 160);
}

}  // namespace
}  // namespace diffdfl::dfl
