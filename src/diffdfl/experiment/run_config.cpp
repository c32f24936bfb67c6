#include "diffdfl/experiment/run_config.h"

#include <functional>
#include <utility>
#include <vector>

#include "diffdfl/core/config.h"
#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::experiment {

namespace {

using dfl::Method;
using dfl::PredictorKind;
using nlohmann::json;

/// One key of a section: how it is read, written and checked, each derived from one accessor, so
/// the key is spelled once. `check` (may be empty) throws ConfigError naming `path` (or, for a
/// check of several keys, the keys it names).
struct Field {
  std::string key;
  std::function<void(ConfigReader&, const json& node, RunConfig&)> read;
  std::function<json(const RunConfig&)> write;
  std::function<void(const RunConfig&, const std::string& path)> check;
};

/// A section of the configuration: its name ("" for keys at the top level), its keys in reading
/// order, the options struct's own validate() after reading, and checks of several keys that run
/// right after the section's own (in validate()).
struct Section {
  std::string name;
  std::vector<Field> fields;
  std::function<void(const RunConfig&)> after_read;
  std::function<void(const RunConfig&)> after_check = nullptr;
};

/// A key read and written as it is (double, int64, uint64, bool or string). `access` maps a
/// (const) RunConfig& to the (const) member.
template <typename Access>
Field plain(std::string key, Access access) {
  Field f;
  f.key = key;
  f.read = [key, access](ConfigReader& r, const json&, RunConfig& c) { r.get(key, access(c)); };
  f.write = [access](const RunConfig& c) { return json(access(c)); };
  return f;
}

/// A plain key with a range check: ConfigError "path: what(value)" unless ok(value).
template <typename Access, typename Ok, typename What>
Field checked(std::string key, Access access, Ok ok, What what) {
  Field f = plain(std::move(key), access);
  f.check = [access, ok, what](const RunConfig& c, const std::string& path) {
    if (!ok(access(c))) fail<ConfigError>(path, ": ", what(access(c)));
  };
  return f;
}

/// A fixed message for `checked`.
auto says(std::string what) {
  return [what](const auto&) { return what; };
}

/// A key stored as an enum and written as its name; `parse` errors become ConfigErrors naming it.
template <typename T, typename Access>
Field enumerated(std::string key, Access access, T (*parse)(const std::string&),
                 std::string (*print)(T)) {
  Field f;
  f.key = key;
  f.read = [key, access, parse, print](ConfigReader& r, const json&, RunConfig& c) {
    std::string s = print(access(c));
    r.get(key, s);
    try {
      access(c) = parse(s);
    } catch (const InvalidArgument& e) {
      throw ConfigError(r.path(key) + ": " + e.what());
    }
  };
  f.write = [access, print](const RunConfig& c) { return json(print(access(c))); };
  return f;
}

/// A key kept as raw JSON (its content is checked by the tasks layer).
template <typename Access>
Field raw(std::string key, Access access) {
  Field f;
  f.key = key;
  f.read = [key, access](ConfigReader& r, const json& node, RunConfig& c) {
    if (!r.has(key)) return;
    r.child(key);  // marks the key as read
    access(c) = node.at(key);
  };
  f.write = [access](const RunConfig& c) { return access(c); };
  return f;
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

/// The accessor of a RunConfig member, for const and mutable configurations alike.
// clang-format off
#define DIFFDFL_FIELD(member) [](auto& c) -> auto& { return c.member; }
// clang-format on

std::string method_name(Method m) {
  return dfl::to_string(m);
}

const auto at_least = [](auto lo) { return [lo](auto v) { return v >= lo; }; };

std::vector<Field> diffusion_fields();
std::vector<Field> learning_fields(const std::string& section);

/// shuffle_targets needs the task, so it is checked with the run's identity (task, method, seed).
void check_shuffle_targets(const RunConfig& c) {
  // Permuting y within a batch keeps a task intact only where y is independent of x.
  if (!c.shuffle_targets || !tasks::is_task(c.task) ||
      tasks::find_task(c.task).y_independent_of_x) {
    return;
  }
  std::vector<std::string> valid;
  for (const tasks::Task& t : tasks::all_tasks()) {
    if (t.y_independent_of_x) valid.push_back(t.name);
  }
  fail<ConfigError>("shuffle_targets: is valid only on task ", joined_alternatives(valid),
                    " (where y is independent of x); on ", c.task,
                    " it would pair every x with another context's y");
}

/// Every section in reading order.
const std::vector<Section>& sections() {
  static const std::vector<Section> all = [] {
    std::vector<Section> s;
    s.push_back(
        {"",
         {plain("task", DIFFDFL_FIELD(task)),
          enumerated<Method>("method", DIFFDFL_FIELD(method), dfl::parse_method, method_name),
          plain("preset", DIFFDFL_FIELD(preset)), plain("seed", DIFFDFL_FIELD(seed)),
          plain("device", DIFFDFL_FIELD(device)),
          checked(
              "threads", DIFFDFL_FIELD(threads), [](int64_t v) { return v >= 0 && v <= 1024; },
              says("must be in [0, 1024] (0 = LibTorch's default)"))},
         nullptr,
         check_shuffle_targets});
    s.push_back(
        {"data",
         {checked("n_assets", DIFFDFL_FIELD(n_assets), at_least(int64_t{2}), says("must be >= 2")),
          plain("verified_only", DIFFDFL_FIELD(verified_only))},
         nullptr});
    s.push_back({"",
                 {raw("program", DIFFDFL_FIELD(program)), raw("solver", DIFFDFL_FIELD(solver)),
                  checked(
                      "target_scaling", DIFFDFL_FIELD(target_scaling),
                      [](const std::string& v) { return v == "standardize" || v == "none"; },
                      [](const std::string& v) {
                        return "must be \"standardize\" or \"none\", got \"" + v + "\"";
                      }),
                  plain("shuffle_targets", DIFFDFL_FIELD(shuffle_targets))},
                 nullptr});
    s.push_back({"diffusion", diffusion_fields(),
                 [](const RunConfig& c) { validate_section(c.diffusion, "diffusion"); }});
    s.push_back({"gaussian",
                 {plain("width", DIFFDFL_FIELD(gaussian.width)),
                  plain("hidden_layers", DIFFDFL_FIELD(gaussian.hidden_layers))},
                 [](const RunConfig& c) { validate_section(c.gaussian, "gaussian"); }});
    s.push_back({"mlp",
                 {plain("width", DIFFDFL_FIELD(mlp.width)),
                  plain("hidden_layers", DIFFDFL_FIELD(mlp.hidden_layers)),
                  plain("bias_only", DIFFDFL_FIELD(mlp.bias_only))},
                 [](const RunConfig& c) { validate_section(c.mlp, "mlp"); }});
    s.push_back({"policy",
                 {plain("width", DIFFDFL_FIELD(policy.width)),
                  plain("hidden_layers", DIFFDFL_FIELD(policy.hidden_layers)),
                  plain("batch_norm", DIFFDFL_FIELD(policy.batch_norm))},
                 nullptr});
    for (const char* name : {"pretrain", "train", "eval"})
      s.push_back({name, learning_fields(name), nullptr});
    return s;
  }();
  return all;
}

std::vector<Field> diffusion_fields() {
  using namespace models;
  return {plain("T", DIFFDFL_FIELD(diffusion.schedule.steps)),
          enumerated<BetaSchedule>("schedule", DIFFDFL_FIELD(diffusion.schedule.kind),
                                   parse_beta_schedule, to_string),
          plain("beta_start", DIFFDFL_FIELD(diffusion.schedule.beta_start)),
          plain("beta_end", DIFFDFL_FIELD(diffusion.schedule.beta_end)),
          plain("width", DIFFDFL_FIELD(diffusion.network.width)),
          plain("depth", DIFFDFL_FIELD(diffusion.network.depth)),
          plain("time_embed_dim", DIFFDFL_FIELD(diffusion.network.time_embed_dim)),
          plain("time_hidden", DIFFDFL_FIELD(diffusion.network.time_hidden)),
          enumerated<InputNorm>("input_norm", DIFFDFL_FIELD(diffusion.network.input_norm),
                                parse_input_norm, to_string),
          enumerated<SamplerKind>("sampler", DIFFDFL_FIELD(diffusion.sampler.kind),
                                  parse_sampler_kind, to_string),
          plain("eta", DIFFDFL_FIELD(diffusion.sampler.eta)),
          plain("clip_x0", DIFFDFL_FIELD(diffusion.sampler.clip_x0)),
          plain("clip_x0_range", DIFFDFL_FIELD(diffusion.sampler.clip_x0_range)),
          plain("sample_steps", DIFFDFL_FIELD(diffusion.sampler.steps)),
          plain("checkpoint_segments", DIFFDFL_FIELD(diffusion.sampler.checkpoint_segments)),
          plain("elbo_draws", DIFFDFL_FIELD(diffusion.elbo.draws)),
          enumerated<ElboWeighting>("elbo_weighting", DIFFDFL_FIELD(diffusion.elbo.weighting),
                                    parse_elbo_weighting, to_string),
          plain("elbo_chunk_rows", DIFFDFL_FIELD(diffusion.elbo.chunk_rows)),
          enumerated<TimestepSamplerKind>("timestep_sampler",
                                          DIFFDFL_FIELD(diffusion.timestep_sampler.kind),
                                          parse_timestep_sampler, to_string),
          plain("uniform_mix", DIFFDFL_FIELD(diffusion.timestep_sampler.uniform_mix)),
          plain("is_history", DIFFDFL_FIELD(diffusion.timestep_sampler.history))};
}

/// One of "a", "b" or "c" (for the messages of string choices).
template <typename... S>
auto one_of(S... options) {
  return [=](const std::string& v) { return ((v == options) || ...); };
}

// Learning rates and weights become float32 scalars in the optimiser and the gradient mixing: they
// must stay far inside float32's range (an Adam step of lr 1e300 is not a number).
const auto learning_rate = [](double v) { return v > 0 && v <= dfl::kMaxLearningRate; };
const auto sample_count = [](int64_t v) { return v >= 1 && v <= dfl::kMaxSamples; };
const auto in_1_1000 = [](int64_t v) { return v >= 1 && v <= 1000; };
const std::string kSampleRange = "must be in [1, " + std::to_string(dfl::kMaxSamples) + "]";

std::vector<Field> pretrain_fields() {
  return {
      checked("epochs", DIFFDFL_FIELD(pretrain.epochs), at_least(int64_t{0}), says("must be >= 0")),
      checked("batch_size", DIFFDFL_FIELD(pretrain.batch_size), at_least(int64_t{0}),
              says("must be >= 0 (0 = full batch)")),
      checked("lr", DIFFDFL_FIELD(pretrain.lr), learning_rate, says("must be in (0, 10]")),
      checked("optimizer", DIFFDFL_FIELD(pretrain.optimizer), one_of("adam", "adamw"),
              says("must be \"adam\" or \"adamw\"")),
      checked(
          "weight_decay", DIFFDFL_FIELD(pretrain.weight_decay),
          [](double v) { return v >= 0 && v <= 1e3; }, says("must be in [0, 1000]")),
      checked("lr_schedule", DIFFDFL_FIELD(pretrain.lr_schedule), one_of("constant", "cosine"),
              says("must be \"constant\" or \"cosine\"")),
      checked(
          "ema", DIFFDFL_FIELD(pretrain.ema), [](double v) { return v >= 0 && v < 1; },
          says("must be in [0, 1) (0 = off)")),
      checked("select", DIFFDFL_FIELD(pretrain.select), one_of("last", "hold"),
              says("must be \"last\" or \"hold\"")),
      checked("eval_every", DIFFDFL_FIELD(pretrain.eval_every), at_least(int64_t{1}),
              says("must be >= 1")),
      checked("patience", DIFFDFL_FIELD(pretrain.patience), at_least(int64_t{0}),
              says("must be >= 0 (0 = never stop early)")),
      checked("hold_draws", DIFFDFL_FIELD(pretrain.hold_draws), at_least(int64_t{1}),
              says("must be >= 1"))};
}

std::vector<Field> train_fields() {
  Field fit_weight = plain("fit_weight", DIFFDFL_FIELD(train.mix.fit_weight));
  // The two weights are checked together, once both are known.
  fit_weight.check = [](const RunConfig& c, const std::string&) {
    const dfl::MixConfig& m = c.train.mix;
    if (!(m.dfl_weight >= 0 && m.fit_weight >= 0 && m.dfl_weight <= 1e6 && m.fit_weight <= 1e6))
      fail<ConfigError>("train.dfl_weight/fit_weight: must be in [0, 1e6]");
    if (!(m.dfl_weight + m.fit_weight > 0))
      fail<ConfigError>("train.dfl_weight: and fit_weight are both 0");
  };
  return {
      checked("epochs", DIFFDFL_FIELD(train.epochs), at_least(int64_t{0}), says("must be >= 0")),
      checked("batch_size", DIFFDFL_FIELD(train.batch_size), at_least(int64_t{0}),
              says("must be >= 0 (0 = full batch)")),
      checked("lr", DIFFDFL_FIELD(train.lr), learning_rate, says("must be in (0, 10]")),
      checked("samples", DIFFDFL_FIELD(train.samples), sample_count, says(kSampleRange)),
      checked("patience", DIFFDFL_FIELD(train.patience), at_least(int64_t{0}),
              says("must be >= 0 (0 = never stop early)")),
      checked("min_delta", DIFFDFL_FIELD(train.min_delta), at_least(0.0), says("must be >= 0")),
      checked("max_skipped_steps", DIFFDFL_FIELD(train.max_skipped_steps), at_least(int64_t{0}),
              says("must be >= 0")),
      checked("grad_clip", DIFFDFL_FIELD(train.grad_clip), at_least(0.0), says("must be >= 0")),
      plain("dfl_weight", DIFFDFL_FIELD(train.mix.dfl_weight)),
      fit_weight,
      checked("normalize", DIFFDFL_FIELD(train.mix.normalize), one_of("dfl", "fit", "none"),
              [](const std::string& v) {
                return "must be \"dfl\", \"fit\" or \"none\", got \"" + v + "\"";
              }),
      checked("fit_draws", DIFFDFL_FIELD(train.mix.fit_draws), in_1_1000,
              says("must be in [1, 1000]")),
      enumerated<models::GraphMode>("rp_graph", DIFFDFL_FIELD(train.rp_graph),
                                    models::parse_graph_mode, models::to_string)};
}

std::vector<Field> eval_fields() {
  return {checked("samples", DIFFDFL_FIELD(eval.samples), sample_count, says(kSampleRange)),
          checked("batch_size", DIFFDFL_FIELD(eval.batch_size), at_least(int64_t{1}),
                  says("must be >= 1")),
          plain("sample_steps", DIFFDFL_FIELD(eval.sample_steps)),  // checked against diffusion.T
          checked("repeats", DIFFDFL_FIELD(eval.repeats), in_1_1000, says("must be in [1, 1000]")),
          checked("epoch_repeats", DIFFDFL_FIELD(eval.epoch_repeats), in_1_1000,
                  says("must be in [1, 1000]"))};
}

std::vector<Field> learning_fields(const std::string& section) {
  if (section == "pretrain") return pretrain_fields();
  if (section == "train") return train_fields();
  return eval_fields();
}

#undef DIFFDFL_FIELD

std::string path_of(const Section& s, const Field& f) {
  return s.name.empty() ? f.key : s.name + "." + f.key;
}

/// The task must be registered (tasks/task.h).
void check_task(const std::string& task) {
  if (!tasks::is_task(task)) {
    fail<ConfigError>("task: unknown task '", task, "'; use ", tasks::joined_task_names());
  }
}

/// Checks that involve keys of several sections.
void check_across_sections(const RunConfig& c) {
  // Batch norm normalises over the batch: a batch of one row has no variance to normalise by.
  if (c.method == Method::kPolicy && c.policy.batch_norm && c.train.batch_size == 1) {
    fail<ConfigError>(
        "train.batch_size: must not be 1 with policy.batch_norm (batch norm needs two rows per "
        "batch); use >= 2 or 0 (full batch), or set policy.batch_norm=false");
  }
  if (!(c.eval.sample_steps >= 0 && c.eval.sample_steps <= c.diffusion.schedule.steps))
    fail<ConfigError>("eval.sample_steps: must be in [0, diffusion.T]");
}

}  // namespace

RunConfig RunConfig::from_json(const json& j, const std::string& source) {
  RunConfig c;
  ConfigReader root(j, source);
  for (const Section& s : sections()) {
    if (s.name.empty()) {
      for (const Field& f : s.fields)
        f.read(root, j, c);
      continue;
    }
    ConfigReader r = root.child(s.name);
    const json& node = j.is_object() && j.contains(s.name) ? j.at(s.name) : json::object();
    for (const Field& f : s.fields)
      f.read(r, node, c);
    r.finish();
    if (s.after_read) s.after_read(c);
  }
  root.finish();
  c.validate();
  return c;
}

void RunConfig::validate() const {
  check_task(task);
  for (const Section& s : sections()) {
    for (const Field& f : s.fields)
      if (f.check) f.check(*this, path_of(s, f));
    if (s.after_check) s.after_check(*this);
  }
  check_across_sections(*this);
}

json RunConfig::to_json() const {
  json j = json::object();
  for (const Section& s : sections()) {
    json& out = s.name.empty() ? j : j[s.name];
    if (!s.name.empty()) out = json::object();
    for (const Field& f : s.fields)
      out[f.key] = f.write(*this);
  }
  return j;
}

json RunConfig::pretrain_identity() const {
  const json all = to_json();
  json id = {{"task", task},
             {"seed", seed},
             {"data", all["data"]},
             {"predictor", dfl::to_string(dfl::predictor_kind(method))},
             {"target_scaling", target_scaling},
             {"shuffle_targets", shuffle_targets},
             {"pretrain", all["pretrain"]},
             {"format", 2}};
  switch (dfl::predictor_kind(method)) {
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

}  // namespace diffdfl::experiment
