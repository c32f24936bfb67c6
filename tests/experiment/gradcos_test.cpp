// Tests of the gradient-fidelity experiments (experiment/gradcos.h): the helpers, the gradients of
// part (b) against finite differences, the measured properties of both parts on tiny settings, the
// output files and the command line.
#include "diffdfl/experiment/gradcos.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/experiment/presets.h"

namespace diffdfl::experiment {
namespace {

namespace fs = std::filesystem;

using cli_testing::slurp;
using cli_testing::temp_dir;

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v)
    s += x;
  return v.empty() ? std::nan("") : s / static_cast<double>(v.size());
}

/// A short linear-ε chain with non-trivial random parameters (T = 20).
std::unique_ptr<models::LinearEpsDiffusion> random_linear_model(uint64_t seed, int64_t draws) {
  ElboGradOptions o;
  o.T = 20;
  o.draws = draws;
  torch::manual_seed(seed);
  auto model = make_linear_model(o);
  torch::NoGradGuard ng;
  auto& net = model->network();
  net.A.copy_(0.3 * torch::randn_like(net.A));
  net.B.copy_(0.5 * torch::randn_like(net.B));
  net.c.copy_(0.3 * torch::randn_like(net.c));
  return model;
}

/// Adds h·v (laid out as A, B, c flattened) to the parameters.
void perturb(models::LinearEpsDiffusion& model, const torch::Tensor& v, double h) {
  torch::NoGradGuard ng;
  auto& net = model.network();
  int64_t offset = 0;
  for (torch::Tensor* p : {&net.A, &net.B, &net.c}) {
    const int64_t n = p->numel();
    p->add_(h * v.narrow(0, offset, n).view(p->sizes()));
    offset += n;
  }
}

// ---------------------------------------------------------------------------------------------

TEST(Gradcos, CosineSimilarityAndListParsing) {
  const torch::Tensor a = torch::tensor({1.0, 2.0, -3.0});
  EXPECT_NEAR(gradient_cosine(a, 2.5 * a), 1.0, 1e-15);
  EXPECT_NEAR(gradient_cosine(a, -a), -1.0, 1e-15);
  EXPECT_NEAR(gradient_cosine(a, torch::tensor({3.0, 0.0, 1.0})), 0.0, 1e-15);
  EXPECT_TRUE(std::isnan(gradient_cosine(a, torch::zeros({3}))));
  EXPECT_THROW(gradient_cosine(a, torch::zeros({4})), InvalidArgument);

  EXPECT_EQ(parse_int_list("10,50, 100,500", "--ks"), (std::vector<int64_t>{10, 50, 100, 500}));
  for (const char* bad : {"", "10,,50", "10,x", "0", "-5", "3.5"}) {
    try {
      parse_int_list(bad, "--ks");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("--ks"), std::string::npos) << e.what();
    }
  }
}

// The exact ∇θ log p of each context is the gradient of a function we can evaluate: compare its
// directional derivative with central finite differences of exact_log_density (float64).
TEST(Gradcos, ExactLogDensityGradientsMatchFiniteDifferences) {
  auto model = random_linear_model(5, 10);
  const torch::Tensor x = torch::tensor({{0.3, -0.8}, {-0.5, 0.9}, {0.1, 0.2}}, torch::kDouble);
  torch::manual_seed(6);
  const torch::Tensor y = model->sample(x, 1, models::GraphMode::kNone).select(1, 0);
  const torch::Tensor g = exact_log_density_grads(*model, x, y);  // [3, P]
  const int64_t P =
      model->network().A.numel() + model->network().B.numel() + model->network().c.numel();
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{3, P}));
  torch::manual_seed(7);
  for (int trial = 0; trial < 3; ++trial) {
    const torch::Tensor v = torch::randn({P}, torch::kDouble);
    const double h = 1e-5;
    perturb(*model, v, h);
    torch::Tensor up;
    {
      torch::NoGradGuard ng;
      up = model->exact_log_density(x, y.unsqueeze(1)).select(1, 0);
    }
    perturb(*model, v, -2 * h);
    torch::Tensor down;
    {
      torch::NoGradGuard ng;
      down = model->exact_log_density(x, y.unsqueeze(1)).select(1, 0);
    }
    perturb(*model, v, h);
    const torch::Tensor fd = (up - down) / (2 * h);
    const torch::Tensor an = torch::mv(g, v);
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(an[c].item<double>(), fd[c].item<double>(),
                  1e-6 * std::max(1.0, std::abs(fd[c].item<double>())))
          << "context " << c << " trial " << trial;
    }
  }
}

// ∇θ Ê with fixed (t, ε) draws is the gradient of Ê as a function of θ: reseeding before every
// evaluation replays the draws, so central differences apply. Checks the sign (Ê is an ELBO, not a
// loss), the weights and the A, B, c layout for both weightings and both timestep modes.
TEST(Gradcos, ElboGradientsMatchFiniteDifferencesOfTheSameDraws) {
  auto model = random_linear_model(8, 7);
  const torch::Tensor x = torch::tensor({{0.3, -0.8}, {-0.5, 0.9}}, torch::kDouble);
  const torch::Tensor y = torch::tensor({{0.2, 0.4}, {-1.0, 0.7}}, torch::kDouble);
  const int64_t P =
      model->network().A.numel() + model->network().B.numel() + model->network().c.numel();
  for (auto weighting : {models::ElboWeighting::kUnit, models::ElboWeighting::kLambda}) {
    for (auto kind : {models::TimestepSamplerKind::kUniform, models::TimestepSamplerKind::kSweep}) {
      models::ElboOptions e = model->options().elbo;
      e.weighting = weighting;
      model->set_elbo(e);
      models::TimestepSamplerOptions so;
      so.kind = kind;
      model->timestep_sampler() = models::TimestepSampler(20, so);
      auto elbo_values = [&]() {
        torch::NoGradGuard ng;
        std::vector<double> out;
        for (int64_t c = 0; c < 2; ++c) {
          out.push_back(
              model->log_density(x.narrow(0, c, 1), y.narrow(0, c, 1).unsqueeze(1)).item<double>());
        }
        return out;
      };
      seed_global(11);
      const torch::Tensor g = elbo_grads(*model, x, y);
      seed_global(11);
      const std::vector<double> value = elbo_values();
      EXPECT_LT(value[0], 0.0);  // Ê = −(weighted squared error): an ELBO, not a loss
      torch::manual_seed(12);
      const torch::Tensor v = torch::randn({P}, torch::kDouble);
      const double h = 1e-6;
      perturb(*model, v, h);
      seed_global(11);
      const std::vector<double> up = elbo_values();
      perturb(*model, v, -2 * h);
      seed_global(11);
      const std::vector<double> down = elbo_values();
      perturb(*model, v, h);
      const torch::Tensor an = torch::mv(g, v);
      for (int64_t c = 0; c < 2; ++c) {
        const double fd = (up[c] - down[c]) / (2 * h);
        EXPECT_NEAR(an[c].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd)))
            << models::to_string(weighting) << " " << models::to_string(kind) << " context " << c;
      }
    }
  }
}

// The small, well-fit linear-Gaussian setting of the tests below: T = 50, 500 pairs, 1500 Adam
// steps at lr 2e-2 (denoising loss ≈ 0.05).
ElboGradOptions well_fit_options() {
  ElboGradOptions o;
  o.seed = 1;
  o.T = 50;
  o.pairs = 500;
  o.fit_steps = 1500;
  o.lr = 2e-2;
  return o;
}

// Part (b) on a small, well-fit model (T = 50, 1500 Adam steps at lr 2e-2, denoising loss ≈ 0.05):
// the ELBO gradient points along ∇θ log p. Measured over seeds 1..5 with K = 2000
// (when this test was written): mean cos_all 0.68–0.79 (λ weights), 0.70–0.77 (unit), 0.67–0.80 (λ
// sweep); the bounds leave margin. Per sample, the B and c cosines are equal by construction
// (∂/∂B_t = ∂/∂c_t · xᵀ).
TEST(Gradcos, ElboGradientAlignsWithTheExactScoreOnAWellFitModel) {
  ElboGradOptions o = well_fit_options();
  o.contexts = 20;
  o.draws = 2000;
  o.sweep = true;
  o.show_progress = false;
  const ElboGradResult r = run_elbo_vs_exact(o);
  ASSERT_EQ(r.rows.size(), 4u * 20u);
  ASSERT_EQ(r.timesteps.size(), 4u * 50u);
  std::map<std::string, std::vector<double>> cos_all;
  for (const auto& row : r.rows) {
    EXPECT_TRUE(std::isfinite(row.cos_all)) << row.label;
    EXPECT_TRUE(std::isfinite(row.log_p));
    EXPECT_NEAR(row.cos_B, row.cos_c, 1e-9) << row.label << " " << row.context;
    cos_all[row.label].push_back(row.cos_all);
  }
  EXPECT_LT(r.eval_loss, 0.2);  // the fit worked (ε̂ = 0 scores 1.0)
  EXPECT_GT(mean_of(cos_all["lambda"]), 0.55);
  EXPECT_GT(mean_of(cos_all["unit"]), 0.55);
  EXPECT_GT(mean_of(cos_all["lambda_sweep"]), 0.55);
  // With K = 2000 ≫ T every timestep is visited for every sample.
  for (const auto& t : r.timesteps)
    EXPECT_EQ(t.count, 20) << t.label << " t=" << t.t;
}

// More ELBO draws bring ∇θ Ê (λ weights) closer to ∇θ log p on the same samples. Measured over
// seeds 1..6 with 10 contexts: mean cos 0.41–0.58 at K = 200 and 0.67–0.89 at K = 20000 (seed 1:
// 0.41 and 0.67).
TEST(Gradcos, ElboGradientApproachesTheExactScoreAsKGrows) {
  ElboGradOptions o = well_fit_options();
  o.contexts = 10;
  const LinearGaussianData data = make_linear_gaussian_data(o);
  seed_global(derive_seed(o.seed, "test.init"));
  auto model = make_linear_model(o);
  fit_linear_model(*model, data, o.fit_steps, o.lr);
  const torch::Tensor x = data.x.narrow(0, 0, o.contexts);
  const torch::Tensor y = model->sample(x, 1, models::GraphMode::kNone).select(1, 0);
  const torch::Tensor g_exact = exact_log_density_grads(*model, x, y);
  models::ElboOptions e = model->options().elbo;
  e.weighting = models::ElboWeighting::kLambda;
  std::vector<double> mean_cos;
  for (int64_t K : {200, 20000}) {
    e.draws = K;
    model->set_elbo(e);
    const torch::Tensor g = elbo_grads(*model, x, y);
    std::vector<double> c;
    for (int64_t i = 0; i < o.contexts; ++i)
      c.push_back(gradient_cosine(g[i], g_exact[i]));
    mean_cos.push_back(mean_of(c));
  }
  EXPECT_GT(mean_cos[1], 0.55);
  EXPECT_GT(mean_cos[1], mean_cos[0] + 0.15) << mean_cos[0] << " " << mean_cos[1];
}

// Part (a) on the smoke network, pretrained for 40 epochs and sampled with the DDPM ancestral chain
// over all T = 50 steps (the chain whose ELBO Ê is): on the same samples and decisions, K = 100
// timestep draws give an SF gradient closer to the RP gradient than K = 10, and both agree with RP
// clearly. Measured over seeds 1..5 (when this test was written): mean cos 0.52–0.79 (K = 100),
// 0.40–0.68 (K = 10), 0.46–0.74 (IS, K = 25); mean paired difference K = 100 − K = 10 0.07–0.13 per
// seed. One intra-op thread: on a loaded 2-core machine two threads made this test ten times
// slower.
TEST(Gradcos, ScoreFunctionApproachesReparameterizationAsKGrows) {
  SfRpOptions o;
  o.config = resolve_config(std::string(DIFFDFL_TEST_SOURCE_DIR) + "/configs", "smoke", "synthetic",
                            "dfl-diffusion-rp", 1, "",
                            {"threads=1", "pretrain.epochs=40", "diffusion.sampler=ddpm",
                             "diffusion.sample_steps=0", "train.batch_size=64"});
  o.epochs = 1;
  o.ks = {10, 100};
  o.importance_sampling = true;
  o.is_draws = 25;
  o.max_batches = 3;
  o.paths.data_dir = DIFFDFL_TEST_DATA_DIR;
  o.paths.cache_dir = temp_dir("cache").string();
  o.show_progress = false;
  const SfRpResult r = run_sf_vs_rp(o);
  EXPECT_EQ(r.skipped_batches, 0);
  EXPECT_TRUE(r.is_warm);
  ASSERT_EQ(r.epoch_cost.size(), 1u);
  std::map<std::string, std::vector<double>> cos;
  for (const auto& row : r.rows) {
    EXPECT_TRUE(std::isfinite(row.cosine)) << row.label << " K=" << row.K;
    EXPECT_GE(row.cosine, -1.0 - 1e-12);
    EXPECT_LE(row.cosine, 1.0 + 1e-12);
    cos[row.label + std::to_string(row.K)].push_back(row.cosine);
  }
  for (const char* key : {"sf10", "sf100", "sf_is25", "rp_fresh0", "sf_fresh100"})
    ASSERT_EQ(cos[key].size(), 3u) << key;
  EXPECT_GT(mean_of(cos["sf100"]), mean_of(cos["sf10"]) + 0.01);
  EXPECT_GT(mean_of(cos["sf100"]), 0.35);
  EXPECT_GT(mean_of(cos["sf_is25"]), 0.3);
  // One epoch-sum row per estimator.
  EXPECT_EQ(r.epochs.size(), 5u);
}

TEST(Gradcos, RunWritesEveryFileAndRejectsBadOptions) {
  GradcosOptions o;
  o.part = "both";
  o.sf_rp.config = resolve_config(std::string(DIFFDFL_TEST_SOURCE_DIR) + "/configs", "smoke",
                                  "synthetic", "dfl-diffusion-rp", 2, "", {"threads=1"});
  o.sf_rp.epochs = 1;
  o.sf_rp.ks = {5};
  o.sf_rp.max_batches = 1;
  o.sf_rp.paths.data_dir = DIFFDFL_TEST_DATA_DIR;
  o.sf_rp.paths.cache_dir = temp_dir("cache").string();
  o.sf_rp.show_progress = false;
  o.elbo.T = 10;
  o.elbo.pairs = 50;
  o.elbo.fit_steps = 20;
  o.elbo.contexts = 3;
  o.elbo.draws = 20;
  o.elbo.show_progress = false;
  o.out_dir = (temp_dir("run") / "out").string();
  const GradcosResult r = run_gradcos(o);
  const fs::path dir = o.out_dir;
  for (const char* f : {"gradcos_sf_rp.csv", "gradcos_sf_rp_epochs.csv", "gradcos_elbo.csv",
                        "gradcos_elbo_timesteps.csv", "summary.md", "config.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  EXPECT_EQ(r.summary_path, (dir / "summary.md").string());
  const std::string sf = slurp(dir / "gradcos_sf_rp.csv");
  EXPECT_EQ(sf.rfind("epoch,batch,label,K,cosine,rel_rms,norm_ratio\n", 0), 0u);
  // One batch: sf K=5, sf_is K=25, rp_fresh, sf_fresh K=5.
  EXPECT_EQ(std::count(sf.begin(), sf.end(), '\n'), 5);
  EXPECT_TRUE(fs::exists(dir / "gradcos_sf_rp_epochs.csv"));
  const std::string elbo = slurp(dir / "gradcos_elbo.csv");
  EXPECT_EQ(std::count(elbo.begin(), elbo.end(), '\n'), 1 + 4 * 3);
  const std::string ts = slurp(dir / "gradcos_elbo_timesteps.csv");
  EXPECT_EQ(std::count(ts.begin(), ts.end(), '\n'), 1 + 4 * 10);
  const std::string md = slurp(dir / "summary.md");
  EXPECT_NE(md.find("## (a) Score function vs reparameterization"), std::string::npos);
  EXPECT_NE(md.find("## (b) ELBO-surrogate gradient"), std::string::npos);
  EXPECT_NE(md.find("sf K=5"), std::string::npos);
  const auto config = nlohmann::json::parse(slurp(dir / "config.json"));
  EXPECT_EQ(config["part"], "both");
  EXPECT_EQ(config["elbo"]["T"], 10);
  EXPECT_EQ(config["sf_rp"]["run_config"]["seed"], 2);

  GradcosOptions bad = o;
  bad.part = "c";
  EXPECT_THROW(run_gradcos(bad), InvalidArgument);
  bad = o;
  bad.sf_rp.ks = {};
  bad.sf_rp.importance_sampling = false;
  EXPECT_THROW(run_gradcos(bad), InvalidArgument);
  bad = o;
  bad.elbo.contexts = 51;
  EXPECT_THROW(run_gradcos(bad), InvalidArgument);
  bad = o;
  bad.out_dir = (temp_dir("bad") / "never").string();
  bad.sf_rp.config = resolve_config(std::string(DIFFDFL_TEST_SOURCE_DIR) + "/configs", "smoke",
                                    "synthetic", "dfl-mlp", 2, "", {});
  try {
    run_gradcos(bad);
    ADD_FAILURE() << "accepted an MLP method";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("method"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(bad.out_dir));  // nothing written for a bad configuration
}

// ---------------------------------------------------------------------------------------------
// The command line.

using CliResult = cli_testing::Result;
using cli_testing::run;

TEST(GradcosCli, PartBWritesItsFilesAndPrintsTheSummaryPath) {
  const fs::path out = temp_dir("cli_b") / "out";
  const CliResult r =
      run("experiment gradcos --part b --linear-T 10 --linear-steps 10 "
          "--linear-pairs 40 --contexts 2 --elbo-draws 10 --threads 1 --quiet "
          "--out '" +
          out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, (out / "summary.md").string() + "\n");
  EXPECT_TRUE(fs::exists(out / "gradcos_elbo.csv"));
  EXPECT_FALSE(fs::exists(out / "gradcos_sf_rp.csv"));
  EXPECT_EQ(nlohmann::json::parse(slurp(out / "config.json"))["elbo"]["contexts"], 2);
}

TEST(GradcosCli, BadArgumentsAreNamedErrors) {
  const std::string out = (temp_dir("cli_bad") / "out").string();
  struct Case {
    std::string args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"experiment gradcos --part a --ks 10,x --out '" + out + "'", "--ks"},
      {"experiment gradcos --part a --preset no-such-preset --out '" + out + "'", "no-such-preset"},
      {"experiment gradcos --part b --contexts 0 --out '" + out + "'", "contexts"},
      {"experiment gradcos --part b --linear-T 1 --out '" + out + "'", "T"},
      {"experiment gradcos --part b --set train.lr=1 --out '" + out + "'", "--set"},
      {"experiment gradcos --part c --out '" + out + "'", "--part"},
  };
  for (const Case& c : cases) {
    const CliResult r = run(c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace diffdfl::experiment
