#include "diffdfl/models/timestep_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "diffdfl/core/error.h"

namespace diffdfl::models {
namespace {

// Losses that make p_t clearly non-uniform: large at small t.
torch::Tensor warm_losses(int64_t T) {
  const torch::Tensor t = torch::arange(T, torch::kDouble);
  return 0.5 + 20.0 * torch::exp(-t / 8.0);
}

void warm_up(TimestepSampler& s, int64_t rounds) {
  const int64_t T = s.steps();
  const torch::Tensor base = warm_losses(T);
  for (int64_t r = 0; r < rounds; ++r) {
    const torch::Tensor noise = 1.0 + 0.1 * torch::randn({T}, torch::kDouble);
    s.update(torch::arange(T, torch::kLong), base * noise);
  }
}

TEST(TimestepSampler, UniformUntilEveryStepHasAFullHistory) {
  TimestepSamplerOptions o;
  o.kind = TimestepSamplerKind::kSecondMoment;
  o.history = 3;
  TimestepSampler s(50, o);
  EXPECT_FALSE(s.warmed_up());
  warm_up(s, 2);
  EXPECT_FALSE(s.warmed_up());
  EXPECT_TRUE(torch::allclose(s.probabilities(), torch::full({50}, 0.02, torch::kDouble)));
  const TimestepDraw d = s.draw(7, 4);
  EXPECT_TRUE(torch::allclose(d.coef, torch::full({7, 4}, 0.25, torch::kDouble)));
  warm_up(s, 1);
  EXPECT_TRUE(s.warmed_up());
  EXPECT_GT(s.probabilities()[0].item<double>(), 10 * s.probabilities()[49].item<double>());
}

// p_t ∝ √(mean of the last `history` squared losses), mixed with u/T.
TEST(TimestepSampler, ProbabilitiesFollowTheLastLossesSecondMoment) {
  TimestepSamplerOptions o;
  o.kind = TimestepSamplerKind::kSecondMoment;
  o.history = 2;
  o.uniform_mix = 0.1;
  TimestepSampler s(3, o);
  // Pushes per step (oldest dropped): t0: 5, 1, 1 → {1, 1}; t1: 2, 2; t2: 3, 4.
  s.update(torch::tensor({0, 0, 1, 2, 1, 2, 0}, torch::kLong),
           torch::tensor({5.0, 1.0, 2.0, 3.0, 2.0, 4.0, 1.0}, torch::kDouble));
  ASSERT_TRUE(s.warmed_up());
  const double w0 = 1, w1 = 2, w2 = std::sqrt((9.0 + 16.0) / 2.0);
  const double z = w0 + w1 + w2;
  const torch::Tensor p = s.probabilities();
  EXPECT_NEAR(p[0].item<double>(), 0.9 * w0 / z + 0.1 / 3, 1e-14);
  EXPECT_NEAR(p[1].item<double>(), 0.9 * w1 / z + 0.1 / 3, 1e-14);
  EXPECT_NEAR(p[2].item<double>(), 0.9 * w2 / z + 0.1 / 3, 1e-14);
}

// E_p[ω g(t)] = (1/T) Σ_t g(t) with ω = 1/(T p_t): exactly in expectation, and for the sample
// mean within 4 Monte-Carlo standard errors.
TEST(TimestepSampler, ImportanceWeightsAreUnbiased) {
  torch::manual_seed(1234);
  TimestepSamplerOptions o;
  o.kind = TimestepSamplerKind::kSecondMoment;
  TimestepSampler s(100, o);
  warm_up(s, 10);
  ASSERT_TRUE(s.warmed_up());
  const torch::Tensor p = s.probabilities();
  const torch::Tensor tt = torch::arange(100, torch::kDouble);
  const torch::Tensor g = torch::sin(tt / 7.0) + (tt / 100.0).pow(2) * 3.0;
  const double truth = g.mean().item<double>();
  EXPECT_NEAR((p * (1.0 / (100.0 * p)) * g).sum().item<double>(), truth, 1e-12);

  const int64_t N = 20000, K = 10;
  const TimestepDraw d = s.draw(N, K);
  // coef = ω / K, so Σ_k coef·g(t_k) is a per-sample unbiased estimate of mean_t g.
  const torch::Tensor est = (d.coef * g.index_select(0, d.t.reshape({-1})).view({N, K})).sum(1);
  const double mean = est.mean().item<double>();
  const double se = est.std().item<double>() / std::sqrt(static_cast<double>(N));
  EXPECT_NEAR(mean, truth, 4 * se) << "se=" << se;
  EXPECT_LT(se, 0.05);  // the test has power
  // The draws follow p: the empirical frequency of t = 0 (p ≈ 0.1) within 4 SE.
  const double f0 = (d.t == 0).to(torch::kDouble).mean().item<double>();
  const double p0 = p[0].item<double>();
  EXPECT_NEAR(f0, p0, 4 * std::sqrt(p0 * (1 - p0) / (N * K)));
  EXPECT_GT(p0, 0.05);
}

TEST(TimestepSampler, PowerVariantClipsSelfNormalisesAndAdaptsU) {
  torch::manual_seed(99);
  TimestepSamplerOptions o;
  o.kind = TimestepSamplerKind::kSecondMomentPower;
  o.uniform_mix = 1e-3;
  TimestepSampler s(100, o);
  // Before warm-up: ω = 1, ESS = N > 0.9 N → u ← max(0.05, 0.95 u − 0.01) = 0.05.
  TimestepDraw d = s.draw(50, 10);
  EXPECT_TRUE(torch::allclose(d.coef.sum(1), torch::ones({50}, torch::kDouble), 1e-9));
  EXPECT_DOUBLE_EQ(s.uniform_mix(), 0.05);
  // Strongly non-uniform losses: low ESS → u ← min(0.5, 1.1 u + 0.02).
  TimestepSampler s2(100, o);
  const torch::Tensor t = torch::arange(100, torch::kLong);
  for (int r = 0; r < 10; ++r)
    s2.update(t, 1e-3 + 1e3 * torch::exp(-torch::arange(100, torch::kDouble)));
  const torch::Tensor p = s2.probabilities();
  d = s2.draw(200, 10);
  // Self-normalised per sample.
  EXPECT_TRUE(torch::allclose(d.coef.sum(1), torch::ones({200}, torch::kDouble), 1e-9));
  // Recompute the clipped weights by hand and compare.
  torch::Tensor omega = 1.0 / (100.0 * p.index_select(0, d.t.reshape({-1})));
  omega = omega / omega.mean();
  const double q = torch::quantile(omega, 0.95).item<double>();
  omega = omega.clamp_max(q).view({200, 10});
  EXPECT_LT((d.coef - omega / (omega.sum(1, true) + 1e-12)).abs().max().item<double>(), 1e-12);
  const double ess = std::pow(omega.sum().item<double>(), 2) / omega.pow(2).sum().item<double>();
  EXPECT_NEAR(d.ess, ess, 1e-9 * ess);
  if (ess < 0.6 * 2000) {
    EXPECT_NEAR(s2.uniform_mix(), std::min(0.5, 1.1 * 1e-3 + 0.02), 1e-15);
  } else if (ess > 0.9 * 2000) {
    EXPECT_NEAR(s2.uniform_mix(), 0.05, 1e-15);
  } else {
    EXPECT_DOUBLE_EQ(s2.uniform_mix(), 1e-3);
  }
}

TEST(TimestepSampler, StateRoundTripsAndResumesBitIdentically) {
  torch::manual_seed(5);
  TimestepSamplerOptions o;
  o.kind = TimestepSamplerKind::kSecondMomentPower;
  TimestepSampler a(40, o);
  warm_up(a, 12);
  a.draw(10, 5);  // moves u
  torch::serialize::OutputArchive out;
  a.save(out, "ts");
  std::stringstream buf;
  out.save_to(buf);
  torch::serialize::InputArchive in;
  in.load_from(buf);
  TimestepSampler b(40, o);
  b.load(in, "ts");
  EXPECT_DOUBLE_EQ(a.uniform_mix(), b.uniform_mix());
  EXPECT_TRUE(torch::equal(a.probabilities(), b.probabilities()));
  const auto state = at::detail::getDefaultCPUGenerator().get_state();
  const TimestepDraw da = a.draw(30, 4);
  at::Generator(at::detail::getDefaultCPUGenerator()).set_state(state);
  const TimestepDraw db = b.draw(30, 4);
  EXPECT_TRUE(torch::equal(da.t, db.t));
  EXPECT_TRUE(torch::equal(da.coef, db.coef));
  EXPECT_DOUBLE_EQ(a.uniform_mix(), b.uniform_mix());

  TimestepSampler wrong(41, o);
  torch::serialize::InputArchive in2;
  buf.seekg(0);
  in2.load_from(buf);
  EXPECT_THROW(wrong.load(in2, "ts"), IoError);
}

TEST(TimestepSampler, SweepVisitsEvenlySpacedSteps) {
  TimestepSamplerOptions o;
  o.kind = TimestepSamplerKind::kSweep;
  TimestepSampler s(1000, o);
  const TimestepDraw all = s.draw(3, 1000);  // every step once, as the reference's portfolio task
  EXPECT_TRUE(torch::equal(all.t[2], torch::arange(1000, torch::kLong)));
  EXPECT_TRUE(torch::allclose(all.coef, torch::full({3, 1000}, 1e-3, torch::kDouble)));
  const TimestepDraw four = s.draw(2, 4);
  EXPECT_TRUE(torch::equal(four.t[0], torch::tensor({0, 250, 500, 750}, torch::kLong)));
  EXPECT_FALSE(s.uses_history());
  s.update(four.t, torch::ones({2, 4}));  // a no-op
  EXPECT_FALSE(s.warmed_up());
}

TEST(TimestepSampler, OptionsAreValidated) {
  TimestepSamplerOptions o;
  o.clip_quantile = 0;
  try {
    TimestepSampler s(10, o);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("clip_quantile"), std::string::npos);
  }
  EXPECT_EQ(parse_timestep_sampler("second_moment_power"), TimestepSamplerKind::kSecondMomentPower);
  EXPECT_EQ(parse_timestep_sampler("sweep"), TimestepSamplerKind::kSweep);
  EXPECT_EQ(to_string(TimestepSamplerKind::kSecondMoment), "second_moment");
  EXPECT_THROW(parse_timestep_sampler("importance"), InvalidArgument);
}

}  // namespace
}  // namespace diffdfl::models
