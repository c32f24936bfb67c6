#include "diffdfl/reports/scalability.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <tuple>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/dfl/method.h"

namespace fs = std::filesystem;

namespace diffdfl::reports {

namespace {

/// "n_assets" for data.n_assets.
std::string size_name(const std::string& task) {
  const std::string& key = task_reporting(task).size_key;
  return key.substr(key.find('.') + 1);
}

}  // namespace

std::vector<ScalabilityRow> build_scalability(const std::vector<RunRecord>& runs) {
  DIFFDFL_CHECK(!runs.empty(), "no runs for the scalability study");
  const std::vector<std::string> sized = sized_tasks();
  for (const RunRecord& r : runs) {
    const experiment::RunMetrics& m = r.metrics;
    if (task_reporting(m.task).size_key.empty()) {
      std::string tasks;
      for (const std::string& t : sized)
        tasks += (tasks.empty() ? "" : ", ") + t;
      fail<InvalidArgument>(r.dir, " is a ", m.task, " run; the scalability study compares ", tasks,
                            " runs only");
    }
    if (r.size < 1)
      fail<InvalidArgument>(r.dir, " has no ", task_reporting(m.task).size_key,
                            " in a config.json beside its metrics.json; keep the run's config.json "
                            "(it is written with the run)");
    if (m.preset != runs.front().metrics.preset)
      fail<InvalidArgument>("the runs mix presets: '", runs.front().metrics.preset, "' (",
                            runs.front().dir, ") and '", m.preset, "' (", r.dir,
                            "); compare the sizes at one preset");
  }
  using Key = std::tuple<size_t, std::string, int64_t>;
  std::map<Key, std::vector<const RunRecord*>> groups;
  std::map<std::tuple<std::string, int64_t, uint64_t>, std::string> owners;
  for (const RunRecord& r : runs) {
    const experiment::RunMetrics& m = r.metrics;
    const auto [it, inserted] = owners.emplace(std::make_tuple(m.method, r.size, m.seed), r.dir);
    if (!inserted)
      fail<InvalidArgument>("two runs of ", m.method, " with ", size_name(m.task), " = ", r.size,
                            " seed ", m.seed, ": ", it->second, " and ", r.dir,
                            "; pass only one of them");
    groups[{order_rank(dfl::method_names(), m.method), m.method, r.size}].push_back(&r);
  }
  std::vector<ScalabilityRow> rows;
  for (const auto& [key, members] : groups) {
    ScalabilityRow row;
    row.method = std::get<1>(key);
    row.n_assets = std::get<2>(key);
    std::vector<double> regrets, returns, seconds;
    for (const RunRecord* r : members) {
      const experiment::RunMetrics& m = r->metrics;
      if (std::isfinite(m.train_seconds)) seconds.push_back(m.train_seconds);
      if (!r->usable() || !std::isfinite(m.test_value("regret"))) continue;
      regrets.push_back(m.test_value("regret"));
      returns.push_back(m.test_value("return"));
      row.seeds.push_back(static_cast<int64_t>(m.seed));
    }
    std::sort(row.seeds.begin(), row.seeds.end());
    row.n_seeds = static_cast<int64_t>(regrets.size());
    std::tie(row.regret, row.regret_std) = mean_and_std(regrets);
    std::tie(row.ret, row.ret_std) = mean_and_std(returns);
    row.train_seconds = mean_and_std(seconds).first;
    rows.push_back(row);
  }
  return rows;
}

std::string scalability_csv(const std::vector<ScalabilityRow>& rows) {
  std::ostringstream out;
  out << "method,n_assets,n_seeds,regret_mean,regret_std,return_mean,return_std,train_seconds\n";
  for (const ScalabilityRow& r : rows)
    out << r.method << "," << r.n_assets << "," << r.n_seeds << "," << format_number(r.regret)
        << "," << format_number(r.regret_std) << "," << format_number(r.ret) << ","
        << format_number(r.ret_std) << "," << format_number(r.train_seconds) << "\n";
  return out.str();
}

std::string write_scalability_csv(const std::vector<ScalabilityRow>& rows,
                                  const std::string& prefix) {
  DIFFDFL_CHECK(!prefix.empty(), "the output prefix is empty; pass --out PREFIX");
  const fs::path file = prefix + ".csv";
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  write_file_atomic(file, scalability_csv(rows));
  return file.string();
}

PlotFiles plot_scalability(const std::vector<ScalabilityRow>& rows, const std::string& prefix) {
  DIFFDFL_CHECK(!rows.empty(), "no scalability rows to plot");
  std::vector<std::string> methods;
  for (const ScalabilityRow& r : rows)
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end())
      methods.push_back(r.method);
  std::ostringstream data, body;
  for (size_t m = 0; m < methods.size(); ++m) {
    data << "$m" << m << " << EOD\n";
    for (const ScalabilityRow& r : rows) {
      if (r.method != methods[m] || r.n_seeds == 0) continue;
      data << r.n_assets << " " << gp_num(r.regret) << " "
           << gp_num(std::isfinite(r.regret_std) ? r.regret_std : 0.0) << " " << gp_num(r.ret)
           << " " << gp_num(std::isfinite(r.ret_std) ? r.ret_std : 0.0) << " " << r.n_seeds << "\n";
    }
    data << "EOD\n";
  }
  int64_t max_seeds = 0;
  for (const ScalabilityRow& r : rows)
    max_seeds = std::max(max_seeds, r.n_seeds);
  const std::string over =
      max_seeds > 1 ? "mean ± std over seeds" : "one seed per point (no error bars)";
  const auto panel = [&](const std::string& title, const std::string& ylabel, int value_col) {
    body << "set title " << gp_quote(title) << "\nset ylabel " << gp_quote(ylabel) << "\nplot ";
    for (size_t m = 0; m < methods.size(); ++m) {
      const std::string d = "$m" + std::to_string(m);
      body << (m ? ", \\\n     " : "") << d << " using 1:" << value_col << ":" << value_col + 1
           << " with yerrorlines lw 2 pt " << 5 + 2 * static_cast<int>(m % 4) << " lc " << m + 1
           << " title " << gp_quote(methods[m]);
    }
    body << "\n";
  };
  body << "set multiplot layout 1,2 title "
       << gp_quote("Portfolio scalability: test results against the number of assets n (" + over +
                   ")")
       << "\nset grid\nset key top left box opaque\nset xlabel 'number of assets n'\n"
       << "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n";
  panel("Test regret to the hindsight optimum (lower is better)",
        "mean daily regret (fraction of wealth)", 2);
  body << "set xzeroaxis lt -1\n";
  panel("Test realised return (higher is better)", "mean daily return (fraction of wealth)", 4);
  body << "unset multiplot\n";
  return run_gnuplot_script(gnuplot_script(prefix, data.str(), body.str(), 1500, 620), prefix);
}

}  // namespace diffdfl::reports
