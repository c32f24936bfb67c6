#include "diffdfl/experiment/session.h"

#include "diffdfl/core/device.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/experiment/task_setup.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::experiment {

dfl::TrainerOptions trainer_options(const RunConfig& cfg) {
  return {cfg.method, cfg.seed, cfg.shuffle_targets, cfg.train, cfg.eval};
}

dfl::PredictorOptions predictor_options(const RunConfig& cfg) {
  return {cfg.method, cfg.diffusion, cfg.gaussian, cfg.mlp, cfg.target_scaling == "standardize"};
}

Session open_session(const nlohmann::json& config, const std::string& source,
                     const RunPaths& paths) {
  Session s;
  s.cfg = RunConfig::from_json(config, source);
  if (s.cfg.threads > 0) torch::set_num_threads(static_cast<int>(s.cfg.threads));
  try {
    s.device = parse_device(s.cfg.device);
  } catch (const InvalidArgument& e) {
    throw ConfigError(std::string("device: ") + e.what());
  }
  s.ds = tasks::load_dataset(dataset_options(s.cfg, paths.data_dir));
  const tasks::TaskProblem task = make_task_problem(s.cfg, s.ds.y_dim);
  s.problem = task.problem;
  seed_global(derive_seed(s.cfg.seed, "init"));
  if (dfl::predictor_kind(s.cfg.method) == dfl::PredictorKind::kPolicy) {
    s.policy = dfl::make_policy(s.cfg.policy, s.ds.x_dim, s.problem.layer->program().n_z(),
                                task.policy_output, task.policy_box_upper, s.device);
  } else {
    const dfl::PredictorOptions o = predictor_options(s.cfg);
    s.predictor = dfl::make_predictor(o, s.ds.x_dim, s.ds.y_dim, s.device);
    dfl::set_target_statistics(*s.predictor, o.standardize_targets, s.ds.train.y);
  }
  return s;
}

}  // namespace diffdfl::experiment
