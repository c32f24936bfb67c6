#include "diffdfl/models/diffusion_sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/models/eps_network.h"
#include "test_util.h"

namespace diffdfl::models {
namespace {

using testing::relative_error;

NoiseSchedule small_schedule(int64_t T) {
  NoiseScheduleOptions o;
  o.steps = T;
  // The reference's β range scaled by 1000/T (capped), so that ᾱ_{T−1} stays close to 0.
  o.beta_start = std::min(0.01, 1e-4 * 1000.0 / static_cast<double>(T));
  o.beta_end = std::min(0.5, 0.02 * 1000.0 / static_cast<double>(T));
  return NoiseSchedule(o);
}

std::shared_ptr<EpsNetworkImpl> small_net(int64_t x_dim, int64_t y_dim, int64_t width = 16) {
  EpsNetworkOptions o;
  o.width = width;
  o.time_hidden = 8;
  auto net = std::make_shared<EpsNetworkImpl>(x_dim, y_dim, o);
  net->to(torch::kDouble);
  return net;
}

TEST(ReversePlan, DdimMatchesTheReferenceStepWithS_EqualsT) {
  const NoiseSchedule s = small_schedule(50);
  for (double eta : {0.0, 0.8}) {
    SamplerOptions so;
    so.eta = eta;
    const auto plan = plan_reverse_steps(s, so);
    ASSERT_EQ(plan.size(), 50u);
    torch::manual_seed(1);
    for (size_t i = 0; i < plan.size(); ++i) {
      const ReverseStep& st = plan[i];
      ASSERT_EQ(st.t, 49 - static_cast<int64_t>(i));  // t = T−1 .. 0
      const torch::Tensor y = torch::randn({5}, torch::kDouble);
      const torch::Tensor eps = torch::randn({5}, torch::kDouble);
      const torch::Tensor xi = torch::randn({5}, torch::kDouble);
      // reference `sample_elbo`: ŷ0, then the DDIM update; ᾱ_{−1} := 1.
      const double ab = s.alpha_bar(st.t), abp = s.alpha_bar(st.t - 1);
      const torch::Tensor y0 = (y - std::sqrt(1 - ab) * eps) / std::sqrt(ab);
      const double sigma = eta * std::sqrt((1 - abp) / (1 - ab)) * std::sqrt(1 - ab / abp);
      torch::Tensor ref = std::sqrt(abp) * y0 + std::sqrt(1 - abp - sigma * sigma) * eps;
      if (st.t > 0) ref = ref + sigma * xi;
      const torch::Tensor ours = st.c_y * y + st.c_eps * eps + st.sigma * xi;
      EXPECT_LT(relative_error(ours, ref), 1e-12) << "t=" << st.t << " eta=" << eta;
    }
    EXPECT_EQ(plan.back().sigma, 0.0);  // the last step returns ŷ0
    EXPECT_NEAR(plan.back().c_y, 1 / std::sqrt(s.alpha_bar(0)), 1e-15);
  }
}

TEST(ReversePlan, DdpmMatchesTheAncestralStepAndEqualsDdimWithEtaOne) {
  const NoiseSchedule s = small_schedule(60);
  for (int64_t S : {60, 17}) {
    SamplerOptions ddpm;
    ddpm.kind = SamplerKind::kDdpm;
    ddpm.steps = S;
    SamplerOptions ddim;
    ddim.eta = 1.0;
    ddim.steps = S;
    const auto a = plan_reverse_steps(s, ddpm);
    const auto b = plan_reverse_steps(s, ddim);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].t, b[i].t);
      EXPECT_NEAR(a[i].c_y, b[i].c_y, 1e-10 * std::abs(a[i].c_y));
      EXPECT_NEAR(a[i].c_eps, b[i].c_eps, 1e-9 * std::abs(a[i].c_eps));
      EXPECT_NEAR(a[i].sigma, b[i].sigma, 1e-10);
    }
    if (S == 60) {
      // p_sample: mean (y − β_t ε/√(1−ᾱ_t))/√α_t, std √β̃_t, no noise at t = 0.
      const ReverseStep& st = a[10];
      const double beta = s.beta(st.t), ab = s.alpha_bar(st.t);
      EXPECT_NEAR(st.c_y, 1 / std::sqrt(1 - beta), 1e-15);
      EXPECT_NEAR(st.c_eps, -beta / std::sqrt(1 - ab) / std::sqrt(1 - beta), 1e-15);
      EXPECT_NEAR(st.sigma * st.sigma, s.posterior_variances()[st.t].item<double>(), 1e-15);
      EXPECT_EQ(a.back().sigma, 0.0);
    }
  }
}

TEST(ReversePlan, OptionsAreValidated) {
  const NoiseSchedule s = small_schedule(20);
  SamplerOptions o;
  o.steps = 21;
  EXPECT_THROW(plan_reverse_steps(s, o), InvalidArgument);
  o = {};
  o.eta = -0.1;
  try {
    o.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("eta"), std::string::npos);
  }
  o = {};
  EXPECT_EQ(o.resolved_steps(20), 20);
  EXPECT_EQ(o.resolved_segments(20), 4);  // round(√20)
  o.steps = 1000;
  EXPECT_EQ(o.resolved_segments(1000), 32);
  o.checkpoint_segments = 5000;
  EXPECT_EQ(o.resolved_segments(1000), 1000);
}

// The three graph modes consume the generator identically and evaluate identical kernels.
TEST(ReverseProcess, GraphModesGiveIdenticalSamples) {
  torch::manual_seed(3);
  auto net = small_net(3, 2);
  const NoiseSchedule s = small_schedule(30);
  SamplerOptions so;
  so.eta = 0.8;
  const auto plan = plan_reverse_steps(s, so);
  const torch::Tensor x = torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor y_start = torch::randn({4, 5, 2}, torch::kDouble);
  torch::Tensor out[3];
  const GraphMode modes[3] = {GraphMode::kNone, GraphMode::kFull, GraphMode::kCheckpointed};
  for (int i = 0; i < 3; ++i) {
    torch::manual_seed(11);
    out[i] = run_reverse_process(net, plan, x, y_start, modes[i], 4);
  }
  EXPECT_FALSE(out[0].requires_grad());
  EXPECT_TRUE(out[1].requires_grad());
  EXPECT_TRUE(out[2].requires_grad());
  EXPECT_TRUE(torch::equal(out[0], out[1].detach()));
  EXPECT_TRUE(torch::equal(out[0], out[2].detach()));
}

// Checkpointed reparameterization = full storage, for every parameter and for x and y_start,
// with DDIM noise (η > 0), strided steps, DDPM, and several segment counts.
TEST(ReverseProcess, CheckpointedGradientEqualsFullStorage) {
  const NoiseSchedule s = small_schedule(60);
  struct Case {
    SamplerKind kind;
    double eta;
    int64_t steps;
    int64_t segments;
    double clip = 0;
    bool bounds = false;
  };
  const Case cases[] = {{SamplerKind::kDdim, 0.8, 0, 8},
                        {SamplerKind::kDdim, 0.0, 23, 5},
                        {SamplerKind::kDdpm, 0.0, 0, 1},
                        {SamplerKind::kDdpm, 0.0, 60, 60},
                        {SamplerKind::kDdim, 0.5, 13, 0},
                        {SamplerKind::kDdim, 0.0, 12, 3, 5.0},
                        {SamplerKind::kDdpm, 0.0, 15, 4, 0.0, true}};
  // Per-coordinate ŷ0 bounds tight enough to bind on some steps.
  const X0Bounds bounds{torch::tensor({-0.3, -2.0}, torch::kDouble),
                        torch::tensor({0.4, 0.1}, torch::kDouble)};
  for (const Case& c : cases) {
    torch::manual_seed(5);
    auto net = small_net(3, 2);
    SamplerOptions so;
    so.kind = c.kind;
    so.eta = c.eta;
    so.steps = c.steps;
    so.checkpoint_segments = c.segments;
    so.clip_x0 = c.clip;
    const auto plan = plan_reverse_steps(s, so);
    const int64_t segments = so.resolved_segments(s.steps());
    const torch::Tensor x0 = torch::randn({3, 3}, torch::kDouble);
    const torch::Tensor ys0 = torch::randn({3, 2, 2}, torch::kDouble);
    const torch::Tensor R = torch::randn({3, 2, 2}, torch::kDouble);
    const auto params = net->parameters();
    std::vector<torch::Tensor> grads[2];
    torch::Tensor gx[2], gy[2];
    for (int mode = 0; mode < 2; ++mode) {
      const torch::Tensor x = x0.clone().requires_grad_(true);
      const torch::Tensor ys = ys0.clone().requires_grad_(true);
      torch::manual_seed(21);
      const torch::Tensor y0 = run_reverse_process(
          net, plan, x, ys, mode == 0 ? GraphMode::kFull : GraphMode::kCheckpointed, segments,
          c.bounds ? bounds : X0Bounds{});
      (y0 * R).sum().backward();
      grads[mode] = testing::take_grads(params);
      gx[mode] = x.grad().clone();
      gy[mode] = ys.grad().clone();
    }
    const std::string what = "kind=" + to_string(c.kind) + " eta=" + std::to_string(c.eta) +
                             " S=" + std::to_string(c.steps) +
                             " segments=" + std::to_string(segments) +
                             " clip=" + std::to_string(c.clip) + (c.bounds ? " with bounds" : "");
    const torch::Tensor full = testing::flatten_all(grads[0]);
    const torch::Tensor ckpt = testing::flatten_all(grads[1]);
    EXPECT_GT(full.abs().max().item<double>(), 1e-6) << what;
    EXPECT_LT(relative_error(ckpt, full), 1e-5) << what;
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_LT(relative_error(grads[1][i], grads[0][i]), 1e-5) << what << " parameter " << i;
    }
    EXPECT_LT(relative_error(gx[1], gx[0]), 1e-5) << what;
    EXPECT_LT(relative_error(gy[1], gy[0]), 1e-5) << what;
  }
}

// clip_x0 bounds the final samples (the last DDIM step returns ŷ0) and is a no-op when no ŷ0
// reaches the bound.
TEST(ReverseProcess, ClipX0BoundsTheSamplesAndIsInactiveWhenLoose) {
  torch::manual_seed(4);
  auto net = small_net(3, 2);
  const NoiseSchedule s = small_schedule(40);
  const torch::Tensor x = torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor y_start = 3.0 * torch::randn({4, 50, 2}, torch::kDouble);
  SamplerOptions so;
  so.steps = 8;
  torch::manual_seed(1);
  const torch::Tensor free =
      run_reverse_process(net, plan_reverse_steps(s, so), x, y_start, GraphMode::kNone, 1);
  const double bound = 0.5 * free.abs().max().item<double>();
  so.clip_x0 = bound;
  torch::manual_seed(1);
  const torch::Tensor clipped =
      run_reverse_process(net, plan_reverse_steps(s, so), x, y_start, GraphMode::kNone, 1);
  EXPECT_LE(clipped.abs().max().item<double>(), bound + 1e-12);
  EXPECT_FALSE(torch::allclose(clipped, free));
  so.clip_x0 = 1e9;
  torch::manual_seed(1);
  const torch::Tensor loose =
      run_reverse_process(net, plan_reverse_steps(s, so), x, y_start, GraphMode::kNone, 1);
  EXPECT_TRUE(torch::allclose(loose, free, 1e-10, 1e-10));
  so.clip_x0 = -1;
  EXPECT_THROW(so.validate(), InvalidArgument);
}

// Per-coordinate ŷ0 bounds (thresholding to the training range) hold every coordinate of the final
// samples inside its own interval, and change nothing when no ŷ0 reaches them.
TEST(ReverseProcess, X0BoundsHoldEachCoordinateInItsRange) {
  torch::manual_seed(4);
  auto net = small_net(3, 2);
  const NoiseSchedule s = small_schedule(40);
  const torch::Tensor x = torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor y_start = 3.0 * torch::randn({4, 50, 2}, torch::kDouble);
  for (SamplerKind kind : {SamplerKind::kDdim, SamplerKind::kDdpm}) {
    SamplerOptions so;
    so.kind = kind;
    so.steps = 8;
    const auto plan = plan_reverse_steps(s, so);
    torch::manual_seed(1);
    const torch::Tensor free = run_reverse_process(net, plan, x, y_start, GraphMode::kNone, 1);
    const torch::Tensor lo = torch::tensor({-0.1, -0.5}, torch::kDouble);
    const torch::Tensor hi = torch::tensor({0.2, 0.05}, torch::kDouble);
    torch::manual_seed(1);
    const torch::Tensor bounded =
        run_reverse_process(net, plan, x, y_start, GraphMode::kNone, 1, X0Bounds{lo, hi});
    EXPECT_TRUE((bounded >= lo - 1e-12).all().item<bool>());
    EXPECT_TRUE((bounded <= hi + 1e-12).all().item<bool>());
    EXPECT_FALSE(torch::allclose(bounded, free));
    torch::manual_seed(1);
    const torch::Tensor loose = run_reverse_process(
        net, plan, x, y_start, GraphMode::kNone, 1,
        X0Bounds{torch::full({2}, -1e9, torch::kDouble), torch::full({2}, 1e9, torch::kDouble)});
    EXPECT_TRUE(torch::allclose(loose, free, 1e-10, 1e-10));
  }
}

TEST(ReverseProcess, CheckpointedWithoutInputGradsAndRepeatedBackward) {
  torch::manual_seed(8);
  auto net = small_net(2, 3);
  const NoiseSchedule s = small_schedule(20);
  SamplerOptions so;
  so.eta = 0.3;
  const auto plan = plan_reverse_steps(s, so);
  const torch::Tensor x = torch::randn({2, 2}, torch::kDouble);
  const torch::Tensor ys = torch::randn({2, 4, 3}, torch::kDouble);
  torch::manual_seed(2);
  const torch::Tensor y0 = run_reverse_process(net, plan, x, ys, GraphMode::kCheckpointed, 3);
  const torch::Tensor loss = y0.pow(2).sum();
  loss.backward({}, /*retain_graph=*/true);
  const auto g1 = testing::take_grads(net->parameters());
  loss.backward();  // the checkpoint state survives a retained graph
  const auto g2 = testing::take_grads(net->parameters());
  EXPECT_LT(relative_error(testing::flatten_all(g2), testing::flatten_all(g1)), 1e-12);
  EXPECT_FALSE(x.grad().defined());
}

}  // namespace
}  // namespace diffdfl::models
