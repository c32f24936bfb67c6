// The conditional bimodal toy: the samplers with the exact ε of the toy (no learning involved),
// and the diffusion model learning the toy (seconds on one core).
//
// Truth: x ~ U(−1, 1); with probability p(x) = 0.5 + 0.35 x, y = 1.5 + 0.5 x + 0.15 ξ (upper mode),
// otherwise y = −1.5 + 0.25 x + 0.15 ξ (lower mode). The learned model sees y_raw = 20 + 4 y and
// works on the unit scale through the target transform.
//
// Statistics per context: the fraction of samples above the midpoint between the modes, the
// median of each mode, the robust sd of each mode (1.4826·MAD) and the fraction of samples more
// than 3 from the midpoint ("far": nowhere near either mode). Medians and MADs are used because
// deterministic DDIM (η = 0) sends a few starting points of a *learned* model far away (0.1–0.5 %
// of samples in our runs; none with the exact ε), which would dominate means and sds.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "diffdfl/core/timer.h"
#include "diffdfl/models/diffusion.h"
#include "diffdfl/models/diffusion_sampler.h"

namespace diffdfl::models {
namespace {

double p_upper(double x) {
  return 0.5 + 0.35 * x;
}
double m_upper(double x) {
  return 1.5 + 0.5 * x;
}
double m_lower(double x) {
  return -1.5 + 0.25 * x;
}
constexpr double kModeSd = 0.15;
constexpr double kRawShift = 20, kRawScale = 4;
constexpr int64_t kSamples = 4000;  // per context: binomial SE of a fraction ≤ 0.008

std::pair<torch::Tensor, torch::Tensor> draw_data(int64_t n) {
  const torch::Tensor x = torch::rand({n, 1}) * 2 - 1;
  const torch::Tensor upper = torch::rand({n, 1}) < (0.5 + 0.35 * x);
  const torch::Tensor mean = torch::where(upper, 1.5 + 0.5 * x, -1.5 + 0.25 * x);
  const torch::Tensor y = mean + kModeSd * torch::randn({n, 1});
  return {x, kRawShift + kRawScale * y};
}

struct ModeStats {
  double frac_upper = 0, median_upper = 0, median_lower = 0, sd_upper = 0, sd_lower = 0, far = 0;
};

std::ostream& operator<<(std::ostream& out, const ModeStats& s) {
  return out << "frac_upper=" << s.frac_upper << " median_upper=" << s.median_upper
             << " median_lower=" << s.median_lower << " sd_upper=" << s.sd_upper
             << " sd_lower=" << s.sd_lower << " far=" << s.far;
}

double robust_sd(const torch::Tensor& v) {
  return 1.4826 * (v - v.median()).abs().median().item<double>();
}

// Statistics of samples y (model units, any shape) at context x.
ModeStats stats(const torch::Tensor& samples, double x) {
  const torch::Tensor y = samples.reshape({-1}).to(torch::kDouble);
  const double mid = 0.5 * (m_upper(x) + m_lower(x));
  const torch::Tensor up = y.masked_select(y > mid), lo = y.masked_select(y <= mid);
  ModeStats s;
  s.frac_upper = static_cast<double>(up.numel()) / static_cast<double>(y.numel());
  s.median_upper = up.median().item<double>();
  s.median_lower = lo.median().item<double>();
  s.sd_upper = robust_sd(up);
  s.sd_lower = robust_sd(lo);
  s.far = ((y - mid).abs() > 3).to(torch::kDouble).mean().item<double>();
  return s;
}

// The learned model uses T = 100 with the reference's β range scaled by 1000/T (ᾱ_{T−1} ≈ 4e-5);
// the exact-ε tests use the reference schedule itself (T = 1000, β 1e-4 .. 0.02).
NoiseScheduleOptions toy_schedule() {
  NoiseScheduleOptions o;
  o.steps = 100;
  o.beta_start = 1e-3;
  o.beta_end = 0.2;
  return o;
}

// The exact ε of the toy: y0 | x is a two-component Gaussian mixture, so y_t | x is one too
// (component k: N(√ᾱ μ_k, ᾱ s² + 1 − ᾱ)), and E[ε | y_t] = Σ_k r_k √(1−ᾱ)(y_t − √ᾱ μ_k)/v_t with
// the posterior component weights r_k.
class ToyExactEps : public DenoiserImpl {
 public:
  explicit ToyExactEps(const NoiseSchedule& s) : alpha_bars_(s.alpha_bars()) {}
  int64_t x_dim() const override { return 1; }
  int64_t y_dim() const override { return 1; }
  DenoiserContext condition(const torch::Tensor& x) override { return {{x.to(torch::kDouble)}}; }
  torch::Tensor predict(const torch::Tensor& y, const torch::Tensor& t,
                        const DenoiserContext& ctx) override {
    const torch::Tensor x = ctx.tensors[0].view({-1, 1, 1});  // [C, 1, 1]
    const torch::Tensor ab =
        alpha_bars_.index_select(0, t.reshape({-1}))
            .view(t.dim() == 0 ? std::vector<int64_t>{1, 1, 1}
                               : std::vector<int64_t>{t.size(0), t.size(1), 1});
    const torch::Tensor v = ab * kModeSd * kModeSd + (1 - ab);
    const torch::Tensor du = y - ab.sqrt() * (1.5 + 0.5 * x);
    const torch::Tensor dl = y - ab.sqrt() * (-1.5 + 0.25 * x);
    const torch::Tensor lu = torch::log(0.5 + 0.35 * x) - du.pow(2) / (2 * v);
    const torch::Tensor ll = torch::log(0.5 - 0.35 * x) - dl.pow(2) / (2 * v);
    const torch::Tensor ru = torch::sigmoid(lu - ll);
    return (1 - ab).sqrt() * (ru * du + (1 - ru) * dl) / v;
  }

 private:
  torch::Tensor alpha_bars_;
};

ModeStats exact_sampler_stats(double x, SamplerKind kind, double eta, int64_t steps,
                              uint64_t seed) {
  const NoiseSchedule schedule{NoiseScheduleOptions{}};
  auto net = std::make_shared<ToyExactEps>(schedule);
  SamplerOptions so;
  so.kind = kind;
  so.eta = eta;
  so.steps = steps;
  torch::manual_seed(seed);
  const torch::Tensor y_start = torch::randn({1, kSamples, 1}, torch::kDouble);
  const torch::Tensor y =
      run_reverse_process(net, plan_reverse_steps(schedule, so),
                          torch::full({1, 1}, x, torch::kDouble), y_start, GraphMode::kNone, 1);
  return stats(y, x);
}

// With the exact ε, DDPM and DDIM (η = 0 and 0.8) over all T = 1000 steps of the reference
// schedule reproduce the truth: fractions within 0.03 (4.5 binomial SE), medians within 0.03,
// robust sds within 0.03 (measured: ≤ 0.005, ≤ 0.01 and 0.135–0.149; the ancestral sampler's β̃
// variances make its modes slightly narrow). DDIM with η = 0 is a deterministic map: with the exact
// ε no sample lands far from both modes.
TEST(BimodalExactEps, AllStepSamplersReproduceTheTruth) {
  for (double x : {-0.8, 0.8}) {
    for (auto [kind, eta] : {std::pair<SamplerKind, double>{SamplerKind::kDdpm, 0.0},
                             {SamplerKind::kDdim, 0.0},
                             {SamplerKind::kDdim, 0.8}}) {
      const ModeStats s = exact_sampler_stats(x, kind, eta, 0, 5);
      std::cout << "[ exact eps ] " << to_string(kind) << " eta=" << eta << " S=T x=" << x << ": "
                << s << "\n";
      EXPECT_NEAR(s.frac_upper, p_upper(x), 0.03) << to_string(kind) << eta << " x=" << x;
      EXPECT_NEAR(s.median_upper, m_upper(x), 0.03);
      EXPECT_NEAR(s.median_lower, m_lower(x), 0.03);
      EXPECT_NEAR(s.sd_upper, kModeSd, 0.03);
      EXPECT_NEAR(s.sd_lower, kModeSd, 0.03);
      EXPECT_EQ(s.far, 0.0);
    }
  }
}

// Strided DDIM (η = 0) with the exact ε. Measured (x = ±0.8): S = 100/50/20 keep the fractions
// within 0.006 and the medians within 0.03 while the modes narrow (robust sd 0.14 → 0.10); S = 10
// is still usable (fractions within 0.02, medians within 0.04, sd 0.07–0.09); S = 5 merges the
// modes (a median moves by ~0.4), which the last line records.
TEST(BimodalExactEps, FewerDdimStepsDegradeGracefully) {
  for (double x : {-0.8, 0.8}) {
    for (int64_t S : {100, 50, 20, 10, 5}) {
      const ModeStats s = exact_sampler_stats(x, SamplerKind::kDdim, 0.0, S, 5);
      std::cout << "[ exact eps ] ddim eta=0 S=" << S << " x=" << x << ": " << s << "\n";
      const std::string what = "S=" + std::to_string(S) + " x=" + std::to_string(x);
      if (S >= 20) {
        EXPECT_NEAR(s.frac_upper, p_upper(x), 0.03) << what;
        EXPECT_NEAR(s.median_upper, m_upper(x), 0.05) << what;
        EXPECT_NEAR(s.median_lower, m_lower(x), 0.05) << what;
        EXPECT_GT(std::min(s.sd_upper, s.sd_lower), 0.08) << what;
      } else if (S == 10) {
        EXPECT_NEAR(s.frac_upper, p_upper(x), 0.04) << what;
        EXPECT_NEAR(s.median_upper, m_upper(x), 0.07) << what;
        EXPECT_NEAR(s.median_lower, m_lower(x), 0.07) << what;
        EXPECT_GT(std::min(s.sd_upper, s.sd_lower), 0.05) << what;
      } else {
        EXPECT_GT(
            std::max(std::abs(s.median_upper - m_upper(x)), std::abs(s.median_lower - m_lower(x))),
            0.2)
            << what << ": 5 steps are expected to break the modes";
      }
      EXPECT_EQ(s.far, 0.0) << what;
    }
  }
}

// Trains the toy once (ctest runs every TEST in its own process, so the checks of the learned
// model share one test).
class LearnedToy {
 public:
  std::unique_ptr<DiffusionPredictor> model;

  LearnedToy() {
    torch::set_num_threads(1);
    torch::manual_seed(2024);
    DiffusionOptions o;
    o.schedule = toy_schedule();
    o.network.width = 64;
    o.network.time_hidden = 64;
    model = std::make_unique<DiffusionPredictor>(1, 1, o);
    const auto [x0, y0] = draw_data(4096);
    const auto [shift, scale] = target_standardization(y0);
    model->set_target_transform(shift, scale);
    const double lr = 3e-3;
    const int steps = 1500;
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(lr));
    Stopwatch sw;
    for (int i = 0; i < steps; ++i) {  // cosine decay to 5 % of lr
      const double f = 0.5 * (1 + std::cos(M_PI * i / steps));
      static_cast<torch::optim::AdamOptions&>(opt.param_groups()[0].options())
          .lr(lr * (0.05 + 0.95 * f));
      const auto [x, y] = draw_data(1024);
      opt.zero_grad();
      model->fit_loss(x, y).backward();
      opt.step();
    }
    std::cout << "[ bimodal   ] trained " << steps << " steps in " << sw.seconds() << " s\n";
  }

  ModeStats learned_stats(double x, SamplerKind kind, double eta, int64_t steps, uint64_t seed) {
    SamplerOptions so;
    so.kind = kind;
    so.eta = eta;
    so.steps = steps;
    model->set_sampler(so);
    torch::manual_seed(seed);
    const torch::Tensor raw = model->sample(torch::full({1, 1}, x), kSamples, GraphMode::kNone);
    return stats((raw - kRawShift) / kRawScale, x);
  }
};

// Mode probabilities within ±0.05 of the truth (binomial SE ≈ 0.007; the rest is the model's
// error, ≤ 0.026 over the 9 training seeds we tried) and mode locations within ±0.1 (mode sd 0.15;
// measured ≤ 0.03).
void check_learned_ddpm(LearnedToy& toy) {
  for (double x : {-0.8, 0.8}) {
    const ModeStats s = toy.learned_stats(x, SamplerKind::kDdpm, 0, 0, 7);
    std::cout << "[ bimodal   ] ddpm x=" << x << ": " << s << "\n";
    EXPECT_NEAR(s.frac_upper, p_upper(x), 0.05) << "x=" << x;
    EXPECT_NEAR(s.median_upper, m_upper(x), 0.1) << "x=" << x;
    EXPECT_NEAR(s.median_lower, m_lower(x), 0.1) << "x=" << x;
    EXPECT_NEAR(s.sd_upper, kModeSd, 0.07) << "x=" << x;
    EXPECT_NEAR(s.sd_lower, kModeSd, 0.07) << "x=" << x;
    EXPECT_EQ(s.far, 0.0);
  }
}

// The learned model sampled with DDIM over all steps against DDPM: fractions within 0.05 (the
// difference of two fractions has SE ≈ 0.009; measured ≤ 0.032 over 9 training seeds, DDIM η = 0
// putting slightly more mass on the majority mode), medians within 0.05, and fewer than 1 % of the
// samples far from both modes (measured 0.1–0.3 % for η = 0, none for η = 0.8).
void check_ddim_matches_ddpm(LearnedToy& toy) {
  for (double x : {-0.8, 0.8}) {
    const ModeStats ddpm = toy.learned_stats(x, SamplerKind::kDdpm, 0, 0, 11);
    for (double eta : {0.0, 0.8}) {
      const ModeStats ddim = toy.learned_stats(x, SamplerKind::kDdim, eta, 0, 13);
      std::cout << "[ bimodal   ] ddim eta=" << eta << " S=T x=" << x << ": " << ddim << "\n";
      EXPECT_NEAR(ddim.frac_upper, ddpm.frac_upper, 0.05) << "x=" << x << " eta=" << eta;
      EXPECT_NEAR(ddim.median_upper, ddpm.median_upper, 0.05);
      EXPECT_NEAR(ddim.median_lower, ddpm.median_lower, 0.05);
      EXPECT_LT(ddim.far, 0.01);
    }
  }
}

// Strided DDIM (η = 0) on the learned model (T = 100). Measured over 5 training seeds: S = 25
// keeps fractions within 0.035 of the truth and medians within 0.05; S = 10 within 0.076 and 0.1;
// S = 5 breaks the modes.
void check_fewer_steps(LearnedToy& toy) {
  for (double x : {-0.8, 0.8}) {
    for (int64_t S : {25, 10, 5}) {
      const ModeStats s = toy.learned_stats(x, SamplerKind::kDdim, 0.0, S, 17);
      std::cout << "[ bimodal   ] ddim eta=0 S=" << S << " x=" << x << ": " << s << "\n";
      const std::string what = "S=" + std::to_string(S) + " x=" + std::to_string(x);
      if (S == 25) {
        EXPECT_NEAR(s.frac_upper, p_upper(x), 0.05) << what;
        EXPECT_NEAR(s.median_upper, m_upper(x), 0.08) << what;
        EXPECT_NEAR(s.median_lower, m_lower(x), 0.08) << what;
      } else if (S == 10) {
        EXPECT_NEAR(s.frac_upper, p_upper(x), 0.1) << what;
        EXPECT_NEAR(s.median_upper, m_upper(x), 0.15) << what;
        EXPECT_NEAR(s.median_lower, m_lower(x), 0.15) << what;
      }
      if (S >= 10) {
        EXPECT_LT(s.far, 0.01) << what;  // S = 5: up to 0.0095 measured, not asserted
      }
    }
  }
}

TEST(BimodalDiffusion, LearnsTheToyAndItsSamplersAgree) {
  LearnedToy toy;
  {
    SCOPED_TRACE("learned: DDPM against the truth");
    check_learned_ddpm(toy);
  }
  {
    SCOPED_TRACE("learned: DDIM over all steps against DDPM");
    check_ddim_matches_ddpm(toy);
  }
  {
    SCOPED_TRACE("learned: fewer DDIM steps");
    check_fewer_steps(toy);
  }
}

}  // namespace
}  // namespace diffdfl::models
