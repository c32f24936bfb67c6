// The portfolio scalability study (issue 6): how decision quality changes with the number of
// assets n. For each method and n, over the seeds with a usable test value: the mean ± std (n − 1)
// of the test regret to the hindsight optimum (lower is better) and of the realised daily return,
// and the mean training time. The n of a run is data.n_assets in its config.json.
//
// Example:
//   auto runs = reports::collect_runs({"results/scalability"});
//   auto rows = reports::build_scalability(runs);
//   reports::write_scalability_csv(rows, "results/scalability/scalability");  // .csv
//   reports::plot_scalability(rows, "results/scalability/scalability");       // .png, .svg
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/reports/gnuplot.h"
#include "diffdfl/reports/report.h"

namespace diffdfl::reports {

/// One method at one portfolio size. NaN marks an empty cell.
///
/// Example:
///   for (const ScalabilityRow& r : rows) std::cout << r.method << " n=" << r.n_assets << " "
///                                                  << r.regret << " ± " << r.regret_std << "\n";
struct ScalabilityRow {
  std::string method;
  int64_t n_assets = 0;
  int64_t n_seeds = 0;         ///< usable runs
  double regret = 0;           ///< mean test regret
  double regret_std = 0;       ///< sample std; NaN when n_seeds < 2
  double ret = 0;              ///< mean test return (fraction of wealth per day)
  double ret_std = 0;          ///< sample std; NaN when n_seeds < 2
  double train_seconds = 0;    ///< mean train_seconds over the row's runs
  std::vector<int64_t> seeds;  ///< seeds of the usable runs, ascending
};

/// Groups portfolio runs by (method, n_assets); rows ordered by method
/// (dfl::method_names) then n.
/// InvalidArgument naming the directory for a run of another task or without a known n_assets
/// (no config.json), for runs of mixed presets, and for two runs of one (method, n, seed).
std::vector<ScalabilityRow> build_scalability(const std::vector<RunRecord>& runs);

/// The CSV text: header
/// `method,n_assets,n_seeds,regret_mean,regret_std,return_mean,return_std,train_seconds`.
std::string scalability_csv(const std::vector<ScalabilityRow>& rows);

/// Writes PREFIX.csv atomically (creating PREFIX's folder) and returns its path.
std::string write_scalability_csv(const std::vector<ScalabilityRow>& rows,
                                  const std::string& prefix);

/// Two panels against n: test regret (mean with ± std bars) and realised return, a line per
/// method. IoError as run_gnuplot_script.
PlotFiles plot_scalability(const std::vector<ScalabilityRow>& rows, const std::string& prefix);

}  // namespace diffdfl::reports
