// Benchmarks of the predictors layer (bench/README.md, section "models").
//
//   BM_DenoiserStep/W/rows              one ε-network evaluation of a sampling step (shared t, no
//                                       graph) at the power task's shapes (x 149, y 24),
//                                       interleaved with the same function in the reference's
//                                       concatenated form and with the bare GEMM chain
//                                       (torch::mm_out → OpenBLAS sgemm) at the same shapes;
//                                       counters give each one's time, GFLOP/s and the ratios
//   BM_DenoiserStepPortfolio/W          the same at the portfolio task's shapes (x 1400, y 50,
//                                       128 contexts × 10 samples)
//   BM_Reparam/S                        one sample with graph + backward through S DDIM steps
//                                       (B·M = 8·8, W = 256), full storage vs checkpointed,
//                                       interleaved, next to sampling without graph
//   BM_ScoreFunction/K                  one surrogate_backward (B = 64, M = 25, W = 256) with K
//                                       draws, default chunking vs all rows at once, interleaved
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

#include <time.h>
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

EpsNetworkOptions net_options(int64_t width) {
  EpsNetworkOptions o;
  o.width = width;
  return o;
}

// Thread CPU time in seconds (robust to other processes on a shared machine, unlike wall time).
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The GEMMs of one denoiser evaluation, alone: y [rows, y_dim] → W → … → y_dim.
struct SgemmChain {
  torch::Tensor y, w_in, w_hidden, w_out, h1, h2, out;
  int64_t depth;
  SgemmChain(int64_t rows, int64_t W, int64_t y_dim, int64_t depth_)
      : y(torch::randn({rows, y_dim})),
        w_in(torch::randn({W, y_dim})),
        w_hidden(torch::randn({W, W})),
        w_out(torch::randn({y_dim, W})),
        h1(torch::empty({rows, W})),
        h2(torch::empty({rows, W})),
        out(torch::empty({rows, y_dim})),
        depth(depth_) {}
  void run() {
    torch::mm_out(h1, y, w_in.t());
    for (int64_t i = 1; i < depth; ++i) {
      torch::mm_out(h2, h1, w_hidden.t());
      std::swap(h1, h2);
    }
    torch::mm_out(out, h1, w_out.t());
  }
};

// One sampling step's ε-network evaluation (shared t, no graph), the same function in the
// reference's concatenated form, and the bare GEMM chain of the former, interleaved in every
// iteration so that all three see the same machine load. Reported time = BM's own forward;
// counters: per-call thread-CPU ms of each, GFLOP/s of the forward's GEMM work (the x block is
// per context and computed once per sampling call, outside the step), and the ratio
// fwd_vs_sgemm = t_sgemm / t_forward (= achieved GFLOP/s over the sgemm rate at the same shapes).
void run_denoiser_step(benchmark::State& state, int64_t x_dim, int64_t y_dim, int64_t W, int64_t C,
                       int64_t G) {
  const int64_t rows = C * G;
  torch::manual_seed(1);
  EpsNetworkImpl net(x_dim, y_dim, net_options(W));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({C, x_dim});
  const DenoiserContext ctx = net.condition(x);
  const torch::Tensor y = torch::randn({C, G, y_dim});
  const torch::Tensor t = torch::scalar_tensor(500, torch::kLong);
  const torch::Tensor x_rows = x.unsqueeze(1).expand({C, G, x_dim}).reshape({rows, x_dim});
  const torch::Tensor y_rows = y.reshape({rows, y_dim});
  const torch::Tensor t_rows = torch::full({rows}, 500, torch::kLong);
  SgemmChain chain(rows, W, y_dim, net.options().depth);
  double t_fwd = 0, t_ref = 0, t_gemm = 0;
  for (auto _ : state) {
    const double a = thread_seconds();
    benchmark::DoNotOptimize(net.predict(y, t, ctx));
    const double b = thread_seconds();
    benchmark::DoNotOptimize(net.forward_reference(y_rows, t_rows, x_rows));
    const double c = thread_seconds();
    chain.run();
    benchmark::DoNotOptimize(chain.out.data_ptr());
    const double d = thread_seconds();
    state.SetIterationTime(b - a);
    t_fwd += b - a;
    t_ref += c - b;
    t_gemm += d - c;
  }
  const auto n = static_cast<double>(state.iterations());
  const double flops = static_cast<double>(net.flops_per_row(false) * rows);
  const double ref_flops = static_cast<double>(net.flops_per_row(true) * rows);
  state.counters["fwd_ms"] = 1e3 * t_fwd / n;
  state.counters["ref_ms"] = 1e3 * t_ref / n;
  state.counters["sgemm_ms"] = 1e3 * t_gemm / n;
  state.counters["fwd_GFLOPs"] = 1e-9 * flops * n / t_fwd;
  state.counters["ref_GFLOPs"] = 1e-9 * ref_flops * n / t_ref;
  state.counters["sgemm_GFLOPs"] = 1e-9 * flops * n / t_gemm;
  state.counters["fwd_vs_sgemm"] = t_gemm / t_fwd;
  state.counters["ref_vs_fwd"] = t_ref / t_fwd;
}

void BM_DenoiserStep(benchmark::State& state) {
  const int64_t rows = state.range(1);
  // 1600 rows = the power task's B·M = 64·25; 64 rows = 8 contexts × 8 samples.
  const int64_t G = rows % 25 == 0 ? 25 : 8;
  run_denoiser_step(state, kXDim, kYDim, state.range(0), rows / G, G);
}

// The portfolio task's shapes: x 1400, y 50, 128 contexts × 10 samples.
void BM_DenoiserStepPortfolio(benchmark::State& state) {
  run_denoiser_step(state, 1400, 50, state.range(0), 128, 10);
}

BENCHMARK(BM_DenoiserStep)
    ->ArgsProduct({{128, 256, 1024}, {64, 1600}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DenoiserStepPortfolio)
    ->Arg(256)
    ->Arg(1024)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

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

// Per iteration: sampling without graph, then full-storage and checkpointed reparameterization
// backward (same seed, same samples), each timed in thread CPU time and interleaved so that they
// see the same machine load. Reported time = the checkpointed backward; counters: ms of each,
// their ratio, and the peak memory of each from a fresh child process.
void BM_Reparam(benchmark::State& state) {
  const int64_t S = state.range(0);
  RpSetup s = make_rp(S);
  for (int64_t mode = 0; mode < 3; ++mode)
    rp_run(s, mode);  // warm-up
  double total[3] = {0, 0, 0};
  for (auto _ : state) {
    double dt[3] = {0, 0, 0};
    for (int64_t mode = 0; mode < 3; ++mode) {
      torch::manual_seed(7);
      const double a = thread_seconds();
      rp_run(s, mode);
      dt[mode] = thread_seconds() - a;
      total[mode] += dt[mode];
    }
    state.SetIterationTime(dt[2]);
  }
  const auto n = static_cast<double>(state.iterations());
  const ProbeResult full = probe("rp:" + std::to_string(S) + ":1");
  const ProbeResult ckpt = probe("rp:" + std::to_string(S) + ":2");
  state.counters["sample_ms"] = 1e3 * total[0] / n;
  state.counters["full_ms"] = 1e3 * total[1] / n;
  state.counters["ckpt_ms"] = 1e3 * total[2] / n;
  state.counters["ckpt_vs_full_time"] = total[2] / total[1];
  state.counters["full_MB"] = full.peak_mb;
  state.counters["ckpt_MB"] = ckpt.peak_mb;
  state.counters["ckpt_vs_full_mem"] = ckpt.peak_mb / full.peak_mb;
  state.counters["segments"] =
      static_cast<double>(s.model->options().sampler.resolved_segments(1000));
}

BENCHMARK(BM_Reparam)->Arg(50)->Arg(200)->Arg(1000)->UseManualTime()->Unit(benchmark::kMillisecond);

// Per iteration: surrogate_backward with the default chunking and with all B·M·K rows at once,
// interleaved. Reported time = the chunked one; peak memory of each from a fresh child process.
void BM_ScoreFunction(benchmark::State& state) {
  const int64_t K = state.range(0);
  SfSetup chunked = make_sf(K, 0), all = make_sf(K, 1);
  sf_run(chunked);  // warm-up
  sf_run(all);
  double total[2] = {0, 0};
  for (auto _ : state) {
    const double a = thread_seconds();
    sf_run(chunked);
    const double b = thread_seconds();
    sf_run(all);
    const double c = thread_seconds();
    state.SetIterationTime(b - a);
    total[0] += b - a;
    total[1] += c - b;
  }
  const auto n = static_cast<double>(state.iterations());
  const ProbeResult pc = probe("sf:" + std::to_string(K) + ":0");
  const ProbeResult pa = probe("sf:" + std::to_string(K) + ":1");
  state.counters["chunked_ms"] = 1e3 * total[0] / n;
  state.counters["all_rows_ms"] = 1e3 * total[1] / n;
  state.counters["chunked_MB"] = pc.peak_mb;
  state.counters["all_rows_MB"] = pa.peak_mb;
  state.counters["rows"] = static_cast<double>(kSfContexts * kSfSamples * K);
  state.counters["chunk_rows"] = static_cast<double>(ElboOptions{}.chunk_rows);
}

BENCHMARK(BM_ScoreFunction)->Arg(10)->Arg(50)->UseManualTime()->Unit(benchmark::kMillisecond);

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
