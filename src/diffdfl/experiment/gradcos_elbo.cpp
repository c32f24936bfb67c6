// Part (b) of the gradient-fidelity experiment: the ELBO-surrogate gradient against the exact
// ∇θ log p of a linear-Gaussian diffusion (gradcos.h).
#include <algorithm>
#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/dfl/fitter.h"
#include "diffdfl/dfl/gradients.h"
#include "diffdfl/experiment/gradcos.h"
#include "diffdfl/experiment/gradcos_stats.h"
#include "diffdfl/experiment/progress.h"
#include "diffdfl/models/timestep_sampler.h"

namespace diffdfl::experiment {

using dfl::clear_grads;
using gradcos::flatten;
using gradcos::kNan;
using gradcos::norm_of;
using gradcos::trainable;

void ElboGradOptions::validate() const {
  DIFFDFL_CHECK(x_dim >= 1 && y_dim >= 1, "ElboGradOptions: x_dim and y_dim must be >= 1, got ",
                x_dim, " and ", y_dim);
  DIFFDFL_CHECK(T >= 2, "ElboGradOptions.T must be >= 2, got ", T);
  DIFFDFL_CHECK(pairs >= 1, "ElboGradOptions.pairs must be >= 1, got ", pairs);
  DIFFDFL_CHECK(noise > 0 && std::isfinite(noise), "ElboGradOptions.noise must be > 0, got ",
                noise);
  DIFFDFL_CHECK(fit_steps >= 0, "ElboGradOptions.fit_steps must be >= 0, got ", fit_steps);
  DIFFDFL_CHECK(lr > 0 && std::isfinite(lr), "ElboGradOptions.lr must be > 0, got ", lr);
  DIFFDFL_CHECK(contexts >= 1 && contexts <= pairs,
                "ElboGradOptions.contexts must be in [1, pairs = ", pairs, "], got ", contexts);
  DIFFDFL_CHECK(draws >= 1, "ElboGradOptions.draws must be >= 1, got ", draws);
}

LinearGaussianData make_linear_gaussian_data(const ElboGradOptions& options) {
  options.validate();
  at::Generator gen = make_generator(derive_seed(options.seed, "gradcos.linear.data"));
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  LinearGaussianData d;
  d.W = torch::randn({options.y_dim, options.x_dim}, gen, f64);
  d.x = torch::rand({options.pairs, options.x_dim}, gen, f64) * 2.0 - 1.0;
  const torch::Tensor xi = torch::randn({options.pairs, options.y_dim}, gen, f64);
  d.y = torch::matmul(d.x, d.W.t()) + options.noise * xi;
  return d;
}

std::unique_ptr<models::LinearEpsDiffusion> make_linear_model(const ElboGradOptions& options) {
  options.validate();
  models::DiffusionOptions o;
  o.schedule.steps = options.T;
  const double stretch = 1000.0 / static_cast<double>(options.T);
  o.schedule.beta_start = std::min(1e-4 * stretch, 0.5);
  o.schedule.beta_end = std::min(0.02 * stretch, 0.999);
  o.sampler.kind = models::SamplerKind::kDdpm;
  o.sampler.steps = 0;
  o.elbo.draws = options.draws;
  return std::make_unique<models::LinearEpsDiffusion>(options.x_dim, options.y_dim, o);
}

std::vector<double> fit_linear_model(models::LinearEpsDiffusion& model,
                                     const LinearGaussianData& data, int64_t steps, double lr) {
  DIFFDFL_CHECK(steps >= 0 && lr > 0, "fit_linear_model: steps must be >= 0 and lr > 0");
  const std::vector<torch::Tensor> params = trainable(model);
  auto optimizer = dfl::make_optimizer(params, "adam", lr, 0.0);
  std::vector<double> losses;
  losses.reserve(static_cast<size_t>(steps));
  for (int64_t s = 0; s < steps; ++s) {
    optimizer->zero_grad();
    const torch::Tensor loss = model.fit_loss(data.x, data.y);
    loss.backward();
    optimizer->step();
    losses.push_back(loss.item<double>());
  }
  clear_grads(params);
  return losses;
}

namespace {

std::vector<torch::Tensor> linear_params(models::LinearEpsDiffusion& model) {
  auto& net = model.network();
  return {net.A, net.B, net.c};
}

torch::Tensor grads_of(const torch::Tensor& output, const std::vector<torch::Tensor>& inputs,
                       bool retain) {
  const auto g = torch::autograd::grad({output}, inputs, /*grad_outputs=*/{}, retain,
                                       /*create_graph=*/false, /*allow_unused=*/true);
  std::vector<torch::Tensor> filled;
  for (size_t i = 0; i < inputs.size(); ++i)
    filled.push_back(g[i].defined() ? g[i] : torch::zeros_like(inputs[i]));
  return flatten(filled);
}

void check_pairs(const models::LinearEpsDiffusion& model, const torch::Tensor& x,
                 const torch::Tensor& y) {
  DIFFDFL_CHECK(x.dim() == 2 && x.size(1) == model.x_dim(), "x must be [C, ", model.x_dim(),
                "], got ", x.sizes());
  DIFFDFL_CHECK(y.dim() == 2 && y.size(1) == model.y_dim() && y.size(0) == x.size(0), "y must be [",
                x.size(0), ", ", model.y_dim(), "], got ", y.sizes());
}

}  // namespace

torch::Tensor exact_log_density_grads(models::LinearEpsDiffusion& model, const torch::Tensor& x,
                                      const torch::Tensor& y) {
  check_pairs(model, x, y);
  const std::vector<torch::Tensor> params = linear_params(model);
  const torch::Tensor lp = model.exact_log_density(x, y.unsqueeze(1));  // [C, 1], one forward
  const int64_t C = x.size(0);
  std::vector<torch::Tensor> rows;
  for (int64_t c = 0; c < C; ++c)
    rows.push_back(grads_of(lp[c][0], params, /*retain=*/c + 1 < C));
  return torch::stack(rows);
}

torch::Tensor elbo_grads(models::LinearEpsDiffusion& model, const torch::Tensor& x,
                         const torch::Tensor& y) {
  check_pairs(model, x, y);
  const std::vector<torch::Tensor> params = linear_params(model);
  std::vector<torch::Tensor> rows;
  for (int64_t c = 0; c < x.size(0); ++c) {
    const torch::Tensor e = model.log_density(x.narrow(0, c, 1), y.narrow(0, c, 1).unsqueeze(1));
    rows.push_back(grads_of(e.sum(), params, /*retain=*/false));
  }
  return torch::stack(rows);
}

namespace {

/// The fitted model, its samples y0 (one per context) and their exact log p and ∇θ log p.
struct ElboSetup {
  std::unique_ptr<models::LinearEpsDiffusion> model;
  torch::Tensor xc, y0, log_p, g_exact;
};

ElboSetup fit_and_sample(const ElboGradOptions& options, ElboGradResult& result,
                         Progress& progress) {
  ElboSetup s;
  const LinearGaussianData data = make_linear_gaussian_data(options);
  result.W = data.W;
  seed_global(derive_seed(options.seed, "gradcos.linear.init"));
  s.model = make_linear_model(options);
  progress.message("fitting the linear-ε diffusion (T = " + std::to_string(options.T) + ", " +
                   std::to_string(options.fit_steps) + " full-batch Adam steps)");
  result.fit_losses = fit_linear_model(*s.model, data, options.fit_steps, options.lr);
  {
    torch::NoGradGuard no_grad;
    double sum = 0;
    const int reps = 20;
    for (int r = 0; r < reps; ++r)
      sum += s.model->fit_loss(data.x, data.y).item<double>();
    result.eval_loss = sum / reps;
  }

  // One ancestral (DDPM) sample per context: exactly the law whose density exact_log_density is.
  seed_global(derive_seed(options.seed, "gradcos.linear.sample"));
  s.xc = data.x.narrow(0, 0, options.contexts);
  s.y0 = s.model->sample(s.xc, 1, models::GraphMode::kNone).select(1, 0);
  {
    torch::NoGradGuard no_grad;
    s.log_p = s.model->exact_log_density(s.xc, s.y0.unsqueeze(1)).select(1, 0);
  }
  progress.message("exact ∇θ log p for " + std::to_string(options.contexts) + " samples");
  s.g_exact = exact_log_density_grads(*s.model, s.xc, s.y0);
  return s;
}

/// One ELBO weighting and timestep sampler.
struct Variant {
  std::string label;
  models::ElboWeighting weighting;
  models::TimestepSamplerKind kind;
};

/// Per-timestep sums of the row cosines of the A, B and c blocks, and how many samples visited t.
struct TimestepSums {
  torch::Tensor A, B, c, count;

  explicit TimestepSums(int64_t T)
      : A(torch::zeros({T}, torch::kDouble)),
        B(torch::zeros({T}, torch::kDouble)),
        c(torch::zeros({T}, torch::kDouble)),
        count(torch::zeros({T}, torch::kDouble)) {}
};

/// The comparison of one sample: cosines over all parameters and per block, and the per-timestep
/// row cosines added to `sums`.
ElboGradRow compare_sample(const ElboGradOptions& options, const torch::Tensor& gl,
                           const torch::Tensor& ge, TimestepSums& sums) {
  const int64_t T = options.T, n = options.y_dim, xd = options.x_dim;
  const int64_t nA = T * n * n, nB = T * n * xd, nc = T * n;
  ElboGradRow row;
  row.cos_all = gradient_cosine(gl, ge);
  row.cos_A = gradient_cosine(gl.narrow(0, 0, nA), ge.narrow(0, 0, nA));
  row.cos_B = gradient_cosine(gl.narrow(0, nA, nB), ge.narrow(0, nA, nB));
  row.cos_c = gradient_cosine(gl.narrow(0, nA + nB, nc), ge.narrow(0, nA + nB, nc));
  const double ne = norm_of(ge);
  row.rel_rms = ne > 0 ? norm_of(gl - ge) / ne : kNan;
  row.norm_ratio = ne > 0 ? norm_of(gl) / ne : kNan;
  // Per-timestep row cosines over the rows the ELBO draws visited.
  auto rows_of = [&](const torch::Tensor& g, int64_t offset, int64_t count) {
    return g.narrow(0, offset, count).view({T, count / T});
  };
  auto row_cos = [&](int64_t offset, int64_t count, torch::Tensor& sum) {
    const torch::Tensor a = rows_of(gl, offset, count), b = rows_of(ge, offset, count);
    const torch::Tensor na = a.norm(2, 1), nb = b.norm(2, 1);
    const torch::Tensor valid = (na > 0) & (nb > 0);
    const torch::Tensor cos = (a * b).sum(1) / (na * nb).clamp_min(1e-300);
    sum += torch::where(valid, cos, torch::zeros_like(cos));
    return valid;
  };
  const torch::Tensor valid = row_cos(0, nA, sums.A);
  row_cos(nA, nB, sums.B);
  row_cos(nA + nB, nc, sums.c);
  sums.count += valid.to(torch::kDouble);
  return row;
}

/// Every sample's comparison under one variant, and its per-timestep rows.
void compare_variant(const ElboGradOptions& options, ElboSetup& s, const Variant& v,
                     ElboGradResult& result, Progress& progress) {
  const int64_t T = options.T;
  models::ElboOptions e = s.model->options().elbo;
  e.draws = options.draws;
  e.weighting = v.weighting;
  s.model->set_elbo(e);
  models::TimestepSamplerOptions so = s.model->options().timestep_sampler;
  so.kind = v.kind;
  s.model->timestep_sampler() = models::TimestepSampler(T, so);
  progress.message("ELBO gradients, " + v.label + " (K = " + std::to_string(options.draws) + ")");
  const torch::Tensor g_elbo = elbo_grads(*s.model, s.xc, s.y0);
  TimestepSums sums(T);
  for (int64_t i = 0; i < options.contexts; ++i) {
    ElboGradRow row = compare_sample(options, g_elbo[i], s.g_exact[i], sums);
    row.context = i;
    row.label = v.label;
    row.K = options.draws;
    row.log_p = s.log_p[i].item<double>();
    result.rows.push_back(row);
  }
  for (int64_t t = 0; t < T; ++t) {
    const double k = sums.count[t].item<double>();
    ElboTimestepRow r;
    r.label = v.label;
    r.t = t;
    r.count = static_cast<int64_t>(k);
    r.cos_A = k > 0 ? sums.A[t].item<double>() / k : kNan;
    r.cos_B = k > 0 ? sums.B[t].item<double>() / k : kNan;
    r.cos_c = k > 0 ? sums.c[t].item<double>() / k : kNan;
    result.timesteps.push_back(r);
  }
}

}  // namespace

ElboGradResult run_elbo_vs_exact(const ElboGradOptions& options) {
  options.validate();
  Stopwatch wall;
  ElboGradResult result;
  Progress progress("gradcos elbo", 1, options.show_progress);
  ElboSetup s = fit_and_sample(options, result, progress);
  std::vector<Variant> variants = {
      {"unit", models::ElboWeighting::kUnit, models::TimestepSamplerKind::kUniform},
      {"lambda", models::ElboWeighting::kLambda, models::TimestepSamplerKind::kUniform}};
  if (options.sweep) {
    variants.push_back(
        {"unit_sweep", models::ElboWeighting::kUnit, models::TimestepSamplerKind::kSweep});
    variants.push_back(
        {"lambda_sweep", models::ElboWeighting::kLambda, models::TimestepSamplerKind::kSweep});
  }
  seed_global(derive_seed(options.seed, "gradcos.linear.elbo"));
  for (const Variant& v : variants)
    compare_variant(options, s, v, result, progress);
  result.seconds = wall.seconds();
  return result;
}

}  // namespace diffdfl::experiment
