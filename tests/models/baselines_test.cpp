// Gaussian MLP, deterministic MLP and policy networks.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "diffdfl/core/error.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/models/policy.h"
#include "test_util.h"

namespace diffdfl::models {
namespace {

using testing::relative_error;

constexpr double kLog2Pi = 1.8378770664093454835606594728112;

GaussianPredictor make_gaussian(uint64_t seed = 1) {
  torch::manual_seed(seed);
  GaussianOptions o;
  o.width = 16;
  return GaussianPredictor(4, 3, o, torch::kCPU, torch::kDouble);
}

// log N(y; μ, diag σ²) through the dense multivariate formula (Cholesky of the covariance).
torch::Tensor mvn_log_density(const torch::Tensor& y, const torch::Tensor& mu,
                              const torch::Tensor& var) {
  const torch::Tensor cov = torch::diag(var);
  const torch::Tensor L = torch::linalg_cholesky(cov);
  const torch::Tensor z =
      torch::linalg_solve_triangular(L, (y - mu).unsqueeze(1), false).squeeze(1);
  return -0.5 * (z.pow(2).sum() + torch::logdet(cov) + y.size(0) * kLog2Pi);
}

TEST(GaussianPredictor, LogDensityMatchesTheClosedFormIncludingTheTransformJacobian) {
  GaussianPredictor g = make_gaussian();
  const torch::Tensor shift = torch::tensor({1.0, -3.0, 0.5}, torch::kDouble);
  const torch::Tensor scale = torch::tensor({2.0, 0.1, 5.0}, torch::kDouble);
  g.set_target_transform(shift, scale);
  const torch::Tensor x = torch::randn({2, 4}, torch::kDouble);
  const torch::Tensor s = shift + scale * torch::randn({2, 3, 3}, torch::kDouble);
  const torch::Tensor ld = g.log_density(x, s);
  ASSERT_EQ(ld.sizes(), torch::IntArrayRef({2, 3}));
  const auto [mu, logvar] = g.mean_logvar(x);
  for (int64_t b = 0; b < 2; ++b) {
    // Raw-space Gaussian: mean shift + scale μ, variance scale² σ².
    const torch::Tensor mu_raw = shift + scale * mu[b];
    const torch::Tensor var_raw = scale.pow(2) * logvar[b].exp();
    for (int64_t m = 0; m < 3; ++m) {
      EXPECT_NEAR(ld[b][m].item<double>(), mvn_log_density(s[b][m], mu_raw, var_raw).item<double>(),
                  1e-10);
    }
  }
}

TEST(GaussianPredictor, NllIsTheFullGaussianNllMeanOverElements) {
  GaussianPredictor g = make_gaussian();
  const torch::Tensor x = torch::randn({5, 4}, torch::kDouble);
  const torch::Tensor y = torch::randn({5, 3}, torch::kDouble);
  const auto [mu, logvar] = g.mean_logvar(x);
  const torch::Tensor var = logvar.exp();
  // GaussianNLLLoss(full=True, reduction='mean').
  const torch::Tensor ref = (0.5 * (var.log() + (y - mu).pow(2) / var) + 0.5 * kLog2Pi).mean();
  EXPECT_NEAR(g.fit_loss(x, y).item<double>(), ref.item<double>(), 1e-12);
  // = −mean log-density / y_dim without a transform.
  EXPECT_NEAR(g.fit_loss(x, y).item<double>(),
              -g.log_density(x, y.unsqueeze(1)).mean().item<double>() / 3, 1e-12);
}

// Samples have the model's moments (4 standard errors) and reparameterised gradients.
TEST(GaussianPredictor, SamplesFollowTheModelAndCarryReparameterisedGradients) {
  GaussianPredictor g = make_gaussian(2);
  const torch::Tensor x = torch::randn({2, 4}, torch::kDouble);
  const int64_t M = 40000;
  const torch::Tensor s = g.sample(x, M, GraphMode::kNone);
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({2, M, 3}));
  EXPECT_FALSE(s.requires_grad());
  const auto [mu, logvar] = g.mean_logvar(x);
  const torch::Tensor sd = (0.5 * logvar).exp().detach();
  const torch::Tensor mean_err = (s.mean(1) - mu.detach()).abs() / (sd / std::sqrt(M));
  EXPECT_LT(mean_err.max().item<double>(), 4.0);
  // var SE ≈ σ² √(2/M).
  const torch::Tensor var_err = (s.var(1) - sd.pow(2)).abs() / (sd.pow(2) * std::sqrt(2.0 / M));
  EXPECT_LT(var_err.max().item<double>(), 4.0);
  // ∂ Σ ŷ / ∂ (μ-head bias) = B·M per output.
  const torch::Tensor r = g.sample(x, 7, GraphMode::kFull);
  r.sum().backward();
  torch::Tensor bias_grad;
  for (const auto& p : g.module().named_parameters()) {
    if (p.key() == "mu_head.bias") bias_grad = p.value().grad();
  }
  ASSERT_TRUE(bias_grad.defined());
  EXPECT_TRUE(torch::allclose(bias_grad, torch::full({3}, 14.0, torch::kDouble)));
}

TEST(GaussianPredictor, SurrogateBackwardIsTheWeightedLogDensityGradient) {
  GaussianPredictor g = make_gaussian(3);
  const torch::Tensor x = torch::randn({3, 4}, torch::kDouble);
  const torch::Tensor s = torch::randn({3, 6, 3}, torch::kDouble);
  const torch::Tensor w = torch::randn({3, 6}, torch::kDouble);
  (0.5 * (w * g.log_density(x, s)).sum()).backward();
  const auto ga = testing::take_grads(g.parameters());
  const double v = g.surrogate_backward(x, s, w, 0.5);
  const auto gb = testing::take_grads(g.parameters());
  EXPECT_NEAR(v, 0.5 * (w * g.log_density(x, s)).sum().item<double>(), 1e-12);
  EXPECT_LT(relative_error(testing::flatten_all(gb), testing::flatten_all(ga)), 1e-12);
}

TEST(GaussianPredictor, SaveLoadRoundTripAndMismatchesAreRefused) {
  GaussianPredictor a = make_gaussian(4);
  a.set_target_transform(torch::tensor({1.0, 2.0, 3.0}), torch::tensor({4.0, 5.0, 6.0}));
  torch::serialize::OutputArchive out;
  a.save(out);
  std::stringstream buf;
  out.save_to(buf);
  GaussianPredictor b = make_gaussian(5);
  torch::serialize::InputArchive in;
  in.load_from(buf);
  b.load(in);
  const torch::Tensor x = torch::randn({2, 4}, torch::kDouble);
  EXPECT_TRUE(torch::equal(a.mean_logvar(x).first, b.mean_logvar(x).first));
  EXPECT_TRUE(torch::equal(a.target_scale(), b.target_scale()));
  EXPECT_EQ(b.dtype(), torch::kDouble);
  // Another kind.
  torch::manual_seed(1);
  MlpOptions mo;
  mo.width = 16;
  MlpPredictor mlp(4, 3, mo);
  buf.seekg(0);
  torch::serialize::InputArchive in2;
  in2.load_from(buf);
  EXPECT_THROW(mlp.load(in2), IoError);
}

TEST(GaussianPredictor, OptionsAreValidated) {
  GaussianOptions o;
  o.width = 0;
  EXPECT_THROW(GaussianPredictor(3, 2, o), InvalidArgument);
  GaussianPredictor g = make_gaussian();
  EXPECT_THROW(g.set_target_transform(torch::zeros({3}), torch::tensor({1.0, 0.0, 1.0})),
               InvalidArgument);
  EXPECT_THROW(g.log_density(torch::randn({2, 4}), torch::randn({3, 1, 3})), InvalidArgument);
  EXPECT_THROW(g.log_density(torch::full({2, 4}, NAN), torch::randn({2, 1, 3})), InvalidArgument);
}

TEST(MlpPredictor, PointForecastMseAndNoDensity) {
  torch::manual_seed(1);
  MlpOptions o;
  o.width = 16;
  MlpPredictor mlp(4, 2, o, torch::kCPU, torch::kDouble);
  mlp.set_target_transform(torch::tensor({5.0, 0.0}), torch::tensor({2.0, 1.0}));
  EXPECT_EQ(mlp.parameters().size(), 8u);  // 3 hidden + output layer
  const torch::Tensor x = torch::randn({3, 4}, torch::kDouble);
  const torch::Tensor y = torch::randn({3, 2}, torch::kDouble);
  const torch::Tensor pred = mlp.predict(x);
  const torch::Tensor pn = (pred - mlp.target_shift()) / mlp.target_scale();
  const torch::Tensor yn = (y - mlp.target_shift()) / mlp.target_scale();
  EXPECT_NEAR(mlp.fit_loss(x, y).item<double>(), (pn - yn).pow(2).mean().item<double>(), 1e-12);
  const torch::Tensor s = mlp.sample(x, 4, GraphMode::kNone);
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({3, 4, 2}));
  EXPECT_TRUE(torch::equal(s.select(1, 3), pred.detach()));
  EXPECT_FALSE(mlp.has_log_density());
  EXPECT_THROW(mlp.log_density(x, s), InvalidArgument);
  EXPECT_THROW(mlp.surrogate_backward(x, s, torch::ones({3, 4}), 1.0), InvalidArgument);
}

TEST(MlpPredictor, BiasOnlyIgnoresTheContextAndLearns) {
  torch::manual_seed(1);
  MlpOptions o;
  o.bias_only = true;
  MlpPredictor mlp(20, 3, o);
  ASSERT_EQ(mlp.parameters().size(), 1u);
  EXPECT_TRUE(torch::equal(mlp.predict(torch::randn({2, 20})), torch::zeros({2, 3})));
  const torch::Tensor target = torch::tensor({1.0f, -2.0f, 0.5f});
  torch::optim::SGD opt(mlp.parameters(), torch::optim::SGDOptions(0.25));
  for (int i = 0; i < 100; ++i) {
    opt.zero_grad();
    mlp.fit_loss(torch::randn({8, 20}), target.expand({8, 3})).backward();
    opt.step();
  }
  const torch::Tensor p = mlp.predict(torch::randn({5, 20}));
  EXPECT_LT((p - target).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(torch::equal(p[0], p[4]));
}

TEST(PolicyNet, OutputsAreFeasibleByConstruction) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({16, 5}) * 10;  // saturating inputs
  PolicyOptions box;
  box.width = 16;
  box.output = PolicyOutput::kBox;
  box.box_lower = 0;
  box.box_upper = 2.5;
  PolicyNet pb(5, 4, box);
  const torch::Tensor zb = pb.forward(x);
  ASSERT_EQ(zb.sizes(), torch::IntArrayRef({16, 4}));
  EXPECT_GE(zb.min().item<double>(), 0.0);
  EXPECT_LE(zb.max().item<double>(), 2.5);

  PolicyOptions simplex;
  simplex.width = 16;
  simplex.output = PolicyOutput::kSimplex;
  simplex.batch_norm = true;
  PolicyNet ps(5, 7, simplex);
  ps.train(true);
  const torch::Tensor zs = ps.forward(x);
  EXPECT_GE(zs.min().item<double>(), 0.0);
  EXPECT_LT((zs.sum(1) - 1).abs().max().item<double>(), 1e-6);
  zs.select(1, 0).sum().backward();  // differentiable
  for (const auto& p : ps.parameters())
    EXPECT_TRUE(p.grad().defined());
  ps.train(false);
  EXPECT_LT((ps.forward(x).sum(1) - 1).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(ps.kind(), "policy");

  PolicyOptions raw;
  raw.width = 16;
  PolicyNet pr(5, 3, raw);
  EXPECT_EQ(pr.forward(x).sizes(), torch::IntArrayRef({16, 3}));
  PolicyOptions bad;
  bad.output = PolicyOutput::kBox;
  bad.box_upper = -1;
  EXPECT_THROW(PolicyNet(5, 3, bad), InvalidArgument);
  EXPECT_THROW(pr.forward(torch::randn({2, 6})), InvalidArgument);
  EXPECT_EQ(parse_policy_output("simplex"), PolicyOutput::kSimplex);
}

}  // namespace
}  // namespace diffdfl::models
