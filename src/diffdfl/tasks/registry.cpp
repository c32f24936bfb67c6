#include <algorithm>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/tasks/builtin_tasks.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::tasks {

const std::vector<Task>& all_tasks() {
  static const std::vector<Task> tasks = {allocation_task(false), allocation_task(true),
                                          power_task(), portfolio_task(), newsvendor_task()};
  return tasks;
}

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Task& t : all_tasks())
      out.push_back(t.name);
    return out;
  }();
  return names;
}

std::string joined_task_names() {
  return joined_alternatives(task_names());
}

bool is_task(const std::string& name) {
  const auto& names = task_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

const Task& find_task(const std::string& name) {
  for (const Task& t : all_tasks()) {
    if (t.name == name) return t;
  }
  fail<InvalidArgument>("unknown task '", name, "'; use ", joined_task_names());
}

void DatasetOptions::validate() const {
  if (!is_task(task)) {
    fail<InvalidArgument>("DatasetOptions.task: unknown task '", task, "'; expected one of ",
                          joined_task_names());
  }
  DIFFDFL_CHECK(!data_dir.empty(), "DatasetOptions.data_dir must not be empty");
  DIFFDFL_CHECK(n_assets >= 1, "DatasetOptions.n_assets must be >= 1, got ", n_assets);
}

data::Dataset load_dataset(const DatasetOptions& options) {
  options.validate();
  return find_task(options.task).load(options);
}

opt::SolverOptions make_solver_options(ConfigReader& solver) {
  opt::SolverOptions o;
  solver.get("tol", o.tol);
  solver.get("inaccurate_tol", o.inaccurate_tol);
  solver.get("max_iter", o.max_iter);
  try {
    o.validate();
  } catch (const InvalidArgument& e) {
    throw ConfigError(e.what());
  }
  return o;
}

namespace {

/// The task's program parts and layer options from a config with "program" and "solver" sections.
struct BuiltProgram {
  ProgramParts parts;
  opt::LayerOptions layer;
};

BuiltProgram build_program(const std::string& name, int64_t n, ConfigReader& config) {
  const Task& task = find_task(name);
  ConfigReader program = config.child("program");
  BuiltProgram out;
  out.layer.pooled = task.pooled;
  program.get("pooled", out.layer.pooled);
  DIFFDFL_CHECK(n >= 1 && n <= kMaxDecisionDim, "a ", task.program, " program of ", n,
                " decision variables: at most ", kMaxDecisionDim,
                " are supported (the solvers use dense n x n matrices)");
  try {
    out.parts = task.make_program(n, program);
  } catch (const ConfigError&) {
    throw;
  } catch (const InvalidArgument& e) {
    throw ConfigError(std::string("program: ") + e.what());
  }
  program.finish();
  ConfigReader solver = config.child("solver");
  out.layer.solver = make_solver_options(solver);
  solver.finish();
  return out;
}

}  // namespace

std::unique_ptr<opt::DecisionLayer> make_decision_layer(const std::string& task, int64_t n,
                                                        ConfigReader& config) {
  BuiltProgram b = build_program(task, n, config);
  return std::make_unique<opt::DecisionLayer>(b.parts.program, b.layer);
}

TaskProblem make_problem(const std::string& name, const nlohmann::json& program,
                         const nlohmann::json& solver, int64_t n_y) {
  const nlohmann::json sections = {{"program", program}, {"solver", solver}};
  ConfigReader reader(sections, "config");
  const BuiltProgram b = build_program(name, n_y, reader);
  reader.finish();
  const Task& task = find_task(name);
  TaskProblem out;
  out.problem.layer = std::make_shared<opt::DecisionLayer>(b.parts.program, b.layer);
  if (b.parts.policy_projection) {
    opt::LayerOptions lo;
    lo.solver = b.layer.solver;
    out.problem.policy_projection =
        std::make_shared<opt::DecisionLayer>(b.parts.policy_projection, lo);
  }
  out.problem.headline = task.headline;
  out.problem.headline_higher_is_better = task.headline_higher_is_better;
  out.problem.extra_metrics = task.extra_metrics;
  out.policy_output = b.parts.policy_output;
  out.policy_box_upper = b.parts.policy_box_upper;
  return out;
}

}  // namespace diffdfl::tasks
