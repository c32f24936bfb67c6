// The two gradient estimators agree where they must: for a Gaussian predictor with many samples the
// score-function gradient matches the reparameterization gradient on each program, and
// deterministic DFL on the power task matches central differences.
#include <gtest/gtest.h>

#include "diffdfl/core/seed.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/opt/allocation.h"
#include "diffdfl/opt/decision_layer.h"
#include "diffdfl/opt/portfolio.h"
#include "diffdfl/opt/power.h"

namespace diffdfl {
namespace {

torch::TensorOptions f64() {
  return torch::TensorOptions().dtype(torch::kDouble);
}

std::vector<torch::Tensor> grads_of(models::Model& m) {
  std::vector<torch::Tensor> g;
  for (const auto& p : m.parameters()) {
    g.push_back(p.grad().defined() ? p.grad().detach().clone().reshape({-1})
                                   : torch::zeros({p.numel()}, f64()));
  }
  return g;
}

void zero_grads(models::Model& m) {
  for (auto& p : m.parameters()) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

double cosine(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  const torch::Tensor x = torch::cat(a);
  const torch::Tensor y = torch::cat(b);
  return (x * y).sum().item<double>() / (x.norm().item<double>() * y.norm().item<double>());
}

/// The realised cost of decisions z for true parameters y, averaged over contexts.
torch::Tensor mean_cost(const opt::DecisionLayer& layer, const torch::Tensor& y,
                        const torch::Tensor& z) {
  return layer.program().cost(y.unsqueeze(1), z.unsqueeze(1)).mean();
}

/// Reparameterization and score-function gradients of the mean realised cost for a Gaussian
/// predictor (float64), each with M samples per context; returns their cosine similarity.
double sf_rp_cosine(const opt::DecisionLayer& rp_layer, const opt::DecisionLayer& sf_layer,
                    models::GaussianPredictor& pred, const torch::Tensor& x, const torch::Tensor& y,
                    int64_t M) {
  zero_grads(pred);
  seed_global(1);
  const torch::Tensor s_rp = pred.sample(x, M, models::GraphMode::kFull);
  mean_cost(rp_layer, y, rp_layer.decide(s_rp)).backward();
  const auto g_rp = grads_of(pred);
  zero_grads(pred);
  seed_global(2);
  const torch::Tensor s_sf = pred.sample(x, M, models::GraphMode::kNone);
  const opt::Solution sol = sf_layer.solve(s_sf);
  const torch::Tensor z = sol.z.detach().requires_grad_(true);
  const torch::Tensor dl_dz = torch::autograd::grad({mean_cost(sf_layer, y, z)}, {z})[0];
  pred.surrogate_backward(x, s_sf, sf_layer.sf_weights(s_sf, sol, dl_dz), 1.0 / M);
  return cosine(g_rp, grads_of(pred));
}

std::unique_ptr<models::GaussianPredictor> gaussian(int64_t x_dim, int64_t y_dim, double mean,
                                                    double scale) {
  seed_global(7);
  models::GaussianOptions o;
  o.width = 16;
  auto g =
      std::make_unique<models::GaussianPredictor>(x_dim, y_dim, o, torch::kCPU, torch::kDouble);
  g->set_target_transform(torch::full({y_dim}, mean, f64()), torch::full({y_dim}, scale, f64()));
  return g;
}

TEST(Estimators, ScoreFunctionMatchesReparameterizationOnAllocation) {
  opt::AllocationOptions o;
  o.n = 3;
  const opt::DecisionLayer layer(std::make_shared<opt::AllocationProgram>(o));
  auto pred = gaussian(2, 3, 0.3, 0.6);
  const torch::Tensor x = torch::randn({3, 2}, make_generator(1), f64());
  const torch::Tensor y = 0.3 + 0.6 * torch::randn({3, 3}, make_generator(2), f64());
  EXPECT_GE(sf_rp_cosine(layer, layer, *pred, x, y, 40000), 0.99);
}

TEST(Estimators, ScoreFunctionMatchesReparameterizationOnRiskAversePortfolio) {
  opt::PortfolioOptions o;
  o.n = 4;
  o.alpha = 4.0;  // interior optimum: a smooth solution map
  o.kkt_ridge = 0.0;
  const opt::DecisionLayer layer(std::make_shared<opt::PortfolioProgram>(o));
  auto pred = gaussian(2, 4, 0.3, 0.4);
  const torch::Tensor x = torch::randn({3, 2}, make_generator(3), f64());
  const torch::Tensor y = 0.3 + 0.4 * torch::randn({3, 4}, make_generator(4), f64());
  EXPECT_GE(sf_rp_cosine(layer, layer, *pred, x, y, 40000), 0.99);
}

/// ∇θ of the mean realised power cost at the *population* optimum z_h solving
/// (z − μ) − γu (1 − Φ(t)) + γo Φ(t) = 0, t = (z − μ)/σ, for a Gaussian predictor without binding
/// ramps: implicit differentiation in closed form (the ground truth for the power estimators).
std::vector<torch::Tensor> analytic_power_gradient(models::GaussianPredictor& pred,
                                                   const torch::Tensor& x, const torch::Tensor& y,
                                                   const opt::PowerOptions& o) {
  zero_grads(pred);
  auto [mu_n, logvar] = pred.mean_logvar(x);
  const torch::Tensor mu = pred.denormalize_targets(mu_n);
  const torch::Tensor sigma = pred.target_scale() * torch::exp(0.5 * logvar);
  const torch::Tensor m = mu.detach();
  const torch::Tensor s = sigma.detach();
  const double g = o.gamma_under + o.gamma_over;
  auto normal_pdf = [](const torch::Tensor& t) {
    return torch::exp(-0.5 * t * t) / std::sqrt(2 * M_PI);
  };
  torch::Tensor z = m.clone();
  for (int i = 0; i < 60; ++i) {  // Newton on the smooth, strictly increasing F'
    const torch::Tensor t = (z - m) / s;
    const torch::Tensor cdf = 0.5 * torch::erfc(-t / std::sqrt(2.0));
    z = z -
        ((z - m) - o.gamma_under * (1 - cdf) + o.gamma_over * cdf) / (1 + g * normal_pdf(t) / s);
  }
  const torch::Tensor t = (z - m) / s;
  const torch::Tensor dz_dmu = torch::ones_like(z);  // ∂G/∂μ = −∂G/∂z
  const torch::Tensor dz_dsigma = g * normal_pdf(t) * t / s / (1 + g * normal_pdf(t) / s);
  const torch::Tensor zz = z.clone().requires_grad_(true);
  const torch::Tensor u = torch::autograd::grad(
      {opt::PowerProgram(o).cost(y.unsqueeze(1), zz.unsqueeze(1)).mean()}, {zz})[0];
  ((u * dz_dmu) * mu + (u * dz_dsigma) * sigma).sum().backward();
  return grads_of(pred);
}

TEST(Estimators, PowerEstimatorsAgainstThePopulationGradient) {
  // Without binding ramps the population optimum per hour is a smooth quantile-like function of the
  // predictor's (μ, σ), so its gradient is known in closed form. The score function estimates it;
  // with the smoothed Hessian (population curvature) it also has the right scale. The exact SAA
  // derivative is unbiased but noisy (a hour's gradient sits on one pinned sample); the reference's
  // a.e. linearisation only sees the sample mean and misses the σ-dependence of the optimum.
  opt::PowerOptions o;
  o.n = 6;
  o.ramp = 100.0;
  auto layer = [&](opt::PowerGradient g) {
    opt::PowerOptions p = o;
    p.gradient = g;
    return opt::DecisionLayer(std::make_shared<opt::PowerProgram>(p));
  };
  auto pred = gaussian(2, 6, 1.6, 0.2);
  const torch::Tensor x = torch::randn({3, 2}, make_generator(5), f64());
  const torch::Tensor y = 1.6 + 0.2 * torch::randn({3, 6}, make_generator(6), f64());
  const auto truth = analytic_power_gradient(*pred, x, y, o);
  const torch::Tensor t = torch::cat(truth);

  auto sf = [&](opt::PowerGradient g, int64_t M) {
    const opt::DecisionLayer L = layer(g);
    zero_grads(*pred);
    seed_global(3);
    const torch::Tensor s = pred->sample(x, M, models::GraphMode::kNone);
    const opt::Solution sol = L.solve(s);
    const torch::Tensor z = sol.z.detach().requires_grad_(true);
    const torch::Tensor dl_dz = torch::autograd::grad({mean_cost(L, y, z)}, {z})[0];
    pred->surrogate_backward(x, s, L.sf_weights(s, sol, dl_dz), 1.0 / M);
    return grads_of(*pred);
  };
  auto rp_mean = [&](opt::PowerGradient g, int64_t M, int reps) {
    const opt::DecisionLayer L = layer(g);
    std::vector<torch::Tensor> mean;
    for (int r = 0; r < reps; ++r) {
      zero_grads(*pred);
      seed_global(100 + r);
      mean_cost(L, y, L.decide(pred->sample(x, M, models::GraphMode::kFull))).backward();
      const auto g_r = grads_of(*pred);
      if (mean.empty()) mean = std::vector<torch::Tensor>(g_r.size());
      for (size_t i = 0; i < g_r.size(); ++i)
        mean[i] = r ? mean[i] + g_r[i] / reps : g_r[i] / reps;
    }
    return mean;
  };
  const auto smoothed = sf(opt::PowerGradient::kSmoothed, 20000);
  EXPECT_GE(cosine(smoothed, truth), 0.99);
  const double scale = torch::cat(smoothed).norm().item<double>() / t.norm().item<double>();
  EXPECT_NEAR(scale, 1.0, 0.15);
  // Same direction with H = I, but an inflated scale (the kinks' curvature is ignored).
  const auto reference_sf = sf(opt::PowerGradient::kReference, 20000);
  EXPECT_GE(cosine(reference_sf, truth), 0.99);
  EXPECT_GT(torch::cat(reference_sf).norm().item<double>() / t.norm().item<double>(), 5.0);
  EXPECT_GE(cosine(rp_mean(opt::PowerGradient::kExact, 1000, 30), truth), 0.95);
  EXPECT_LT(cosine(rp_mean(opt::PowerGradient::kReference, 1000, 30), truth), 0.9);
}

TEST(Estimators, DeterministicPowerDflMatchesCentralDifferences) {
  opt::PowerOptions o;
  o.n = 24;
  o.ramp = 0.05;  // tight ramps: chains of hours move together
  o.gradient = opt::PowerGradient::kExact;
  const opt::DecisionLayer layer(std::make_shared<opt::PowerProgram>(o));
  seed_global(3);
  models::MlpOptions mo;
  mo.width = 8;
  mo.hidden_layers = 2;
  models::MlpPredictor mlp(5, 24, mo, torch::kCPU, torch::kDouble);
  mlp.set_target_transform(torch::full({24}, 1.6, f64()), torch::full({24}, 0.3, f64()));
  const torch::Tensor x = torch::randn({6, 5}, make_generator(8), f64());
  const torch::Tensor y = 1.6 + 0.3 * torch::randn({6, 24}, make_generator(9), f64());
  auto loss = [&]() {
    return mean_cost(layer, y, layer.decide(mlp.sample(x, 1, models::GraphMode::kFull)));
  };
  zero_grads(mlp);
  loss().backward();
  int64_t checked = 0;
  double worst = 0;
  for (auto& p : mlp.parameters()) {
    const torch::Tensor flat = p.detach().view({-1});
    const torch::Tensor g = p.grad().view({-1});
    for (int64_t i = 0; i < flat.numel(); i += std::max<int64_t>(1, flat.numel() / 6)) {
      const double orig = flat[i].item<double>();
      const double eps = 1e-6;
      torch::NoGradGuard ng;
      flat[i] = orig + eps;
      const double up = loss().item<double>();
      flat[i] = orig - eps;
      const double down = loss().item<double>();
      flat[i] = orig;
      const double fd = (up - down) / (2 * eps);
      worst = std::max(worst, std::abs(fd - g[i].item<double>()) / (1e-3 + std::abs(fd)));
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);
  EXPECT_LT(worst, 1e-5);
}

}  // namespace
}  // namespace diffdfl
