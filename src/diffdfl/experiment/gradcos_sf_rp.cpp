// Part (a) of the gradient-fidelity experiment: score function vs reparameterization on the
// samples of one draw per batch (gradcos.h). Every gradient is formed by dfl/estimators.h, the
// code DflTrainer trains with; this file only arranges the comparisons.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <utility>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/dfl/batches.h"
#include "diffdfl/dfl/estimators.h"
#include "diffdfl/dfl/fitter.h"
#include "diffdfl/dfl/gradients.h"
#include "diffdfl/experiment/gradcos.h"
#include "diffdfl/experiment/gradcos_stats.h"
#include "diffdfl/experiment/pretrain_cache.h"
#include "diffdfl/experiment/progress.h"
#include "diffdfl/experiment/session.h"
#include "diffdfl/models/diffusion.h"
#include "diffdfl/models/timestep_sampler.h"

namespace diffdfl::experiment {

using dfl::clear_grads;
using dfl::global_norm;
using dfl::take_grads;
using gradcos::flatten;
using gradcos::kNan;
using gradcos::norm_of;
using gradcos::stats_of;

void SfRpOptions::validate() const {
  DIFFDFL_CHECK(config.is_object(), "SfRpOptions.config must be a resolved configuration object");
  DIFFDFL_CHECK(epochs >= 1, "SfRpOptions.epochs must be >= 1, got ", epochs);
  DIFFDFL_CHECK(!ks.empty() || importance_sampling,
                "SfRpOptions: nothing to compare (ks is empty and importance_sampling is off)");
  for (int64_t K : ks)
    DIFFDFL_CHECK(K >= 1, "SfRpOptions.ks: every K must be >= 1, got ", K);
  DIFFDFL_CHECK(is_draws >= 1, "SfRpOptions.is_draws must be >= 1, got ", is_draws);
  DIFFDFL_CHECK(is_uniform_mix >= 0 && is_uniform_mix <= 1,
                "SfRpOptions.is_uniform_mix must be in [0, 1], got ", is_uniform_mix);
  DIFFDFL_CHECK(max_batches >= 0, "SfRpOptions.max_batches must be >= 0, got ", max_batches);
}

RunConfig sf_rp_config(const nlohmann::json& config) {
  RunConfig cfg = RunConfig::from_json(config, "gradcos configuration");
  if (dfl::predictor_kind(cfg.method) != dfl::PredictorKind::kDiffusion) {
    fail<ConfigError>("method: the score-function vs reparameterization comparison needs the ",
                      "diffusion predictor (dfl-diffusion-rp or dfl-diffusion-sf), got '",
                      dfl::to_string(cfg.method), "'");
  }
  return cfg;
}

namespace {

/// Part (a)'s model, optimizer and timestep samplers, and the ELBO settings it switches between.
struct SfRpRun {
  SfRpRun(const SfRpOptions& options, Session session) : o(options), s(std::move(session)) {}

  const SfRpOptions& o;
  Session s;
  models::DiffusionPredictor* diff = nullptr;
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  int64_t M = 0;
  models::ElboOptions elbo0;
  std::optional<models::TimestepSampler> sampler0, uniform, is;
  int64_t K_max = 0;  ///< the largest K (its mean cosine is shown in the progress line)
  int64_t K_ref = 0;  ///< the K of the SF noise baseline

  /// The model's ELBO with `sampler` and K draws, until restore_elbo().
  void use_elbo(const models::TimestepSampler& sampler, int64_t K) {
    diff->timestep_sampler() = sampler;
    models::ElboOptions e = elbo0;
    e.draws = K;
    diff->set_elbo(e);
  }
  void restore_elbo() {
    diff->timestep_sampler() = *sampler0;
    diff->set_elbo(elbo0);
  }
};

/// The session (with the diffusion model pretrained through the cache) and the run's settings.
void open_sf_rp(SfRpRun& r, SfRpResult& result) {
  const RunConfig& cfg = r.s.cfg;
  r.diff = dynamic_cast<models::DiffusionPredictor*>(r.s.predictor.get());
  DIFFDFL_CHECK(r.diff != nullptr, "gradcos: the predictor of ", dfl::to_string(cfg.method),
                " is not a diffusion model");
  if (cfg.pretrain.epochs > 0) {
    const PretrainInfo info =
        pretrain_with_cache(*r.s.predictor, cfg, {r.s.ds.train.x, r.s.ds.train.y},
                            {r.s.ds.hold.x, r.s.ds.hold.y}, r.o.paths.cache_dir, r.o.show_progress);
    result.pretrain = info.to_json();
  }
  r.params = gradcos::trainable(*r.s.predictor);
  result.parameters = 0;
  for (const auto& p : r.params)
    result.parameters += p.numel();
  r.optimizer = dfl::make_optimizer(r.params, "adam", cfg.train.lr, 0.0);
  r.M = cfg.train.samples;
  const int64_t T = r.diff->schedule().steps();
  r.elbo0 = r.diff->options().elbo;
  r.sampler0 = r.diff->timestep_sampler();
  models::TimestepSamplerOptions uniform_opts = r.diff->options().timestep_sampler;
  uniform_opts.kind = models::TimestepSamplerKind::kUniform;
  r.uniform.emplace(T, uniform_opts);
  models::TimestepSamplerOptions is_opts = r.diff->options().timestep_sampler;
  is_opts.kind = models::TimestepSamplerKind::kSecondMoment;
  is_opts.uniform_mix = r.o.is_uniform_mix;
  r.is.emplace(T, is_opts);
  const std::vector<int64_t>& ks = r.o.ks;
  r.K_max = ks.empty() ? 0 : *std::max_element(ks.begin(), ks.end());
  // The K of the SF noise baseline: the largest K ≤ 100 (else the smallest), to keep it cheap.
  for (int64_t K : ks)
    if (K <= 100 && K > r.K_ref) r.K_ref = K;
  if (r.K_ref == 0 && !ks.empty()) r.K_ref = *std::min_element(ks.begin(), ks.end());
}

/// Fills the importance sampler's histories with no-grad ELBO evaluations of model samples.
void warm_up_importance_sampler(SfRpRun& r) {
  const RunConfig& cfg = r.s.cfg;
  r.use_elbo(*r.is, r.o.is_draws);
  const auto batches = dfl::epoch_batches(r.s.ds.train.x.size(0), cfg.train.batch_size, cfg.seed,
                                          "gradcos.warmup", 0);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < 1000 && !r.diff->timestep_sampler().warmed_up(); ++i) {
    const torch::Tensor& idx = batches[i % batches.size()];
    const torch::Tensor x = r.s.ds.train.x.index_select(0, idx);
    const torch::Tensor s = r.s.predictor->sample(x, r.M, models::GraphMode::kNone);
    if (!torch::isfinite(s).all().item<bool>()) continue;
    r.diff->log_density(x, s);
  }
  *r.is = r.diff->timestep_sampler();
  r.restore_elbo();
}

/// One draw of a batch: the RP gradient of the mean realised cost, and what SF needs of it.
struct RpDraw {
  std::vector<torch::Tensor> grads;
  torch::Tensor samples;  // detached
  opt::Solution solution;
  double cost = kNan;
  bool ok = false;
};

/// The RP gradient on fresh samples with a graph, into fresh gradients (left cleared).
RpDraw rp_gradient(SfRpRun& r, const torch::Tensor& x, const torch::Tensor& y) {
  RpDraw d;
  clear_grads(r.params);
  const torch::Tensor samples = dfl::draw_samples(
      *r.s.predictor, x, r.M, dfl::Estimator::kReparameterization, r.s.cfg.train.rp_graph);
  if (!dfl::all_finite(samples)) return d;
  const torch::Tensor loss = dfl::rp_cost(r.s.problem, samples, y, &d.solution);
  loss.backward();
  d.cost = loss.item<double>();
  d.grads = take_grads(r.params);
  d.samples = samples.detach();
  d.ok = std::isfinite(d.cost) && std::isfinite(global_norm(d.grads));
  clear_grads(r.params);
  return d;
}

/// The score-function weights of a draw, at its decisions.
torch::Tensor weights_of(SfRpRun& r, const RpDraw& d, const torch::Tensor& y) {
  return dfl::sf_weights(r.s.problem, d.samples, d.solution, y).weights;
}

/// The SF gradient on a draw's detached samples (the trainer's scale), flattened.
torch::Tensor sf_gradient(SfRpRun& r, const torch::Tensor& x, const RpDraw& d,
                          const torch::Tensor& w, const models::TimestepSampler& sampler,
                          int64_t K) {
  r.use_elbo(sampler, K);
  clear_grads(r.params);
  dfl::sf_backward(*r.s.predictor, r.s.problem, x, d.samples, w, r.M);
  torch::Tensor g = flatten(take_grads(r.params));
  clear_grads(r.params);
  return g;
}

/// One epoch's comparisons: rows, and per (label, K) the gradients summed over its batches.
struct EpochComparisons {
  EpochComparisons(SfRpResult& r, int64_t e) : result(r), epoch(e) {}

  SfRpResult& result;
  int64_t epoch = 0;
  int64_t batch = 0;
  std::vector<std::pair<std::string, int64_t>> keys;  // first-seen order
  std::map<std::pair<std::string, int64_t>, std::pair<torch::Tensor, torch::Tensor>> sums;
  std::map<std::pair<std::string, int64_t>, int64_t> counts;
  std::vector<double> cos_kmax;

  /// Records cos(g, ref) etc. for the current batch; returns the cosine.
  double record(const std::string& label, int64_t K, const torch::Tensor& g,
                const torch::Tensor& ref) {
    const double n_ref = norm_of(ref);
    SfRpRow row;
    row.epoch = epoch;
    row.batch = batch;
    row.label = label;
    row.K = K;
    row.cosine = gradient_cosine(g, ref);
    row.rel_rms = n_ref > 0 ? norm_of(g - ref) / n_ref : kNan;
    row.norm_ratio = n_ref > 0 ? norm_of(g) / n_ref : kNan;
    result.rows.push_back(row);
    const std::pair<std::string, int64_t> key{label, K};
    auto it = sums.find(key);
    if (it == sums.end()) {
      keys.push_back(key);
      sums.emplace(key, std::make_pair(g.clone(), ref.clone()));
    } else {
      it->second.first += g;
      it->second.second += ref;
    }
    ++counts[key];
    return row.cosine;
  }

  /// The epoch's rows of cosines of sums.
  void finish() {
    for (const auto& key : keys) {
      SfRpEpochRow er;
      er.epoch = epoch;
      er.label = key.first;
      er.K = key.second;
      er.batches = counts[key];
      er.cosine_of_sums = gradient_cosine(sums[key].first, sums[key].second);
      result.epochs.push_back(er);
    }
  }
};

/// Every comparison on one batch's draw `rp` (the ELBO settings are restored afterwards).
void compare_on_batch(SfRpRun& r, EpochComparisons& c, const torch::Tensor& x,
                      const torch::Tensor& y, const RpDraw& rp) {
  const torch::Tensor g_rp = flatten(rp.grads);
  // SF on the detached copy of the same samples, with the same decisions (DflTrainer's form).
  const torch::Tensor w = weights_of(r, rp, y);
  torch::Tensor g_sf_ref;
  for (int64_t K : r.o.ks) {
    const torch::Tensor g = sf_gradient(r, x, rp, w, *r.uniform, K);
    const double cosine = c.record("sf", K, g, g_rp);
    if (K == r.K_max) c.cos_kmax.push_back(cosine);
    if (K == r.K_ref) g_sf_ref = g;
  }
  if (r.o.importance_sampling) {
    c.record("sf_is", r.o.is_draws, sf_gradient(r, x, rp, w, *r.is, r.o.is_draws), g_rp);
    *r.is = r.diff->timestep_sampler();
  }
  // Noise baselines: each estimator against itself on fresh samples of the same batch.
  if (r.o.noise_baselines) {
    const RpDraw fresh = rp_gradient(r, x, y);
    if (fresh.ok) {
      c.record("rp_fresh", 0, flatten(fresh.grads), g_rp);
      if (g_sf_ref.defined()) {
        const torch::Tensor g2 =
            sf_gradient(r, x, fresh, weights_of(r, fresh, y), *r.uniform, r.K_ref);
        c.record("sf_fresh", r.K_ref, g2, g_sf_ref);
      }
    }
  }
  r.restore_elbo();
  clear_grads(r.params);
}

/// One recorded epoch of RP training (DflTrainer's mixed step with the RP gradient).
void run_sf_rp_epoch(SfRpRun& r, SfRpResult& result, Progress& progress, int64_t epoch) {
  const RunConfig& cfg = r.s.cfg;
  auto batches =
      dfl::epoch_batches(r.s.ds.train.x.size(0), cfg.train.batch_size, cfg.seed, "dfl", epoch);
  if (r.o.max_batches > 0 && static_cast<int64_t>(batches.size()) > r.o.max_batches)
    batches.resize(static_cast<size_t>(r.o.max_batches));
  const dfl::StepOptions step{cfg.train.mix, cfg.train.grad_clip, cfg.shuffle_targets, cfg.seed};
  const std::string cos_label = "cos K=" + std::to_string(r.K_max);
  EpochComparisons c(result, epoch);
  double cost_sum = 0;
  int64_t counted = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    c.batch = static_cast<int64_t>(b);
    const torch::Tensor x = r.s.ds.train.x.index_select(0, batches[b]);
    const torch::Tensor y = r.s.ds.train.y.index_select(0, batches[b]);
    // RP: the samples drawn once, with a graph; z*, the duals and ∂ℓ/∂z from this one solve.
    const RpDraw rp = rp_gradient(r, x, y);
    if (!rp.ok) {
      ++result.skipped_batches;
      continue;
    }
    compare_on_batch(r, c, x, y, rp);
    const dfl::StepOutcome s = dfl::mixed_step(*r.optimizer, r.params, rp.grads, rp.cost,
                                               r.s.predictor.get(), x, y, step, epoch, c.batch);
    clear_grads(r.params);
    if (s.skipped) {
      ++result.skipped_batches;
      continue;
    }
    cost_sum += rp.cost;
    ++counted;
    progress.batch(epoch, c.batch + 1, static_cast<int64_t>(batches.size()),
                   {{"cost", cost_sum / static_cast<double>(counted)},
                    {cos_label, stats_of(c.cos_kmax).mean}});
  }
  c.finish();
  result.epoch_cost.push_back(counted > 0 ? cost_sum / static_cast<double>(counted) : kNan);
  progress.epoch_done(epoch,
                      {{"cost", result.epoch_cost.back()}, {cos_label, stats_of(c.cos_kmax).mean}});
}

}  // namespace

SfRpResult run_sf_vs_rp(const SfRpOptions& options) {
  options.validate();
  Stopwatch wall;
  SfRpResult result;
  const RunConfig cfg = sf_rp_config(options.config);  // the method check comes first
  SfRpRun r(options, open_session(options.config, "gradcos configuration", options.paths));
  result.run_config = cfg.to_json();
  open_sf_rp(r, result);

  seed_global(derive_seed(cfg.seed, "gradcos.sf_rp"));
  r.s.predictor->train(true);
  if (options.importance_sampling && options.is_warmup) warm_up_importance_sampler(r);
  result.is_warm = !options.importance_sampling || r.is->warmed_up();

  Progress progress("gradcos sf-vs-rp", options.epochs, options.show_progress);
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch)
    run_sf_rp_epoch(r, result, progress, epoch);
  result.seconds = wall.seconds();
  return result;
}

}  // namespace diffdfl::experiment
