// `diffdfl train / eval / sample`, run as a user would: every method on every task (smoke preset),
// kill-and-resume equivalence (also of a two-rank run), two ranks against one process, and named
// errors that leave no run directory behind.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "cli_test_util.h"
#include "diffdfl/core/file_lock.h"

namespace {

using namespace diffdfl::cli_testing;
using nlohmann::json;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = temp_path(name);
  fs::remove_all(d);
  return d;
}

std::string quoted(const fs::path& p) {
  return "'" + p.string() + "'";
}

json read_json(const fs::path& p) {
  return json::parse(slurp(p));
}

/// Lines of a text file.
std::vector<std::string> lines(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(slurp(p));
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

void run_every_method(const std::string& task) {
  const fs::path root = fresh_dir("every_" + task);
  const std::vector<std::string> methods = {
      "two-stage-mlp",   "two-stage-gaussian", "two-stage-diffusion", "dfl-mlp", "dfl-gaussian-rp",
      "dfl-gaussian-sf", "dfl-diffusion-rp",   "dfl-diffusion-sf",    "policy"};
  for (const auto& m : methods) {
    const fs::path dir = root / m;
    const Result r = run("train --quiet --preset smoke --task " + task + " --method " + m +
                         " --out " + quoted(dir) + " --cache-dir " + quoted(root / "cache"));
    ASSERT_EQ(r.code, 0) << task << " " << m << "\n" << r.err;
    const json metrics = read_json(dir / "metrics.json");
    EXPECT_EQ(json::parse(r.out), metrics);
    for (const char* key :
         {"task", "method", "seed", "preset", "test_cost", "hold_cost", "best_epoch", "epochs_run",
          "train_seconds", "peak_rss_mb", "solver_failures", "skipped_steps"}) {
      EXPECT_TRUE(metrics.contains(key)) << m << " lacks " << key;
    }
    EXPECT_EQ(metrics["task"], task);
    EXPECT_EQ(metrics["method"], m);
    EXPECT_TRUE(std::isfinite(metrics["test_cost"].get<double>())) << m;
    EXPECT_TRUE(std::isfinite(metrics["hold_cost"].get<double>())) << m;
    EXPECT_GT(metrics["peak_rss_mb"].get<double>(), 10.0);
    EXPECT_EQ(metrics["solver_failures"], 0) << m;
    EXPECT_EQ(metrics["skipped_steps"], 0) << m;
    if (m != "policy") {
      EXPECT_TRUE(std::isfinite(metrics["test_rmse"].get<double>())) << m;
    }
    if (task == "portfolio") {
      EXPECT_TRUE(metrics.contains("test_return"));
      EXPECT_TRUE(metrics.contains("test_regret"));
      EXPECT_GE(metrics["test_regret"].get<double>(), 0.0);
    }
    const bool two_stage = m.rfind("two-stage", 0) == 0;
    EXPECT_EQ(metrics["epochs_run"], two_stage ? 0 : 1) << m;
    const auto curve = lines(dir / "curve.csv");
    ASSERT_EQ(curve.size(), two_stage ? 2u : 3u) << m;  // header, epoch -1, epoch 0
    EXPECT_EQ(curve[0].rfind("epoch,train_cost,fit_loss,hold_cost,test_cost", 0), 0u) << curve[0];
    EXPECT_TRUE(fs::exists(dir / "config.json"));
    EXPECT_TRUE(fs::exists(dir / "model.pt"));
    EXPECT_EQ(read_json(dir / "config.json")["method"], m);
  }
}

TEST(TrainCli, EveryMethodOnSynthetic) {
  run_every_method("synthetic");
}
TEST(TrainCli, EveryMethodOnContextualSynthetic) {
  run_every_method("synthetic-contextual");
}
TEST(TrainCli, EveryMethodOnPower) {
  run_every_method("power");
}
TEST(TrainCli, EveryMethodOnPortfolio) {
  run_every_method("portfolio");
}
TEST(TrainCli, EveryMethodOnNewsvendor) {
  run_every_method("newsvendor");
}

/// The metrics and curve of a run without the fields that measure time or memory.
std::pair<json, std::vector<std::string>> comparable(const fs::path& dir) {
  json m = read_json(dir / "metrics.json");
  for (const char* k : {"train_seconds", "wall_seconds", "peak_rss_mb", "pretrain", "comm_seconds",
                        "comm_seconds_per_step"})
    m.erase(k);
  std::vector<std::string> curve;
  for (const auto& l : lines(dir / "curve.csv")) {
    // Drop the seconds and cumulative_seconds columns (5th and 4th from the end).
    std::vector<std::string> cells;
    std::stringstream ss(l);
    for (std::string c; std::getline(ss, c, ',');)
      cells.push_back(c);
    cells.erase(cells.end() - 5, cells.end() - 3);
    std::string joined;
    for (const auto& c : cells)
      joined += c + ",";
    curve.push_back(joined);
  }
  return {m, curve};
}

/// Trains the power smoke run of `common` whole and killed-then-resumed (SIGKILL to the whole
/// process group once an epoch is checkpointed; `ranks` > 1 adds --nproc), and expects the same
/// metrics and curve. With ranks > 1 a resume with one process is refused first.
void killed_run_resumes(const std::string& name, int ranks) {
  const fs::path root = fresh_dir(name);
  const std::string nproc = ranks > 1 ? " --nproc " + std::to_string(ranks) : "";
  const std::string common =
      " --quiet --preset smoke --task power --method dfl-diffusion-sf --set train.epochs=6 "
      "--set eval.samples=16 --threads 1 --cache-dir " +
      quoted(root / "cache");
  const Result whole = run("train" + common + nproc + " --out " + quoted(root / "whole"));
  ASSERT_EQ(whole.code, 0) << whole.err;

  // The same run, killed with SIGKILL once it has checkpointed at least one epoch, then resumed.
  const fs::path dir = root / "killed";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);  // the launcher and its ranks: one group to kill
    const std::string cmd = std::string("exec '") + DIFFDFL_CLI_PATH + "' train" + common + nproc +
                            " --out " + quoted(dir) + " > /dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool killed = false;
  for (int i = 0; i < 6000 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (fs::exists(dir / "curve.csv") && lines(dir / "curve.csv").size() >= 3) {
      kill(-pid, SIGKILL);
      killed = true;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(killed) << "the run never checkpointed an epoch";
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  ASSERT_FALSE(fs::exists(dir / "metrics.json"));
  const std::string resume =
      "train --quiet --resume " + quoted(dir) + " --cache-dir " + quoted(root / "cache");
  if (ranks > 1) {
    const Result alone = run(resume);
    EXPECT_NE(alone.code, 0);
    EXPECT_NE(alone.err.find("the checkpoint was written by a run of " + std::to_string(ranks) +
                             " ranks; resume it with " + std::to_string(ranks) + " ranks"),
              std::string::npos)
        << alone.err;
    expect_one_line_error(alone);
  }
  const Result resumed = run(resume + nproc);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const auto a = comparable(root / "whole");
  const auto b = comparable(dir);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
  // Resuming a finished run changes nothing.
  const Result again = run("train --quiet --resume " + quoted(dir));
  EXPECT_EQ(again.code, 0);
  EXPECT_EQ(json::parse(again.out), read_json(dir / "metrics.json"));
}

TEST(TrainCli, KilledRunResumesToTheSameResult) {
  killed_run_resumes("resume", 1);
}

// --- Data-parallel (docs/distributed.md) ----------------------------------------------------

/// True when this build trains data-parallel (`diffdfl --version` says so).
bool distributed_build() {
  const Result r = run("--version");
  EXPECT_EQ(r.code, 0);
  return r.out.find("(distributed: c10d/Gloo)") != std::string::npos;
}

TEST(TrainCli, KilledTwoRankRunResumesToTheSameResult) {
  if (!distributed_build()) GTEST_SKIP() << "built without c10d";
  killed_run_resumes("resume2", 2);
}

/// The metrics.json of the power smoke run of `method` with `nproc` ranks.
json power_smoke(const std::string& method, int nproc, const fs::path& root) {
  const fs::path dir = root / (method + "-" + std::to_string(nproc));
  const Result r = run("train --quiet --preset smoke --task power --threads 1 --method " + method +
                       (nproc > 1 ? " --nproc " + std::to_string(nproc) : "") + " --cache-dir " +
                       quoted(root / "cache") + " --out " + quoted(dir));
  EXPECT_EQ(r.code, 0) << r.err;
  if (r.code != 0) return json();
  EXPECT_EQ(json::parse(r.out), read_json(dir / "metrics.json"));  // rank 0 alone reports
  return read_json(dir / "metrics.json");
}

TEST(TrainCli, TwoRanksTrainAsOneProcess) {
  if (!distributed_build()) GTEST_SKIP() << "built without c10d";
  const fs::path root = fresh_dir("ranks");
  // The MLP is deterministic: two ranks take one process's steps up to summation order.
  const json a = power_smoke("dfl-mlp", 1, root);
  const json b = power_smoke("dfl-mlp", 2, root);
  ASSERT_FALSE(a.is_null() || b.is_null());
  EXPECT_EQ(b.at("ranks"), 2);
  EXPECT_FALSE(a.contains("ranks"));
  EXPECT_NEAR(b.at("test_cost").get<double>(), a.at("test_cost").get<double>(),
              1e-7 * a.at("test_cost").get<double>());
  EXPECT_NEAR(b.at("hold_cost").get<double>(), a.at("hold_cost").get<double>(),
              1e-7 * a.at("hold_cost").get<double>());
  EXPECT_EQ(b.at("best_epoch"), a.at("best_epoch"));
  // The diffusion model's samples come from per-rank streams: the same training in distribution,
  // so the metrics agree to within sampling noise. At the smoke preset (M = 4, 5 sampling steps) the test
  // cost of one process spreads by about ±4 % over seeds 1-3 and two ranks differed from one by
  // 3.4, 1.2 and 1.8 % on seeds 1-3: a 5 % tolerance (a deterministic test, seed 1).
  const json c = power_smoke("dfl-diffusion-sf", 1, root);
  const json d = power_smoke("dfl-diffusion-sf", 2, root);
  ASSERT_FALSE(c.is_null() || d.is_null());
  const double rel =
      std::abs(d.at("test_cost").get<double>() / c.at("test_cost").get<double>() - 1);
  EXPECT_LT(rel, 0.05) << c.at("test_cost") << " vs " << d.at("test_cost");
}

TEST(TrainCli, DistributedMisuseIsNamed) {
  const std::string train = "train --quiet --preset smoke --task power --method dfl-mlp ";
  const Result a = run(train + "--nproc 2", "WORLD_SIZE=2 RANK=0");
  EXPECT_NE(a.code, 0);
  expect_one_line_error(a);
  if (distributed_build()) {
    EXPECT_NE(a.err.find("--nproc starts its own ranks on this host; under torchrun or another "
                         "launcher (WORLD_SIZE is set) leave --nproc out"),
              std::string::npos)
        << a.err;
  }
  const Result b = run(train, "WORLD_SIZE=2");
  EXPECT_NE(b.code, 0);
  EXPECT_NE(b.err.find("WORLD_SIZE=2 is set but RANK is not"), std::string::npos) << b.err;
  expect_one_line_error(b);
}

TEST(TrainCli, ARunDirectoryInUseIsRefused) {
  const fs::path root = fresh_dir("in_use");
  const fs::path dir = root / "run";
  const std::string common = " --quiet --cache-dir " + quoted(root / "cache");
  ASSERT_EQ(run("train --preset smoke --task synthetic --method two-stage-mlp --out " +
                quoted(dir) + common)
                .code,
            0);
  fs::remove(dir / "metrics.json");  // as if it had been stopped before the end
  {
    // Another process (here: this test) is training in the directory.
    const diffdfl::FileLock other(dir / ".lock");
    expect_failure("train --resume " + quoted(dir) + common,
                   {"in use by another diffdfl process", dir.string()});
    EXPECT_FALSE(fs::exists(dir / "metrics.json"));
  }
  const Result resumed = run("train --resume " + quoted(dir) + common);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(dir / "metrics.json"));
}

TEST(TrainCli, EvalReproducesMetricsAndSampleWritesCsv) {
  const fs::path root = fresh_dir("eval");
  const fs::path dir = root / "run";
  ASSERT_EQ(
      run("train --quiet --preset smoke --task synthetic --method two-stage-diffusion --out " +
          quoted(dir) + " --cache-dir " + quoted(root / "cache"))
          .code,
      0);
  const json metrics = read_json(dir / "metrics.json");
  const Result ev = run("eval --run " + quoted(dir));
  ASSERT_EQ(ev.code, 0) << ev.err;
  const json e = json::parse(ev.out);
  EXPECT_EQ(e["test"]["cost"].get<double>(), metrics["test_cost"].get<double>());
  EXPECT_EQ(e["hold"]["cost"].get<double>(), metrics["hold_cost"].get<double>());
  const Result s = run("sample --run " + quoted(dir) + " --split test --index 3 --n 7");
  ASSERT_EQ(s.code, 0) << s.err;
  std::istringstream in(s.out);
  std::vector<std::string> rows;
  for (std::string l; std::getline(in, l);)
    rows.push_back(l);
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_EQ(rows[0].rfind("y0,y1,", 0), 0u);
  expect_failure("sample --run " + quoted(dir) + " --split test --index 999 --n 3",
                 {"--index 999", "200"});
}

TEST(TrainCli, BadConfigurationsFailWithoutARunDirectory) {
  const fs::path root = fresh_dir("bad");
  struct Case {
    std::string args;
    std::vector<std::string> message;
  };
  const std::vector<Case> cases = {
      {"--task power --method dfl-mlp --set train.lrr=1", {"unknown key 'train.lrr'"}},
      {"--task power --method dfl-mlp --set train.lr=-1", {"train.lr", "must be in (0, 10]"}},
      {"--task power --method dfl-mlp --set diffusion.width=0", {"diffusion", "width"}},
      {"--task power --method dfl-mlp --set program.ramp=x", {"program.ramp", "expected a number"}},
      {"--task power --method nonsense", {"--method"}},
      {"--task weather --method dfl-mlp", {"--task"}},
      {"--task power --method dfl-mlp --preset huge", {"unknown preset 'huge'", "smoke"}},
      {"--method dfl-mlp", {"--task and --method are required"}},
  };
  int i = 0;
  for (const auto& c : cases) {
    const fs::path dir = root / ("case" + std::to_string(i++));
    const std::string preset =
        c.args.find("--preset") == std::string::npos ? " --preset smoke " : " ";
    expect_failure("train --quiet" + preset + c.args + " --out " + quoted(dir), c.message);
    EXPECT_FALSE(fs::exists(dir)) << c.args;
  }
  // A misspelt task or method in a preset's sections would never apply: it is refused by name.
  const fs::path presets = root / "presets";
  fs::create_directories(presets);
  std::ofstream(presets / "mine.json") << R"({"methods": {"dfl-difusion-sf": {"train": {}}}})";
  std::ofstream(presets / "pairs.json")
      << R"({"task_methods": {"power/dfl-mlp": {}, "powr/dfl-mlp": {}}})";
  for (const auto& [preset, message] : std::vector<std::pair<std::string, std::string>>{
           {"mine", "unknown method 'methods.dfl-difusion-sf'"},
           {"pairs", "unknown task/method 'task_methods.powr/dfl-mlp'"}}) {
    const fs::path dir = root / preset;
    expect_failure("train --quiet --config-dir " + quoted(presets) + " --preset " + preset +
                       " --task power --method dfl-mlp --out " + quoted(dir),
                   {message, (presets / (preset + ".json")).string()});
    EXPECT_FALSE(fs::exists(dir)) << preset;
  }
  // An existing, non-empty directory is never overwritten.
  const fs::path used = root / "used";
  fs::create_directories(used);
  std::ofstream(used / "keep.txt") << "x";
  expect_failure("train --quiet --preset smoke --task power --method dfl-mlp --out " + quoted(used),
                 {"exists and is not empty", "--resume"});
  EXPECT_EQ(slurp(used / "keep.txt"), "x");
  // --resume takes everything from the run's config.json: other choices are refused by name.
  expect_failure("train --quiet --resume " + quoted(used) + " --threads 2 --seed 3",
                 {"--resume", "--seed, --threads"});
}

TEST(TrainCli, ARunWithoutAUsableEvaluationFailsVisibly) {
  // solver.max_iter = 1: no instance is ever solved. That is no result, not "completed".
  const fs::path root = fresh_dir("failed");
  const fs::path dir = root / "run";
  const std::string cache = " --cache-dir " + quoted(root / "cache");
  const Result r =
      run("train --quiet --preset smoke --task synthetic --method two-stage-mlp "
          "--set solver.max_iter=1 --out " +
          quoted(dir) + cache);
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.err.find("the run failed"), std::string::npos) << r.err;
  const json m = read_json(dir / "metrics.json");
  EXPECT_EQ(m["status"], "failed");
  EXPECT_TRUE(m["test_cost"].is_null());
  EXPECT_NE(m["failure"].get<std::string>().find("no usable instance"), std::string::npos);
  // Resuming the finished run, and re-evaluating it, say the same.
  EXPECT_EQ(run("train --quiet --resume " + quoted(dir)).code, 4);
  const Result ev = run("eval --run " + quoted(dir));
  EXPECT_EQ(ev.code, 4) << ev.err;
  EXPECT_NE(ev.err.find("no usable instance"), std::string::npos) << ev.err;
  // A good run is unchanged: "completed", no "failure" key.
  ASSERT_EQ(run("train --quiet --preset smoke --task synthetic --method two-stage-mlp --out " +
                quoted(root / "good") + cache)
                .code,
            0);
  const json good = read_json(root / "good" / "metrics.json");
  EXPECT_EQ(good["status"], "completed");
  EXPECT_FALSE(good.contains("failure"));
}

TEST(TrainCli, WhatFailsLateIsCheckedBeforeTheRunDirectoryExists) {
  const fs::path root = temp_dir("late");
  const std::string common = "train --quiet --preset smoke ";
  struct Case {
    std::string args;
    std::vector<std::string> message;
  };
  std::ofstream(root / "a_file") << "x";
  const std::vector<Case> cases = {
      {"--task power --method dfl-mlp --set train.lr=1e300", {"train.lr"}},
      {"--task power --method policy --set policy.batch_norm=true --set train.batch_size=1",
       {"train.batch_size", "batch_norm"}},
      {"--task synthetic --method two-stage-mlp --cache-dir " + quoted(root / "a_file"),
       {"a_file", "not a directory"}},
      {"--task power --method dfl-mlp --set shuffle_targets=true", {"shuffle_targets"}},
      {"--task power --method dfl-mlp --set train.epochs=18446744073709551615",
       {"train.epochs", "out of range"}},
      {"--task power --method dfl-mlp --set device=cuda", {"--set device=cpu"}},
  };
  int i = 0;
  for (const auto& c : cases) {
    const fs::path dir = root / ("case" + std::to_string(i++));
    expect_failure(common + c.args + " --out " + quoted(dir), c.message);
    EXPECT_FALSE(fs::exists(dir)) << c.args;
  }
  // Data that parses but is absurd: a load of 1e300 in the test period.
  const fs::path data = root / "data";
  for (const char* rel :
       {"power_sched/pjm_load_data_2008-11.txt", "power_sched/pjm_load_data_2012-16.txt",
        "power_sched/us_federal_holidays_2008-2016.csv"}) {
    fs::create_directories((data / rel).parent_path());
    std::string text = slurp(fs::path(DIFFDFL_TEST_SOURCE_DIR) / "data" / rel);
    if (std::string(rel).find("2012-16") != std::string::npos) {
      const size_t line = text.rfind('\n', text.size() - 2) + 1;  // the last line
      const size_t last = text.rfind(' ');
      const size_t load = text.rfind(' ', last - 1);
      ASSERT_GT(load, line);
      text = text.substr(0, load) + " 1e300" + text.substr(last);
    }
    std::ofstream(data / rel, std::ios::binary) << text;
  }
  // A manifest that matches the edited file: the checksums pass, the values must be checked.
  const std::string manifest_cmd = "cd " + quoted(data) +
                                   " && sha256sum power_sched/pjm_load_data_2008-11.txt "
                                   "power_sched/pjm_load_data_2012-16.txt "
                                   "power_sched/us_federal_holidays_2008-2016.csv > SHA256SUMS";
  ASSERT_EQ(std::system(manifest_cmd.c_str()), 0);
  const fs::path dir = root / "absurd";
  expect_failure(common + "--task power --method two-stage-mlp --data-dir " + quoted(data) +
                     " --out " + quoted(dir),
                 {"pjm_load_data_2012-16.txt:", "field 'load'", "plausible range"});
  EXPECT_FALSE(fs::exists(dir));
}

TEST(TrainCli, OrdinaryMistakesAreOneLineErrorsNotInternalErrors) {
  const fs::path root = temp_dir("ordinary");
  std::ofstream(root / "plain") << "x";
  const std::string common = "train --quiet --preset smoke --task synthetic --method two-stage-mlp";
  expect_failure(common + " --out " + quoted(root / "plain" / "run"), {"plain"});
  expect_failure(common + " --out /proc/diffdfl-cannot-be-here/run", {"/proc/diffdfl-cannot-be"});
  // A config number out of range.
  expect_failure(common + " --set eval.samples=1e12 --out " + quoted(root / "n"), {"eval.samples"});
  EXPECT_FALSE(fs::exists(root / "n"));
}

TEST(TrainCli, SmallMistakesAreRefusedByName) {
  const fs::path root = temp_dir("small");
  const std::string common = "train --quiet --preset smoke --task synthetic --method two-stage-mlp";
  const std::string out = " --out " + quoted(root / "r");
  expect_failure(common + " --threads -5" + out, {"--threads"});
  expect_failure(common + " --seed 99999999999999999999999" + out, {"--seed"});
  expect_failure(common + " --seed -1" + out, {"--seed"});
  expect_failure(common + " --out ''", {"--out", "empty"});
  expect_failure(
      "train --quiet --preset ../configs/smoke --task synthetic --method two-stage-mlp" + out,
      {"preset '../configs/smoke'", "not a path"});
  std::ofstream(root / "array.json") << "[1,2,3]";
  const Result arr = run(common + " --config " + quoted(root / "array.json") + out);
  EXPECT_NE(arr.code, 0);
  EXPECT_NE(arr.err.find("array.json: must be a JSON object"), std::string::npos) << arr.err;
  EXPECT_EQ(arr.err.find("threads"), std::string::npos) << arr.err;
  EXPECT_FALSE(fs::exists(root / "r"));
  // eval --samples must be positive.
  ASSERT_EQ(run(common + out + " --cache-dir " + quoted(root / "cache")).code, 0);
  expect_failure("eval --run " + quoted(root / "r") + " --samples -3", {"--samples"});
  expect_failure("eval --run " + quoted(root / "r") + " --samples 0", {"--samples"});
}

}  // namespace
