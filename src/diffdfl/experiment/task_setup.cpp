#include "diffdfl/experiment/task_setup.h"

#include "diffdfl/core/config.h"
#include "diffdfl/core/error.h"
#include "diffdfl/opt/allocation.h"
#include "diffdfl/opt/power.h"
#include "diffdfl/tasks/programs.h"

namespace diffdfl::experiment {

data::DatasetOptions dataset_options(const RunConfig& cfg, const std::string& data_dir) {
  data::DatasetOptions o;
  o.task = cfg.task;
  o.seed = cfg.seed;
  o.data_dir = data_dir;
  o.n_assets = cfg.n_assets;
  o.verified_only = cfg.verified_only;
  return o;
}

dfl::DecisionProblem make_problem(const RunConfig& cfg, int64_t n_y) {
  const nlohmann::json section = {{"program", cfg.program}, {"solver", cfg.solver}};
  ConfigReader reader(section, "config");
  dfl::DecisionProblem p;
  p.layer = tasks::make_decision_layer(cfg.task, n_y, reader);
  reader.finish();
  const std::string program = tasks::program_name(cfg.task);
  if (program == "power") {
    // The policy's raw output is projected onto the ramp constraints: the power program with no
    // penalties and one "sample" v is exactly min ½‖z − v‖² s.t. the ramps.
    const auto& power = dynamic_cast<const opt::PowerProgram&>(p.layer->program()).options();
    opt::PowerOptions proj = power;
    proj.gamma_under = 0.0;
    proj.gamma_over = 0.0;
    proj.gradient = opt::PowerGradient::kReference;
    opt::LayerOptions lo;
    lo.solver = p.layer->options().solver;
    p.policy_projection =
        std::make_shared<opt::DecisionLayer>(std::make_shared<opt::PowerProgram>(proj), lo);
  }
  if (program == "portfolio") {
    p.headline = "return";
    p.headline_higher_is_better = true;
    p.extra_metrics = [](const torch::Tensor& y, const torch::Tensor& z) {
      const torch::Tensor ret = (y * z).sum(1);
      return std::map<std::string, torch::Tensor>{{"return", ret},
                                                  {"regret", std::get<0>(y.max(1)) - ret}};
    };
  }
  return p;
}

models::PolicyOutput policy_output(const RunConfig& cfg) {
  const std::string program = tasks::program_name(cfg.task);
  if (program == "allocation") return models::PolicyOutput::kBox;
  if (program == "portfolio") return models::PolicyOutput::kSimplex;
  return models::PolicyOutput::kRaw;
}

double policy_box_upper(const RunConfig& cfg) {
  double capacity = opt::AllocationOptions{}.capacity;
  if (cfg.program.contains("capacity") && cfg.program["capacity"].is_number()) {
    capacity = cfg.program["capacity"].get<double>();
  }
  return capacity;
}

}  // namespace diffdfl::experiment
