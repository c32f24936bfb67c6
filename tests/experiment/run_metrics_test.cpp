// Tests of the run metrics (experiment/run_metrics.h): every metrics.json committed under results/
// survives a round trip unchanged (what `diffdfl train --resume` of a finished run prints), a
// damaged file is one error naming the file and the field, the console line against hand-written
// text, and the headline metric handled by name (no task is special-cased).
#include "diffdfl/experiment/run_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/cli_test_util.h"
#include "diffdfl/core/error.h"

namespace diffdfl::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// A metrics.json as a run of a portfolio-like task writes it (headline "return").
json portfolio_metrics() {
  return json::parse(R"({
    "best_epoch": 2, "device": "cpu", "epochs_run": 3, "headline": "return",
    "hold": {"cost": -0.002, "instances": 10, "regret": 0.01, "return": 0.002, "rmse": 0.5,
             "solver_failures": 0},
    "hold_cost": -0.002, "hold_regret": 0.01, "hold_return": 0.002,
    "initial_test_cost": -0.0004, "initial_test_return": 0.0004, "method": "dfl-mlp",
    "peak_rss_mb": 207.5, "preset": "smoke", "pretrain": {"epochs": 3, "seconds": 1.5},
    "seed": 1, "skipped_steps": 0, "solver_failures": 0, "status": "completed",
    "stop_reason": "epochs", "task": "portfolio",
    "test": {"cost": -0.00041234, "cost_sampling_sd": 0.0001, "instances": 40, "regret": 0.02,
             "repeats": 4, "return": 0.00041234, "rmse": 0.6, "solver_failures": 0},
    "test_cost": -0.00041234, "test_regret": 0.02, "test_return": 0.00041234, "test_rmse": 0.6,
    "threads": 1, "train_seconds": 12.345, "version": "0.1.0", "wall_seconds": 13.0})");
}

/// The message of the DataError that from_json throws for `j` ("" when it throws none).
std::string error_of(const json& j) {
  try {
    RunMetrics::from_json(j, "runs/x/metrics.json");
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(RunMetrics, EveryCommittedMetricsFileRoundTripsUnchanged) {
  const fs::path results = fs::path(DIFFDFL_TEST_SOURCE_DIR) / "results";
  int64_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(results)) {
    if (entry.path().filename() != "metrics.json") continue;
    const json j = json::parse(cli_testing::slurp(entry.path()));
    const RunMetrics m = RunMetrics::from_json(j, entry.path().string());
    EXPECT_EQ(m.to_json(), j) << entry.path();
    EXPECT_EQ(m.to_json().dump(2), j.dump(2)) << entry.path();
    ++files;
  }
  EXPECT_GT(files, 100) << "the committed runs under " << results << " were not found";
}

TEST(RunMetrics, ReadsTheTypedFields) {
  const RunMetrics m = RunMetrics::from_json(portfolio_metrics(), "m.json");
  EXPECT_EQ(m.task, "portfolio");
  EXPECT_EQ(m.seed, 1u);
  EXPECT_EQ(m.status, RunStatus::kCompleted);
  EXPECT_EQ(m.headline, "return");
  EXPECT_DOUBLE_EQ(m.headline_test(), 0.00041234);
  EXPECT_DOUBLE_EQ(m.test_value("cost"), -0.00041234);
  EXPECT_DOUBLE_EQ(m.test_value("regret"), 0.02);
  EXPECT_TRUE(std::isnan(m.test_value("absent")));
  EXPECT_DOUBLE_EQ(m.initial_headline_test(), 0.0004);
  EXPECT_DOUBLE_EQ(m.test_eval_se(), 0.0001 / 2);  // sd / √repeats
  EXPECT_EQ(m.test.instances, 40);
  EXPECT_DOUBLE_EQ(m.hold.extra.at("regret"), 0.01);
  EXPECT_EQ(m.pretrain.at("epochs"), 3);
  EXPECT_EQ(m.to_json(), portfolio_metrics());
}

TEST(RunMetrics, AnOlderFileWithOnlyTheRequiredFieldsReads) {
  const json j = {{"task", "power"}, {"method", "policy"},   {"seed", 3},
                  {"preset", "cpu"}, {"test_cost", nullptr}, {"test_rmse", nullptr}};
  const RunMetrics m = RunMetrics::from_json(j, "m.json");
  EXPECT_EQ(m.status, RunStatus::kCompleted);
  EXPECT_EQ(m.headline, "cost");
  EXPECT_TRUE(std::isnan(m.test.cost));
  EXPECT_TRUE(std::isnan(m.hold.cost));
  EXPECT_TRUE(std::isnan(m.train_seconds));
  EXPECT_TRUE(std::isnan(m.test_eval_se()));
}

TEST(RunMetrics, ADamagedFileNamesTheFileAndTheField) {
  json j = portfolio_metrics();
  j.erase("task");
  std::string msg = error_of(j);
  EXPECT_NE(msg.find("runs/x/metrics.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("field 'task' missing"), std::string::npos) << msg;

  j = portfolio_metrics();
  j["test_cost"] = "cheap";
  msg = error_of(j);
  EXPECT_NE(msg.find("field 'test_cost' must be a number or null"), std::string::npos) << msg;

  j = portfolio_metrics();
  j["test"]["crps"] = json::array();
  msg = error_of(j);
  EXPECT_NE(msg.find("field 'test.crps'"), std::string::npos) << msg;

  j = portfolio_metrics();
  j["status"] = "finished";
  msg = error_of(j);
  EXPECT_NE(msg.find("field 'status'"), std::string::npos) << msg;

  j = portfolio_metrics();
  j["seed"] = -1;
  msg = error_of(j);
  EXPECT_NE(msg.find("field 'seed' must be a non-negative integer"), std::string::npos) << msg;

  j = portfolio_metrics();
  j["test_return"] = true;
  msg = error_of(j);
  EXPECT_NE(msg.find("field 'test_return'"), std::string::npos) << msg;

  EXPECT_NE(error_of(json::array()).find("expected a JSON object"), std::string::npos);
  for (const std::string& m : {error_of(j), error_of(json::array())})
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST(RunMetrics, BriefReportAgainstHandWrittenLines) {
  RunMetrics m = RunMetrics::from_json(portfolio_metrics(), "m.json");
  EXPECT_EQ(m.brief_report(),
            "portfolio dfl-mlp seed 1: test return 0.00041234 (two-stage model it started from: "
            "0.0004), 12.3 s");
  m.method = "policy";
  EXPECT_EQ(m.brief_report(),
            "portfolio policy seed 1: test return 0.00041234 (initial policy: 0.0004), 12.3 s");
  m.method = "two-stage-mlp";
  EXPECT_EQ(m.brief_report(), "portfolio two-stage-mlp seed 1: test return 0.00041234, 12.3 s");

  RunMetrics power;
  power.task = "power";
  power.method = "dfl-diffusion-sf";
  power.seed = 2;
  power.test.cost = std::nan("");
  power.initial_test_cost = 3.1234567;
  power.train_seconds = 1234.5;
  EXPECT_EQ(power.brief_report(),
            "power dfl-diffusion-sf seed 2: test cost n/a (no instance solved) (two-stage model "
            "it started from: 3.1235), 1.23e+03 s");
}

TEST(RunMetrics, TheHeadlineIsHandledByNameForAnyTask) {
  // A task whose headline is an extra metric called "profit": its starting value is written as
  // initial_test_profit, and nothing is written for "return".
  RunMetrics m;
  m.task = "newsvendor";
  m.method = "dfl-mlp";
  m.headline = "profit";
  m.test.cost = -5;
  m.test.extra = {{"profit", 5}};
  m.hold.extra = {{"profit", 4}};
  m.initial_test_cost = -3;
  m.initial_test_extra = {{"profit", 3}};
  m.train_seconds = 1;  // (a NaN would be written as null and read back as NaN ≠ NaN)
  m.wall_seconds = 2;
  m.peak_rss_mb = 3;
  const json j = m.to_json();
  EXPECT_EQ(j.at("test_profit"), 5);
  EXPECT_EQ(j.at("hold_profit"), 4);
  EXPECT_EQ(j.at("initial_test_profit"), 3);
  EXPECT_FALSE(j.contains("initial_test_return"));
  EXPECT_FALSE(j.contains("failure"));
  EXPECT_EQ(m.brief_report(),
            "newsvendor dfl-mlp seed 0: test profit 5 (two-stage model it started from: 3), 1 s");
  const RunMetrics back = RunMetrics::from_json(j, "m.json");
  EXPECT_DOUBLE_EQ(back.initial_headline_test(), 3);
  EXPECT_EQ(back.to_json(), j);

  m.status = RunStatus::kFailed;
  m.failure = "the final test evaluation has no usable instance";
  EXPECT_EQ(m.to_json().at("status"), "failed");
  EXPECT_EQ(m.to_json().at("failure"), m.failure);
}

}  // namespace
}  // namespace diffdfl::experiment
