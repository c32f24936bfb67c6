// The final metrics of a run: the typed content of DIR/metrics.json (experiment/run.h), written
// last by a run (its presence marks a finished run), read back by `diffdfl train --resume` of a
// finished run and by the reports (reports/results_table.h).
//
// The JSON holds the hold and test SplitMetrics (dfl/evaluation.h) as objects and, for reading
// without knowing the task, their headline numbers at the top level: test_cost, hold_cost,
// test_rmse (null for a policy) and test_<k>, hold_<k> for each of the task's extra metrics k
// (portfolio: return, regret). initial_test_cost is the starting model's test cost and, when the
// task's headline metric is one of its extra metrics, initial_test_<headline> its value of it
// (portfolio: initial_test_return). A null number is NaN in the struct.
//
//   {"task": "portfolio", "method": "dfl-mlp", "seed": 1, "preset": "smoke",
//    "status": "completed", "stop_reason": "...", "headline": "return",
//    "test_cost": -0.0004, "test_return": 0.0004, "test_regret": 0.017, "hold": {...}, ...}
//
// from_json reads every metrics.json diffdfl has written; only task, method, preset, seed and
// test_cost are required (older files lack some later keys: their numbers are NaN, their counts
// 0). A damaged file is one DataError line naming the file and the field.
//
// Example:
//   experiment::RunMetrics m = experiment::RunMetrics::from_json(j, "runs/a/metrics.json");
//   std::cerr << m.brief_report() << "\n";  // "power dfl-mlp seed 1: test cost 3.2, 12.5 s"
//   if (m.status == experiment::RunStatus::kFailed) std::cerr << m.failure << "\n";
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "diffdfl/dfl/evaluation.h"

namespace diffdfl::experiment {

/// How a run ended.
enum class RunStatus {
  kCompleted,  ///< "completed": it has a result
  kDiverged,   ///< "diverged": stopped because of repeated non-finite steps (result still usable)
  kFailed,     ///< "failed": its final hold or test evaluation has no usable instance; no result
};

/// "completed", "diverged", "failed".
std::string to_string(RunStatus status);

struct RunMetrics {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  // What ran.
  std::string task;
  std::string method;
  std::string preset;
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string version;  ///< diffdfl's version that wrote the file
  int64_t threads = 0;  ///< intra-op threads it ran with
  int64_t ranks = 1;    ///< data-parallel processes (docs/distributed.md); written when > 1

  // How it ended.
  RunStatus status = RunStatus::kCompleted;
  std::string failure;            ///< why it failed (status kFailed only)
  std::string stop_reason;        ///< the trainer's ("two-stage" for a two-stage method)
  std::string headline = "cost";  ///< the task's headline metric: "cost" or an extra metric

  // Decision quality of the selected model.
  dfl::SplitMetrics hold;
  dfl::SplitMetrics test;
  double initial_test_cost = kNaN;  ///< the starting (pretrained / initial) model's test cost
  /// The starting model's test value of the headline metric when that is one of the task's extra
  /// metrics ({"return": …} on portfolio); empty for a cost headline.
  std::map<std::string, double> initial_test_extra;

  // The training.
  int64_t best_epoch = -1;  ///< epoch of the selected model (−1: the starting model)
  int64_t epochs_run = 0;
  int64_t solver_failures = 0;  ///< training-time and final-evaluation solves that failed
  int64_t skipped_steps = 0;    ///< non-finite steps skipped
  double train_seconds = kNaN;  ///< pretraining (also when loaded from the cache) plus DFL epochs
  double wall_seconds = kNaN;   ///< of the process(es) that ran it, resumes included
  double peak_rss_mb = kNaN;
  double comm_seconds = kNaN;  ///< rank 0's time in collectives (distributed runs only)
  /// Rank 0's mean time per training step in the gradient collectives (distributed runs only).
  double comm_seconds_per_step = kNaN;
  nlohmann::json pretrain;  ///< the pretraining record (experiment::PretrainInfo), null if none

  /// The test value of `metric`: test.cost for "cost", else the extra metric (NaN when absent).
  double test_value(const std::string& metric) const;
  /// test_value(headline).
  double headline_test() const { return test_value(headline); }
  /// The starting model's test value of the headline metric (NaN when not recorded).
  double initial_headline_test() const;
  /// How much re-evaluating the selected model with fresh samples moves its test cost:
  /// cost_sampling_sd / √repeats (NaN for one draw or a deterministic model).
  double test_eval_se() const;

  /// One line for the console, e.g. "portfolio dfl-mlp seed 1: test return 0.00041 (two-stage
  /// model it started from: 0.0004), 12.5 s".
  std::string brief_report() const;

  /// The metrics.json object (every field; the same keys and values diffdfl has always written).
  nlohmann::json to_json() const;
  /// Reads a metrics.json object; DataError "SOURCE: damaged: field 'KEY' …" for a missing
  /// required or mistyped field (the caller appends what to do about it).
  static RunMetrics from_json(const nlohmann::json& j, const std::string& source);
};

}  // namespace diffdfl::experiment
