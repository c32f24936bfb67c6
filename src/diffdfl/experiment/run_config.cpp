#include "diffdfl/experiment/run_config.h"

#include <functional>
#include <utility>
#include <vector>

#include "diffdfl/core/config.h"
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
  std::string valid;
  for (const tasks::Task& t : tasks::all_tasks()) {
    if (t.y_independent_of_x) valid += (valid.empty() ? "" : " or ") + t.name;
  }
  fail<ConfigError>("shuffle_targets: is valid only on task ", valid,
                    " (where y is independent of x); on ", c.task,
                    " it would pair every x with another context's y");
}

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
