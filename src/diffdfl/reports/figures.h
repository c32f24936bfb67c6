// Figures of finished runs (issue 6), drawn by gnuplot: learning curves, the results bar chart,
// sample histograms against the truth, and a memory/time chart. Each plot_* function writes
// PREFIX.gp (a self-contained gnuplot script with its data inline), runs gnuplot on it and leaves
// PREFIX.png and PREFIX.svg; it throws IoError when gnuplot is not on PATH or fails (the message
// carries gnuplot's output). The scalability figure is in scalability.h.
//
// Example:
//   auto table = reports::read_table_csv("results/table1.csv");
//   reports::plot_bars(table, "results/figures/table1");  // table1.{gp,png,svg}
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "diffdfl/experiment/run.h"
#include "diffdfl/reports/gnuplot.h"
#include "diffdfl/reports/report.h"

namespace diffdfl::reports {

/// Learning curves: hold-out and test cost per epoch (epoch −1 = the starting model) from each
/// run's curve.csv, one line per run in each of two panels, labelled by method and seed (and task
/// when the runs mix tasks).
///
/// Example:
///   plot_curves({"runs/power/dfl-mlp/cpu-seed1", "runs/power/dfl-diffusion-sf/cpu-seed1"},
///               "figures/power_curves");
PlotFiles plot_curves(const std::vector<std::string>& run_dirs, const std::string& prefix);

/// The results bar chart: a panel per task, bars = our mean with ± std error bars, the paper's
/// means as points.
///
/// Example:
///   plot_bars(read_table_csv("results/table1.csv"), "results/table1_bars");
PlotFiles plot_bars(const std::vector<TableRow>& rows, const std::string& prefix);

/// What plot_samples draws.
struct SampleHistogramOptions {
  std::string split = "test";
  int64_t index = 0;           ///< row of the split
  int64_t n = 1000;            ///< samples drawn
  int64_t coord = -1;          ///< one coordinate of y, or −1 for each of the first four
  int64_t bins = 0;            ///< histogram bins (0: about 2·∛n, at least 10)
  experiment::RunPaths paths;  ///< data_dir is needed to find the context's true y
};

/// Histograms of n samples of y for one context from the run's selected model (experiment::sample,
/// the same draw as `diffdfl sample`), with the true value and the sample mean as vertical lines.
///
/// Example:
///   SampleHistogramOptions o;
///   o.n = 500;
///   o.paths.data_dir = "data";
///   plot_samples("runs/synthetic/dfl-diffusion-sf/cpu-seed1", o, "figures/samples");
PlotFiles plot_samples(const std::string& run_dir, const SampleHistogramOptions& options,
                       const std::string& prefix);

/// Memory and time: from a CSV with columns `setting,peak_mb,seconds_per_epoch`, two bar panels
/// (peak memory in MB, seconds per epoch) with one bar per setting.
///
/// Example:
///   plot_memory("results/memory.csv", "results/memory");
PlotFiles plot_memory(const std::filesystem::path& csv, const std::string& prefix);

}  // namespace diffdfl::reports
