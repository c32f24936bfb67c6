// Reports over finished runs (reports/report.h, figures.h, scalability.h):
//
// `diffdfl table RUN_DIR... [--out PREFIX] [--config-dir D]`: mean ± std over seeds per task ×
// method of the test headline metric (cost; return on portfolio) beside the paper's Table 1
// (CONFIG_DIR/paper_numbers.json). Each argument is a run directory or a folder searched at any
// depth for runs (`.cache` skipped). Writes PREFIX.csv and PREFIX.md (default PREFIX: table1) and
// prints their paths.
//
// `diffdfl plot KIND ... [--out PREFIX]`: PREFIX.png and PREFIX.svg drawn by gnuplot from the
// script PREFIX.gp (default PREFIX: the kind's name), paths printed. Kinds:
//   curves RUN_DIR...                              hold/test cost per epoch, one line per run
//   bars TABLE_CSV                                 a `diffdfl table` CSV: ours with std, paper
//   points samples RUN_DIR [--split S] [--index I] [--n N] [--coord J] [--bins B] [--data-dir D]
//                                                  histograms of samples of y against the true y
//   memory CSV                                     setting,peak_mb,seconds_per_epoch as two panels
//   scalability RUN_DIR...                         portfolio regret and return against n_assets,
//                                                  a line per method; also writes PREFIX.csv
//
// Example:
//   diffdfl table results/runs --out results/table1
//   diffdfl plot curves runs/power/dfl-mlp/cpu-seed1 runs/power/dfl-diffusion-sf/cpu-seed1
//       --out figures/power_curves
//   diffdfl plot bars results/table1.csv --out results/table1_bars
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "diffdfl/reports/figures.h"
#include "diffdfl/reports/report.h"
#include "diffdfl/reports/scalability.h"

namespace diffdfl::cli {

namespace {

struct TableOptions {
  std::vector<std::string> runs;
  std::string out = "table1";
  std::string config_dir;
};

void run_table(const TableOptions& o) {
  const std::vector<reports::RunRecord> runs = reports::collect_runs(o.runs);
  const reports::PaperNumbers paper = reports::load_paper_numbers(
      std::filesystem::path(resolve_config_dir(o.config_dir)) / "paper_numbers.json");
  const reports::ResultsTable table = reports::build_results_table(runs, paper);
  for (const std::string& path : reports::write_results_table(table, o.out))
    std::cout << path << "\n";
  if (!table.excluded.empty())
    std::cerr << "diffdfl: note: " << table.excluded.size()
              << " run(s) with a null test cost left out of the numbers (listed in " << o.out
              << ".md)\n";
}

void print_plot(const reports::PlotFiles& files) {
  std::cout << files.png << "\n" << files.svg << "\n";
}

struct PlotOptions {
  std::vector<std::string> inputs;
  std::string out;
  reports::SampleHistogramOptions samples;
  std::string data_dir;
};

CLI::App* add_plot_kind(CLI::App& plot, const std::string& name, const std::string& help,
                        const std::shared_ptr<PlotOptions>& opts) {
  CLI::App* cmd = plot.add_subcommand(name, help);
  cmd->add_option("--out", opts->out,
                  "output prefix: writes PREFIX.png, PREFIX.svg and the gnuplot script PREFIX.gp "
                  "(default: " +
                      name + ")");
  return cmd;
}

std::string out_or(const PlotOptions& o, const std::string& kind) {
  return o.out.empty() ? kind : o.out;
}

void setup_table_command(CLI::App& app) {
  auto opts = std::make_shared<TableOptions>();
  CLI::App* cmd = app.add_subcommand(
      "table",
      "Mean ± std over seeds per task × method (headline test metric) beside the paper's Table 1, "
      "as PREFIX.csv and PREFIX.md");
  cmd->add_option("runs", opts->runs,
                  "run directories, or folders searched at any depth for them (.cache skipped)")
      ->required();
  cmd->add_option("--out", opts->out, "output prefix: PREFIX.csv and PREFIX.md")
      ->capture_default_str();
  cmd->add_option("--config-dir", opts->config_dir,
                  "folder with paper_numbers.json (default: the source tree's configs/)");
  cmd->callback([opts]() { run_table(*opts); });
}

void setup_plot_command(CLI::App& app) {
  CLI::App* plot = app.add_subcommand("plot", "Figures (PNG and SVG, drawn by gnuplot)");
  plot->require_subcommand(1);

  auto curves = std::make_shared<PlotOptions>();
  CLI::App* c =
      add_plot_kind(*plot, "curves",
                    "Learning curves: hold-out and test cost per epoch, one line per run", curves);
  c->add_option("runs", curves->inputs, "run directories (or folders of runs)")->required();
  c->callback(
      [curves]() { print_plot(reports::plot_curves(curves->inputs, out_or(*curves, "curves"))); });

  auto bars = std::make_shared<PlotOptions>();
  CLI::App* b = add_plot_kind(*plot, "bars",
                              "Results bar chart from a `diffdfl table` CSV: ours (mean ± std) "
                              "and the paper's numbers, a panel per task",
                              bars);
  b->add_option("table", bars->inputs, "table CSV (task,method,metric,n_seeds,mean,std,paper)")
      ->required()
      ->expected(1);
  b->callback([bars]() {
    print_plot(
        reports::plot_bars(reports::read_table_csv(bars->inputs.at(0)), out_or(*bars, "bars")));
  });

  auto samples = std::make_shared<PlotOptions>();
  CLI::App* s = add_plot_kind(
      *plot, "samples",
      "Histograms of model samples of y for one context against the true y (first 4 coordinates, "
      "or --coord)",
      samples);
  s->add_option("run", samples->inputs, "run directory")->required()->expected(1);
  s->add_option("--split", samples->samples.split, "train, hold or test")
      ->check(CLI::IsMember({"train", "hold", "test"}))
      ->capture_default_str();
  s->add_option("--index", samples->samples.index, "row of the split")->capture_default_str();
  s->add_option("--n", samples->samples.n, "number of samples")->capture_default_str();
  s->add_option("--coord", samples->samples.coord,
                "one coordinate of y (default: each of the first four)");
  s->add_option("--bins", samples->samples.bins, "histogram bins (default: about 2·∛n)");
  s->add_option("--data-dir", samples->data_dir, "data folder (default: the source tree's data/)");
  s->callback([samples]() {
    reports::SampleHistogramOptions o = samples->samples;
    o.paths.data_dir = resolve_data_dir(samples->data_dir);
    print_plot(reports::plot_samples(samples->inputs.at(0), o, out_or(*samples, "samples")));
  });

  auto memory = std::make_shared<PlotOptions>();
  CLI::App* m = add_plot_kind(
      *plot, "memory",
      "Memory and time bar chart from a CSV with columns setting,peak_mb,seconds_per_epoch",
      memory);
  m->add_option("csv", memory->inputs, "CSV file")->required()->expected(1);
  m->callback([memory]() {
    print_plot(reports::plot_memory(memory->inputs.at(0), out_or(*memory, "memory")));
  });

  auto scal = std::make_shared<PlotOptions>();
  CLI::App* sc = add_plot_kind(*plot, "scalability",
                               "Portfolio scalability: test regret and return against the number "
                               "of assets (data.n_assets), a line per method; also PREFIX.csv",
                               scal);
  sc->add_option("runs", scal->inputs,
                 "portfolio run directories, or folders searched at any depth for them")
      ->required();
  sc->callback([scal]() {
    const std::string prefix = out_or(*scal, "scalability");
    const auto rows = reports::build_scalability(reports::collect_runs(scal->inputs));
    std::cout << reports::write_scalability_csv(rows, prefix) << "\n";
    print_plot(reports::plot_scalability(rows, prefix));
  });
}

}  // namespace

void setup_report_commands(CLI::App& app) {
  setup_table_command(app);
  setup_plot_command(app);
}

}  // namespace diffdfl::cli
