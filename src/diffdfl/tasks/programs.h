// The decision program of each task, built from the "program" and "solver" sections of a config.
//
//   task                              program     keys (defaults)
//   synthetic, synthetic-contextual   allocation  capacity (2), pooled (true for synthetic)
//   power                             power       gamma_under (50), gamma_over (0.5), ramp (0.4),
//                                                 gradient ("reference" | "exact" | "smoothed")
//   portfolio                         portfolio   alpha (1e-6), kkt_ridge (1e-6)
//   solver section (every task):      tol (1e-10), inaccurate_tol (1e-6), max_iter (100)
//
// Example:
//   nlohmann::json cfg = {{"program", {{"ramp", 0.3}}}};
//   ConfigReader r(cfg, "example");
//   auto layer = tasks::make_decision_layer("power", /*n_y=*/24, r);
//   r.finish();
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "diffdfl/core/config.h"
#include "diffdfl/opt/decision_layer.h"

namespace diffdfl::tasks {

/// The largest decision dimension n a program is built for: the solvers and the power program's
/// constraints use dense n × n matrices, so a larger n (e.g. a CSV of 200,000 columns given to
/// `diffdfl solve`) would exhaust the memory instead of solving.
inline constexpr int64_t kMaxDecisionDim = 2048;

/// The program of `task` for decisions of dimension n (= n_y), 1 <= n <= kMaxDecisionDim
/// (InvalidArgument otherwise). Reads the config's "program" section.
std::shared_ptr<opt::StochasticProgram> make_program(const std::string& task, int64_t n,
                                                     ConfigReader& program);

/// The "solver" section.
opt::SolverOptions make_solver_options(ConfigReader& solver);

/// make_program + make_solver_options + the layer's pooling option, from a config with "program"
/// and "solver" sections (both optional).
std::unique_ptr<opt::DecisionLayer> make_decision_layer(const std::string& task, int64_t n,
                                                        ConfigReader& config);

/// The program behind a task name ("allocation", "power", "portfolio"); InvalidArgument for an
/// unknown task.
std::string program_name(const std::string& task);

}  // namespace diffdfl::tasks
