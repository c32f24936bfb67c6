#include "diffdfl/reports/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/tasks/task.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace diffdfl::reports {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

json parse_json_file(const fs::path& path, const char* what) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    fail<DataError>(path.string(), ": not valid JSON (", e.what(), "); is this a ", what, "?");
  }
}

std::string fmt_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "";
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << v;
  return out.str();
}

/// Four significant digits for the Markdown tables, without exponents below 1e6.
std::string fmt_md(double v) {
  if (std::isfinite(v) && std::fabs(v) >= 1e4 && std::fabs(v) < 1e6) return fmt_fixed(v, 0);
  return format_number(v, 4);
}

/// Seconds: three decimals below 1 s, one below 100 s, none above.
std::string fmt_seconds(double v) {
  if (!std::isfinite(v)) return "";
  return fmt_fixed(v, std::fabs(v) < 1 ? 3 : (std::fabs(v) < 100 ? 1 : 0));
}

}  // namespace

const std::vector<std::string>& table_method_order() {
  static const std::vector<std::string> v = {
      "two-stage-mlp",   "two-stage-gaussian", "two-stage-diffusion", "dfl-mlp", "dfl-gaussian-rp",
      "dfl-gaussian-sf", "dfl-diffusion-rp",   "dfl-diffusion-sf",    "policy"};
  return v;
}

std::string metric_title(const std::string& task) {
  return task + ": " + task_reporting(task).title;
}

size_t order_rank(const std::vector<std::string>& order, const std::string& name) {
  return static_cast<size_t>(std::find(order.begin(), order.end(), name) - order.begin());
}

std::string format_number(double v, int digits) {
  if (!std::isfinite(v)) return "";
  std::ostringstream out;
  out << std::setprecision(digits) << v;
  return out.str();
}

std::vector<fs::path> find_run_dirs(const fs::path& root, const std::string& marker) {
  std::vector<fs::path> out;
  if (fs::is_regular_file(root / marker)) {
    out.push_back(root);
    return out;
  }
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) fail<IoError>("cannot list ", root.string(), ": ", ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) fail<IoError>("cannot list ", root.string(), ": ", ec.message());
    const fs::path& p = it->path();
    if (it->is_directory() && p.filename() == ".cache") {
      it.disable_recursion_pending();
      continue;
    }
    if (p.filename() == marker && it->is_regular_file()) out.push_back(p.parent_path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Runs and the results table.

std::pair<double, double> mean_and_std(const std::vector<double>& values) {
  if (values.empty()) return {kNaN, kNaN};
  double sum = 0;
  for (double v : values)
    sum += v;
  const double mean = sum / static_cast<double>(values.size());
  if (values.size() < 2) return {mean, kNaN};
  double ss = 0;
  for (double v : values)
    ss += (v - mean) * (v - mean);
  return {mean, std::sqrt(ss / static_cast<double>(values.size() - 1))};
}

double RunRecord::headline_value() const {
  return metrics.test_value(task_reporting(metrics.task).headline);
}

bool RunRecord::usable() const {
  return std::isfinite(metrics.test.cost) && std::isfinite(headline_value());
}

RunRecord read_run_record(const fs::path& run_dir) {
  const fs::path file = run_dir / "metrics.json";
  if (!fs::is_regular_file(file))
    fail<DataError>(file.string(),
                    " not found: not a finished run directory (metrics.json is written last)");
  const std::string fix = "; rerun the run, or leave " + run_dir.string() + " out of the report";
  RunRecord r;
  r.dir = run_dir.string();
  try {
    r.metrics = experiment::RunMetrics::from_json(parse_json_file(file, "run's metrics.json"),
                                                  file.string());
  } catch (const DataError& e) {
    fail<DataError>(e.what(), fix);
  }
  const TaskReporting& task = task_reporting(r.metrics.task);
  if (task.headline != "cost" && std::isfinite(r.metrics.test.cost) &&
      r.metrics.test.extra.count(task.headline) == 0)
    fail<DataError>(file.string(), ": a ", r.metrics.task, " run needs 'test_", task.headline,
                    "' (its headline metric); re-evaluate it with `diffdfl eval --run ",
                    run_dir.string(), "` or rerun it");
  const fs::path config = run_dir / "config.json";
  if (!task.size_key.empty() && fs::is_regular_file(config)) {
    const json c = parse_json_file(config, "run's config.json");
    // size_key is "section.key".
    const size_t dot = task.size_key.find('.');
    const std::string section = task.size_key.substr(0, dot), key = task.size_key.substr(dot + 1);
    if (c.contains(section) && c[section].is_object() && c[section].contains(key)) {
      const json& n = c[section][key];
      if (!n.is_number_integer() || n.get<int64_t>() < 1)
        fail<DataError>(config.string(), ": ", task.size_key, " must be a positive integer, got ",
                        n.dump());
      r.size = n.get<int64_t>();
    }
  }
  return r;
}

std::vector<RunRecord> collect_runs(const std::vector<std::string>& paths) {
  DIFFDFL_CHECK(!paths.empty(),
                "no run directories given; pass run directories (holding "
                "metrics.json) or folders that contain them");
  std::vector<RunRecord> runs;
  std::set<fs::path> seen;
  for (const std::string& p : paths) {
    const fs::path root(p);
    if (!fs::exists(root))
      fail<InvalidArgument>("'", p,
                            "' does not exist; pass run directories (holding metrics.json) or "
                            "folders that contain them");
    if (!fs::is_directory(root))
      fail<InvalidArgument>("'", p,
                            "' is not a directory; pass a run directory or a folder of runs");
    const std::vector<fs::path> dirs = find_run_dirs(root, "metrics.json");
    if (dirs.empty())
      fail<InvalidArgument>("no finished run under '", p,
                            "' (no metrics.json at any depth; an unfinished run has none yet: "
                            "finish it with `diffdfl train --resume DIR`)");
    for (const fs::path& d : dirs) {
      if (!seen.insert(fs::weakly_canonical(d)).second) continue;  // given twice
      runs.push_back(read_run_record(d));
    }
  }
  std::sort(runs.begin(), runs.end(),
            [](const RunRecord& a, const RunRecord& b) { return a.dir < b.dir; });
  return runs;
}

const PaperNumber* PaperNumbers::find(const std::string& task, const std::string& method) const {
  const auto t = values.find(task);
  if (t == values.end()) return nullptr;
  const auto m = t->second.find(method);
  return m == t->second.end() ? nullptr : &m->second;
}

PaperNumbers load_paper_numbers(const fs::path& file) {
  if (!fs::is_regular_file(file))
    fail<ConfigError>("paper numbers file ", file.string(),
                      " not found; pass --config-dir with the folder holding paper_numbers.json "
                      "(the source tree's configs/)");
  json j;
  try {
    j = json::parse(read_file(file));
  } catch (const json::parse_error& e) {
    fail<ConfigError>(file.string(), ": not valid JSON (", e.what(), ")");
  }
  const std::string f = file.string();
  if (!j.is_object()) fail<ConfigError>(f, ": expected a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "source" && key != "description" && key != "metrics" && key != "tasks")
      fail<ConfigError>(f, ": unknown key '", key,
                        "' (expected source, description, metrics, tasks)");
  }
  PaperNumbers out;
  if (j.contains("source")) {
    if (!j["source"].is_string()) fail<ConfigError>(f, ": 'source' must be a string");
    out.source = j["source"].get<std::string>();
  }
  if (j.contains("metrics")) {
    if (!j["metrics"].is_object()) fail<ConfigError>(f, ": 'metrics' must be an object");
    for (const auto& [task, metric] : j["metrics"].items()) {
      const std::string& headline = task_reporting(task).headline;
      if (!metric.is_string() || metric.get<std::string>() != headline)
        fail<ConfigError>(f, ": metrics.", task, " is ", metric.dump(), " but the table reports '",
                          headline, "' for ", task);
    }
  }
  if (!j.contains("tasks") || !j["tasks"].is_object())
    fail<ConfigError>(f, ": missing object 'tasks' ({task: {method: {\"mean\": m, \"std\": s}}})");
  for (const auto& [task, methods] : j["tasks"].items()) {
    if (order_rank(tasks::task_names(), task) == tasks::task_names().size())
      fail<ConfigError>(f, ": unknown task 'tasks.", task,
                        "'; tasks: ", joined(tasks::task_names()));
    if (!methods.is_object()) fail<ConfigError>(f, ": 'tasks.", task, "' must be an object");
    for (const auto& [method, number] : methods.items()) {
      const std::string key = "tasks." + task + "." + method;
      if (order_rank(table_method_order(), method) == table_method_order().size())
        fail<ConfigError>(f, ": unknown method '", key,
                          "'; methods: ", joined(table_method_order()));
      if (!number.is_object() || !number.contains("mean") || !number["mean"].is_number())
        fail<ConfigError>(f, ": '", key, "' needs a number 'mean' (and optionally 'std')");
      for (const auto& [k, v] : number.items()) {
        if (k != "mean" && k != "std")
          fail<ConfigError>(f, ": unknown key '", key, ".", k, "' (expected mean, std)");
        if (!v.is_number()) fail<ConfigError>(f, ": '", key, ".", k, "' must be a number");
      }
      PaperNumber n;
      n.mean = number["mean"].get<double>();
      n.std = number.contains("std") ? number["std"].get<double>() : kNaN;
      out.values[task][method] = n;
    }
  }
  return out;
}

ResultsTable build_results_table(const std::vector<RunRecord>& runs, const PaperNumbers& paper) {
  DIFFDFL_CHECK(!runs.empty(), "no runs to tabulate");
  // One preset per table.
  std::map<std::string, std::string> presets;  // preset -> first directory
  for (const RunRecord& r : runs)
    presets.emplace(r.metrics.preset, r.dir);
  if (presets.size() > 1) {
    std::string list;
    for (const auto& [preset, dir] : presets)
      list += (list.empty() ? "" : "; ") + ("'" + preset + "' (e.g. " + dir + ")");
    fail<InvalidArgument>("the runs mix presets: ", list,
                          ". A table compares runs of one preset; pass the run directories of "
                          "one preset only (one table per preset)");
  }
  // One size per table for a task whose runs come in sizes (the scalability study compares
  // sizes: scalability.h).
  std::map<std::string, const RunRecord*> first_sized;  // task -> its first run
  for (const RunRecord& r : runs) {
    const TaskReporting& task = task_reporting(r.metrics.task);
    if (task.size_key.empty()) continue;
    const RunRecord* first = first_sized.emplace(r.metrics.task, &r).first->second;
    if (r.size != first->size)
      fail<InvalidArgument>("the ", r.metrics.task, " runs mix sizes: ", first->dir, " has ",
                            first->size, " ", task.size_unit, " and ", r.dir, " has ", r.size,
                            ". A table compares runs of one size; pass one size's runs (sizes "
                            "side by side: `diffdfl plot scalability`)");
  }
  // One run per (task, method, seed).
  std::map<std::tuple<std::string, std::string, uint64_t>, std::string> owners;
  for (const RunRecord& r : runs) {
    const experiment::RunMetrics& m = r.metrics;
    const auto [it, inserted] = owners.emplace(std::make_tuple(m.task, m.method, m.seed), r.dir);
    if (!inserted)
      fail<InvalidArgument>("two runs of ", m.task, " / ", m.method, " seed ", m.seed, ": ",
                            it->second, " and ", r.dir,
                            "; each seed may appear once in a table, pass only one of them");
  }

  using Key = std::tuple<size_t, std::string, size_t, std::string>;
  std::map<Key, std::vector<const RunRecord*>> groups;
  for (const RunRecord& r : runs) {
    groups[{order_rank(tasks::task_names(), r.metrics.task), r.metrics.task,
            order_rank(table_method_order(), r.metrics.method), r.metrics.method}]
        .push_back(&r);
  }

  ResultsTable table;
  table.preset = runs.front().metrics.preset;
  table.paper_source = paper.source;
  for (const auto& [key, members] : groups) {
    TableRow row;
    row.task = std::get<1>(key);
    row.method = std::get<3>(key);
    const TaskReporting& task = task_reporting(row.task);
    row.metric = task.headline;
    row.runs = static_cast<int64_t>(members.size());
    std::vector<double> values, seconds;
    // Means over the usable runs that have the number.
    std::map<std::string, std::vector<double>> per_run;
    row.peak_rss_mb = kNaN;
    for (const RunRecord* r : members) {
      const experiment::RunMetrics& m = r->metrics;
      if (m.status == experiment::RunStatus::kDiverged) table.diverged.push_back(*r);
      if (std::isfinite(m.train_seconds)) seconds.push_back(m.train_seconds);
      if (std::isfinite(m.peak_rss_mb))
        row.peak_rss_mb = std::isfinite(row.peak_rss_mb) ? std::max(row.peak_rss_mb, m.peak_rss_mb)
                                                         : m.peak_rss_mb;
      if (!r->usable()) {
        table.excluded.push_back(*r);
        continue;
      }
      values.push_back(r->headline_value());
      row.seeds.push_back(static_cast<int64_t>(m.seed));
      std::vector<std::pair<std::string, double>> numbers = {{"rmse", m.test.rmse},
                                                             {"crps", m.test.crps},
                                                             {"energy", m.test.energy},
                                                             {"coverage90", m.test.coverage90},
                                                             {"eval_se", m.test_eval_se()}};
      for (const std::string& extra : task.extra_columns)
        numbers.emplace_back("extra." + extra, m.test_value(extra));
      for (const auto& [name, v] : numbers) {
        if (std::isfinite(v)) per_run[name].push_back(v);
      }
    }
    std::sort(row.seeds.begin(), row.seeds.end());
    row.n_seeds = static_cast<int64_t>(values.size());
    std::tie(row.mean, row.std) = mean_and_std(values);
    row.se = row.std / std::sqrt(static_cast<double>(row.n_seeds));
    const auto mean_of = [&](const std::string& name) { return mean_and_std(per_run[name]).first; };
    row.rmse = mean_of("rmse");
    for (const std::string& extra : task.extra_columns)
      row.extras[extra] = mean_of("extra." + extra);
    row.crps = mean_of("crps");
    row.energy = mean_of("energy");
    row.coverage90 = mean_of("coverage90");
    row.eval_se = mean_of("eval_se");
    row.train_seconds = mean_and_std(seconds).first;
    const PaperNumber* p = paper.find(row.task, row.method);
    row.paper = p != nullptr ? p->mean : kNaN;
    row.paper_std = p != nullptr ? p->std : kNaN;
    table.rows.push_back(row);
  }
  return table;
}

std::string results_csv(const ResultsTable& table) {
  std::ostringstream out;
  out << "task,method,metric,n_seeds,mean,std,paper,se,eval_se,rmse,crps,energy,coverage90\n";
  for (const TableRow& r : table.rows) {
    out << r.task << "," << r.method << "," << r.metric << "," << r.n_seeds;
    for (double v :
         {r.mean, r.std, r.paper, r.se, r.eval_se, r.rmse, r.crps, r.energy, r.coverage90})
      out << "," << format_number(v);
    out << "\n";
  }
  return out.str();
}

std::string results_markdown(const ResultsTable& table) {
  const auto pm = [](double mean, double std) {
    if (!std::isfinite(mean)) return std::string("—");
    return std::isfinite(std) ? fmt_md(mean) + " ± " + fmt_md(std) : fmt_md(mean);
  };
  const auto cell = [](const std::string& s) { return s.empty() ? std::string("—") : s; };
  int64_t total_runs = 0;
  for (const TableRow& r : table.rows)
    total_runs += r.runs;
  std::ostringstream md;
  md << "# Results over seeds (preset `" << table.preset << "`)\n\n"
     << "Generated by `diffdfl table` from " << total_runs << " runs. Each row gives the mean ± "
     << "sample standard deviation (n − 1) over seeds of the test-set headline metric: the "
     << "decision cost for synthetic, synthetic-contextual and power (lower is better), the mean "
     << "realised daily return as a fraction for portfolio (higher is better). **n counts only the "
     << "runs with a usable test value**: a run whose test cost is null (no test instance could be "
     << "solved) is listed at the end and left out of the mean, the std and the RMSE. The std is "
     << "empty when n = 1.\n\n"
     << "- paper: mean ± std of the paper's Table 1"
     << (table.paper_source.empty() ? "" : " (" + table.paper_source + ")")
     << ", at the paper's own preset and seeds; — where it has no number.\n"
     << "- SE: standard error of the mean over seeds (std/√n). re-eval SE: how much "
     << "re-evaluating one model with fresh samples moves its test cost (the runs' mean of "
     << "cost_sampling_sd/√repeats; — for one draw or a deterministic model).\n"
     << "- RMSE: mean test RMSE of the predictions over the same seeds, in raw data units "
     << "(— for policy, which predicts no y).\n"
     << "- CRPS, ES, cov90: the predictive distribution's test CRPS (per coordinate), energy "
     << "score and 90 % central-interval coverage (0.9 is calibrated); lower scores are better; — "
     << "for point forecasts and policies.\n"
     << "- train time: mean `train_seconds` per run (pretraining included, even when loaded from "
     << "the cache); peak RSS: the largest `peak_rss_mb` among the row's runs.\n";
  std::string task;
  for (const TableRow& r : table.rows) {
    const std::vector<std::string>& extras = task_reporting(r.task).extra_columns;
    if (r.task != task) {
      task = r.task;
      md << "\n## " << metric_title(r.task) << "\n\n"
         << "| method | ours: mean ± std | SE | re-eval SE | paper | n | seeds | RMSE | CRPS | ES "
         << "| cov90 |";
      for (const std::string& extra : extras)
        md << " " << extra << " |";
      md << " train time (s) | peak RSS (MB) |\n"
         << "|---|---|---|---|---|---|---|---|---|---|---|";
      for (size_t k = 0; k < extras.size(); ++k)
        md << "---|";
      md << "---|---|\n";
    }
    std::string seeds;
    for (int64_t s : r.seeds)
      seeds += (seeds.empty() ? "" : " ") + std::to_string(s);
    md << "| " << r.method << " | " << pm(r.mean, r.std) << " | " << cell(fmt_md(r.se)) << " | "
       << cell(fmt_md(r.eval_se)) << " | " << pm(r.paper, r.paper_std) << " | " << r.n_seeds
       << (r.runs != r.n_seeds ? " of " + std::to_string(r.runs) : "") << " | " << cell(seeds)
       << " | " << cell(fmt_md(r.rmse)) << " | " << cell(fmt_md(r.crps)) << " | "
       << cell(fmt_md(r.energy)) << " | " << cell(fmt_fixed(r.coverage90, 2)) << " |";
    for (const std::string& extra : extras)
      md << " " << cell(fmt_md(r.extras.count(extra) ? r.extras.at(extra) : kNaN)) << " |";
    md << " " << cell(fmt_seconds(r.train_seconds)) << " | " << cell(fmt_fixed(r.peak_rss_mb, 0))
       << " |\n";
  }
  md << "\n## Runs left out of the numbers (null test cost)\n\n";
  if (table.excluded.empty()) md << "None: every run had a usable test value.\n";
  for (const RunRecord& r : table.excluded) {
    const experiment::RunMetrics& m = r.metrics;
    md << "- `" << r.dir << "`: " << m.task << " / " << m.method << " seed " << m.seed << ": test "
       << (std::isfinite(m.test.cost) ? task_reporting(m.task).headline : std::string("cost"))
       << " is null (no usable test instance); not counted in n\n";
  }
  if (!table.diverged.empty()) {
    md << "\n## Diverged runs (status `diverged`; counted when their test value is usable)\n\n";
    for (const RunRecord& r : table.diverged)
      md << "- `" << r.dir << "`: " << r.metrics.task << " / " << r.metrics.method << " seed "
         << r.metrics.seed << "\n";
  }
  return md.str();
}

std::vector<std::string> write_results_table(const ResultsTable& table, const std::string& prefix) {
  DIFFDFL_CHECK(!prefix.empty(), "the output prefix is empty; pass --out PREFIX");
  const fs::path base(prefix);
  if (base.has_parent_path()) fs::create_directories(base.parent_path());
  const std::string csv = prefix + ".csv";
  const std::string md = prefix + ".md";
  write_file_atomic(csv, results_csv(table));
  write_file_atomic(md, results_markdown(table));
  return {csv, md};
}

std::vector<TableRow> read_table_csv(const fs::path& file) {
  if (!fs::is_regular_file(file))
    fail<DataError>("table ", file.string(), " not found; write it with `diffdfl table`");
  const CsvTable t = parse_csv(read_file(file), file.string());
  const size_t c_task = t.column("task"), c_method = t.column("method"),
               c_metric = t.column("metric"), c_n = t.column("n_seeds"), c_mean = t.column("mean"),
               c_std = t.column("std"), c_paper = t.column("paper");
  const auto number = [&](size_t r, size_t c) {
    return t.rows[r][c].empty() ? kNaN : parse_double(t.rows[r][c], t.where(r, c));
  };
  std::vector<TableRow> rows;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    TableRow row;
    row.task = t.rows[r][c_task];
    row.method = t.rows[r][c_method];
    row.metric = t.rows[r][c_metric];
    row.n_seeds = parse_int(t.rows[r][c_n], t.where(r, c_n));
    row.mean = number(r, c_mean);
    row.std = number(r, c_std);
    row.paper = number(r, c_paper);
    row.paper_std = kNaN;
    row.se = row.eval_se = row.rmse = row.crps = row.energy = row.coverage90 = row.train_seconds =
        row.peak_rss_mb = kNaN;
    rows.push_back(row);
  }
  return rows;
}

}  // namespace diffdfl::reports
