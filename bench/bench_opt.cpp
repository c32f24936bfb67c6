// Decision-layer benchmarks: solve + one adjoint per batch at the paper's sizes, and the baselines
// (the power SAA as a dense epigraph QP; the cost-only autograd path). Per-instance times are
// reported as the counter "us_per_instance".
//
//   build/bench_opt --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "diffdfl/core/seed.h"
#include "diffdfl/opt/allocation.h"
#include "diffdfl/opt/decision_layer.h"
#include "diffdfl/opt/portfolio.h"
#include "diffdfl/opt/power.h"

namespace {

using namespace diffdfl;

torch::TensorOptions f64() {
  return torch::TensorOptions().dtype(torch::kDouble);
}

torch::Tensor power_samples(int64_t B, int64_t M) {
  auto gen = make_generator(1);
  const torch::Tensor profile = 1.6 + 0.5 * torch::sin(torch::arange(24, f64()) * (2 * M_PI / 24));
  return profile + 0.2 * torch::randn({B, 1, 1}, gen, f64()) +
         0.15 * torch::randn({B, M, 24}, gen, f64());
}

torch::Tensor allocation_samples(int64_t B, int64_t M, int64_t n) {
  auto gen = make_generator(2);
  const torch::Tensor high = torch::rand({B, M, n}, gen, f64()) < 0.9;
  const torch::Tensor eps = torch::randn({B, M, n}, gen, f64());
  return 0.5 * torch::where(high, 1 + 0.15 * eps, -3 + 0.15 * eps);
}

/// Solve + RP backward (one adjoint per context) through the layer, as in a training step.
void run_layer(benchmark::State& state, const opt::DecisionLayer& layer, const torch::Tensor& y) {
  const int64_t B = y.size(0);
  const torch::Tensor u = torch::randn({B, layer.program().n_z()}, make_generator(3), f64());
  opt::Solution sol;
  for (auto _ : state) {
    const torch::Tensor yg = y.clone().requires_grad_(true);
    (layer.decide(yg, &sol) * u).sum().backward();
    benchmark::DoNotOptimize(yg.grad().data_ptr());
  }
  state.counters["max_iter"] = static_cast<double>(sol.iterations.max().item<int64_t>());
  const double instances = layer.options().pooled ? 1.0 : static_cast<double>(B);
  state.counters["us_per_instance"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * instances,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_PowerLayer(benchmark::State& state) {
  opt::PowerOptions o;
  o.gradient = state.range(0) ? opt::PowerGradient::kExact : opt::PowerGradient::kReference;
  const opt::DecisionLayer layer(std::make_shared<opt::PowerProgram>(o));
  run_layer(state, layer, power_samples(64, 25));
  state.SetLabel(std::string("B=64 M=25 gradient=") + to_string(o.gradient));
}
BENCHMARK(BM_PowerLayer)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PowerEpigraphQp(benchmark::State& state) {
  // The same SAA as an explicit QP with 624 variables and 1,246 constraints per instance, solved by
  // the generic dense IPM: the baseline for the DP solver (a few instances suffice for the rate).
  const int64_t B = state.range(0);
  const torch::Tensor y = power_samples(B, 25);
  for (auto _ : state) {
    benchmark::DoNotOptimize(opt::solve_power_epigraph_qp(opt::PowerOptions{}, y, {}).z.data_ptr());
  }
  state.counters["us_per_instance"] =
      benchmark::Counter(static_cast<double>(state.iterations() * B),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel("dense epigraph QP, M=25, solve only");
}
BENCHMARK(BM_PowerEpigraphQp)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);

void BM_PortfolioLayer(benchmark::State& state) {
  opt::PortfolioOptions o;
  o.n = state.range(0);
  const opt::DecisionLayer layer(std::make_shared<opt::PortfolioProgram>(o));
  auto gen = make_generator(4);
  const torch::Tensor y = 0.0005 + 0.01 * torch::randn({128, 10, o.n}, gen, f64());
  run_layer(state, layer, y);
  state.SetLabel("B=128 M=10 n=" + std::to_string(o.n));
}
BENCHMARK(BM_PortfolioLayer)
    ->Arg(50)
    ->Arg(100)
    ->Arg(400)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_AllocationPooled(benchmark::State& state) {
  opt::LayerOptions lo;
  lo.pooled = true;
  const opt::DecisionLayer layer(std::make_shared<opt::AllocationProgram>(opt::AllocationOptions{}),
                                 lo);
  run_layer(state, layer, allocation_samples(32, 30, 10));
  state.SetLabel("pooled N=960 n=10");
}
BENCHMARK(BM_AllocationPooled)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AllocationPerContext(benchmark::State& state) {
  const bool autograd = state.range(0) != 0;
  std::shared_ptr<const opt::StochasticProgram> prog;
  if (autograd) {
    prog = std::make_shared<opt::CostFunctionProgram>(
        "allocation-autograd", 10, 10, opt::LinearConstraints::box(10, 0, 2),
        [](const torch::Tensor& y, const torch::Tensor& z) {
          return torch::exp(-(y * z).sum(-1));
        });
  } else {
    prog = std::make_shared<opt::AllocationProgram>(opt::AllocationOptions{});
  }
  run_layer(state, opt::DecisionLayer(prog), allocation_samples(32, 30, 10));
  state.SetLabel(autograd ? "B=32 M=30, derivatives by autograd"
                          : "B=32 M=30, closed-form derivatives");
}
BENCHMARK(BM_AllocationPerContext)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
