// `diffdfl data summary` and `diffdfl data export`, run as a user would: exit code, stdout JSON,
// stderr message.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "data/expected_digests.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace diffdfl::cli_testing;
namespace fs = std::filesystem;

const std::string kDataDir = std::string("--data-dir '") + DIFFDFL_TEST_DATA_DIR + "'";

nlohmann::json summary(const std::string& args) {
  const Result r = run("data summary " + args + " " + kDataDir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  return nlohmann::json::parse(r.out);
}

TEST(DataCli, SummarySynthetic) {
  const auto j = summary("--task synthetic --seed 1");
  EXPECT_EQ(j["task"], "synthetic");
  EXPECT_EQ(j["seed"], 1);
  EXPECT_EQ(j["x_dim"], 20);
  EXPECT_EQ(j["y_dim"], 10);
  EXPECT_EQ(j["n_train"], 640);
  EXPECT_EQ(j["n_hold"], 160);
  EXPECT_EQ(j["n_test"], 200);
  const auto c = summary("--task synthetic-contextual --seed 4");
  EXPECT_EQ(c["task"], "synthetic-contextual");
  EXPECT_EQ(c["seed"], 4);
  EXPECT_NEAR(c["contextual_map"]["a"].get<double>(), -2.952957, 1e-5);
}

TEST(DataCli, SummaryPower) {
  const auto j = summary("--task power");
  EXPECT_EQ(j["task"], "power");
  EXPECT_EQ(j["x_dim"], 149);
  EXPECT_EQ(j["y_dim"], 24);
  EXPECT_EQ(j["n_train"], 2042);
  EXPECT_EQ(j["n_hold"], 511);
  EXPECT_EQ(j["n_test"], 639);
  EXPECT_EQ(j["first_date"], "2008-01-02");
  EXPECT_EQ(j["last_date"], "2016-09-28");
  EXPECT_EQ(j["splits"]["test"]["first_date"], "2014-12-30");
}

TEST(DataCli, SummaryPortfolio) {
  const auto j = summary("--task portfolio --seed 3 --assets 12");
  EXPECT_EQ(j["task"], "portfolio");
  EXPECT_EQ(j["x_dim"], 12 * 28);
  EXPECT_EQ(j["y_dim"], 12);
  EXPECT_EQ(j["n_train"], 2028);
  EXPECT_EQ(j["n_hold"], 289);
  EXPECT_EQ(j["n_test"], 581);
  EXPECT_EQ(j["tickers"].size(), 12u);
  EXPECT_EQ(j["first_date"], "2005-06-15");
  EXPECT_EQ(j["last_date"], "2016-12-15");
  // --verified-only changes the pool.
  const auto v = summary("--task portfolio --seed 3 --assets 12 --verified-only");
  EXPECT_EQ(v["universe"], "verified");
  EXPECT_EQ(v["pool_size"], 191);
}

TEST(DataCli, ExportPowerTestSplit) {
  const fs::path out = temp_path("power_test.csv");
  const Result r =
      run("data export --task power --split test --out '" + out.string() + "' " + kDataDir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rows"], 639);
  EXPECT_EQ(j["columns"], 1 + 149 + 24);
  std::ifstream in(out);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line))
    lines.push_back(line);
  ASSERT_EQ(lines.size(), 640u);
  EXPECT_EQ(lines[0].substr(0, 17), "date,x0,x1,x2,x3,");
  EXPECT_NE(lines[0].find(",x148,y0,"), std::string::npos);
  EXPECT_EQ(lines[0].substr(lines[0].size() - 8), ",y22,y23");
  EXPECT_EQ(lines[1].substr(0, 11), "2014-12-30,");
  // The last test day 2016-09-28: target forward-filled with 1.281 GW for all 24 hours (raw units).
  EXPECT_EQ(lines.back().substr(0, 11), "2016-09-28,");
  std::string tail = ",1.281";
  for (int h = 1; h < 24; ++h)
    tail += ",1.281";
  EXPECT_EQ(lines.back().substr(lines.back().size() - tail.size()), tail);
  // 1 + 149 + 24 fields per row.
  size_t commas = 0;
  for (const char ch : lines[5])
    commas += ch == ',';
  EXPECT_EQ(commas, 173u);
  fs::remove(out);
}

TEST(DataCli, ExportSyntheticHasNoDateColumn) {
  const fs::path a = temp_path("a.csv");
  ASSERT_EQ(
      run("data export --task synthetic --split hold --seed 9 --out '" + a.string() + "'").code, 0);
  const std::string text = slurp(a);
  EXPECT_EQ(text.substr(0, 9), "x0,x1,x2,");
  EXPECT_NE(text.find(",y9\n"), std::string::npos);
  size_t rows = 0;
  for (const char ch : text)
    rows += ch == '\n';
  EXPECT_EQ(rows, 161u);  // header + 160
  fs::remove(a);
}

TEST(DataCli, BadArgumentsAndDataGiveNamedErrors) {
  expect_failure("data summary --task nope", {"--task", "nope"});
  expect_failure("data summary --task synthetic --seed -3", {"--seed"});
  expect_failure("data summary --task synthetic --assets 5",
                 {"diffdfl: error: --assets applies only to --task portfolio"});
  expect_failure("data summary --task portfolio --assets 400 " + kDataDir,
                 {"n_assets = 400 exceeds the 392 complete tickers"});
  expect_failure(
      "data summary --task power --data-dir /nonexistent/dir",
      {"diffdfl: error: data directory '/nonexistent/dir' does not exist", "--data-dir"});
  expect_failure("data export --task power --split validation --out x.csv " + kDataDir,
                 {"--split", "validation"});
  expect_failure("data export --task power --split test " + kDataDir, {"--out"});
  // An output path below a regular file cannot be created.
  const fs::path file = temp_path("plain_file");
  std::ofstream(file) << "x";
  expect_failure(
      "data export --task synthetic --split test --out '" + (file / "x.csv").string() + "'",
      {"diffdfl: error:", file.string()});
  fs::remove(file);
}

TEST(DataCli, AlteredDataFileIsRejected) {
  // A data folder whose holiday file differs from its checksum.
  const fs::path dir = temp_path("data");
  fs::create_directories(dir / "power_sched");
  for (const char* f : {"SHA256SUMS", "power_sched/pjm_load_data_2008-11.txt",
                        "power_sched/pjm_load_data_2012-16.txt"}) {
    // A byte copy, not fs::copy_file (see results/gpu/README.md).
    std::ofstream(dir / f, std::ios::binary) << slurp(fs::path(DIFFDFL_TEST_DATA_DIR) / f);
  }
  std::ofstream(dir / "power_sched/us_federal_holidays_2008-2016.csv")
      << "date,weekday,name,nominal_date\n2008-01-01,Tue,\"New Year's Day\",2008-01-01\n";
  expect_failure("data summary --task power --data-dir '" + dir.string() + "'",
                 {"us_federal_holidays_2008-2016.csv: SHA-256 mismatch", "git checkout"});
  fs::remove_all(dir);
}

/// The instruction sets LibTorch may be forced to on this machine (ATEN_CPU_CAPABILITY): forcing
/// one the CPU lacks would crash with SIGILL, so only those /proc/cpuinfo lists are used.
std::vector<std::string> cpu_capabilities() {
  std::vector<std::string> out = {"default"};
  std::ifstream in("/proc/cpuinfo");
  std::string flags;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  }
  if (flags.find(" avx2 ") != std::string::npos) out.push_back("avx2");
  if (flags.find(" avx512f ") != std::string::npos &&
      flags.find(" avx512bw ") != std::string::npos &&
      flags.find(" avx512vl ") != std::string::npos &&
      flags.find(" avx512dq ") != std::string::npos)
    out.push_back("avx512");
  return out;
}

TEST(DataCli, TrainingDataDigestIsTheSameOnEveryCpuKindAndThreadCount) {
  // Another machine of the same kind gave another training-data digest (a different pretrained
  // cache key and another two-stage result): LibTorch's reductions depend on the vector width and
  // the thread count. Each instruction set LibTorch can use here stands in for another machine.
  for (const auto& [task, expected] : diffdfl::data::testing::expected_train_digests()) {
    const std::vector<std::string> cpus = cpu_capabilities();
    for (const std::string& cpu : cpus) {
      for (const std::string threads : {"1", "2"}) {
        if (threads == "2" && cpu != cpus.back()) continue;  // threads once, on the widest
        const std::string env = "ATEN_CPU_CAPABILITY=" + cpu + " OMP_NUM_THREADS=" + threads +
                                " MKL_NUM_THREADS=" + threads;
        const Result r = run("data summary --task " + task + " " + kDataDir, env);
        ASSERT_EQ(r.code, 0) << env << " " << r.err;
        EXPECT_EQ(nlohmann::json::parse(r.out)["train_digest"], expected)
            << task << " with " << env;
      }
    }
  }
  // glibc's libm without its FMA builds (what an x86-64 CPU without FMA/AVX2 runs): power and
  // portfolio use no libm result that differs there. (The synthetic tasks do, through the normals
  // of torch::randn: docs/data.md, "Reproducibility across machines".)
  for (const std::string task : {"power", "portfolio"}) {
    const std::string env = "GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-FMA4,-AVX2 OMP_NUM_THREADS=1";
    const Result r = run("data summary --task " + task + " " + kDataDir, env);
    ASSERT_EQ(r.code, 0) << env << " " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["train_digest"],
              diffdfl::data::testing::expected_train_digests().at(task))
        << task << " with " << env;
  }
}

}  // namespace
