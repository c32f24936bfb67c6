#include "diffdfl/models/linear_eps_diffusion.h"

#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/core/error.h"
#include "test_util.h"

namespace diffdfl::models {
namespace {

// A short chain (T = 40, β scaled so ᾱ_{T−1} ≈ 5e-5) with a non-trivial random linear ε-network.
std::unique_ptr<LinearEpsDiffusion> make_linear(SamplerKind kind, double eta = 0.0,
                                                uint64_t seed = 3) {
  DiffusionOptions o;
  o.schedule.steps = 40;
  o.schedule.beta_start = 2.5e-3;
  o.schedule.beta_end = 0.5;
  o.sampler.kind = kind;
  o.sampler.eta = eta;
  o.elbo.draws = 200;
  torch::manual_seed(seed);
  auto lin = std::make_unique<LinearEpsDiffusion>(2, 2, o);
  torch::NoGradGuard ng;
  auto& net = lin->network();
  net.A.copy_(0.3 * torch::randn_like(net.A));
  net.B.copy_(0.5 * torch::randn_like(net.B));
  net.c.copy_(0.3 * torch::randn_like(net.c));
  lin->set_target_transform(torch::tensor({1.0, -1.0}), torch::tensor({2.0, 0.5}));
  return lin;
}

// The exact Gaussian marginal of the sampler matches N = 100k ancestral samples: mean and
// covariance within 5 Monte-Carlo standard errors (SE of a mean √(Σ_ii/N); of a covariance entry
// √((Σ_ii Σ_jj + Σ_ij²)/N)).
TEST(LinearEpsDiffusion, ExactMarginalMatchesSamplesOfTheSampler) {
  for (auto [kind, eta] : {std::pair<SamplerKind, double>{SamplerKind::kDdpm, 0.0},
                           {SamplerKind::kDdim, 0.0},
                           {SamplerKind::kDdim, 0.7}}) {
    auto lin = make_linear(kind, eta);
    const torch::Tensor x = torch::tensor({{0.3, -0.8}}, torch::kDouble);
    const int64_t N = 100000;
    torch::manual_seed(17);
    const torch::Tensor s = lin->sample(x, N, GraphMode::kNone)[0];  // [N, 2] raw
    torch::NoGradGuard ng;
    const auto m = lin->marginal();
    const torch::Tensor scale = lin->target_scale(), shift = lin->target_shift();
    const torch::Tensor mean = shift + scale * (torch::matmul(m.gain, x[0]) + m.offset);
    const torch::Tensor cov = m.covariance * torch::outer(scale, scale);
    const torch::Tensor emp_mean = s.mean(0);
    const torch::Tensor centred = s - emp_mean;
    const torch::Tensor emp_cov = torch::matmul(centred.t(), centred) / (N - 1);
    const std::string what = to_string(kind) + " eta=" + std::to_string(eta);
    for (int i = 0; i < 2; ++i) {
      const double se = std::sqrt(cov[i][i].item<double>() / N);
      EXPECT_NEAR(emp_mean[i].item<double>(), mean[i].item<double>(), 5 * se) << what;
      for (int j = 0; j < 2; ++j) {
        const double sej = std::sqrt((cov[i][i] * cov[j][j] + cov[i][j].pow(2)).item<double>() / N);
        EXPECT_NEAR(emp_cov[i][j].item<double>(), cov[i][j].item<double>(), 5 * sej) << what;
      }
    }
    // The chain is genuinely non-trivial: y0 is not N(0, I)-like and depends on x.
    EXPECT_GT(m.gain.abs().max().item<double>(), 0.05);
  }
}

// exp(exact log-density) integrated over boxes (midpoint rule, 24×24) equals the fraction of
// ancestral samples in the box, within 4 binomial standard errors: an independent check of the
// normalisation and the shape of log p(y0 | x).
TEST(LinearEpsDiffusion, ExactLogDensityIntegratesToSampleFrequencies) {
  auto lin = make_linear(SamplerKind::kDdpm);
  const torch::Tensor x = torch::tensor({{-0.5, 0.4}}, torch::kDouble);
  const int64_t N = 100000;
  torch::manual_seed(23);
  const torch::Tensor s = lin->sample(x, N, GraphMode::kNone)[0];
  const torch::Tensor centre = s.mean(0);
  const torch::Tensor sd = s.std(0);
  const int g = 24;
  for (auto [ox, oy] : {std::pair<double, double>{0, 0}, {1.0, -0.5}, {-0.7, 0.9}}) {
    const double x0 = (centre[0] + (ox - 0.4) * sd[0]).item<double>();
    const double y0 = (centre[1] + (oy - 0.4) * sd[1]).item<double>();
    const double wx = 0.8 * sd[0].item<double>(), wy = 0.8 * sd[1].item<double>();
    const torch::Tensor u = (torch::arange(g, torch::kDouble) + 0.5) / g;
    const auto grid = torch::meshgrid({x0 + wx * u, y0 + wy * u}, "ij");
    const torch::Tensor pts = torch::stack({grid[0].reshape({-1}), grid[1].reshape({-1})}, 1);
    torch::NoGradGuard ng;
    const torch::Tensor logp = lin->exact_log_density(x, pts.unsqueeze(0))[0];
    const double integral = logp.exp().mean().item<double>() * wx * wy;
    const torch::Tensor inside = (s.select(1, 0) >= x0) & (s.select(1, 0) < x0 + wx) &
                                 (s.select(1, 1) >= y0) & (s.select(1, 1) < y0 + wy);
    const double freq = inside.to(torch::kDouble).mean().item<double>();
    const double se = std::sqrt(integral * (1 - integral) / N);
    EXPECT_NEAR(freq, integral, 4 * se + 1e-4) << "box offset (" << ox << ", " << oy << ")";
    EXPECT_GT(integral, 0.01);
  }
}

// ∇_{A,B,c} of the exact log-density against central finite differences (float64).
TEST(LinearEpsDiffusion, ExactLogDensityGradientMatchesFiniteDifferences) {
  auto lin = make_linear(SamplerKind::kDdpm);
  const torch::Tensor x = torch::randn({3, 2}, torch::kDouble);
  torch::manual_seed(5);
  const torch::Tensor s = lin->sample(x, 4, GraphMode::kNone);
  lin->exact_log_density(x, s).sum().backward();
  auto& net = lin->network();
  struct Probe {
    torch::Tensor* param;
    std::vector<int64_t> index;
  };
  const Probe probes[] = {{&net.A, {39, 0, 1}},
                          {&net.A, {3, 1, 1}},
                          {&net.B, {20, 1, 0}},
                          {&net.c, {0, 0}},
                          {&net.c, {30, 1}}};
  for (const Probe& p : probes) {
    std::vector<at::indexing::TensorIndex> idx(p.index.begin(), p.index.end());
    const double analytic = p.param->grad().index(idx).item<double>();
    const double h = 1e-6;
    double f[2];
    for (int k = 0; k < 2; ++k) {
      torch::NoGradGuard ng;
      const double orig = p.param->index(idx).item<double>();
      p.param->index_put_(idx, orig + (k == 0 ? h : -h));
      f[k] = lin->exact_log_density(x, s).sum().item<double>();
      p.param->index_put_(idx, orig);
    }
    const double numeric = (f[0] - f[1]) / (2 * h);
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
  }
}

TEST(LinearEpsDiffusion, ElboSurrogateIsAvailableAndDifferentiable) {
  auto lin = make_linear(SamplerKind::kDdpm);
  const torch::Tensor x = torch::randn({2, 2}, torch::kDouble);
  const torch::Tensor s = lin->sample(x, 3, GraphMode::kNone);
  const torch::Tensor e = lin->log_density(x, s);
  ASSERT_EQ(e.sizes(), torch::IntArrayRef({2, 3}));
  e.sum().backward();
  EXPECT_GT(lin->network().A.grad().abs().sum().item<double>(), 0);
  EXPECT_GT(lin->network().B.grad().abs().sum().item<double>(), 0);
  EXPECT_EQ(lin->kind(), "linear_eps_diffusion");
  EXPECT_EQ(lin->dtype(), torch::kDouble);
}

}  // namespace
}  // namespace diffdfl::models
