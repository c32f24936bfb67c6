#include "diffdfl/reports/figures.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

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
    return std::make_tuple(order_rank(tasks::task_names(), c.label.task), c.label.task,
                           order_rank(table_method_order(), c.label.method), c.label.method,
                           c.label.seed, c.dir);
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
      // A lower error bar that reaches zero or below does not count: a log axis clips it.
      const double bar_low = r->mean - (std::isfinite(r->std) ? r->std : 0.0);
      for (double v : {r->mean, r->paper, bar_low > 0 ? bar_low : kNaN}) {
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
    const std::string axis = task_reporting(tasks[k]).axis;
    body << "set title " << gp_quote(metric_title(tasks[k])) << "\n"
         << "set ylabel " << gp_quote(axis + (log_axis ? ", log scale" : "")) << "\n"
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
  const torch::Tensor y = experiment::sample(run_dir, o.paths, o.split, o.index, o.n, &truth)[0]
                              .to(torch::kDouble)
                              .contiguous();
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
           << gp_quote("true y = " + format_number(true_y, 4));
    }
    vertical(mk, mean);
    body << ", \\\n     " << mk << " using 1:2 with lines lw 2 dt 2 lc rgb 'black' title "
         << gp_quote("sample mean = " + format_number(mean, 4)) << "\n";
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
      return std::isfinite(v) ? gp_data_string(format_number(v, digits)) : std::string("\"n/a\"");
    };
    data << r << " " << gp_data_string(t.rows[r][c_setting]) << " " << gp_num(mb) << " "
         << gp_num(sec) << " " << label(mb, 6) << " " << label(sec, 3) << "\n";
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

}  // namespace diffdfl::reports
