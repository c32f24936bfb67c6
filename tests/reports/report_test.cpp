// Tests of the reports (reports/report.h) on hand-written run directories: the results table's
// rows and numbers against hand-computed values, the paper column, runs with a null test cost,
// presets that must not mix and seeds that must not repeat, the paper-numbers file, and the
// gnuplot figures (skipped when gnuplot is not on PATH), and the portfolio scalability study
// (reports/scalability.h). No training: every run is fake.
#include "diffdfl/reports/report.h"
#include "diffdfl/reports/figures.h"
#include "diffdfl/reports/scalability.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "diffdfl/core/error.h"

namespace diffdfl::reports {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using cli_testing::slurp;
using cli_testing::temp_dir;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

fs::path source_configs() {
  return fs::path(DIFFDFL_TEST_SOURCE_DIR) / "configs";
}

/// A fake finished run: ROOT/<task>/<method>/<preset>-seed<S>/metrics.json. `cost` may be null.
fs::path fake_run(const fs::path& root, const std::string& task, const std::string& method,
                  int64_t seed, json cost, double rmse = 0.5, double seconds = 10, double rss = 100,
                  const std::string& preset = "cpu", json extra = json::object()) {
  const fs::path dir = root / task / method / (preset + "-seed" + std::to_string(seed));
  json m = {{"task", task},
            {"method", method},
            {"seed", seed},
            {"preset", preset},
            {"status", "completed"},
            {"test_cost", cost},
            {"hold_cost", cost},
            {"test_rmse", rmse},
            {"train_seconds", seconds},
            {"wall_seconds", seconds + 1},
            {"peak_rss_mb", rss}};
  for (const auto& [k, v] : extra.items())
    m[k] = v;
  write(dir / "metrics.json", m.dump(2));
  return dir;
}

/// Splits a CSV text into lines (no trailing empty line).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ','))
    out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

/// The standard test campaign: five task × method rows, one run with a null cost, a .cache folder
/// with a run of another preset that must be skipped.
struct Campaign {
  fs::path root;
  fs::path null_run;
};

Campaign make_campaign(const std::string& name) {
  Campaign c;
  c.root = temp_dir(name);
  const fs::path& r = c.root;
  // synthetic / dfl-diffusion-sf: costs 0.30, 0.36, 0.42 → mean 0.36, std (n − 1) 0.06.
  // Density scores and re-evaluation spreads: CRPS 0.1 and 0.3 (seed 3 has none) → 0.2;
  // re-eval SE 0.2/√4 = 0.1 and 0.4/√4 = 0.2 → 0.15.
  fake_run(r, "synthetic", "dfl-diffusion-sf", 1, 0.30, 0.8, 10, 100, "cpu",
           {{"test",
             {{"crps", 0.1},
              {"energy", 1.0},
              {"coverage90", 0.8},
              {"repeats", 4},
              {"cost_sampling_sd", 0.2}}}});
  fake_run(r, "synthetic", "dfl-diffusion-sf", 2, 0.36, 0.9, 20, 300, "cpu",
           {{"test",
             {{"crps", 0.3},
              {"energy", 2.0},
              {"coverage90", 0.9},
              {"repeats", 4},
              {"cost_sampling_sd", 0.4}}}});
  fake_run(r, "synthetic", "dfl-diffusion-sf", 3, 0.42, 1.0, 30, 200);
  // synthetic / two-stage-mlp: one seed → no std.
  fake_run(r, "synthetic", "two-stage-mlp", 1, 1.987, 0.64, 5, 50);
  // synthetic-contextual / policy: the paper has no number; policy has no RMSE.
  fake_run(r, "synthetic-contextual", "policy", 4, 0.5, std::nan(""), 3, 60, "cpu",
           {{"test_rmse", nullptr}});
  // power / dfl-mlp: seed 1 has a null test cost → left out; 4.0 and 5.0 → mean 4.5.
  c.null_run = fake_run(r, "power", "dfl-mlp", 1, nullptr, 2.0, 40, 400);
  fake_run(r, "power", "dfl-mlp", 2, 4.0, 2.0, 40, 400);
  fake_run(r, "power", "dfl-mlp", 3, 5.0, 4.0, 60, 500);
  // portfolio / dfl-diffusion-rp: returns 0.01 and 0.03 → mean 0.02, std √2·0.01.
  fake_run(r, "portfolio", "dfl-diffusion-rp", 1, -0.0099, 0.06, 100, 700, "cpu",
           {{"test_return", 0.01}, {"test_regret", 0.02}});
  fake_run(r, "portfolio", "dfl-diffusion-rp", 2, -0.0295, 0.07, 200, 800, "cpu",
           {{"test_return", 0.03}, {"test_regret", 0.01}});
  // A pretrained-model cache folder is never searched.
  fake_run(r / ".cache", "synthetic", "dfl-diffusion-sf", 1, 9.9, 1, 1, 1, "smoke");
  return c;
}

// ---------------------------------------------------------------------------------------------

TEST(Report, TableRowsMatchHandComputedMeansAndStds) {
  const Campaign c = make_campaign("table");
  const std::vector<RunRecord> runs = collect_runs({c.root.string()});
  ASSERT_EQ(runs.size(), 10u);  // the .cache run is skipped
  const PaperNumbers paper = load_paper_numbers(source_configs() / "paper_numbers.json");
  const ResultsTable table = build_results_table(runs, paper);
  EXPECT_EQ(table.preset, "cpu");

  const fs::path prefix = c.root / "out" / "table1";
  const std::vector<std::string> files = write_results_table(table, prefix.string());
  ASSERT_EQ(files.size(), 2u);
  const std::vector<std::string> lines = lines_of(slurp(prefix.string() + ".csv"));
  ASSERT_EQ(lines.size(), 6u) << slurp(prefix.string() + ".csv");
  EXPECT_EQ(lines[0],
            "task,method,metric,n_seeds,mean,std,paper,se,eval_se,rmse,crps,energy,coverage90");
  // Order: task synthetic, synthetic-contextual, power, portfolio; methods in the table order.
  const std::vector<std::pair<std::string, std::string>> order = {
      {"synthetic", "two-stage-mlp"},
      {"synthetic", "dfl-diffusion-sf"},
      {"synthetic-contextual", "policy"},
      {"power", "dfl-mlp"},
      {"portfolio", "dfl-diffusion-rp"}};
  for (size_t i = 0; i < order.size(); ++i) {
    const std::vector<std::string> cells = cells_of(lines[i + 1]);
    ASSERT_EQ(cells.size(), 13u) << lines[i + 1];
    EXPECT_EQ(cells[0], order[i].first) << lines[i + 1];
    EXPECT_EQ(cells[1], order[i].second) << lines[i + 1];
  }
  // One seed: the std cell is empty; no paper number: the paper cell is empty.
  EXPECT_EQ(cells_of(lines[1])[5], "");
  EXPECT_EQ(cells_of(lines[3])[6], "");
  EXPECT_EQ(cells_of(lines[3])[2], "cost");
  EXPECT_EQ(cells_of(lines[5])[2], "return");

  const std::vector<TableRow> rows = read_table_csv(prefix.string() + ".csv");
  ASSERT_EQ(rows.size(), 5u);
  // synthetic / two-stage-mlp.
  EXPECT_EQ(rows[0].n_seeds, 1);
  EXPECT_NEAR(rows[0].mean, 1.987, 1e-12);
  EXPECT_TRUE(std::isnan(rows[0].std));
  EXPECT_NEAR(rows[0].paper, 1.987, 1e-12);
  // synthetic / dfl-diffusion-sf.
  EXPECT_EQ(rows[1].metric, "cost");
  EXPECT_EQ(rows[1].n_seeds, 3);
  EXPECT_NEAR(rows[1].mean, 0.36, 1e-9);
  EXPECT_NEAR(rows[1].std, 0.06, 1e-9);
  EXPECT_NEAR(rows[1].paper, 0.362, 1e-12);
  // synthetic-contextual / policy.
  EXPECT_EQ(rows[2].n_seeds, 1);
  EXPECT_NEAR(rows[2].mean, 0.5, 1e-12);
  EXPECT_TRUE(std::isnan(rows[2].paper));
  // power / dfl-mlp: the null-cost run is excluded, n counts the usable runs only.
  EXPECT_EQ(rows[3].n_seeds, 2);
  EXPECT_NEAR(rows[3].mean, 4.5, 1e-9);
  EXPECT_NEAR(rows[3].std, std::sqrt(0.5), 1e-9);
  EXPECT_NEAR(rows[3].paper, 4.325, 1e-12);
  // portfolio / dfl-diffusion-rp: the return, not the cost.
  EXPECT_EQ(rows[4].metric, "return");
  EXPECT_EQ(rows[4].n_seeds, 2);
  EXPECT_NEAR(rows[4].mean, 0.02, 1e-9);
  EXPECT_NEAR(rows[4].std, std::sqrt(2.0) * 0.01, 1e-9);
  EXPECT_NEAR(rows[4].paper, 0.04166, 1e-12);

  // The in-memory rows also carry RMSE, time and memory.
  const TableRow& sf = table.rows[1];
  EXPECT_NEAR(sf.rmse, 0.9, 1e-12);
  EXPECT_NEAR(sf.train_seconds, 20, 1e-12);
  EXPECT_NEAR(sf.peak_rss_mb, 300, 1e-12);
  EXPECT_EQ(sf.seeds, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_NEAR(sf.se, 0.06 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(sf.crps, 0.2, 1e-12);  // over the runs that have it
  EXPECT_NEAR(sf.energy, 1.5, 1e-12);
  EXPECT_NEAR(sf.coverage90, 0.85, 1e-12);
  EXPECT_NEAR(sf.eval_se, 0.15, 1e-12);
  EXPECT_TRUE(std::isnan(table.rows[3].crps));  // no density scores
  EXPECT_TRUE(std::isnan(table.rows[2].rmse));  // policy
  EXPECT_NEAR(table.rows[3].rmse, 3.0, 1e-12);  // usable power runs only: (2 + 4) / 2
  EXPECT_NEAR(table.rows[3].train_seconds, (40 + 40 + 60) / 3.0, 1e-12);  // every run
  EXPECT_EQ(table.rows[3].runs, 3);
  EXPECT_NEAR(table.rows[4].extras.at("regret"), 0.015, 1e-12);
  ASSERT_EQ(table.excluded.size(), 1u);
  EXPECT_EQ(fs::path(table.excluded[0].dir), c.null_run);

  const std::string md = slurp(prefix.string() + ".md");
  EXPECT_NE(md.find("n counts only the runs with a usable test value"), std::string::npos) << md;
  EXPECT_NE(md.find("## synthetic: test decision cost"), std::string::npos) << md;
  EXPECT_NE(md.find("## portfolio: test return"), std::string::npos) << md;
  EXPECT_NE(md.find("| dfl-diffusion-sf | 0.36 ± 0.06 | 0.03464 | 0.15 | 0.362 ± 0.007 | 3 | "
                    "1 2 3 | 0.9 | 0.2 | 1.5 | 0.85 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| dfl-mlp | 4.5 ± 0.7071 | 0.5 | — | 4.325 ± 0.79 | 2 of 3 | 2 3 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("`" + c.null_run.string() + "`: power / dfl-mlp seed 1: test cost is null"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("9.9"), std::string::npos) << "the .cache run leaked in:\n" << md;
}

TEST(Report, MixingPresetsFailsNamingADirectoryOfEach) {
  const fs::path root = temp_dir("presets");
  const fs::path a = fake_run(root, "synthetic", "dfl-mlp", 1, 1.0, 0.5, 1, 1, "cpu");
  const fs::path b = fake_run(root, "synthetic", "dfl-mlp", 2, 1.0, 0.5, 1, 1, "smoke");
  const std::vector<RunRecord> runs = collect_runs({root.string()});
  try {
    build_results_table(runs, PaperNumbers{});
    FAIL() << "mixed presets were accepted";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("mix presets"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'cpu'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'smoke'"), std::string::npos) << msg;
    EXPECT_NE(msg.find(a.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.string()), std::string::npos) << msg;
  }
}

TEST(Report, DuplicateSeedFailsNamingBothDirectories) {
  const fs::path root = temp_dir("duplicate");
  const fs::path a = fake_run(root / "campaign1", "power", "policy", 7, 4.0);
  const fs::path b = fake_run(root / "campaign2", "power", "policy", 7, 4.2);
  try {
    build_results_table(collect_runs({(root / "campaign1").string(), b.string()}), PaperNumbers{});
    FAIL() << "a duplicate seed was accepted";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("power / policy seed 7"), std::string::npos) << msg;
    EXPECT_NE(msg.find(a.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(b.string()), std::string::npos) << msg;
  }
  // The same directory given twice (itself and through its parent) is one run, not a duplicate.
  EXPECT_EQ(collect_runs({a.string(), (root / "campaign1").string()}).size(), 1u);
}

TEST(Report, BadInputsAreNamedErrors) {
  const fs::path root = temp_dir("bad");
  EXPECT_THROW(collect_runs({(root / "missing").string()}), InvalidArgument);
  fs::create_directories(root / "empty");
  try {
    collect_runs({(root / "empty").string()});
    FAIL() << "an empty folder was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("no finished run"), std::string::npos) << e.what();
  }
  write(root / "broken" / "metrics.json", R"({"method": "dfl-mlp", "seed": 1, "preset": "cpu"})");
  try {
    collect_runs({(root / "broken").string()});
    FAIL() << "metrics.json without a task was accepted";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find((root / "broken" / "metrics.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("'task'"), std::string::npos) << msg;
  }
  // A portfolio run must carry its headline metric.
  const fs::path p = fake_run(root / "p", "portfolio", "dfl-mlp", 1, -0.01);
  EXPECT_THROW(read_run_record(p), DataError);
  // Paper numbers: an unknown method is named.
  write(root / "paper.json", R"({"tasks": {"power": {"dfl-difusion-sf": {"mean": 1}}}})");
  try {
    load_paper_numbers(root / "paper.json");
    FAIL() << "an unknown method was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("tasks.power.dfl-difusion-sf"), std::string::npos)
        << e.what();
  }
}

TEST(Report, CommittedPaperNumbersHoldTable1) {
  const PaperNumbers p = load_paper_numbers(source_configs() / "paper_numbers.json");
  EXPECT_EQ(p.source, "Zhao, Yeh, Kong and Wang, arXiv 2510.11590, §3.1");
  for (const std::string task : {"synthetic", "power", "portfolio"})
    EXPECT_EQ(p.values.at(task).size(), 9u) << task;
  ASSERT_NE(p.find("power", "dfl-diffusion-sf"), nullptr);
  EXPECT_DOUBLE_EQ(p.find("power", "dfl-diffusion-sf")->mean, 3.171);
  EXPECT_DOUBLE_EQ(p.find("power", "two-stage-mlp")->std, 10.064);
  EXPECT_DOUBLE_EQ(p.find("portfolio", "dfl-diffusion-sf")->mean, 0.03978);
  EXPECT_DOUBLE_EQ(p.find("synthetic", "policy")->mean, 0.568);
  EXPECT_EQ(p.find("synthetic-contextual", "dfl-mlp"), nullptr);
}

TEST(ReportCli, TableWritesCsvAndMarkdownAndRefusesMixedPresets) {
  const Campaign c = make_campaign("cli");
  const fs::path prefix = c.root / "tables" / "t1";
  const cli_testing::Result r =
      cli_testing::run("table '" + c.root.string() + "' --out '" + prefix.string() +
                       "' --config-dir '" + source_configs().string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(prefix.string() + ".csv"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(prefix.string() + ".md"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("null test cost"), std::string::npos) << r.err;
  EXPECT_EQ(lines_of(slurp(prefix.string() + ".csv")).size(), 6u);

  const fs::path other = fake_run(c.root / "smoke", "power", "dfl-mlp", 9, 4.0, 1, 1, 1, "smoke");
  cli_testing::expect_failure("table '" + c.root.string() + "' --out '" + prefix.string() +
                                  "' --config-dir '" + source_configs().string() + "'",
                              {"mix presets", other.string()});
  cli_testing::expect_failure(
      "table '" + c.root.string() + "' --config-dir '" + (c.root / "nowhere").string() + "'",
      {"paper_numbers.json", "--config-dir"});
}

// ---------------------------------------------------------------------------------------------
// The portfolio scalability study.

/// A fake finished portfolio run of n assets (config.json holds data.n_assets). `ret` may be null.
fs::path fake_portfolio_run(const fs::path& root, const std::string& method, int64_t n,
                            int64_t seed, json ret, double regret, double seconds = 10) {
  const fs::path dir =
      fake_run(root / ("n" + std::to_string(n)), "portfolio", method, seed,
               ret.is_null() ? json(nullptr) : json(-ret.get<double>()), 0.5, seconds, 100, "cpu",
               {{"test_return", ret}, {"test_regret", regret}});
  write(dir / "config.json", json{{"task", "portfolio"}, {"data", {{"n_assets", n}}}}.dump());
  return dir;
}

TEST(Scalability, RowsMatchHandComputedMeansAndStds) {
  const fs::path root = temp_dir("scal");
  // dfl-mlp, n = 10: regrets 0.02 and 0.03 → mean 0.025, std √2·0.005; returns 0.001, 0.003.
  fake_portfolio_run(root, "dfl-mlp", 10, 1, 0.001, 0.02, 10);
  fake_portfolio_run(root, "dfl-mlp", 10, 2, 0.003, 0.03, 30);
  // dfl-mlp, n = 50: seed 2 has no usable test value → one seed, no std.
  fake_portfolio_run(root, "dfl-mlp", 50, 1, 0.002, 0.04);
  fake_portfolio_run(root, "dfl-mlp", 50, 2, nullptr, 0.05);
  // dfl-diffusion-sf comes before dfl-mlp (dfl::method_names order), sizes ascending.
  fake_portfolio_run(root, "dfl-diffusion-sf", 25, 1, 0.004, 0.01);
  fake_portfolio_run(root, "dfl-diffusion-sf", 5, 1, 0.005, 0.005);

  const std::vector<ScalabilityRow> rows = build_scalability(collect_runs({root.string()}));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].method, "dfl-diffusion-sf");
  EXPECT_EQ(rows[0].n_assets, 5);
  EXPECT_EQ(rows[1].n_assets, 25);
  EXPECT_EQ(rows[2].method, "dfl-mlp");
  EXPECT_EQ(rows[2].n_assets, 10);
  EXPECT_EQ(rows[2].n_seeds, 2);
  EXPECT_NEAR(rows[2].regret, 0.025, 1e-15);
  EXPECT_NEAR(rows[2].regret_std, std::sqrt(2.0) * 0.005, 1e-15);
  EXPECT_NEAR(rows[2].ret, 0.002, 1e-15);
  EXPECT_NEAR(rows[2].train_seconds, 20, 1e-12);
  EXPECT_EQ(rows[2].seeds, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(rows[3].n_assets, 50);
  EXPECT_EQ(rows[3].n_seeds, 1);
  EXPECT_NEAR(rows[3].regret, 0.04, 1e-15);
  EXPECT_TRUE(std::isnan(rows[3].regret_std));

  const std::vector<std::string> csv = lines_of(scalability_csv(rows));
  ASSERT_EQ(csv.size(), 5u);
  EXPECT_EQ(csv[0],
            "method,n_assets,n_seeds,regret_mean,regret_std,return_mean,return_std,train_seconds");
  EXPECT_EQ(cells_of(csv[4]),
            (std::vector<std::string>{"dfl-mlp", "50", "1", "0.04", "", "0.002", "", "10"}));

  // A results table refuses to mix portfolio sizes, naming both runs.
  try {
    build_results_table(collect_runs({(root / "n10").string(), (root / "n50").string()}),
                        PaperNumbers{});
    FAIL() << "a table mixing portfolio sizes was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("mix sizes"), std::string::npos) << e.what();
  }
}

TEST(Scalability, RefusesOtherTasksUnknownSizesAndRepeatedSeeds) {
  const fs::path root = temp_dir("scal_bad");
  const fs::path power = fake_run(root / "power", "power", "dfl-mlp", 1, 4.0);
  EXPECT_THROW(build_scalability(collect_runs({power.string()})), InvalidArgument);
  const fs::path no_size = fake_run(root / "nosize", "portfolio", "dfl-mlp", 1, -0.01, 0.5, 1, 1,
                                    "cpu", {{"test_return", 0.01}, {"test_regret", 0.02}});
  try {
    build_scalability(collect_runs({no_size.string()}));
    FAIL() << "a run without n_assets was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(no_size.string()), std::string::npos) << e.what();
  }
  const fs::path a = fake_portfolio_run(root / "a", "dfl-mlp", 10, 1, 0.001, 0.02);
  const fs::path b = fake_portfolio_run(root / "b", "dfl-mlp", 10, 1, 0.002, 0.03);
  try {
    build_scalability(collect_runs({a.string(), b.string()}));
    FAIL() << "a repeated (method, n, seed) was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(a.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(b.string()), std::string::npos) << e.what();
  }
  write(a / "config.json", R"({"data": {"n_assets": 0}})");
  EXPECT_THROW(read_run_record(a), DataError);
}

// ---------------------------------------------------------------------------------------------
// Figures.

void expect_image(const std::string& path, const char* magic) {
  ASSERT_TRUE(fs::is_regular_file(path)) << path;
  EXPECT_GT(fs::file_size(path), 100u) << path;
  EXPECT_NE(slurp(path).find(magic), std::string::npos) << path;
}

TEST(ReportPlot, CurvesOfTwoRunsWritePngAndSvg) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not on PATH";
  const fs::path root = temp_dir("curves");
  const fs::path a = fake_run(root, "power", "dfl-mlp", 1, 4.0);
  const fs::path b = fake_run(root, "power", "dfl-diffusion-sf", 1, 3.2);
  const std::string header = "epoch,train_cost,fit_loss,hold_cost,test_cost,hold_rmse,test_rmse\n";
  write(a / "curve.csv", header + "-1,,,5.0,5.2,1,1\n0,4.8,,4.6,4.7,1,1\n1,4.4,,,4.3,1,1\n");
  write(b / "curve.csv", header + "-1,,,6.0,6.1,1,1\n0,4.0,0.1,3.5,3.4,1,1\n");
  const PlotFiles files = plot_curves({a.string(), b.string()}, (root / "fig" / "curves").string());
  expect_image(files.png, "PNG");
  expect_image(files.svg, "<svg");
  const std::string svg = slurp(files.svg);
  EXPECT_NE(svg.find("dfl-diffusion-sf seed 1"), std::string::npos);  // the legend
  EXPECT_NE(svg.find("Hold-out cost"), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(files.script));

  // Through the command line as well.
  const cli_testing::Result r =
      cli_testing::run("plot curves '" + a.string() + "' '" + b.string() + "' --out '" +
                       (root / "cli_curves").string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  expect_image((root / "cli_curves.png").string(), "PNG");
  expect_image((root / "cli_curves.svg").string(), "<svg");
}

TEST(ReportPlot, BarsAndMemoryWritePngAndSvg) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not on PATH";
  const Campaign c = make_campaign("bars");
  const ResultsTable table = build_results_table(
      collect_runs({c.root.string()}), load_paper_numbers(source_configs() / "paper_numbers.json"));
  const std::string prefix = (c.root / "table1").string();
  write_results_table(table, prefix);
  const PlotFiles bars = plot_bars(read_table_csv(prefix + ".csv"), prefix + "_bars");
  expect_image(bars.png, "PNG");
  expect_image(bars.svg, "<svg");
  EXPECT_NE(slurp(bars.svg).find("paper (Table 1 mean)"), std::string::npos);

  write(c.root / "memory.csv",
        "setting,peak_mb,seconds_per_epoch\ntwo-stage,300,1.5\nsf K=10,450,4\n"
        "rp full,2100,12.5\nrp checkpointed,700,\n");
  const PlotFiles mem = plot_memory(c.root / "memory.csv", (c.root / "memory").string());
  expect_image(mem.png, "PNG");
  expect_image(mem.svg, "<svg");
  EXPECT_THROW(plot_memory(c.root / "nope.csv", (c.root / "m2").string()), DataError);

  // gnuplot's own errors come back with its output.
  try {
    run_gnuplot_script("this is not gnuplot\n", (c.root / "broken").string());
    FAIL() << "a broken script was accepted";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("gnuplot failed"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("broken.gp"), std::string::npos) << e.what();
  }
}

TEST(ReportPlot, ScalabilityWritesCsvPngAndSvg) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not on PATH";
  const fs::path root = temp_dir("scal_plot");
  for (int64_t n : {10, 25, 50}) {
    fake_portfolio_run(root, "dfl-mlp", n, 1, 0.001, 0.01 * static_cast<double>(n) / 10);
    fake_portfolio_run(root, "dfl-mlp", n, 2, 0.002, 0.012 * static_cast<double>(n) / 10);
    fake_portfolio_run(root, "dfl-diffusion-sf", n, 1, 0.003, 0.009 * static_cast<double>(n) / 10);
  }
  const fs::path prefix = root / "fig" / "scalability";
  const cli_testing::Result r =
      cli_testing::run("plot scalability '" + root.string() + "' --out '" + prefix.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines_of(slurp(prefix.string() + ".csv")).size(), 7u);
  expect_image(prefix.string() + ".png", "PNG");
  expect_image(prefix.string() + ".svg", "<svg");
  EXPECT_NE(slurp(prefix.string() + ".svg").find("dfl-diffusion-sf"), std::string::npos);
  const fs::path power = fake_run(root / "other", "power", "dfl-mlp", 1, 4.0);
  cli_testing::expect_failure(
      "plot scalability '" + root.string() + "' --out '" + (root / "s2").string() + "'",
      {power.string(), "portfolio runs only"});
}

}  // namespace
}  // namespace diffdfl::reports
