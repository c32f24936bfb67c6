#include "diffdfl/experiment/report.h"

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

namespace fs = std::filesystem;
using nlohmann::json;

namespace diffdfl::experiment {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::vector<std::string>& task_order() {
  static const std::vector<std::string> v = {"synthetic", "synthetic-contextual", "power",
                                             "portfolio"};
  return v;
}

const std::vector<std::string>& method_order() {
  static const std::vector<std::string> v = {
      "two-stage-mlp",   "two-stage-gaussian", "two-stage-diffusion", "dfl-mlp", "dfl-gaussian-rp",
      "dfl-gaussian-sf", "dfl-diffusion-rp",   "dfl-diffusion-sf",    "policy"};
  return v;
}

size_t rank_of(const std::vector<std::string>& order, const std::string& name) {
  return static_cast<size_t>(std::find(order.begin(), order.end(), name) - order.begin());
}

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

std::string required_string(const json& j, const std::string& key, const fs::path& file) {
  if (!j.contains(key)) fail<DataError>(file.string(), ": missing key '", key, "'");
  if (!j[key].is_string())
    fail<DataError>(file.string(), ": key '", key, "' must be a string, got ", j[key].dump());
  return j[key].get<std::string>();
}

/// A number, NaN for null; NaN for an absent key unless `required`.
double number_or_nan(const json& j, const std::string& key, const fs::path& file,
                     bool required = false) {
  if (!j.contains(key)) {
    if (required)
      fail<DataError>(file.string(), ": missing key '", key,
                      "' (a number, or null when no test instance was usable)");
    return kNaN;
  }
  const json& v = j[key];
  if (v.is_null()) return kNaN;
  if (!v.is_number())
    fail<DataError>(file.string(), ": key '", key, "' must be a number or null, got ", v.dump());
  return v.get<double>();
}

/// "%.<digits>g"-style text; "" for NaN.
std::string fmt(double v, int digits = 10) {
  if (!std::isfinite(v)) return "";
  std::ostringstream out;
  out << std::setprecision(digits) << v;
  return out.str();
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
  return fmt(v, 4);
}

/// Seconds: three decimals below 1 s, one below 100 s, none above.
std::string fmt_seconds(double v) {
  if (!std::isfinite(v)) return "";
  return fmt_fixed(v, std::fabs(v) < 1 ? 3 : (std::fabs(v) < 100 ? 1 : 0));
}

std::string metric_title(const std::string& task, const std::string& metric) {
  if (metric == "return")
    return task + ": test return, mean realised daily return (fraction; higher is better)";
  return task + ": test decision cost (lower is better)";
}

std::string metric_axis(const std::string& metric) {
  return metric == "return" ? "mean realised daily return (fraction of wealth)"
                            : "mean decision cost per instance (task cost units)";
}

/// Run directories under `root` that hold `marker` (root itself included), skipping `.cache`.
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

/// task/method/seed of a run for labels: metrics.json, else config.json, else empty.
struct RunLabel {
  std::string task;
  std::string method;
  int64_t seed = -1;
};

RunLabel run_label(const fs::path& dir) {
  RunLabel label;
  for (const char* name : {"metrics.json", "config.json"}) {
    const fs::path file = dir / name;
    if (!fs::is_regular_file(file)) continue;
    json j;
    try {
      j = json::parse(read_file(file));
    } catch (const json::parse_error&) {
      continue;
    }
    if (j.contains("task") && j["task"].is_string()) label.task = j["task"].get<std::string>();
    if (j.contains("method") && j["method"].is_string())
      label.method = j["method"].get<std::string>();
    if (j.contains("seed") && j["seed"].is_number_integer()) label.seed = j["seed"].get<int64_t>();
    if (!label.method.empty()) return label;
  }
  return label;
}

}  // namespace

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
  return headline_metric(task) == "return" ? test_return : test_cost;
}

bool RunRecord::usable() const {
  return std::isfinite(test_cost) && std::isfinite(headline_value());
}

std::string headline_metric(const std::string& task) {
  return task == "portfolio" ? "return" : "cost";
}

RunRecord read_run_record(const fs::path& run_dir) {
  const fs::path file = run_dir / "metrics.json";
  if (!fs::is_regular_file(file))
    fail<DataError>(file.string(),
                    " not found: not a finished run directory (metrics.json is written last)");
  const json j = parse_json_file(file, "run's metrics.json");
  if (!j.is_object()) fail<DataError>(file.string(), ": expected a JSON object");
  RunRecord r;
  r.dir = run_dir.string();
  r.task = required_string(j, "task", file);
  r.method = required_string(j, "method", file);
  r.preset = required_string(j, "preset", file);
  if (!j.contains("seed") || !j["seed"].is_number_integer())
    fail<DataError>(file.string(), ": key 'seed' must be an integer",
                    j.contains("seed") ? ", got " + j["seed"].dump() : std::string(" (missing)"));
  r.seed = j["seed"].get<int64_t>();
  r.status = j.contains("status") && j["status"].is_string() ? j["status"].get<std::string>()
                                                             : "completed";
  r.test_cost = number_or_nan(j, "test_cost", file, /*required=*/true);
  r.hold_cost = number_or_nan(j, "hold_cost", file);
  r.test_rmse = number_or_nan(j, "test_rmse", file);
  r.test_return = number_or_nan(j, "test_return", file);
  r.test_regret = number_or_nan(j, "test_regret", file);
  r.train_seconds = number_or_nan(j, "train_seconds", file);
  r.wall_seconds = number_or_nan(j, "wall_seconds", file);
  r.peak_rss_mb = number_or_nan(j, "peak_rss_mb", file);
  if (r.task == "portfolio" && std::isfinite(r.test_cost) && !j.contains("test_return"))
    fail<DataError>(file.string(),
                    ": a portfolio run needs 'test_return' (its headline metric); re-evaluate it "
                    "with `diffdfl eval --run ",
                    run_dir.string(), "` or rerun it");
  const fs::path config = run_dir / "config.json";
  if (r.task == "portfolio" && fs::is_regular_file(config)) {
    const json c = parse_json_file(config, "run's config.json");
    if (c.contains("data") && c["data"].is_object() && c["data"].contains("n_assets")) {
      const json& n = c["data"]["n_assets"];
      if (!n.is_number_integer() || n.get<int64_t>() < 1)
        fail<DataError>(config.string(), ": data.n_assets must be a positive integer, got ",
                        n.dump());
      r.n_assets = n.get<int64_t>();
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
      if (!metric.is_string() || metric.get<std::string>() != headline_metric(task))
        fail<ConfigError>(f, ": metrics.", task, " is ", metric.dump(), " but the table reports '",
                          headline_metric(task), "' for ", task);
    }
  }
  if (!j.contains("tasks") || !j["tasks"].is_object())
    fail<ConfigError>(f, ": missing object 'tasks' ({task: {method: {\"mean\": m, \"std\": s}}})");
  for (const auto& [task, methods] : j["tasks"].items()) {
    if (rank_of(task_order(), task) == task_order().size())
      fail<ConfigError>(f, ": unknown task 'tasks.", task, "'; tasks: ", joined(task_order()));
    if (!methods.is_object()) fail<ConfigError>(f, ": 'tasks.", task, "' must be an object");
    for (const auto& [method, number] : methods.items()) {
      const std::string key = "tasks." + task + "." + method;
      if (rank_of(method_order(), method) == method_order().size())
        fail<ConfigError>(f, ": unknown method '", key, "'; methods: ", joined(method_order()));
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
    presets.emplace(r.preset, r.dir);
  if (presets.size() > 1) {
    std::string list;
    for (const auto& [preset, dir] : presets)
      list += (list.empty() ? "" : "; ") + ("'" + preset + "' (e.g. " + dir + ")");
    fail<InvalidArgument>("the runs mix presets: ", list,
                          ". A table compares runs of one preset; pass the run directories of "
                          "one preset only (one table per preset)");
  }
  // One portfolio size per table (the scalability study compares sizes: scalability.h).
  const RunRecord* first_portfolio = nullptr;
  for (const RunRecord& r : runs) {
    if (r.task != "portfolio") continue;
    if (first_portfolio == nullptr) first_portfolio = &r;
    if (r.n_assets != first_portfolio->n_assets)
      fail<InvalidArgument>("the portfolio runs mix sizes: ", first_portfolio->dir, " has ",
                            first_portfolio->n_assets, " assets and ", r.dir, " has ", r.n_assets,
                            ". A table compares runs of one size; pass one size's runs (sizes "
                            "side by side: `diffdfl plot scalability`)");
  }
  // One run per (task, method, seed).
  std::map<std::tuple<std::string, std::string, int64_t>, std::string> owners;
  for (const RunRecord& r : runs) {
    const auto [it, inserted] = owners.emplace(std::make_tuple(r.task, r.method, r.seed), r.dir);
    if (!inserted)
      fail<InvalidArgument>("two runs of ", r.task, " / ", r.method, " seed ", r.seed, ": ",
                            it->second, " and ", r.dir,
                            "; each seed may appear once in a table, pass only one of them");
  }

  using Key = std::tuple<size_t, std::string, size_t, std::string>;
  std::map<Key, std::vector<const RunRecord*>> groups;
  for (const RunRecord& r : runs) {
    groups[{rank_of(task_order(), r.task), r.task, rank_of(method_order(), r.method), r.method}]
        .push_back(&r);
  }

  ResultsTable table;
  table.preset = runs.front().preset;
  table.paper_source = paper.source;
  for (const auto& [key, members] : groups) {
    TableRow row;
    row.task = std::get<1>(key);
    row.method = std::get<3>(key);
    row.metric = headline_metric(row.task);
    row.runs = static_cast<int64_t>(members.size());
    std::vector<double> values;
    double rmse_sum = 0, regret_sum = 0, seconds_sum = 0;
    int64_t rmse_n = 0, regret_n = 0, seconds_n = 0;
    row.peak_rss_mb = kNaN;
    for (const RunRecord* r : members) {
      if (r->status == "diverged") table.diverged.push_back(*r);
      if (std::isfinite(r->train_seconds)) {
        seconds_sum += r->train_seconds;
        ++seconds_n;
      }
      if (std::isfinite(r->peak_rss_mb))
        row.peak_rss_mb = std::isfinite(row.peak_rss_mb) ? std::max(row.peak_rss_mb, r->peak_rss_mb)
                                                         : r->peak_rss_mb;
      if (!r->usable()) {
        table.excluded.push_back(*r);
        continue;
      }
      values.push_back(r->headline_value());
      row.seeds.push_back(r->seed);
      if (std::isfinite(r->test_rmse)) {
        rmse_sum += r->test_rmse;
        ++rmse_n;
      }
      if (std::isfinite(r->test_regret)) {
        regret_sum += r->test_regret;
        ++regret_n;
      }
    }
    std::sort(row.seeds.begin(), row.seeds.end());
    row.n_seeds = static_cast<int64_t>(values.size());
    std::tie(row.mean, row.std) = mean_and_std(values);
    row.rmse = rmse_n > 0 ? rmse_sum / static_cast<double>(rmse_n) : kNaN;
    row.regret = regret_n > 0 ? regret_sum / static_cast<double>(regret_n) : kNaN;
    row.train_seconds = seconds_n > 0 ? seconds_sum / static_cast<double>(seconds_n) : kNaN;
    const PaperNumber* p = paper.find(row.task, row.method);
    row.paper = p != nullptr ? p->mean : kNaN;
    row.paper_std = p != nullptr ? p->std : kNaN;
    table.rows.push_back(row);
  }
  return table;
}

std::string results_csv(const ResultsTable& table) {
  std::ostringstream out;
  out << "task,method,metric,n_seeds,mean,std,paper\n";
  for (const TableRow& r : table.rows) {
    out << r.task << "," << r.method << "," << r.metric << "," << r.n_seeds << "," << fmt(r.mean)
        << "," << fmt(r.std) << "," << fmt(r.paper) << "\n";
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
     << "- RMSE: mean test RMSE of the predictions over the same seeds, in raw data units "
     << "(— for policy, which predicts no y).\n"
     << "- train time: mean `train_seconds` per run (pretraining included, even when loaded from "
     << "the cache); peak RSS: the largest `peak_rss_mb` among the row's runs.\n";
  std::string task;
  for (const TableRow& r : table.rows) {
    const bool portfolio = r.metric == "return";
    if (r.task != task) {
      task = r.task;
      md << "\n## " << metric_title(r.task, r.metric) << "\n\n"
         << "| method | ours: mean ± std | paper | n | seeds | RMSE |"
         << (portfolio ? " regret |" : "") << " train time (s) | peak RSS (MB) |\n"
         << "|---|---|---|---|---|---|" << (portfolio ? "---|" : "") << "---|---|\n";
    }
    std::string seeds;
    for (int64_t s : r.seeds)
      seeds += (seeds.empty() ? "" : " ") + std::to_string(s);
    md << "| " << r.method << " | " << pm(r.mean, r.std) << " | " << pm(r.paper, r.paper_std)
       << " | " << r.n_seeds << (r.runs != r.n_seeds ? " of " + std::to_string(r.runs) : "")
       << " | " << cell(seeds) << " | " << cell(fmt_md(r.rmse)) << " |";
    if (portfolio) md << " " << cell(fmt_md(r.regret)) << " |";
    md << " " << cell(fmt_seconds(r.train_seconds)) << " | " << cell(fmt_fixed(r.peak_rss_mb, 0))
       << " |\n";
  }
  md << "\n## Runs left out of the numbers (null test cost)\n\n";
  if (table.excluded.empty()) md << "None: every run had a usable test value.\n";
  for (const RunRecord& r : table.excluded) {
    md << "- `" << r.dir << "`: " << r.task << " / " << r.method << " seed " << r.seed << ": test "
       << (std::isfinite(r.test_cost) ? headline_metric(r.task) : std::string("cost"))
       << " is null (no usable test instance); not counted in n\n";
  }
  if (!table.diverged.empty()) {
    md << "\n## Diverged runs (status `diverged`; counted when their test value is usable)\n\n";
    for (const RunRecord& r : table.diverged)
      md << "- `" << r.dir << "`: " << r.task << " / " << r.method << " seed " << r.seed << "\n";
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
    row.rmse = row.regret = row.train_seconds = row.peak_rss_mb = kNaN;
    rows.push_back(row);
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Figures.

PlotFiles plot_curves(const std::vector<std::string>& run_dirs, const std::string& prefix) {
  DIFFDFL_CHECK(!run_dirs.empty(), "no run directories given to plot curves of");
  std::vector<fs::path> dirs;
  for (const std::string& p : run_dirs) {
    if (!fs::is_directory(p))
      fail<InvalidArgument>("'", p,
                            "' is not a directory; pass run directories (holding curve.csv)");
    const std::vector<fs::path> found = find_run_dirs(p, "curve.csv");
    if (found.empty())
      fail<InvalidArgument>("no curve.csv under '", p,
                            "'; a run writes it after its first evaluation (epoch −1)");
    dirs.insert(dirs.end(), found.begin(), found.end());
  }
  struct Curve {
    RunLabel label;
    std::string dir;
    std::vector<std::array<double, 3>> points;  // epoch, hold, test
  };
  std::vector<Curve> curves;
  std::set<std::string> tasks;
  for (const fs::path& d : dirs) {
    const fs::path file = d / "curve.csv";
    const CsvTable t = parse_csv(read_file(file), file.string());
    const size_t c_epoch = t.column("epoch"), c_hold = t.column("hold_cost"),
                 c_test = t.column("test_cost");
    Curve c;
    c.label = run_label(d);
    c.dir = d.string();
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const auto value = [&](size_t col) {
        return t.rows[r][col].empty() ? kNaN : parse_double(t.rows[r][col], t.where(r, col));
      };
      c.points.push_back({value(c_epoch), value(c_hold), value(c_test)});
    }
    tasks.insert(c.label.task);
    curves.push_back(c);
  }
  const bool one_task = tasks.size() == 1 && !tasks.begin()->empty();
  // Colour by task and method (in table order), dash by seed; the key lists the runs in that order.
  const auto order_key = [](const Curve& c) {
    return std::make_tuple(rank_of(task_order(), c.label.task), c.label.task,
                           rank_of(method_order(), c.label.method), c.label.method, c.label.seed,
                           c.dir);
  };
  std::sort(curves.begin(), curves.end(),
            [&](const Curve& a, const Curve& b) { return order_key(a) < order_key(b); });
  std::vector<std::pair<std::string, std::string>> families;
  std::vector<int64_t> seeds;
  for (const Curve& c : curves) {
    const auto family = std::make_pair(c.label.task, c.label.method);
    if (std::find(families.begin(), families.end(), family) == families.end())
      families.push_back(family);
    if (std::find(seeds.begin(), seeds.end(), c.label.seed) == seeds.end())
      seeds.push_back(c.label.seed);
  }
  std::sort(seeds.begin(), seeds.end());

  double max_epoch = 0;
  for (const Curve& c : curves)
    for (const auto& p : c.points)
      if (std::isfinite(p[0])) max_epoch = std::max(max_epoch, p[0]);
  std::ostringstream data;
  for (size_t i = 0; i < curves.size(); ++i) {
    data << "$run" << i << " << EOD\n";
    for (const auto& p : curves[i].points)
      data << gp_num(p[0]) << " " << gp_num(p[1]) << " " << gp_num(p[2]) << "\n";
    data << "EOD\n";
  }
  const auto plot_command = [&](int column, bool with_key) {
    std::ostringstream s;
    s << "plot ";
    for (size_t i = 0; i < curves.size(); ++i) {
      const Curve& c = curves[i];
      std::string title =
          c.label.method.empty() ? fs::path(c.dir).filename().string() : c.label.method;
      if (c.label.seed >= 0) title += " seed " + std::to_string(c.label.seed);
      if (!one_task && !c.label.task.empty()) title = c.label.task + ": " + title;
      const size_t colour = std::find(families.begin(), families.end(),
                                      std::make_pair(c.label.task, c.label.method)) -
                            families.begin() + 1;
      const size_t dash = std::find(seeds.begin(), seeds.end(), c.label.seed) - seeds.begin() + 1;
      s << (i ? ", \\\n     " : "") << "$run" << i << " using 1:" << column
        << " with linespoints lw 2 pt 7 ps 0.6 lc " << colour << " dt " << dash
        << (with_key ? " title " + gp_quote(title) : std::string(" notitle"));
    }
    return s.str() + "\n";
  };
  const std::string what = one_task ? *tasks.begin() : std::string("several tasks");
  std::ostringstream body;
  body << "set multiplot layout 1,2 title "
       << gp_quote("Learning curves, " + what +
                   ": decision cost per epoch (epoch -1 = the model before DFL training)")
       << "\n"
       << "set grid\nset xlabel 'epoch (-1 = starting model)'\n"
       << (max_epoch <= 20 ? "set xtics 1\n" : "set xtics autofreq\n")
       << "set tmargin at screen 0.88\nset bmargin at screen 0.12\n"
       << "set title 'Hold-out cost (selects the model)'\n"
       << "set ylabel 'hold-out decision cost (task units, lower is better)'\n"
       << "set lmargin at screen 0.06\nset rmargin at screen 0.38\n"
       << plot_command(2, false) << "set title 'Test cost'\n"
       << "set ylabel 'test decision cost (task units, lower is better)'\n"
       << "set lmargin at screen 0.45\nset rmargin at screen 0.77\n"
       << "set key at screen 0.79,0.88 left top Left reverse box title 'run'\n"
       << plot_command(3, true) << "unset multiplot\n";
  const int height = std::max(560, 120 + 20 * static_cast<int>(curves.size()));
  return run_gnuplot_script(gnuplot_script(prefix, data.str(), body.str(), 1700, height), prefix);
}

PlotFiles plot_bars(const std::vector<TableRow>& rows, const std::string& prefix) {
  DIFFDFL_CHECK(!rows.empty(), "the table has no rows to plot");
  std::vector<std::string> tasks;
  for (const TableRow& r : rows) {
    const bool any = std::isfinite(r.mean) || std::isfinite(r.paper);
    if (any && std::find(tasks.begin(), tasks.end(), r.task) == tasks.end())
      tasks.push_back(r.task);
  }
  DIFFDFL_CHECK(!tasks.empty(), "the table has neither a mean nor a paper number to plot");
  std::ostringstream data, body;
  const auto [layout_rows, layout_cols] = multiplot_layout(tasks.size());
  body << "set multiplot layout " << layout_rows << "," << layout_cols << " title "
       << gp_quote("Test results per method: ours (mean ± std over seeds) and the paper's Table 1")
       << "\n"
       << "set grid ytics\nset xzeroaxis lt -1\nset boxwidth 0.6\n"
       << "set style fill solid 0.6 border -1\nset xtics rotate by 30 right nomirror\n"
       << "set key outside right top vertical box\nset xlabel 'method'\n";
  for (size_t k = 0; k < tasks.size(); ++k) {
    std::vector<const TableRow*> members;
    for (const TableRow& r : rows)
      if (r.task == tasks[k]) members.push_back(&r);
    bool any_mean = false, any_std = false, any_paper = false;
    data << "$task" << k << " << EOD\n";
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const TableRow* r : members) {
      for (double v : {r->mean, r->paper, r->mean - (std::isfinite(r->std) ? r->std : 0.0)}) {
        if (!std::isfinite(v)) continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    // Costs spanning more than a factor 30 (a failing baseline beside the good methods) are drawn
    // on a log axis so that the small bars stay readable.
    const std::string metric = members.front()->metric;
    const bool log_axis = metric == "cost" && std::isfinite(lo) && lo > 0 && hi / lo > 30;
    for (size_t i = 0; i < members.size(); ++i) {
      const TableRow& r = *members[i];
      any_mean |= std::isfinite(r.mean);
      any_std |= std::isfinite(r.std) && std::isfinite(r.mean);
      any_paper |= std::isfinite(r.paper);
      data << i << " " << gp_data_string(r.method) << " " << gp_num(r.mean) << " " << gp_num(r.std)
           << " " << gp_num(r.paper) << " " << r.n_seeds << "\n";
    }
    data << "EOD\n";
    body << "set title " << gp_quote(metric_title(tasks[k], metric)) << "\n"
         << "set ylabel " << gp_quote(metric_axis(metric) + (log_axis ? ", log scale" : "")) << "\n"
         << (log_axis ? "set logscale y\nset yrange [" + gp_num(lo / 2) + ":*]\n"
                      : "unset logscale y\nset yrange [*:*]\n")
         << "set xrange [-0.6:" << static_cast<double>(members.size()) - 0.4 << "]\n";
    std::vector<std::string> parts;
    const std::string d = "$task" + std::to_string(k);
    // The first element carries the method names on the x axis.
    parts.push_back(d + " using 1:" + (any_mean ? "3" : "(NaN)") +
                    ":xtic(2) with boxes lc rgb '#4c72b0' title " +
                    gp_quote(any_mean ? "ours: mean over seeds" : "ours: no runs"));
    if (any_std)
      parts.push_back(d + " using 1:3:4 with yerrorbars lc rgb 'black' lw 1.5 pt 0 title " +
                      gp_quote("ours: ± sample std (n − 1)"));
    if (any_paper)
      parts.push_back(d + " using 1:5 with points pt 7 ps 1.6 lc rgb '#dd8452' title " +
                      gp_quote("paper (Table 1 mean)"));
    body << "plot ";
    for (size_t i = 0; i < parts.size(); ++i)
      body << (i ? ", \\\n     " : "") << parts[i];
    body << "\n";
  }
  body << "unset multiplot\n";
  const int width = 860 * layout_cols, height = 560 * layout_rows;
  return run_gnuplot_script(gnuplot_script(prefix, data.str(), body.str(), width, height), prefix);
}

PlotFiles plot_samples(const std::string& run_dir, const SampleHistogramOptions& o,
                       const std::string& prefix) {
  DIFFDFL_CHECK(o.n >= 2, "--n must be at least 2 to draw a histogram, got ", o.n);
  DIFFDFL_CHECK(o.bins >= 0, "--bins must be >= 0 (0 = automatic), got ", o.bins);
  torch::Tensor truth;
  const torch::Tensor y =
      sample(run_dir, o.paths, o.split, o.index, o.n, &truth).to(torch::kDouble).contiguous();
  const int64_t y_dim = y.size(1);
  std::vector<int64_t> coords;
  if (o.coord >= 0) {
    DIFFDFL_CHECK(o.coord < y_dim, "--coord ", o.coord, " is out of range: y has ", y_dim,
                  " coordinates (0..", y_dim - 1, ")");
    coords.push_back(o.coord);
  } else {
    for (int64_t j = 0; j < std::min<int64_t>(4, y_dim); ++j)
      coords.push_back(j);
  }
  const RunLabel label = run_label(run_dir);
  const torch::Tensor t =
      truth.defined() ? truth.to(torch::kDouble).reshape({-1}) : torch::Tensor();
  const int64_t bins =
      o.bins > 0 ? o.bins
                 : std::max<int64_t>(10, std::llround(2.0 * std::cbrt(static_cast<double>(o.n))));
  std::ostringstream data, body;
  const auto [layout_rows, layout_cols] = multiplot_layout(coords.size());
  std::string who = label.method.empty() ? fs::path(run_dir).filename().string() : label.method;
  if (!label.task.empty()) who += " on " + label.task;
  if (label.seed >= 0) who += ", seed " + std::to_string(label.seed);
  body << "set multiplot layout " << layout_rows << "," << layout_cols << " title "
       << gp_quote("Samples of y | x from " + who + ": " + o.split + " row " +
                   std::to_string(o.index) + ", " + std::to_string(o.n) + " samples per panel")
       << "\n"
       << "set grid\nset style fill solid 0.5 border -1\nset key top right opaque box\n"
       << "set ylabel " << gp_quote("count (of " + std::to_string(o.n) + " samples)") << "\n";
  for (size_t k = 0; k < coords.size(); ++k) {
    const int64_t j = coords[k];
    std::vector<double> v(static_cast<size_t>(o.n));
    for (int64_t i = 0; i < o.n; ++i)
      v[static_cast<size_t>(i)] = y[i][j].item<double>();
    const double true_y = t.defined() && t.numel() > j ? t[j].item<double>() : kNaN;
    double lo = *std::min_element(v.begin(), v.end());
    double hi = *std::max_element(v.begin(), v.end());
    double mean = 0;
    for (double x : v)
      mean += x;
    mean /= static_cast<double>(v.size());
    if (!std::isfinite(lo) || !std::isfinite(hi))
      fail<InvalidArgument>("the model drew non-finite samples of y", j, " for ", o.split, " row ",
                            o.index, " of ", run_dir, "; no histogram can be drawn");
    if (hi - lo < 1e-12) {
      lo -= 0.5;
      hi += 0.5;
    }
    const double width = (hi - lo) / static_cast<double>(bins);
    std::vector<int64_t> counts(static_cast<size_t>(bins), 0);
    for (double x : v) {
      auto b = static_cast<int64_t>(std::floor((x - lo) / width));
      counts[static_cast<size_t>(std::clamp<int64_t>(b, 0, bins - 1))]++;
    }
    int64_t top = 0;
    data << "$hist" << k << " << EOD\n";
    for (int64_t b = 0; b < bins; ++b) {
      data << gp_num(lo + (static_cast<double>(b) + 0.5) * width) << " "
           << counts[static_cast<size_t>(b)] << "\n";
      top = std::max(top, counts[static_cast<size_t>(b)]);
    }
    data << "EOD\n";
    double x_lo = lo, x_hi = hi;
    if (std::isfinite(true_y)) {
      x_lo = std::min(x_lo, true_y);
      x_hi = std::max(x_hi, true_y);
    }
    const double pad = 0.05 * (x_hi - x_lo);
    const double line_top = static_cast<double>(top) * 1.1 + 1;  // vertical lines end here
    const double y_top = static_cast<double>(top) * 1.6 + 2;     // headroom for the key
    const std::string d = "$hist" + std::to_string(k);
    body << "set title " << gp_quote("y" + std::to_string(j)) << "\n"
         << "set xlabel " << gp_quote("y" + std::to_string(j) + " (raw data units)") << "\n"
         << "set xrange [" << gp_num(x_lo - pad) << ":" << gp_num(x_hi + pad) << "]\n"
         << "set yrange [0:" << gp_num(y_top) << "]\n"
         << "set boxwidth " << gp_num(width) << " absolute\n"
         << "plot " << d << " using 1:2 with boxes lc rgb '#4c72b0' title 'samples (histogram)'";
    // Vertical lines as two-point data so that they appear in the key.
    const auto vertical = [&](const std::string& name, double x) {
      data << name << " << EOD\n"
           << gp_num(x) << " 0\n"
           << gp_num(x) << " " << gp_num(line_top) << "\nEOD\n";
    };
    const std::string tk = "$true" + std::to_string(k), mk = "$mean" + std::to_string(k);
    if (std::isfinite(true_y)) {
      vertical(tk, true_y);
      body << ", \\\n     " << tk << " using 1:2 with lines lw 3 lc rgb '#c44e52' title "
           << gp_quote("true y = " + fmt(true_y, 4));
    }
    vertical(mk, mean);
    body << ", \\\n     " << mk << " using 1:2 with lines lw 2 dt 2 lc rgb 'black' title "
         << gp_quote("sample mean = " + fmt(mean, 4)) << "\n";
  }
  body << "unset multiplot\n";
  const int width = 640 * layout_cols, height = 500 * layout_rows + 40;
  return run_gnuplot_script(gnuplot_script(prefix, data.str(), body.str(), width, height), prefix);
}

PlotFiles plot_memory(const fs::path& csv, const std::string& prefix) {
  if (!fs::is_regular_file(csv))
    fail<DataError>(csv.string(),
                    " not found (expected a CSV with columns "
                    "setting,peak_mb,seconds_per_epoch)");
  const CsvTable t = parse_csv(read_file(csv), csv.string());
  const size_t c_setting = t.column("setting"), c_mb = t.column("peak_mb"),
               c_sec = t.column("seconds_per_epoch");
  DIFFDFL_CHECK(!t.rows.empty(), csv.string(), " has no rows to plot");
  std::ostringstream data, body;
  data << "$settings << EOD\n";
  bool any_mb = false, any_sec = false;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto value = [&](size_t c) {
      return t.rows[r][c].empty() ? kNaN : parse_double(t.rows[r][c], t.where(r, c));
    };
    const double mb = value(c_mb), sec = value(c_sec);
    any_mb |= std::isfinite(mb);
    any_sec |= std::isfinite(sec);
    const auto label = [](double v, int digits) {
      return std::isfinite(v) ? gp_data_string(fmt(v, digits)) : std::string("\"n/a\"");
    };
    data << r << " " << gp_data_string(t.rows[r][c_setting]) << " " << gp_num(mb) << " "
         << gp_num(sec) << " " << label(mb, 4) << " " << label(sec, 3) << "\n";
  }
  data << "EOD\n";
  DIFFDFL_CHECK(any_mb || any_sec, csv.string(), " has no peak_mb or seconds_per_epoch value");
  const auto panel = [&](int column, bool any, const std::string& title, const std::string& ylabel,
                         const std::string& colour) {
    body << "set title " << gp_quote(title) << "\nset ylabel " << gp_quote(ylabel) << "\n"
         << "plot $settings using 1:" << (any ? std::to_string(column) : std::string("(NaN)"))
         << ":xtic(2) with boxes lc rgb " << gp_quote(colour) << " notitle";
    if (any)
      body << ", \\\n     $settings using 1:(valid(" << column << ") ? $" << column
           << " : 0):" << column + 2 << " with labels offset 0,0.8 notitle";
    body << "\n";
  };
  body << "set multiplot layout 1,2 title "
       << gp_quote("Peak memory and time per training epoch, by setting") << "\n"
       << "set grid ytics\nset boxwidth 0.6\nset style fill solid 0.6 border -1\n"
       << "set xtics rotate by 30 right nomirror\nset xlabel 'setting'\n"
       << "set xrange [-0.6:" << static_cast<double>(t.rows.size()) - 0.4 << "]\n"
       << "set yrange [0:*]\nset offsets 0,0,graph 0.1,0\n";
  panel(3, any_mb, "Peak memory (resident set size)", "peak memory (MB)", "#4c72b0");
  panel(4, any_sec, "Time per training epoch", "time per epoch (s)", "#55a868");
  body << "unset multiplot\n";
  return run_gnuplot_script(gnuplot_script(prefix, data.str(), body.str(), 1400, 600), prefix);
}

}  // namespace diffdfl::experiment
