#include "diffdfl/dfl/run_config.h"

#include <functional>

#include "diffdfl/core/config.h"
#include "diffdfl/core/error.h"

namespace diffdfl::dfl {

namespace {

using nlohmann::json;

/// Reads a string key and converts it with `parse`, turning InvalidArgument into a ConfigError that
/// names the key.
template <typename T>
void get_enum(ConfigReader& r, const std::string& key, T& out,
              const std::function<T(const std::string&)>& parse,
              const std::function<std::string(T)>& print) {
  std::string s = print(out);
  r.get(key, s);
  try {
    out = parse(s);
  } catch (const InvalidArgument& e) {
    throw ConfigError(r.path(key) + ": " + e.what());
  }
}

/// Runs an options struct's validate() and reports its message as a ConfigError of `section`.
template <typename T>
void validate_section(const T& options, const std::string& section) {
  try {
    options.validate();
  } catch (const InvalidArgument& e) {
    throw ConfigError(section + ": " + e.what());
  }
}

void read_diffusion(ConfigReader r, models::DiffusionOptions& o) {
  r.get("T", o.schedule.steps);
  get_enum<models::BetaSchedule>(r, "schedule", o.schedule.kind, models::parse_beta_schedule,
                                 [](models::BetaSchedule k) { return models::to_string(k); });
  r.get("beta_start", o.schedule.beta_start);
  r.get("beta_end", o.schedule.beta_end);
  r.get("width", o.network.width);
  r.get("depth", o.network.depth);
  r.get("time_embed_dim", o.network.time_embed_dim);
  r.get("time_hidden", o.network.time_hidden);
  get_enum<models::InputNorm>(r, "input_norm", o.network.input_norm, models::parse_input_norm,
                              [](models::InputNorm n) { return models::to_string(n); });
  get_enum<models::SamplerKind>(r, "sampler", o.sampler.kind, models::parse_sampler_kind,
                                [](models::SamplerKind k) { return models::to_string(k); });
  r.get("eta", o.sampler.eta);
  r.get("clip_x0", o.sampler.clip_x0);
  r.get("clip_x0_range", o.sampler.clip_x0_range);
  r.get("sample_steps", o.sampler.steps);
  r.get("checkpoint_segments", o.sampler.checkpoint_segments);
  r.get("elbo_draws", o.elbo.draws);
  get_enum<models::ElboWeighting>(r, "elbo_weighting", o.elbo.weighting,
                                  models::parse_elbo_weighting,
                                  [](models::ElboWeighting w) { return models::to_string(w); });
  r.get("elbo_chunk_rows", o.elbo.chunk_rows);
  get_enum<models::TimestepSamplerKind>(
      r, "timestep_sampler", o.timestep_sampler.kind, models::parse_timestep_sampler,
      [](models::TimestepSamplerKind k) { return models::to_string(k); });
  r.get("uniform_mix", o.timestep_sampler.uniform_mix);
  r.get("is_history", o.timestep_sampler.history);
  r.finish();
  validate_section(o, "diffusion");
}

json diffusion_json(const models::DiffusionOptions& o) {
  return {{"T", o.schedule.steps},
          {"schedule", models::to_string(o.schedule.kind)},
          {"beta_start", o.schedule.beta_start},
          {"beta_end", o.schedule.beta_end},
          {"width", o.network.width},
          {"depth", o.network.depth},
          {"time_embed_dim", o.network.time_embed_dim},
          {"time_hidden", o.network.time_hidden},
          {"input_norm", models::to_string(o.network.input_norm)},
          {"sampler", models::to_string(o.sampler.kind)},
          {"eta", o.sampler.eta},
          {"clip_x0", o.sampler.clip_x0},
          {"clip_x0_range", o.sampler.clip_x0_range},
          {"sample_steps", o.sampler.steps},
          {"checkpoint_segments", o.sampler.checkpoint_segments},
          {"elbo_draws", o.elbo.draws},
          {"elbo_weighting", models::to_string(o.elbo.weighting)},
          {"elbo_chunk_rows", o.elbo.chunk_rows},
          {"timestep_sampler", models::to_string(o.timestep_sampler.kind)},
          {"uniform_mix", o.timestep_sampler.uniform_mix},
          {"is_history", o.timestep_sampler.history}};
}

}  // namespace

RunConfig RunConfig::from_json(const json& j, const std::string& source) {
  RunConfig c;
  ConfigReader r(j, source);
  r.get("task", c.task);
  get_enum<Method>(r, "method", c.method, parse_method, [](Method m) { return to_string(m); });
  r.get("preset", c.preset);
  r.get("seed", c.seed);
  r.get("device", c.device);
  r.get("threads", c.threads);
  {
    ConfigReader d = r.child("data");
    d.get("n_assets", c.n_assets);
    d.get("verified_only", c.verified_only);
    d.finish();
  }
  if (r.has("program")) {
    r.child("program");  // marks the key as read; its content is checked by the tasks layer
    c.program = j.at("program");
  }
  if (r.has("solver")) {
    r.child("solver");
    c.solver = j.at("solver");
  }
  r.get("target_scaling", c.target_scaling);
  r.get("shuffle_targets", c.shuffle_targets);
  read_diffusion(r.child("diffusion"), c.diffusion);
  {
    ConfigReader g = r.child("gaussian");
    g.get("width", c.gaussian.width);
    g.get("hidden_layers", c.gaussian.hidden_layers);
    g.finish();
    validate_section(c.gaussian, "gaussian");
  }
  {
    ConfigReader m = r.child("mlp");
    m.get("width", c.mlp.width);
    m.get("hidden_layers", c.mlp.hidden_layers);
    m.get("bias_only", c.mlp.bias_only);
    m.finish();
    validate_section(c.mlp, "mlp");
  }
  {
    ConfigReader p = r.child("policy");
    p.get("width", c.policy.width);
    p.get("hidden_layers", c.policy.hidden_layers);
    p.get("batch_norm", c.policy.batch_norm);
    p.finish();
  }
  {
    ConfigReader p = r.child("pretrain");
    p.get("epochs", c.pretrain.epochs);
    p.get("batch_size", c.pretrain.batch_size);
    p.get("lr", c.pretrain.lr);
    p.get("optimizer", c.pretrain.optimizer);
    p.get("weight_decay", c.pretrain.weight_decay);
    p.get("lr_schedule", c.pretrain.lr_schedule);
    p.get("ema", c.pretrain.ema);
    p.get("select", c.pretrain.select);
    p.get("eval_every", c.pretrain.eval_every);
    p.get("patience", c.pretrain.patience);
    p.get("hold_draws", c.pretrain.hold_draws);
    p.finish();
  }
  {
    ConfigReader t = r.child("train");
    t.get("epochs", c.train.epochs);
    t.get("batch_size", c.train.batch_size);
    t.get("lr", c.train.lr);
    t.get("samples", c.train.samples);
    t.get("patience", c.train.patience);
    t.get("min_delta", c.train.min_delta);
    t.get("max_skipped_steps", c.train.max_skipped_steps);
    t.get("grad_clip", c.train.grad_clip);
    t.get("dfl_weight", c.train.mix.dfl_weight);
    t.get("fit_weight", c.train.mix.fit_weight);
    t.get("normalize", c.train.mix.normalize);
    t.get("fit_draws", c.train.mix.fit_draws);
    get_enum<models::GraphMode>(t, "rp_graph", c.train.rp_graph, models::parse_graph_mode,
                                [](models::GraphMode g) { return models::to_string(g); });
    t.finish();
  }
  {
    ConfigReader e = r.child("eval");
    e.get("samples", c.eval.samples);
    e.get("batch_size", c.eval.batch_size);
    e.get("sample_steps", c.eval.sample_steps);
    e.get("repeats", c.eval.repeats);
    e.get("epoch_repeats", c.eval.epoch_repeats);
    e.finish();
  }
  r.finish();
  c.validate();
  return c;
}

void RunConfig::validate() const {
  auto check = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) fail<ConfigError>(key, ": ", what);
  };
  check(task == "synthetic" || task == "synthetic-contextual" || task == "power" ||
            task == "portfolio",
        "task",
        "unknown task '" + task + "'; use synthetic, synthetic-contextual, power or portfolio");
  check(threads >= 0 && threads <= 1024, "threads",
        "must be in [0, 1024] (0 = LibTorch's default)");
  // y is independent of x only on synthetic: permuting y anywhere else destroys the signal.
  check(!shuffle_targets || task == "synthetic", "shuffle_targets",
        "is valid only on task synthetic (where y is independent of x); on " + task +
            " it would pair every x with another context's y");
  check(n_assets >= 2, "data.n_assets", "must be >= 2");
  check(target_scaling == "standardize" || target_scaling == "none", "target_scaling",
        "must be \"standardize\" or \"none\", got \"" + target_scaling + "\"");
  check(pretrain.epochs >= 0, "pretrain.epochs", "must be >= 0");
  check(pretrain.batch_size >= 0, "pretrain.batch_size", "must be >= 0 (0 = full batch)");
  // Learning rates and weights become float32 scalars in the optimiser and the gradient mixing:
  // they must stay far inside float32's range (an Adam step of lr 1e300 is not a number).
  check(pretrain.lr > 0 && pretrain.lr <= kMaxLearningRate, "pretrain.lr", "must be in (0, 10]");
  check(pretrain.optimizer == "adam" || pretrain.optimizer == "adamw", "pretrain.optimizer",
        "must be \"adam\" or \"adamw\"");
  check(pretrain.weight_decay >= 0 && pretrain.weight_decay <= 1e3, "pretrain.weight_decay",
        "must be in [0, 1000]");
  check(pretrain.lr_schedule == "constant" || pretrain.lr_schedule == "cosine",
        "pretrain.lr_schedule", "must be \"constant\" or \"cosine\"");
  check(pretrain.ema >= 0 && pretrain.ema < 1, "pretrain.ema", "must be in [0, 1) (0 = off)");
  check(pretrain.select == "last" || pretrain.select == "hold", "pretrain.select",
        "must be \"last\" or \"hold\"");
  check(pretrain.eval_every >= 1, "pretrain.eval_every", "must be >= 1");
  check(pretrain.patience >= 0, "pretrain.patience", "must be >= 0 (0 = never stop early)");
  check(pretrain.hold_draws >= 1, "pretrain.hold_draws", "must be >= 1");
  check(train.epochs >= 0, "train.epochs", "must be >= 0");
  check(train.batch_size >= 0, "train.batch_size", "must be >= 0 (0 = full batch)");
  check(train.lr > 0 && train.lr <= kMaxLearningRate, "train.lr", "must be in (0, 10]");
  check(train.samples >= 1 && train.samples <= kMaxSamples, "train.samples",
        "must be in [1, " + std::to_string(kMaxSamples) + "]");
  check(train.patience >= 0, "train.patience", "must be >= 0 (0 = never stop early)");
  check(train.min_delta >= 0, "train.min_delta", "must be >= 0");
  check(train.max_skipped_steps >= 0, "train.max_skipped_steps", "must be >= 0");
  check(train.grad_clip >= 0, "train.grad_clip", "must be >= 0");
  check(train.mix.dfl_weight >= 0 && train.mix.fit_weight >= 0 && train.mix.dfl_weight <= 1e6 &&
            train.mix.fit_weight <= 1e6,
        "train.dfl_weight/fit_weight", "must be in [0, 1e6]");
  check(train.mix.dfl_weight + train.mix.fit_weight > 0, "train.dfl_weight",
        "and fit_weight are both 0");
  check(
      train.mix.normalize == "dfl" || train.mix.normalize == "fit" || train.mix.normalize == "none",
      "train.normalize",
      "must be \"dfl\", \"fit\" or \"none\", got \"" + train.mix.normalize + "\"");
  check(train.mix.fit_draws >= 1 && train.mix.fit_draws <= 1000, "train.fit_draws",
        "must be in [1, 1000]");
  check(eval.samples >= 1 && eval.samples <= kMaxSamples, "eval.samples",
        "must be in [1, " + std::to_string(kMaxSamples) + "]");
  check(eval.batch_size >= 1, "eval.batch_size", "must be >= 1");
  check(eval.repeats >= 1 && eval.repeats <= 1000, "eval.repeats", "must be in [1, 1000]");
  check(eval.epoch_repeats >= 1 && eval.epoch_repeats <= 1000, "eval.epoch_repeats",
        "must be in [1, 1000]");
  // Batch norm normalises over the batch: a batch of one row has no variance to normalise by.
  check(!(method == Method::kPolicy && policy.batch_norm && train.batch_size == 1),
        "train.batch_size",
        "must not be 1 with policy.batch_norm (batch norm needs two rows per batch); use >= 2 or "
        "0 (full batch), or set policy.batch_norm=false");
  check(eval.sample_steps >= 0 && eval.sample_steps <= diffusion.schedule.steps,
        "eval.sample_steps", "must be in [0, diffusion.T]");
}

json RunConfig::to_json() const {
  json j;
  j["task"] = task;
  j["method"] = to_string(method);
  j["preset"] = preset;
  j["seed"] = seed;
  j["device"] = device;
  j["threads"] = threads;
  j["data"] = {{"n_assets", n_assets}, {"verified_only", verified_only}};
  j["program"] = program;
  j["solver"] = solver;
  j["target_scaling"] = target_scaling;
  j["shuffle_targets"] = shuffle_targets;
  j["diffusion"] = diffusion_json(diffusion);
  j["gaussian"] = {{"width", gaussian.width}, {"hidden_layers", gaussian.hidden_layers}};
  j["mlp"] = {
      {"width", mlp.width}, {"hidden_layers", mlp.hidden_layers}, {"bias_only", mlp.bias_only}};
  j["policy"] = {{"width", policy.width},
                 {"hidden_layers", policy.hidden_layers},
                 {"batch_norm", policy.batch_norm}};
  j["pretrain"] = {{"epochs", pretrain.epochs},
                   {"batch_size", pretrain.batch_size},
                   {"lr", pretrain.lr},
                   {"optimizer", pretrain.optimizer},
                   {"weight_decay", pretrain.weight_decay},
                   {"lr_schedule", pretrain.lr_schedule},
                   {"ema", pretrain.ema},
                   {"select", pretrain.select},
                   {"eval_every", pretrain.eval_every},
                   {"patience", pretrain.patience},
                   {"hold_draws", pretrain.hold_draws}};
  j["train"] = {{"epochs", train.epochs},
                {"batch_size", train.batch_size},
                {"lr", train.lr},
                {"samples", train.samples},
                {"patience", train.patience},
                {"min_delta", train.min_delta},
                {"max_skipped_steps", train.max_skipped_steps},
                {"grad_clip", train.grad_clip},
                {"dfl_weight", train.mix.dfl_weight},
                {"fit_weight", train.mix.fit_weight},
                {"normalize", train.mix.normalize},
                {"fit_draws", train.mix.fit_draws},
                {"rp_graph", models::to_string(train.rp_graph)}};
  j["eval"] = {{"samples", eval.samples},
               {"batch_size", eval.batch_size},
               {"sample_steps", eval.sample_steps},
               {"repeats", eval.repeats},
               {"epoch_repeats", eval.epoch_repeats}};
  return j;
}

json RunConfig::pretrain_identity() const {
  const json all = to_json();
  json id = {{"task", task},
             {"seed", seed},
             {"data", all["data"]},
             {"predictor", to_string(predictor_kind(method))},
             {"target_scaling", target_scaling},
             {"shuffle_targets", shuffle_targets},
             {"pretrain", all["pretrain"]},
             {"format", 2}};
  switch (predictor_kind(method)) {
    case PredictorKind::kDiffusion: {
      // The sampler and ELBO settings do not change the fitted network.
      json d = all["diffusion"];
      for (const char* k : {"sampler", "eta", "clip_x0", "clip_x0_range", "sample_steps",
                            "checkpoint_segments", "elbo_draws", "elbo_weighting",
                            "elbo_chunk_rows", "timestep_sampler", "uniform_mix", "is_history"}) {
        d.erase(k);
      }
      id["model"] = d;
      break;
    }
    case PredictorKind::kGaussian:
      id["model"] = all["gaussian"];
      break;
    case PredictorKind::kMlp:
      id["model"] = all["mlp"];
      break;
    case PredictorKind::kPolicy:
      id["model"] = all["policy"];
      break;
  }
  return id;
}

}  // namespace diffdfl::dfl
