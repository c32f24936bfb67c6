// Reports over finished runs (issue 6): the results table of the paper's Table 1 (mean ± std over
// seeds per task × method, beside the paper's numbers). The figures are in figures.h and
// scalability.h.
//
// collect_runs finds every run (a directory with metrics.json) under the given paths,
// build_results_table groups them by (task, method) — one preset per table — and computes over the
// seeds with a usable test value the mean and sample standard deviation (n − 1) of the task's
// headline metric (task_reporting.h: `cost` = test_cost for synthetic, synthetic-contextual and
// power; `return` = test_return for portfolio) with its standard error, the mean re-evaluation
// standard error, the mean test RMSE and density scores, the mean training time and the largest
// peak RSS. A run whose test_cost is null (no usable test instance) is listed but left out of the
// numbers. write_results_table writes PREFIX.csv (`task,method,metric,n_seeds,mean,std,paper,…`)
// and PREFIX.md (a Markdown table per task), atomically.
//
// Example:
//   auto runs = reports::collect_runs({"results/runs"});
//   auto paper = reports::load_paper_numbers("configs/paper_numbers.json");
//   reports::ResultsTable table = reports::build_results_table(runs, paper);
//   reports::write_results_table(table, "results/table1");  // table1.csv, table1.md
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "diffdfl/experiment/run_metrics.h"
#include "diffdfl/reports/task_reporting.h"

namespace diffdfl::reports {

// ---------------------------------------------------------------------------------------------
// Runs and the results table.

/// One finished run as the reports see it: its metrics.json (experiment::RunMetrics) and, for a
/// task whose runs come in sizes, its size from config.json.
///
/// Example:
///   RunRecord r = read_run_record("runs/power/dfl-mlp/cpu-seed1");
///   if (r.usable()) std::cout << r.metrics.task << " " << r.headline_value() << "\n";
struct RunRecord {
  std::string dir;  ///< the run directory, as found
  experiment::RunMetrics metrics;
  /// The run's size (task_reporting(task).size_key of its config.json, e.g. portfolio
  /// data.n_assets); 0 when the task has none or it is not known.
  int64_t size = 0;

  /// The test value of the task's headline metric (task_reporting): test_return for portfolio,
  /// else test_cost.
  double headline_value() const;
  /// True when the test cost and the headline value are finite numbers.
  bool usable() const;
};

/// Methods in the order of the results table (the paper's Table 1): two-stage-mlp …
/// dfl-diffusion-sf, policy. Tasks follow tasks::task_names().
const std::vector<std::string>& table_method_order();
/// Where `name` sits in `order` (order.size() when absent), for sorting in table order.
size_t order_rank(const std::vector<std::string>& order, const std::string& name);

/// A number as text for tables, CSV files and figure labels: at most `digits` significant digits
/// ("%.<digits>g"), "" for a non-finite value.
std::string format_number(double v, int digits = 10);

/// Run directories under `root` that hold a file named `marker` (root itself included), sorted;
/// `.cache` folders are skipped. IoError when a folder cannot be listed.
std::vector<std::filesystem::path> find_run_dirs(const std::filesystem::path& root,
                                                 const std::string& marker);

/// {mean, sample standard deviation (n − 1)} of `values`: {NaN, NaN} when empty, std NaN for one.
std::pair<double, double> mean_and_std(const std::vector<double>& values);

/// The heading of a task's results, e.g. "power: test decision cost (lower is better)".
std::string metric_title(const std::string& task);

/// Reads DIR/metrics.json (and, for a task with a size, e.g. portfolio, its size from
/// DIR/config.json when present). DataError naming the file for a missing or mistyped field
/// (experiment::RunMetrics::from_json; the headline metric, e.g. test_return on portfolio, when
/// test_cost is a number; a non-positive size).
RunRecord read_run_record(const std::filesystem::path& run_dir);

/// The runs under `paths`: each path is a run directory (it holds metrics.json) or a directory
/// searched at any depth for run directories (`.cache` folders are skipped). InvalidArgument names
/// a path that does not exist or holds no finished run. The result is sorted by directory.
std::vector<RunRecord> collect_runs(const std::vector<std::string>& paths);

/// One number of the paper.
struct PaperNumber {
  double mean = 0;
  double std = 0;
};

/// The paper's Table 1 (configs/paper_numbers.json): {"source": "...", "tasks": {task: {method:
/// {"mean": m, "std": s}}}}, optionally "metrics": {task: "cost"|"return"} (checked against
/// task_reporting) and "description".
///
/// Example:
///   PaperNumbers p = load_paper_numbers("configs/paper_numbers.json");
///   if (const PaperNumber* n = p.find("power", "dfl-diffusion-sf")) std::cout << n->mean; // 3.171
struct PaperNumbers {
  std::string source;
  std::map<std::string, std::map<std::string, PaperNumber>> values;  ///< task → method → number

  /// The number for (task, method), or nullptr when the paper has none.
  const PaperNumber* find(const std::string& task, const std::string& method) const;
};

/// Reads and checks a paper-numbers file. ConfigError names the file and the offending key (an
/// unknown task or method, a missing mean, a metric that disagrees with task_reporting).
PaperNumbers load_paper_numbers(const std::filesystem::path& file);

/// One task × method of the results table. Mean, std and RMSE are over the usable runs (n_seeds of
/// them); time and memory over every run of the row. NaN marks an empty cell.
///
/// Example:
///   const TableRow& r = table.rows.front();
///   std::cout << r.task << " " << r.method << " " << r.mean << " ± " << r.std << "\n";
struct TableRow {
  std::string task;
  std::string method;
  std::string metric;   ///< the task's headline metric: "cost" or "return"
  int64_t n_seeds = 0;  ///< usable runs
  double mean = 0;      ///< NaN when n_seeds == 0
  double std = 0;       ///< sample std (n − 1); NaN when n_seeds < 2
  double se = 0;        ///< standard error of the mean over seeds, std/√n
  double eval_se = 0;   ///< mean re-evaluation standard error of the runs' test cost
  double paper = 0;     ///< the paper's mean, NaN when it has none
  double paper_std = 0;
  double rmse = 0;  ///< mean test RMSE (NaN for policy)
  /// Mean test value of each of the task's extra columns (task_reporting; portfolio: regret).
  std::map<std::string, double> extras;
  double crps = 0;    ///< mean test CRPS, energy score, 90 % coverage (NaN for point
  double energy = 0;  ///< forecasts and policies)
  double coverage90 = 0;
  double train_seconds = 0;    ///< mean train_seconds
  double peak_rss_mb = 0;      ///< largest peak_rss_mb
  std::vector<int64_t> seeds;  ///< seeds of the usable runs, ascending
  int64_t runs = 0;            ///< every run of the row, usable or not
};

/// The whole table: rows ordered by task (synthetic, synthetic-contextual, power, portfolio) then
/// method (two-stage-mlp, two-stage-gaussian, two-stage-diffusion, dfl-mlp, dfl-gaussian-rp,
/// dfl-gaussian-sf, dfl-diffusion-rp, dfl-diffusion-sf, policy); other names follow, sorted.
struct ResultsTable {
  std::string preset;
  std::string paper_source;
  std::vector<TableRow> rows;
  std::vector<RunRecord> excluded;  ///< runs with a null test cost (or headline value)
  std::vector<RunRecord> diverged;  ///< runs with status "diverged" (still counted when usable)
};

/// Groups `runs` and computes the rows. InvalidArgument when the runs mix presets (naming a
/// directory of each), the runs of a task with sizes mix sizes (portfolio: n_assets), or two runs
/// share (task, method, seed) (naming both directories).
ResultsTable build_results_table(const std::vector<RunRecord>& runs, const PaperNumbers& paper);

/// The CSV text: header `task,method,metric,n_seeds,mean,std,paper,se,eval_se,rmse,crps,energy,
/// coverage90`, one line per row.
std::string results_csv(const ResultsTable& table);
/// The Markdown text: a table per task, then the runs left out.
std::string results_markdown(const ResultsTable& table);
/// Writes PREFIX.csv and PREFIX.md atomically (creating PREFIX's folder) and returns their paths.
std::vector<std::string> write_results_table(const ResultsTable& table, const std::string& prefix);

/// Reads a table CSV written by write_results_table (columns found by name; empty cells are NaN;
/// only task, method, metric, n_seeds, mean, std and paper are filled). DataError names the file
/// and line of a bad cell.
std::vector<TableRow> read_table_csv(const std::filesystem::path& file);

}  // namespace diffdfl::reports
