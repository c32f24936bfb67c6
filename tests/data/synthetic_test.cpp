// The synthetic allocation data (and its contextual variant): sizes, mode frequencies and moments
// within sampling tolerance, exact reproducibility from the seed, and the contextual map.
#include "diffdfl/data/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data_test_util.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"

namespace diffdfl::data {
namespace {

using testing::expect_error;

torch::Tensor all_y(const Dataset& ds) {
  return torch::cat({ds.train.y, ds.hold.y, ds.test.y});
}
torch::Tensor all_x(const Dataset& ds) {
  return torch::cat({ds.train.x, ds.hold.x, ds.test.x});
}

TEST(Synthetic, SplitSizesAndShapes) {
  const Dataset ds = make_synthetic(SyntheticOptions{});
  EXPECT_EQ(ds.task, "synthetic");
  EXPECT_EQ(ds.x_dim, 20);
  EXPECT_EQ(ds.y_dim, 10);
  EXPECT_EQ(ds.train.x.sizes(), torch::IntArrayRef({640, 20}));
  EXPECT_EQ(ds.train.y.sizes(), torch::IntArrayRef({640, 10}));
  EXPECT_EQ(ds.hold.size(), 160);
  EXPECT_EQ(ds.test.size(), 200);
  EXPECT_EQ(ds.train.x.scalar_type(), torch::kDouble);
  EXPECT_TRUE(ds.train.dates.empty());
  EXPECT_EQ(ds.meta["seed"], 1);
  // train and hold partition the first 800 rows; test is rows 800..999.
  std::set<int64_t> seen;
  for (const auto& key : {"train_indices", "hold_indices"}) {
    for (const auto& i : ds.meta[key]) {
      const auto v = i.get<int64_t>();
      EXPECT_TRUE(v >= 0 && v < 800) << v;
      EXPECT_TRUE(seen.insert(v).second) << "index " << v << " in two splits";
    }
  }
  EXPECT_EQ(seen.size(), 800u);
  EXPECT_EQ(ds.meta["test_rows"], nlohmann::json({800, 1000}));
  EXPECT_EQ(&ds.split("hold"), &ds.hold);
  expect_error<InvalidArgument>([&] { ds.split("validation"); }, {"unknown split 'validation'"});
}

TEST(Synthetic, ModeFrequenciesAndMomentsWithinSamplingTolerance) {
  // Three seeds; 10,000 coordinates each. Tolerances are 4.5 standard errors.
  for (const uint64_t seed : {1u, 2u, 3u}) {
    SyntheticOptions o;
    o.seed = seed;
    const Dataset ds = make_synthetic(o);
    const torch::Tensor y = all_y(ds);
    const torch::Tensor x = all_x(ds);
    const torch::Tensor low = y < -0.5;  // the modes are at +0.5 and -1.5 with sd 0.075
    const double n = static_cast<double>(y.numel());
    const double freq_low = low.to(torch::kDouble).mean().item<double>();
    EXPECT_NEAR(freq_low, 0.1, 4.5 * std::sqrt(0.1 * 0.9 / n)) << "seed " << seed;

    const torch::Tensor yl = y.masked_select(low);
    const torch::Tensor yh = y.masked_select(low.logical_not());
    const double nl = static_cast<double>(yl.numel()), nh = static_cast<double>(yh.numel());
    EXPECT_NEAR(yl.mean().item<double>(), -1.5, 4.5 * 0.075 / std::sqrt(nl));
    EXPECT_NEAR(yh.mean().item<double>(), 0.5, 4.5 * 0.075 / std::sqrt(nh));
    // sd of a sample sd ≈ sigma / sqrt(2 n)
    EXPECT_NEAR(yl.std().item<double>(), 0.075, 4.5 * 0.075 / std::sqrt(2 * nl));
    EXPECT_NEAR(yh.std().item<double>(), 0.075, 4.5 * 0.075 / std::sqrt(2 * nh));
    // Overall mean 0.9·0.5 + 0.1·(−1.5) = 0.3, sd sqrt(0.09·4 + 0.075²) ≈ 0.6047.
    EXPECT_NEAR(y.mean().item<double>(), 0.3, 4.5 * 0.6047 / std::sqrt(n));
    // x ~ N(0, I): 20,000 values.
    EXPECT_NEAR(x.mean().item<double>(), 0.0, 4.5 / std::sqrt(20000.0));
    EXPECT_NEAR(x.var().item<double>(), 1.0, 4.5 * std::sqrt(2.0 / 20000.0));
  }
}

TEST(Synthetic, SeedFixesTheDataExactly) {
  SyntheticOptions o;
  o.seed = 42;
  const Dataset a = make_synthetic(o);
  const Dataset b = make_synthetic(o);
  for (const char* s : {"train", "hold", "test"}) {
    EXPECT_TRUE(torch::equal(a.split(s).x, b.split(s).x)) << s;
    EXPECT_TRUE(torch::equal(a.split(s).y, b.split(s).y)) << s;
  }
  EXPECT_EQ(a.meta["hold_indices"], b.meta["hold_indices"]);
  o.seed = 43;
  const Dataset c = make_synthetic(o);
  EXPECT_FALSE(torch::equal(a.test.x, c.test.x));
  EXPECT_FALSE(torch::equal(a.test.y, c.test.y));
  EXPECT_NE(a.meta["hold_indices"], c.meta["hold_indices"]);
}

TEST(Synthetic, ContextualMapMeanAndSpread) {
  SyntheticOptions o;
  o.contextual = true;
  const ContextualMap m = make_contextual_map(o);
  ASSERT_EQ(m.w.sizes(), torch::IntArrayRef({10, 20}));
  // Every w_i has norm s = 1.5; the intercept solves E[sigmoid(a + 1.5 ξ)] = 0.1, which gives
  // a = -2.952957, and the quantiles of p below are sigmoid(a + 1.5 Φ⁻¹(q)) (both computed in
  // Python by tests/data/reference_values.py, independently of the C++ solver).
  EXPECT_TRUE(torch::allclose(m.w.norm(2, {1}), torch::full({10}, 1.5, torch::kDouble)));
  EXPECT_NEAR(m.a[0].item<double>(), -2.952957, 1e-5);
  // On 200,000 fresh contexts: the mean is 0.1 and p spreads over contexts.
  auto gen = make_generator(123);
  const torch::Tensor x = torch::randn({20000, 20}, gen, torch::dtype(torch::kDouble));
  const torch::Tensor p = m.p_low(x).flatten();
  EXPECT_NEAR(p.mean().item<double>(), 0.1, 0.003);
  const torch::Tensor q = torch::quantile(p, torch::tensor({0.1, 0.5, 0.9, 0.99}, torch::kDouble));
  EXPECT_NEAR(q[0].item<double>(), 0.0076, 0.001);
  EXPECT_NEAR(q[1].item<double>(), 0.0496, 0.003);
  EXPECT_NEAR(q[2].item<double>(), 0.263, 0.01);
  EXPECT_NEAR(q[3].item<double>(), 0.631, 0.02);
}

TEST(Synthetic, ContextualModesFollowTheMap) {
  SyntheticOptions o;
  o.contextual = true;
  o.seed = 5;
  o.n_samples = 20000;
  const Dataset ds = make_synthetic(o);
  EXPECT_EQ(ds.task, "synthetic-contextual");
  EXPECT_EQ(ds.test.size(), 4000);
  ASSERT_TRUE(ds.meta.contains("contextual_map"));
  const ContextualMap m = make_contextual_map(o);
  const torch::Tensor x = all_x(ds);
  const torch::Tensor low = (all_y(ds) < -0.5).to(torch::kDouble);
  const torch::Tensor p = m.p_low(x);
  // Marginal frequency still 0.1 (200,000 coordinates).
  EXPECT_NEAR(low.mean().item<double>(), 0.1, 4.5 * std::sqrt(0.09 / 200000.0));
  // Calibration within bins of p: the empirical frequency matches the mean p of the bin.
  const double edges[] = {0.0, 0.02, 0.1, 0.3, 1.0};
  for (int b = 0; b < 4; ++b) {
    const torch::Tensor in = (p >= edges[b]) & (p < edges[b + 1]);
    const double count = in.sum().item<double>();
    ASSERT_GT(count, 1000) << "bin " << b;
    const double freq = low.masked_select(in).mean().item<double>();
    const double pm = p.masked_select(in).mean().item<double>();
    EXPECT_NEAR(freq, pm, 4.5 * std::sqrt(pm * (1 - pm) / count)) << "bin " << b;
  }
  // Same seed, plain variant: same x (shared stream), different y.
  o.contextual = false;
  const Dataset plain = make_synthetic(o);
  EXPECT_TRUE(torch::equal(plain.test.x, ds.test.x));
  EXPECT_FALSE(torch::equal(plain.test.y, ds.test.y));
}

TEST(Synthetic, OptionsValidationNamesTheField) {
  SyntheticOptions o;
  o.p_low = 1.5;
  expect_error<InvalidArgument>([&] { make_synthetic(o); }, {"SyntheticOptions.p_low"});
  o = SyntheticOptions{};
  o.n_samples = 2;
  expect_error<InvalidArgument>([&] { make_synthetic(o); }, {"SyntheticOptions.n_samples"});
  o = SyntheticOptions{};
  o.hold_fraction = 0;
  expect_error<InvalidArgument>([&] { make_synthetic(o); }, {"SyntheticOptions.hold_fraction"});
  // Each option finite, their product not (found by fuzz_synthetic_loader): an error, not Inf data.
  o = SyntheticOptions{};
  o.scale = 1e3;
  o.noise = 1.2e163;
  expect_error<InvalidArgument>([&] { make_synthetic(o); }, {"SyntheticOptions.scale", "noise"});
  o = SyntheticOptions{};
  o.high = 1e300;
  expect_error<InvalidArgument>([&] { make_synthetic(o); }, {"SyntheticOptions.scale", "high"});
}

}  // namespace
}  // namespace diffdfl::data
