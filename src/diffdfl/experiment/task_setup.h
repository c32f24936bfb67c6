// Wires a task to the trainer: its dataset options and its DecisionProblem (decision layer,
// realised cost, policy feasibility map, extra metrics) from a RunConfig.
//
// Example:
//   data::Dataset ds = data::load_dataset(experiment::dataset_options(cfg, data_dir));
//   dfl::DecisionProblem problem = experiment::make_problem(cfg, ds.y_dim);
#pragma once

#include <string>

#include "diffdfl/data/dataset.h"
#include "diffdfl/dfl/problem.h"
#include "diffdfl/experiment/run_config.h"
#include "diffdfl/models/policy.h"

namespace diffdfl::experiment {

data::DatasetOptions dataset_options(const RunConfig& cfg, const std::string& data_dir);

/// The decision problem of cfg.task for n_y-dimensional parameters (ConfigError for a bad
/// program/solver section).
dfl::DecisionProblem make_problem(const RunConfig& cfg, int64_t n_y);

/// The policy network's output transform for the task (box for allocation, simplex for the
/// portfolio, raw + projection for power) and the box's upper bound.
models::PolicyOutput policy_output(const RunConfig& cfg);
double policy_box_upper(const RunConfig& cfg);

}  // namespace diffdfl::experiment
