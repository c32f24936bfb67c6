#include "diffdfl/experiment/task_setup.h"

namespace diffdfl::experiment {

tasks::DatasetOptions dataset_options(const RunConfig& cfg, const std::string& data_dir) {
  tasks::DatasetOptions o;
  o.task = cfg.task;
  o.seed = cfg.seed;
  o.data_dir = data_dir;
  o.n_assets = cfg.n_assets;
  o.verified_only = cfg.verified_only;
  return o;
}

tasks::TaskProblem make_task_problem(const RunConfig& cfg, int64_t n_y) {
  return tasks::make_problem(cfg.task, cfg.program, cfg.solver, n_y);
}

}  // namespace diffdfl::experiment
