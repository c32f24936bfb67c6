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

}  // namespace
