// Options of the decision-layer solvers.
//
// Example:
//   SolverOptions opts;
//   opts.tol = 1e-9;
//   opts.validate();   // on a bad value: InvalidArgument("solver.tol must be in (0, 1e-3], ...")
#pragma once

#include <cstdint>

namespace diffdfl::opt {

struct SolverOptions {
  /// Target for the scaled KKT residuals (stationarity, primal feasibility, complementarity).
  double tol = 1e-10;
  /// A solve that stops with residuals above `tol` but below this is reported kInaccurate.
  double inaccurate_tol = 1e-6;
  /// Interior-point iteration limit.
  int64_t max_iter = 100;

  void validate() const;
};

}  // namespace diffdfl::opt
