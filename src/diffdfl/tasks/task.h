// The task registry: everything diffdfl knows about one task, in one entry. A task is a dataset
// (contexts x, uncertain parameters y) and a convex decision program over y. Its entry names the
// loader of its data, the factory of its program (from the config's "program" section), its
// headline metric and direction, its extra metrics, and what the policy baseline's output must be
// mapped onto. Everything above this layer (runs, reports, the CLI) asks the registry; nothing
// above it names a task.
//
//   task                   data (data/)        program (opt/ or here)   headline
//   synthetic              synthetic.h         allocation               cost
//   synthetic-contextual   synthetic.h         allocation               cost
//   power                  power.h             power                    cost
//   portfolio              portfolio.h         portfolio                return (higher is better)
//   newsvendor             newsvendor.h        newsvendor (newsvendor_task.cpp)  cost
//
// Adding a task: its loader in data/, one file tasks/<task>_task.cpp that returns its Task, and
// one line in tasks/registry.cpp. Nothing else changes (newsvendor_task.cpp is the worked example).
//
// Example:
//   const tasks::Task& t = tasks::find_task("power");
//   tasks::DatasetOptions o;
//   o.task = "power";
//   data::Dataset ds = tasks::load_dataset(o);
//   tasks::TaskProblem p = tasks::make_problem("power", program_json, solver_json, ds.y_dim);
//   torch::Tensor z = p.problem.layer->solve(samples).z;   // [B, 24]
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "diffdfl/core/config.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/dfl/problem.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/opt/decision_layer.h"

namespace diffdfl::tasks {

/// The largest decision dimension n a program is built for: the solvers and the power program's
/// constraints use dense n × n matrices, so a larger n (e.g. a CSV of 200,000 columns given to
/// `diffdfl solve`) would exhaust the memory instead of solving.
inline constexpr int64_t kMaxDecisionDim = 2048;

/// What a task's loader needs: the task, one seed that fixes every random choice, and where the
/// data is.
///
/// Example:
///   DatasetOptions o;
///   o.task = "portfolio";
///   o.n_assets = 20;
///   o.verified_only = true;   // draw the 20 assets from the 191 cross-checked tickers
///   o.validate();             // InvalidArgument naming the bad field, e.g. "DatasetOptions.task"
struct DatasetOptions {
  std::string task = "synthetic";
  uint64_t seed = 1;
  std::string data_dir = "data";  ///< the folder holding SHA256SUMS, power_sched/, stock_portfolio/
  int64_t n_assets = 50;          ///< portfolio only: assets drawn from the pool
  bool verified_only = false;     ///< portfolio only: draw from the verified tickers
  bool verify_checksums = true;   ///< check every file read against <data_dir>/SHA256SUMS

  void validate() const;
};

/// What a task's program factory builds from the "program" section, for decisions of dimension n.
struct ProgramParts {
  std::shared_ptr<opt::StochasticProgram> program;
  /// The program whose solution maps the policy's raw output v onto the feasible set (its
  /// "samples" are v itself, M = 1); null when the policy output is feasible by construction.
  std::shared_ptr<opt::StochasticProgram> policy_projection;
  models::PolicyOutput policy_output = models::PolicyOutput::kRaw;
  double policy_box_upper = 1.0;  ///< kBox: the upper bound of every decision
};

/// One registry entry.
struct Task {
  std::string name;
  /// Loads the dataset: seeded splits, features standardised on the training rows.
  std::function<data::Dataset(const DatasetOptions&)> load;
  /// The data keys (the run config's "data" section, the CLI's data flags) this task reads beyond
  /// the seed and the data folder, e.g. {"n_assets", "verified_only"}.
  std::vector<std::string> data_keys;
  /// The program's name (`diffdfl solve` prints it).
  std::string program;
  /// Builds the program for decisions of dimension n (1 <= n <= kMaxDecisionDim, checked before)
  /// from the "program" section; reads only the keys it knows (the caller rejects the others).
  std::function<ProgramParts(int64_t n, ConfigReader& program)> make_program;
  /// Default of program.pooled: one program over all B·M samples of a batch (only where y is
  /// independent of x, as in the reference's synthetic task).
  bool pooled = false;
  /// y is independent of x: permuting y within a batch (shuffle_targets) keeps the task intact.
  bool y_independent_of_x = false;
  /// The headline metric of reports ("cost" or an extra metric's name) and its direction.
  std::string headline = "cost";
  bool headline_higher_is_better = false;
  /// Extra per-instance metrics (may be empty), see dfl::DecisionProblem::extra_metrics.
  std::function<std::map<std::string, torch::Tensor>(const torch::Tensor& y,
                                                     const torch::Tensor& z)>
      extra_metrics;
  /// How tables and figures show the task.
  struct Reporting {
    /// The heading of the task's results after "TASK: ".
    std::string title = "test decision cost (lower is better)";
    /// The headline's axis label in figures.
    std::string axis = "mean decision cost per instance (task cost units)";
    /// Extra test metrics the results table shows (means over seeds), e.g. {"regret"}.
    std::vector<std::string> extra_columns;
    /// config.json key of a run's size ("data.n_assets"); "" when the task's runs have no size.
    std::string size_key;
    /// What the size counts, for messages ("assets").
    std::string size_unit;
  } reporting;
  /// Task-specific lines of `diffdfl data summary` (may be empty).
  std::function<nlohmann::json(const data::Dataset&)> data_summary;
};

/// Every registered task, in registry order.
const std::vector<Task>& all_tasks();
/// Their names, in registry order.
const std::vector<std::string>& task_names();
/// "synthetic, synthetic-contextual, power, portfolio or newsvendor" (for messages).
std::string joined_task_names();
/// The entry of `name`; InvalidArgument naming the known tasks otherwise.
const Task& find_task(const std::string& name);
/// True when `name` is a registered task.
bool is_task(const std::string& name);

/// The task's dataset (validates the options; DataError for missing or altered files).
data::Dataset load_dataset(const DatasetOptions& options);

/// The "solver" section (ConfigError naming the bad key).
opt::SolverOptions make_solver_options(ConfigReader& solver);

/// The program of `task` for decisions of dimension n, from a config with optional "program" and
/// "solver" sections, as a decision layer (ConfigError for a bad section).
///
/// Example:
///   nlohmann::json cfg = {{"program", {{"ramp", 0.3}}}};
///   ConfigReader r(cfg, "example");
///   auto layer = tasks::make_decision_layer("power", /*n=*/24, r);
///   r.finish();
std::unique_ptr<opt::DecisionLayer> make_decision_layer(const std::string& task, int64_t n,
                                                        ConfigReader& config);

/// What the trainer and the policy baseline need from a task.
struct TaskProblem {
  dfl::DecisionProblem problem;
  models::PolicyOutput policy_output = models::PolicyOutput::kRaw;
  double policy_box_upper = 1.0;
};

/// The decision problem of `task` for n_y-dimensional parameters, from the run config's "program"
/// and "solver" sections (ConfigError naming the bad key).
TaskProblem make_problem(const std::string& task, const nlohmann::json& program,
                         const nlohmann::json& solver, int64_t n_y);

}  // namespace diffdfl::tasks
