// Wires a run's configuration to its task's registry entry (tasks/task.h): the dataset options
// from the "data" section, and the decision problem from the "program" and "solver" sections.
//
// Example:
//   data::Dataset ds = tasks::load_dataset(experiment::dataset_options(cfg, data_dir));
//   tasks::TaskProblem p = experiment::make_task_problem(cfg, ds.y_dim);
#pragma once

#include <string>

#include "diffdfl/experiment/run_config.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::experiment {

tasks::DatasetOptions dataset_options(const RunConfig& cfg, const std::string& data_dir);

/// The decision problem of cfg.task for n_y-dimensional parameters, with the policy baseline's
/// output transform (ConfigError for a bad program/solver section).
tasks::TaskProblem make_task_problem(const RunConfig& cfg, int64_t n_y);

}  // namespace diffdfl::experiment
