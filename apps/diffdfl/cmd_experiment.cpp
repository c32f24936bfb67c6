// `diffdfl experiment gradcos [--part a|b|both] [--preset P] [--seed S] [--out DIR] [--epochs E]
//  [--ks 10,50,100,500] [--set key=value]... [--threads N] [--quiet]
//  [--linear-steps N] [--linear-T T] [--contexts C] [--elbo-draws K] ...`:
// the gradient-fidelity experiments (experiment/gradcos.h). Part (a) compares score-function and
// reparameterization gradients during RP DFL training on the synthetic task (the preset's
// diffusion model, pretrained through the shared cache); part (b) compares the ELBO-surrogate
// gradient with the exact ∇θ log p of a linear-Gaussian diffusion. Writes DIR/gradcos_sf_rp.csv,
// DIR/gradcos_sf_rp_epochs.csv, DIR/gradcos_elbo.csv, DIR/gradcos_elbo_timesteps.csv,
// DIR/summary.md and DIR/config.json (the files of the parts run) and prints the summary's path.
//
// Example:
//   diffdfl experiment gradcos --part both --preset cpu --seed 1 --out runs/gradcos
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "diffdfl/core/error.h"
#include "diffdfl/experiment/gradcos.h"
#include "diffdfl/experiment/presets.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

namespace {

struct GradcosCliOptions {
  std::string part = "both";
  std::string preset = "cpu";
  std::string task = "synthetic";
  uint64_t seed = 1;
  std::string out;
  int64_t epochs = 3;
  std::string ks = "10,50,100,500";
  int64_t is_draws = 25;
  double is_uniform_mix = 1e-4;
  bool no_is = false;
  bool no_is_warmup = false;
  bool no_baselines = false;
  int64_t max_batches = 0;
  std::vector<std::string> sets;
  int64_t threads = -1;
  bool quiet = false;
  // Part (b).
  int64_t linear_steps = 1000;
  int64_t linear_T = 1000;
  double linear_lr = 1e-3;
  int64_t linear_pairs = 2000;
  int64_t contexts = 100;
  int64_t elbo_draws = 1000;
  bool no_sweep = false;
  std::string data_dir;
  std::string config_dir;
  std::string cache_dir;
};

int run_gradcos_command(const GradcosCliOptions& o) {
  experiment::GradcosOptions g;
  g.part = o.part;
  g.out_dir =
      !o.out.empty() ? o.out : "runs/gradcos/" + o.preset + "-seed" + std::to_string(o.seed);
  if (o.threads > 0) torch::set_num_threads(static_cast<int>(o.threads));
  if (o.part != "b") {
    g.sf_rp.ks = experiment::parse_int_list(o.ks, "--ks");  // before the (slower) presets
    std::vector<std::string> sets = o.sets;
    if (o.threads >= 0) sets.push_back("threads=" + std::to_string(o.threads));
    g.sf_rp.config = experiment::resolve_config(resolve_config_dir(o.config_dir), o.preset, o.task,
                                                "dfl-diffusion-rp", o.seed, "", sets);
    g.sf_rp.epochs = o.epochs;
    g.sf_rp.importance_sampling = !o.no_is;
    g.sf_rp.is_draws = o.is_draws;
    g.sf_rp.is_uniform_mix = o.is_uniform_mix;
    g.sf_rp.is_warmup = !o.no_is_warmup;
    g.sf_rp.noise_baselines = !o.no_baselines;
    g.sf_rp.max_batches = o.max_batches;
    g.sf_rp.paths.data_dir = resolve_data_dir(o.data_dir);
    g.sf_rp.paths.cache_dir = resolve_cache_dir(o.cache_dir);
    g.sf_rp.show_progress = !o.quiet;
  } else if (!o.sets.empty()) {
    fail<InvalidArgument>("--set configures part (a); it has no effect with --part b");
  }
  g.elbo.seed = o.seed;
  g.elbo.T = o.linear_T;
  g.elbo.fit_steps = o.linear_steps;
  g.elbo.lr = o.linear_lr;
  g.elbo.pairs = o.linear_pairs;
  g.elbo.contexts = o.contexts;
  g.elbo.draws = o.elbo_draws;
  g.elbo.sweep = !o.no_sweep;
  g.elbo.show_progress = !o.quiet;
  const experiment::GradcosResult r = experiment::run_gradcos(g);
  std::cout << r.summary_path << "\n";
  return 0;
}

void setup_gradcos(CLI::App& experiment) {
  auto opts = std::make_shared<GradcosCliOptions>();
  CLI::App* cmd = experiment.add_subcommand(
      "gradcos",
      "Gradient fidelity: SF vs RP gradients on a DFL task (a); ELBO vs exact score gradients on "
      "a linear-Gaussian diffusion (b)");
  cmd->add_option("--part", opts->part, "a, b or both")
      ->check(CLI::IsMember({"a", "b", "both"}))
      ->capture_default_str();
  cmd->add_option("--preset", opts->preset, "(a) preset for the task's diffusion model")
      ->capture_default_str();
  cmd->add_option("--task", opts->task, "(a) the DFL task")
      ->check(CLI::IsMember(tasks::task_names()))
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "seed of both parts")
      ->check(seed_value())
      ->capture_default_str();
  cmd->add_option("--out", opts->out, "output directory (default runs/gradcos/<preset>-seed<S>)")
      ->check(non_empty());
  cmd->add_option("--epochs", opts->epochs, "(a) RP training epochs recorded")
      ->capture_default_str();
  cmd->add_option("--ks", opts->ks, "(a) uniform-timestep ELBO draws per sample, comma-separated")
      ->capture_default_str();
  cmd->add_option("--is-draws", opts->is_draws, "(a) draws of the importance-sampled estimator")
      ->capture_default_str();
  cmd->add_option("--is-uniform-mix", opts->is_uniform_mix,
                  "(a) uniform mixing weight u of the importance sampler")
      ->capture_default_str();
  cmd->add_flag("--no-is", opts->no_is, "(a) skip the importance-sampled estimator");
  cmd->add_flag("--no-is-warmup", opts->no_is_warmup,
                "(a) start the importance sampler cold, as the reference");
  cmd->add_flag("--no-baselines", opts->no_baselines,
                "(a) skip the noise baselines (each estimator against itself on fresh samples)");
  cmd->add_option("--max-batches", opts->max_batches, "(a) batches per epoch (0 = all)")
      ->capture_default_str();
  cmd->add_option("--set", opts->sets, "(a) override one configuration key, e.g. train.lr=1e-4");
  cmd->add_option("--threads", opts->threads, "intra-op threads (default: all cores)")
      ->check(thread_count());
  cmd->add_flag("--quiet", opts->quiet, "no progress output");
  cmd->add_option("--linear-steps", opts->linear_steps, "(b) full-batch Adam steps of the fit")
      ->capture_default_str();
  cmd->add_option("--linear-T", opts->linear_T, "(b) diffusion steps T")->capture_default_str();
  cmd->add_option("--linear-lr", opts->linear_lr, "(b) Adam learning rate")->capture_default_str();
  cmd->add_option("--linear-pairs", opts->linear_pairs, "(b) training pairs")
      ->capture_default_str();
  cmd->add_option("--contexts", opts->contexts, "(b) contexts, one ancestral sample each")
      ->capture_default_str();
  cmd->add_option("--elbo-draws", opts->elbo_draws, "(b) ELBO draws K per sample")
      ->capture_default_str();
  cmd->add_flag("--no-sweep", opts->no_sweep, "(b) skip the stratified-timestep rows");
  cmd->add_option("--data-dir", opts->data_dir, "data folder (default: the source tree's data/)");
  cmd->add_option("--config-dir", opts->config_dir,
                  "presets folder (default: the source tree's configs/)");
  cmd->add_option("--cache-dir", opts->cache_dir, "pretrained-model cache (default runs/.cache)");
  cmd->callback([opts]() {
    const int code = run_gradcos_command(*opts);
    if (code != 0) throw ExitCode{code};
  });
}

}  // namespace

void setup_experiment_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("experiment", "Paper experiments (gradcos)");
  cmd->require_subcommand(1);
  setup_gradcos(*cmd);
}

}  // namespace diffdfl::cli
