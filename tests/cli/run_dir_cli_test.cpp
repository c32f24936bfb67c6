// Run directories under faults, as a user meets them: a full disk while checkpoint.pt, model.pt or
// a pretrained-cache file is written (simulated with a file-size limit), damaged artefacts, and a
// directory left with nothing but its lock. Each is one error line with a non-zero exit and the way
// to continue; no temporary file is left; following the advice finishes the run with the same
// result as an uninterrupted one.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

#include "cli_test_util.h"

namespace {

using namespace diffdfl::cli_testing;
using nlohmann::json;

std::string quoted(const fs::path& p) {
  return "'" + p.string() + "'";
}

json metrics_of(const fs::path& dir) {
  json m = json::parse(slurp(dir / "metrics.json"));
  for (const char* k : {"train_seconds", "wall_seconds", "peak_rss_mb", "pretrain"})
    m.erase(k);
  return m;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

uintmax_t largest_file(const fs::path& dir, const std::vector<std::string>& names) {
  uintmax_t most = 0;
  for (const auto& n : names)
    most = std::max(most, fs::file_size(dir / n));
  return most;
}

fs::path only_cache_file(const fs::path& cache) {
  for (const auto& e : fs::directory_iterator(cache)) {
    if (e.path().extension() == ".pt") return e.path();
  }
  ADD_FAILURE() << "no cache file in " << cache;
  return {};
}

const std::string kRun = " --quiet --preset smoke --task synthetic --seed 2 ";

TEST(RunDirCli, FullDiskAtTheCheckpointIsACleanErrorAndTheRunResumes) {
  const fs::path root = temp_dir("full_checkpoint");
  const std::string cache = " --cache-dir " + quoted(root / "cache");
  const Result whole =
      run("train" + kRun + "--method dfl-mlp --out " + quoted(root / "whole") + cache);
  ASSERT_EQ(whole.code, 0) << whole.err;
  // Small enough for config.json, curve.csv and wall_seconds; too small for checkpoint.pt.
  const uintmax_t limit =
      largest_file(root / "whole", {"config.json", "curve.csv", "metrics.json"}) + 512;
  ASSERT_GT(fs::file_size(root / "whole" / "checkpoint.pt"), limit);

  const fs::path dir = root / "limited";
  const Result r = run_with_file_size_limit(
      "train" + kRun + "--method dfl-mlp --out " + quoted(dir) + cache, limit);
  EXPECT_EQ(r.code, 1) << r.err;
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("checkpoint.pt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("File too large"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume " + dir.string()), std::string::npos) << r.err;
  EXPECT_EQ(temporaries_in(root), std::vector<std::string>{});
  EXPECT_FALSE(fs::exists(dir / "metrics.json"));

  const Result resumed = run("train --quiet --resume " + quoted(dir) + cache);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(metrics_of(dir), metrics_of(root / "whole"));
}

TEST(RunDirCli, FullDiskAtTheModelAndTheCacheFileIsACleanErrorAndTheRunResumes) {
  const fs::path root = temp_dir("full_model");
  const std::string cache = " --cache-dir " + quoted(root / "cache");
  const Result whole =
      run("train" + kRun + "--method two-stage-mlp --out " + quoted(root / "whole") + cache);
  ASSERT_EQ(whole.code, 0) << whole.err;
  const fs::path cache_file = only_cache_file(root / "cache");

  // model.pt: the cache holds the fit, so the first write too large is the model's.
  const uintmax_t limit =
      largest_file(root / "whole", {"config.json", "curve.csv", "pretrain.json"}) + 256;
  ASSERT_GT(fs::file_size(root / "whole" / "model.pt"), limit);
  const fs::path dir = root / "model";
  const Result r = run_with_file_size_limit(
      "train" + kRun + "--method two-stage-mlp --out " + quoted(dir) + cache, limit);
  EXPECT_EQ(r.code, 1) << r.err;
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("model.pt"), std::string::npos) << r.err;
  EXPECT_EQ(temporaries_in(root), std::vector<std::string>{});
  const Result resumed = run("train --quiet --resume " + quoted(dir) + cache);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(metrics_of(dir), metrics_of(root / "whole"));

  // The pretrained-cache file: an empty cache, and a limit below the size of its file.
  const std::string fresh_cache = " --cache-dir " + quoted(root / "cache2");
  const uintmax_t cache_limit = fs::file_size(root / "whole" / "config.json") + 256;
  ASSERT_GT(fs::file_size(cache_file), cache_limit);
  const fs::path dir2 = root / "cache_full";
  const Result c = run_with_file_size_limit(
      "train" + kRun + "--method two-stage-mlp --out " + quoted(dir2) + fresh_cache, cache_limit);
  EXPECT_EQ(c.code, 1) << c.err;
  expect_one_line_error(c);
  EXPECT_NE(c.err.find((root / "cache2").string()), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("--resume"), std::string::npos) << c.err;
  EXPECT_EQ(temporaries_in(root), std::vector<std::string>{});
  const Result again = run("train --quiet --resume " + quoted(dir2) + fresh_cache);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(metrics_of(dir2), metrics_of(root / "whole"));
}

TEST(RunDirCli, DamagedArtefactsAreNamedWithTheWayToRecover) {
  const fs::path root = temp_dir("damaged");
  const std::string cache = " --cache-dir " + quoted(root / "cache");
  const fs::path dir = root / "run";
  ASSERT_EQ(run("train" + kRun + "--method dfl-mlp --out " + quoted(dir) + cache).code, 0);
  const json original = metrics_of(dir);
  const std::string model = slurp(dir / "model.pt");

  // A single flipped byte inside the tensor data: eval used to print other numbers with exit 0.
  std::string flipped = model;
  flipped[flipped.size() / 2] ^= 0x10;
  write_bytes(dir / "model.pt", flipped);
  Result r = run("eval --run " + quoted(dir));
  EXPECT_EQ(r.code, 1) << r.out;
  expect_one_line_error(r);
  EXPECT_NE(r.err.find((dir / "model.pt").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SHA-256 mismatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;

  // Truncated and garbage files: one line, not LibTorch's backtrace.
  write_bytes(dir / "model.pt", model.substr(0, model.size() / 3));
  r = run("eval --run " + quoted(dir));
  EXPECT_EQ(r.code, 1);
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  write_bytes(dir / "model.pt", "garbage");
  r = run("sample --run " + quoted(dir) + " --n 2");
  EXPECT_EQ(r.code, 1);
  expect_one_line_error(r);

  // Following the advice rebuilds model.pt from checkpoint.pt: the same metrics as before.
  fs::remove(dir / "model.pt");
  fs::remove(dir / "metrics.json");
  r = run("train --quiet --resume " + quoted(dir) + cache);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(metrics_of(dir), original);
  EXPECT_EQ(run("eval --run " + quoted(dir)).code, 0);

  // A damaged checkpoint: named, and deleting it restarts the DFL training to the same result.
  write_bytes(dir / "checkpoint.pt", "PK\x03\x04 not really a zip archive");
  fs::remove(dir / "metrics.json");
  r = run("train --quiet --resume " + quoted(dir) + cache);
  EXPECT_EQ(r.code, 1);
  expect_one_line_error(r);
  EXPECT_NE(r.err.find((dir / "checkpoint.pt").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("delete it"), std::string::npos) << r.err;
  fs::remove(dir / "checkpoint.pt");
  r = run("train --quiet --resume " + quoted(dir) + cache);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(metrics_of(dir), original);

  // A damaged pretrained-cache file: named, with "delete it".
  const fs::path cache_file = only_cache_file(root / "cache");
  std::string c = slurp(cache_file);
  c[c.size() / 2] ^= 0x01;
  write_bytes(cache_file, c);
  r = run("train" + kRun + "--method dfl-mlp --out " + quoted(root / "other") + cache);
  EXPECT_EQ(r.code, 1);
  expect_one_line_error(r);
  EXPECT_NE(r.err.find(cache_file.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("delete it"), std::string::npos) << r.err;

  // Damaged JSON files of the run: one line each.
  write_bytes(dir / "metrics.json", "{\"status\": ");
  r = run("train --quiet --resume " + quoted(dir));
  EXPECT_EQ(r.code, 1);
  expect_one_line_error(r);
  EXPECT_NE(r.err.find("metrics.json"), std::string::npos) << r.err;
  fs::remove(dir / "metrics.json");
  write_bytes(dir / "wall_seconds", "not a number");
  r = run("train --quiet --resume " + quoted(dir) + cache);
  EXPECT_EQ(r.code, 0) << r.err;  // only a timing: a warning, the run still finishes
}

TEST(RunDirCli, ADirectoryWithOnlyItsLockCanBeRestarted) {
  const fs::path root = temp_dir("lock_only");
  const std::string cache = " --cache-dir " + quoted(root / "cache");
  const fs::path dir = root / "run";
  fs::create_directories(dir);
  write_bytes(dir / ".lock", "");
  write_bytes(dir / ".config.json.tmp.4242.abc", "{\"half");  // a write killed halfway
  const Result resumed = run("train --quiet --resume " + quoted(dir) + cache);
  EXPECT_NE(resumed.code, 0);
  expect_one_line_error(resumed);
  EXPECT_NE(resumed.err.find("--out " + dir.string()), std::string::npos) << resumed.err;
  const Result fresh = run("train" + kRun + "--method two-stage-mlp --out " + quoted(dir) + cache);
  ASSERT_EQ(fresh.code, 0) << fresh.err;
  EXPECT_TRUE(fs::exists(dir / "metrics.json"));
  EXPECT_EQ(temporaries_in(dir), std::vector<std::string>{});
}

TEST(RunDirCli, StaleTemporariesAreRemovedWhenARunResumes) {
  const fs::path root = temp_dir("stale");
  const std::string cache = " --cache-dir " + quoted(root / "cache");
  const fs::path dir = root / "run";
  ASSERT_EQ(run("train" + kRun + "--method dfl-mlp --out " + quoted(dir) + cache).code, 0);
  fs::remove(dir / "metrics.json");
  write_bytes(dir / ".checkpoint.pt.tmp.999.1f", "half a checkpoint");
  write_bytes(
      root / "cache" / ("." + only_cache_file(root / "cache").filename().string() + ".tmp.999.2e"),
      "half a cache file");
  ASSERT_EQ(run("train --quiet --resume " + quoted(dir) + cache).code, 0);
  EXPECT_EQ(temporaries_in(dir), std::vector<std::string>{});
  // The cache's temporaries go when the entry is next used (under its lock).
  ASSERT_EQ(run("train" + kRun + "--method two-stage-mlp --out " + quoted(root / "b") + cache).code,
            0);
  EXPECT_EQ(temporaries_in(root / "cache"), std::vector<std::string>{});
}

}  // namespace
