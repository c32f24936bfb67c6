// A decision problem of your own, solved and differentiated by diffdfl: three products share one
// order budget. The cost is written with LibTorch ops on (y, z); the constraints are linear. The
// decision layer solves the sample-average program for each context and differentiates it through
// its KKT conditions, with nothing else to write.
//
//   z*(ŷ_1..M) = argmin_z (1/M) Σ_m Σ_j ½·4·(ŷ_mj − z_j)₊² + ½·(z_j − ŷ_mj)₊²
//                s.t. z ≥ 0, Σ_j z_j ≤ budget
//
// The program checks itself and exits non-zero when a check fails: without a binding budget each
// order is its product's sample 0.8-expectile (computed independently here by bisection); with a
// binding budget the orders add up to it; and the gradient of the decisions with respect to the
// samples agrees with central differences.
#include <diffdfl/opt/decision_layer.h>
#include <diffdfl/opt/program.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <tuple>

namespace {

using diffdfl::opt::CostFunctionProgram;
using diffdfl::opt::DecisionLayer;
using diffdfl::opt::LinearConstraints;

constexpr double kUnder = 4.0;  // weight of a squared shortfall
constexpr double kOver = 1.0;   // weight of a squared excess
constexpr int64_t kProducts = 3;

std::shared_ptr<CostFunctionProgram> make_program(double budget) {
  // z ≥ 0 (−z ≤ 0) and Σ z ≤ budget: G z ≤ h.
  torch::Tensor G = torch::cat(
      {-torch::eye(kProducts, torch::kDouble), torch::ones({1, kProducts}, torch::kDouble)});
  torch::Tensor h = torch::cat(
      {torch::zeros({kProducts}, torch::kDouble), torch::full({1}, budget, torch::kDouble)});
  return std::make_shared<CostFunctionProgram>(
      "budget-newsvendor", kProducts, kProducts, LinearConstraints::make(G, h),
      [](const torch::Tensor& y, const torch::Tensor& z) {  // [B, M, n] → [B, M]
        const torch::Tensor d = y - z;
        return (0.5 * kUnder * torch::relu(d).pow(2) + 0.5 * kOver * torch::relu(-d).pow(2))
            .sum(-1);
      });
}

/// The τ-expectile of v by bisection: τ Σ (v − e)₊ = (1 − τ) Σ (e − v)₊.
double expectile(const torch::Tensor& v, double tau) {
  double lo = v.min().item<double>(), hi = v.max().item<double>();
  for (int it = 0; it < 200; ++it) {
    const double e = 0.5 * (lo + hi);
    const double g = tau * torch::relu(v - e).sum().item<double>() -
                     (1 - tau) * torch::relu(e - v).sum().item<double>();
    (g > 0 ? lo : hi) = e;
  }
  return 0.5 * (lo + hi);
}

bool check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  return ok;
}

}  // namespace

int main() {
  torch::manual_seed(7);
  // Two contexts, 400 demand samples each, means (10, 12, 8) and (6, 9, 14).
  const torch::Tensor mean = torch::tensor({{10.0, 12.0, 8.0}, {6.0, 9.0, 14.0}}, torch::kDouble);
  const torch::Tensor samples = mean.unsqueeze(1) + 1.5 * torch::randn({2, 400, 3}, torch::kDouble);
  bool ok = true;

  // A budget that does not bind: each order is its own product's sample expectile.
  const DecisionLayer loose(make_program(1000.0));
  const torch::Tensor z_free = loose.solve(samples).z;  // [2, 3]
  double worst = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < kProducts; ++j)
      worst =
          std::max(worst, std::abs(z_free[b][j].item<double>() -
                                   expectile(samples[b].select(1, j), kUnder / (kUnder + kOver))));
  std::cout << "orders without a binding budget:\n" << z_free << "\n";
  ok &= check(worst < 1e-6, "without a binding budget, each order is the sample 0.8-expectile");

  // A budget of 25 binds for both contexts: the orders add up to it and are each smaller.
  const DecisionLayer tight(make_program(25.0));
  diffdfl::opt::Solution sol;
  const torch::Tensor y = samples.clone().requires_grad_(true);
  const torch::Tensor z = tight.decide(y, &sol);  // differentiable in the samples
  std::cout << "orders with a budget of 25:\n" << z << "\n" << sol.brief() << "\n";
  ok &= check(sol.all_ok(), "every instance solved");
  ok &= check((z.sum(1) - 25.0).abs().max().item<double>() < 1e-6, "the budget binds");
  ok &= check((z <= z_free + 1e-8).all().item<bool>(), "every order is below its free order");

  // The gradient of a weighted sum of the decisions with respect to the samples, against central
  // differences of the solve.
  const torch::Tensor w = torch::tensor({{1.0, -2.0, 0.5}, {0.3, 0.7, -1.1}}, torch::kDouble);
  (z * w).sum().backward();
  const torch::Tensor g = y.grad();
  double max_err = 0;
  for (const auto& [b, m, j] :
       {std::tuple<int64_t, int64_t, int64_t>{0, 3, 1}, {1, 17, 2}, {0, 250, 0}}) {
    const double eps = 1e-5;
    torch::Tensor up = samples.clone(), down = samples.clone();
    up[b][m][j] += eps;
    down[b][m][j] -= eps;
    const double fd =
        ((tight.solve(up).z - tight.solve(down).z) * w).sum().item<double>() / (2 * eps);
    max_err = std::max(max_err, std::abs(fd - g[b][m][j].item<double>()));
  }
  ok &= check(max_err < 1e-6, "the decisions' gradient matches central differences");
  return ok ? 0 : 1;
}
