#include "diffdfl/models/noise_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "diffdfl/core/error.h"

namespace diffdfl::models {
namespace {

TEST(NoiseSchedule, LinearMatchesTheReferenceFormulas) {
  const NoiseSchedule s;  // T = 1000, β linear 1e-4 .. 0.02
  ASSERT_EQ(s.steps(), 1000);
  EXPECT_DOUBLE_EQ(s.beta(0), 1e-4);
  EXPECT_NEAR(s.beta(999), 0.02, 1e-15);
  EXPECT_NEAR(s.beta(500), 1e-4 + 500.0 * (0.02 - 1e-4) / 999.0, 1e-15);
  double prod = 1;
  for (int t = 0; t <= 500; ++t)
    prod *= 1 - s.beta(t);
  EXPECT_NEAR(s.alpha_bar(500), prod, 1e-14);
  EXPECT_DOUBLE_EQ(s.alpha_bar(-1), 1.0);
  EXPECT_LT(s.alpha_bar(999), 5e-5);  // the reference's chain ends close to N(0, I)

  const auto ab = s.alpha_bars();
  const auto post = s.posterior_variances();
  EXPECT_DOUBLE_EQ(post[0].item<double>(), 0.0);
  const double expect_post = s.beta(300) * (1 - s.alpha_bar(299)) / (1 - s.alpha_bar(300));
  EXPECT_NEAR(post[300].item<double>(), expect_post, 1e-15);
  // λ_t = β² / (2 β̃ α (1 − ᾱ)), λ_0 := λ_1.
  const auto lam = s.elbo_weights();
  const double b = s.beta(300);
  EXPECT_NEAR(lam[300].item<double>(), b * b / (2 * expect_post * (1 - b) * (1 - s.alpha_bar(300))),
              1e-12);
  EXPECT_DOUBLE_EQ(lam[0].item<double>(), lam[1].item<double>());
  EXPECT_TRUE(torch::isfinite(lam).all().item<bool>());
  EXPECT_TRUE(torch::allclose(s.alpha_bars_prev().slice(0, 1), ab.slice(0, 0, 999)));
}

TEST(NoiseSchedule, CosineIsMonotoneAndClipped) {
  NoiseScheduleOptions o;
  o.kind = BetaSchedule::kCosine;
  o.steps = 200;
  const NoiseSchedule s(o);
  const auto ab = s.alpha_bars();
  EXPECT_TRUE((ab.slice(0, 1) < ab.slice(0, 0, 199)).all().item<bool>());
  EXPECT_LE(s.betas().max().item<double>(), o.max_beta);
  EXPECT_LT(s.alpha_bar(199), 1e-3);
  EXPECT_GT(s.alpha_bar(0), 0.999);
}

TEST(NoiseSchedule, ValidationNamesTheField) {
  NoiseScheduleOptions o;
  o.beta_end = 1.5;
  try {
    o.validate();
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("beta_end"), std::string::npos) << e.what();
  }
  o = {};
  o.steps = 1;
  EXPECT_THROW(NoiseSchedule{o}, InvalidArgument);
}

TEST(StridedTimesteps, EvenlySpacedIncludingBothEnds) {
  EXPECT_EQ(strided_timesteps(1000, 5), (std::vector<int64_t>{0, 250, 500, 749, 999}));
  EXPECT_EQ(strided_timesteps(1000, 1), (std::vector<int64_t>{999}));
  EXPECT_EQ(strided_timesteps(10, 2), (std::vector<int64_t>{0, 9}));
  const auto all = strided_timesteps(100, 100);
  for (int64_t i = 0; i < 100; ++i)
    EXPECT_EQ(all[static_cast<size_t>(i)], i);
  for (int64_t T : {7, 100, 1000}) {
    for (int64_t S = 2; S <= T; S += (T > 100 ? 37 : 1)) {
      const auto taus = strided_timesteps(T, S);
      ASSERT_EQ(static_cast<int64_t>(taus.size()), S);
      EXPECT_EQ(taus.front(), 0);
      EXPECT_EQ(taus.back(), T - 1);
      for (size_t i = 1; i < taus.size(); ++i)
        ASSERT_LT(taus[i - 1], taus[i]) << "T=" << T << " S=" << S;
    }
  }
  EXPECT_THROW(strided_timesteps(10, 11), InvalidArgument);
  EXPECT_THROW(strided_timesteps(10, 0), InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::models
