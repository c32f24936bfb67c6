// Benchmarks of the predictors layer (bench/README.md, section "models").
//
//   BM_DenoiserForward/W/rows           one ε-network evaluation of a sampling step (shared t, no
//                                       graph), power shapes (x 149, y 24): GFLOP/s of its GEMMs
//   BM_DenoiserForwardReference/W/rows  the same function in the reference's concatenated form
//   BM_SgemmChain/W/rows                only the GEMMs of BM_DenoiserForward (torch::mm_out →
//                                       OpenBLAS sgemm) at the same shapes
//   BM_*Portfolio/W                     the two denoiser forms at the portfolio task's shapes (x
//   1400,
//                                       y 50, B·M = 128·10 rows), where the split first layer
//                                       matters
//   BM_Reparam/S/mode                   one sample with graph + backward through S DDIM steps
//                                       (mode 0 = no graph, forward only; 1 = full; 2 =
//                                       checkpointed)
//   BM_ScoreFunction/K/chunk            one surrogate_backward (B = 64, M = 25, W = 256) with K
//   draws;
//                                       chunk 0 = the default elbo.chunk_rows, 1 = everything at
//                                       once
//
// Memory: each configuration of BM_Reparam and BM_ScoreFunction is also run once in a fresh child
// process (this binary re-executed with --memory-probe=...), which reports its peak RSS (VmHWM,
// reset after setup) minus its RSS after setup: counters peak_MB (and probe_s, the child's
// single-run time). A fresh process is used because freed heap memory is not always returned to
// the kernel, which would make in-process RSS readings of later configurations meaningless.
//
// All timings are single-threaded (torch::set_num_threads(1)) so that the numbers do not depend on
// what else runs on the machine's cores. Run:
//   bench_models --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include <unistd.h>

#include "diffdfl/core/memory.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/models/diffusion.h"
#include "diffdfl/models/eps_network.h"

namespace {

using namespace diffdfl;
using namespace diffdfl::models;

constexpr int64_t kXDim = 149;  // power task
constexpr int64_t kYDim = 24;

// ---------------------------------------------------------------------------------------------
// Denoiser forward vs the sgemm rate at the same shapes.

// Contexts × rows per context for a given number of rows (1600 = the power task's B·M = 64·25).
std::pair<int64_t, int64_t> layout(int64_t rows) {
  return rows >= 25 && rows % 25 == 0 ? std::make_pair(rows / 25, int64_t{25})
                                      : std::make_pair(rows, int64_t{1});
}

EpsNetworkOptions net_options(int64_t width) {
  EpsNetworkOptions o;
  o.width = width;
  return o;
}

void BM_DenoiserForward(benchmark::State& state) {
  const int64_t W = state.range(0), rows = state.range(1);
  const auto [C, G] = layout(rows);
  torch::manual_seed(1);
  EpsNetworkImpl net(kXDim, kYDim, net_options(W));
  torch::NoGradGuard no_grad;
  const DenoiserContext ctx = net.condition(torch::randn({C, kXDim}));
  const torch::Tensor y = torch::randn({C, G, kYDim});
  const torch::Tensor t = torch::scalar_tensor(500, torch::kLong);
  for (auto _ : state)
    benchmark::DoNotOptimize(net.predict(y, t, ctx));
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(net.flops_per_row(false) * rows) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

void BM_DenoiserForwardReference(benchmark::State& state) {
  const int64_t W = state.range(0), rows = state.range(1);
  torch::manual_seed(1);
  EpsNetworkImpl net(kXDim, kYDim, net_options(W));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({rows, kXDim});
  const torch::Tensor y = torch::randn({rows, kYDim});
  const torch::Tensor t = torch::full({rows}, 500, torch::kLong);
  for (auto _ : state)
    benchmark::DoNotOptimize(net.forward_reference(y, t, x));
  state.counters["GFLOP/s"] =
      benchmark::Counter(static_cast<double>(net.flops_per_row(true) * rows) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SgemmChain(benchmark::State& state) {
  const int64_t W = state.range(0), rows = state.range(1);
  const int64_t depth = EpsNetworkOptions{}.depth;
  torch::manual_seed(1);
  const torch::Tensor y = torch::randn({rows, kYDim});
  const torch::Tensor w_in = torch::randn({W, kYDim});
  const torch::Tensor w_hidden = torch::randn({W, W});
  const torch::Tensor w_out = torch::randn({kYDim, W});
  torch::Tensor h1 = torch::empty({rows, W}), h2 = torch::empty({rows, W}),
                out = torch::empty({rows, kYDim});
  for (auto _ : state) {
    torch::mm_out(h1, y, w_in.t());
    for (int64_t i = 1; i < depth; ++i) {
      torch::mm_out(h2, h1, w_hidden.t());
      std::swap(h1, h2);
    }
    torch::mm_out(out, h1, w_out.t());
    benchmark::DoNotOptimize(out.data_ptr());
  }
  const double flops = 2.0 * static_cast<double>(rows) *
                       static_cast<double>(kYDim * W + (depth - 1) * W * W + W * kYDim);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void denoiser_args(benchmark::internal::Benchmark* b) {
  for (int64_t W : {128, 256, 1024}) {
    for (int64_t rows : {64, 1600})
      b->Args({W, rows});
  }
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_DenoiserForward)->Apply(denoiser_args);
BENCHMARK(BM_DenoiserForwardReference)->Apply(denoiser_args);
BENCHMARK(BM_SgemmChain)->Apply(denoiser_args);

// Portfolio shapes: 128 contexts × 10 samples.
void BM_DenoiserForwardPortfolio(benchmark::State& state) {
  const int64_t W = state.range(0);
  torch::manual_seed(1);
  EpsNetworkImpl net(1400, 50, net_options(W));
  torch::NoGradGuard no_grad;
  const DenoiserContext ctx = net.condition(torch::randn({128, 1400}));
  const torch::Tensor y = torch::randn({128, 10, 50});
  const torch::Tensor t = torch::scalar_tensor(500, torch::kLong);
  for (auto _ : state)
    benchmark::DoNotOptimize(net.predict(y, t, ctx));
}

void BM_DenoiserForwardReferencePortfolio(benchmark::State& state) {
  const int64_t W = state.range(0);
  torch::manual_seed(1);
  EpsNetworkImpl net(1400, 50, net_options(W));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1280, 1400});
  const torch::Tensor y = torch::randn({1280, 50});
  const torch::Tensor t = torch::full({1280}, 500, torch::kLong);
  for (auto _ : state)
    benchmark::DoNotOptimize(net.forward_reference(y, t, x));
}

BENCHMARK(BM_DenoiserForwardPortfolio)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DenoiserForwardReferencePortfolio)->Arg(256)->Arg(1024)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------------------------------------
// Reparameterization through the sampler and the score-function surrogate.

constexpr int64_t kRpContexts = 8, kRpSamples = 8, kRpWidth = 256;
constexpr int64_t kSfContexts = 64, kSfSamples = 25, kSfWidth = 256;

struct RpSetup {
  std::unique_ptr<DiffusionPredictor> model;
  torch::Tensor x, R;
};

RpSetup make_rp(int64_t S) {
  DiffusionOptions o;  // T = 1000, DDIM η = 0 (power), segments round(√S)
  o.network.width = kRpWidth;
  o.sampler.steps = S;
  torch::manual_seed(1);
  RpSetup s;
  s.model = std::make_unique<DiffusionPredictor>(kXDim, kYDim, o);
  s.x = torch::randn({kRpContexts, kXDim});
  s.R = torch::randn({kRpContexts, kRpSamples, kYDim});
  return s;
}

GraphMode rp_mode(int64_t m) {
  return m == 0 ? GraphMode::kNone : m == 1 ? GraphMode::kFull : GraphMode::kCheckpointed;
}

void rp_run(RpSetup& s, int64_t mode) {
  const torch::Tensor y = s.model->sample(s.x, kRpSamples, rp_mode(mode));
  if (mode == 0) return;
  (y * s.R).sum().backward();
  for (auto& p : s.model->parameters())
    p.mutable_grad().reset();
}

struct SfSetup {
  std::unique_ptr<DiffusionPredictor> model;
  torch::Tensor x, samples, weights;
};

SfSetup make_sf(int64_t K, int64_t chunk) {
  DiffusionOptions o;
  o.network.width = kSfWidth;
  o.elbo.draws = K;
  if (chunk == 1) o.elbo.chunk_rows = kSfContexts * kSfSamples * K;
  torch::manual_seed(1);
  SfSetup s;
  s.model = std::make_unique<DiffusionPredictor>(kXDim, kYDim, o);
  s.x = torch::randn({kSfContexts, kXDim});
  s.samples = torch::randn({kSfContexts, kSfSamples, kYDim});
  s.weights = torch::randn({kSfContexts, kSfSamples});
  return s;
}

void sf_run(SfSetup& s) {
  s.model->surrogate_backward(s.x, s.samples, s.weights, 1.0 / kSfSamples);
  for (auto& p : s.model->parameters())
    p.mutable_grad().reset();
}

// Runs in the child: "rp:<S>:<mode>" or "sf:<K>:<chunk>"; prints "PROBE <peak_mb> <base_mb> <s>
// <reset>".
int memory_probe(const std::string& spec) {
  torch::set_num_threads(1);
  char kind[8] = {0};
  long long a = 0, b = 0;
  if (std::sscanf(spec.c_str(), "%2[a-z]:%lld:%lld", kind, &a, &b) != 3) {
    std::cerr << "bad probe spec " << spec << "\n";
    return 2;
  }
  RpSetup rp;
  SfSetup sf;
  const bool is_rp = std::strcmp(kind, "rp") == 0;
  if (is_rp) {
    rp = make_rp(a);
  } else {
    sf = make_sf(a, b);
  }
  const double base = current_rss_mb();
  const bool reset = reset_peak_rss();
  Stopwatch sw;
  if (is_rp) {
    rp_run(rp, b);
  } else {
    sf_run(sf);
  }
  const double seconds = sw.seconds();
  std::printf("PROBE %.3f %.3f %.4f %d\n", peak_rss_mb(), base, seconds, reset ? 1 : 0);
  return 0;
}

std::string g_self;

struct ProbeResult {
  double peak_mb = -1, seconds = -1;
};

ProbeResult probe(const std::string& spec) {
  static std::map<std::string, ProbeResult> cache;
  if (auto it = cache.find(spec); it != cache.end()) return it->second;
  ProbeResult r;
  const std::string cmd = "'" + g_self + "' --memory-probe=" + spec + " 2>/dev/null";
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      double peak = 0, base = 0, s = 0;
      int reset = 0;
      if (std::sscanf(line, "PROBE %lf %lf %lf %d", &peak, &base, &s, &reset) == 4) {
        r.peak_mb = peak - (reset ? base : 0.0);
        r.seconds = s;
      }
    }
    pclose(f);
  }
  cache[spec] = r;
  return r;
}

void BM_Reparam(benchmark::State& state) {
  const int64_t S = state.range(0), mode = state.range(1);
  RpSetup s = make_rp(S);
  rp_run(s, mode);  // warm-up
  for (auto _ : state)
    rp_run(s, mode);
  const ProbeResult r = probe("rp:" + std::to_string(S) + ":" + std::to_string(mode));
  state.counters["peak_MB"] = r.peak_mb;
  state.counters["probe_s"] = r.seconds;
  state.counters["segments"] =
      static_cast<double>(s.model->options().sampler.resolved_segments(1000));
}

BENCHMARK(BM_Reparam)
    ->ArgsProduct({{50, 200, 1000}, {0, 1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ScoreFunction(benchmark::State& state) {
  const int64_t K = state.range(0), chunk = state.range(1);
  SfSetup s = make_sf(K, chunk);
  sf_run(s);  // warm-up
  for (auto _ : state)
    sf_run(s);
  const ProbeResult r = probe("sf:" + std::to_string(K) + ":" + std::to_string(chunk));
  state.counters["peak_MB"] = r.peak_mb;
  state.counters["probe_s"] = r.seconds;
  state.counters["rows"] = static_cast<double>(kSfContexts * kSfSamples * K);
}

BENCHMARK(BM_ScoreFunction)
    ->ArgsProduct({{10, 50}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--memory-probe=", 15) == 0) return memory_probe(argv[i] + 15);
  }
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  g_self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(argv[0]);
  torch::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
