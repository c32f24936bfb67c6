// `diffdfl solve`, run as a user would.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "cli_test_util.h"

namespace {

using namespace diffdfl::cli_testing;

fs::path write(const std::string& name, const std::string& content) {
  const fs::path p = temp_path(name);
  std::ofstream(p) << content;
  return p;
}

/// M rows of a 24-hour load profile with a per-row offset (no header).
std::string power_samples(int M) {
  std::ostringstream out;
  for (int m = 0; m < M; ++m) {
    for (int h = 0; h < 24; ++h) {
      out << (h ? "," : "") << 1.6 + 0.5 * std::sin(h * 2 * M_PI / 24) + 0.05 * m * ((h % 3) - 1);
    }
    out << "\n";
  }
  return out.str();
}

TEST(SolveCli, PowerWithUpstreamGradient) {
  const fs::path samples = write("p.csv", power_samples(5));
  std::string u;
  for (int h = 0; h < 24; ++h)
    u += std::string(h ? "," : "") + (h == 7 ? "1" : "0");
  const fs::path upstream = write("u.csv", u + "\n");
  const Result r = run("solve --task power --samples '" + samples.string() + "' --upstream '" +
                       upstream.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "solved");
  EXPECT_EQ(j["program"], "power");
  ASSERT_EQ(j["z"].size(), 24u);
  EXPECT_EQ(j["ineq_duals"].size(), 46u);
  ASSERT_EQ(j["dloss_dsamples"].size(), 5u);
  ASSERT_EQ(j["dloss_dsamples"][0].size(), 24u);
  EXPECT_EQ(j["sf_weights"].size(), 5u);
  // Reference mode: every sample gets a/M, and a sums to Σ u = 1 over hour 7's chain.
  double total = 0;
  for (const auto& row : j["dloss_dsamples"]) {
    for (const auto& v : row)
      total += v.get<double>();
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
  for (size_t h = 0; h < 24; ++h) {
    EXPECT_DOUBLE_EQ(j["dloss_dsamples"][0][h].get<double>(),
                     j["dloss_dsamples"][4][h].get<double>());
  }
}

TEST(SolveCli, ExactModeAndOverrides) {
  const fs::path samples = write("p.csv", power_samples(4));
  std::string u = "1";
  for (int h = 1; h < 24; ++h)
    u += ",0";
  const fs::path up = write("u1.csv", u + "\n");
  const Result r = run("solve --task power --gradient exact --set program.ramp=0.05 --samples '" +
                       samples.string() + "' --upstream '" + up.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (size_t h = 0; h + 1 < 24; ++h) {
    EXPECT_LE(std::abs(j["z"][h + 1].get<double>() - j["z"][h].get<double>()), 0.05 + 1e-12);
  }
  // The exact derivative puts a pinned chain's whole gradient on one sample.
  int nonzero_rows = 0;
  for (const auto& row : j["dloss_dsamples"]) {
    double s = 0;
    for (const auto& v : row)
      s += std::abs(v.get<double>());
    nonzero_rows += s > 0 ? 1 : 0;
  }
  EXPECT_EQ(nonzero_rows, 1);
}

TEST(SolveCli, BadInputsGiveNamedErrors) {
  const fs::path good = write("g.csv", power_samples(3));
  const fs::path bad = write("bad.csv", "1,2,3\n4,x,6\n");
  expect_failure("solve --task portfolio --samples '" + bad.string() + "'",
                 {"bad.csv:2", "'x' is not a number"});
  expect_failure("solve --task power --samples /nonexistent.csv",
                 {"/nonexistent.csv", "not found"});
  const fs::path u3 = write("u3.csv", "1,2,3\n");
  expect_failure(
      "solve --task power --samples '" + good.string() + "' --upstream '" + u3.string() + "'",
      {"expected 24 columns"});
  expect_failure("solve --task power --samples '" + good.string() + "' --set program.rampp=1",
                 {"unknown key 'program.rampp'"});
  expect_failure("solve --task power --samples '" + good.string() + "' --set solver.tol=-1",
                 {"solver.tol"});
  expect_failure("solve --task nonsense --samples '" + good.string() + "'", {"--task"});
}

TEST(SolveCli, AFirstRowWithABadFieldIsAnErrorNeverADroppedHeader) {
  // The example: "0.02x" used to make row 1 a "header", silently dropped with exit 0.
  const fs::path typo = write("typo.csv", "0.01,0.02x\n0.03,0.01\n-0.02,0.04\n");
  expect_failure("solve --task portfolio --samples '" + typo.string() + "'",
                 {"typo.csv:1, column 2", "'0.02x' is not a number"});
  const fs::path empty = write("empty_cell.csv", "0.01,\n0.03,0.01\n-0.02,0.04\n");
  expect_failure("solve --task portfolio --samples '" + empty.string() + "'",
                 {"empty_cell.csv:1, column 2", "empty field"});
  std::string with_nul = "0.01,0.02\n0.03,0.01\n";
  with_nul[0] = '\0';
  const fs::path nul = write("nul.csv", with_nul);
  expect_failure("solve --task portfolio --samples '" + nul.string() + "'",
                 {"nul.csv:1, column 1", "\\x00"});
  // A real header is still recognised, and gives the same result as the file without it.
  const fs::path headed = write("headed.csv", "a0,a1\n0.01,0.02\n0.03,0.01\n");
  const fs::path bare = write("bare.csv", "0.01,0.02\n0.03,0.01\n");
  const Result a = run("solve --task portfolio --samples '" + headed.string() + "'");
  const Result b = run("solve --task portfolio --samples '" + bare.string() + "'");
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(SolveCli, OverflowingSamplesNeverReportSolved) {
  // Power samples of 1e300: the SAA objective overflows. The status must say so, and exit != 0.
  std::string rows;
  for (int m = 0; m < 2; ++m) {
    for (int h = 0; h < 24; ++h)
      rows += std::string(h ? "," : "") + "1e300";
    rows += "\n";
  }
  const fs::path huge = write("huge.csv", rows);
  const Result r = run("solve --task power --samples '" + huge.string() + "'");
  EXPECT_EQ(r.code, 4) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "numerical");
  EXPECT_NE(r.err.find("did not succeed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;

  // Allocation with one value of 1e300 (one sample): the adjoint overflows. The gradients must
  // not be reported usable, nor printed as NaN (null).
  std::string alloc;
  for (int i = 0; i < 10; ++i)
    alloc += std::string(i ? "," : "") + (i == 4 ? "1e300" : "0.5");
  alloc += "\n";
  const fs::path one = write("one_huge.csv", alloc);
  const fs::path up = write("u10.csv", "1,0,0,0,1,0,0,0,0,1\n");
  const Result g = run("solve --task synthetic --samples '" + one.string() + "' --upstream '" +
                       up.string() + "'");
  EXPECT_EQ(g.code, 4) << g.err;
  const auto k = nlohmann::json::parse(g.out);
  EXPECT_EQ(k["gradient_status"], "failed") << g.out;
  EXPECT_NE(g.err.find("gradients are not usable"), std::string::npos) << g.err;
  for (const auto& row : k["dloss_dsamples"]) {
    for (const auto& v : row)
      EXPECT_TRUE(v.is_number()) << "a NaN gradient was printed as null: " << g.out;
  }
}

TEST(SolveCli, SmoothedGradientModeIsAccepted) {
  const fs::path samples = write("p.csv", power_samples(4));
  const Result r =
      run("solve --task power --gradient smoothed --samples '" + samples.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "solved");
}

TEST(SolveCli, AHugeCsvIsAOneLineErrorNotAnOutOfMemoryBacktrace) {
  std::string row;
  for (int i = 0; i < 200000; ++i)
    row += i ? ",0.5" : "0.5";
  const fs::path wide = write("wide.csv", row + "\n" + row + "\n");
  expect_failure("solve --task power --samples '" + wide.string() + "'",
                 {"wide.csv", "200000 columns", "at most 2048"});
}

}  // namespace
