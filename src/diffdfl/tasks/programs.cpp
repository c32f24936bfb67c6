#include "diffdfl/tasks/programs.h"

#include "diffdfl/core/error.h"
#include "diffdfl/opt/allocation.h"
#include "diffdfl/opt/portfolio.h"
#include "diffdfl/opt/power.h"

namespace diffdfl::tasks {

std::string program_name(const std::string& task) {
  if (task == "synthetic" || task == "synthetic-contextual") return "allocation";
  if (task == "power") return "power";
  if (task == "portfolio") return "portfolio";
  fail("unknown task '", task, "'; use synthetic, synthetic-contextual, power or portfolio");
}

std::shared_ptr<opt::StochasticProgram> make_program(const std::string& task, int64_t n,
                                                     ConfigReader& program) {
  const std::string kind = program_name(task);
  DIFFDFL_CHECK(n >= 1 && n <= kMaxDecisionDim, "a ", kind, " program of ", n,
                " decision variables: at most ", kMaxDecisionDim,
                " are supported (the solvers use dense n x n matrices)");
  if (kind == "allocation") {
    opt::AllocationOptions o;
    o.n = n;
    program.get("capacity", o.capacity);
    return std::make_shared<opt::AllocationProgram>(o);
  }
  if (kind == "power") {
    opt::PowerOptions o;
    o.n = n;
    program.get("gamma_under", o.gamma_under);
    program.get("gamma_over", o.gamma_over);
    program.get("ramp", o.ramp);
    std::string gradient = opt::to_string(o.gradient);
    program.get("gradient", gradient);
    try {
      o.gradient = opt::parse_power_gradient(gradient);
    } catch (const InvalidArgument& e) {
      throw ConfigError(program.path("gradient") + ": " + e.what());
    }
    return std::make_shared<opt::PowerProgram>(o);
  }
  opt::PortfolioOptions o;
  o.n = n;
  program.get("alpha", o.alpha);
  program.get("kkt_ridge", o.kkt_ridge);
  return std::make_shared<opt::PortfolioProgram>(o);
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

std::unique_ptr<opt::DecisionLayer> make_decision_layer(const std::string& task, int64_t n,
                                                        ConfigReader& config) {
  ConfigReader program = config.child("program");
  opt::LayerOptions lo;
  lo.pooled = task == "synthetic";  // the reference pools the samples of a batch (y ⟂ x there)
  program.get("pooled", lo.pooled);
  std::shared_ptr<opt::StochasticProgram> prog;
  try {
    prog = make_program(task, n, program);
  } catch (const ConfigError&) {
    throw;
  } catch (const InvalidArgument& e) {
    throw ConfigError(std::string("program: ") + e.what());
  }
  program.finish();
  ConfigReader solver = config.child("solver");
  lo.solver = make_solver_options(solver);
  solver.finish();
  return std::make_unique<opt::DecisionLayer>(prog, lo);
}

}  // namespace diffdfl::tasks
