// The task registry: one entry per task, and each entry's pieces (data, program, headline, policy
// map) are consistent with the task's own layers.
#include <gtest/gtest.h>

#include <algorithm>

#include "data/data_test_util.h"
#include "diffdfl/core/error.h"
#include "diffdfl/opt/power.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::tasks {
namespace {

template <typename E, typename F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const E& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

DatasetOptions options_for(const std::string& task) {
  DatasetOptions o;
  o.task = task;
  o.data_dir = data::testing::shipped_data_dir().string();
  return o;
}

TEST(Registry, NamesAreUniqueAndFindable) {
  const auto& names = task_names();
  ASSERT_EQ(names.size(), all_tasks().size());
  for (const auto& n : names) {
    EXPECT_EQ(std::count(names.begin(), names.end(), n), 1) << n;
    EXPECT_EQ(find_task(n).name, n);
    EXPECT_TRUE(is_task(n));
  }
  EXPECT_FALSE(is_task("nonsense"));
  expect_error<InvalidArgument>([] { find_task("nonsense"); },
                                {"unknown task 'nonsense'", "synthetic-contextual", "newsvendor"});
  EXPECT_NE(joined_task_names().find(" or newsvendor"), std::string::npos);
}

TEST(Registry, EveryTaskLoadsItsDataAndBuildsAProblemThatSolvesIt) {
  for (const Task& task : all_tasks()) {
    SCOPED_TRACE(task.name);
    DatasetOptions o = options_for(task.name);
    o.n_assets = 6;  // small portfolio; ignored by the other tasks
    const data::Dataset ds = load_dataset(o);
    EXPECT_EQ(ds.task, task.name);
    ASSERT_GT(ds.train.size(), 0);
    ASSERT_GT(ds.test.size(), 0);
    const TaskProblem p = make_problem(task.name, {}, {}, ds.y_dim);
    EXPECT_EQ(p.problem.layer->program().name(), task.program);
    EXPECT_EQ(p.problem.layer->options().pooled, task.pooled);
    EXPECT_EQ(p.problem.headline, task.headline);
    // Each context's own y as its single sample: a finite decision and cost for every row.
    const torch::Tensor y = ds.test.y.slice(0, 0, 4);
    const opt::Solution sol = p.problem.layer->solve(y.unsqueeze(1));
    EXPECT_EQ(sol.failures(), 0);
    const torch::Tensor cost = p.problem.cost(y, sol.z);
    EXPECT_TRUE(torch::isfinite(cost).all().item<bool>());
    if (task.extra_metrics) {
      for (const auto& [name, v] : task.extra_metrics(y, sol.z))
        EXPECT_EQ(v.size(0), 4) << name;
    }
  }
}

TEST(Registry, LoadingValidatesTheOptions) {
  DatasetOptions o = options_for("nonsense");
  expect_error<InvalidArgument>([&] { load_dataset(o); },
                                {"DatasetOptions.task", "'nonsense'", "synthetic-contextual"});
  o = options_for("synthetic-contextual");
  o.seed = 3;
  const data::Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.task, "synthetic-contextual");
  EXPECT_EQ(ds.meta["seed"], 3);
}

TEST(Registry, ProgramSectionIsReadAndUnknownKeysAreNamed) {
  const TaskProblem p = make_problem("synthetic", {{"capacity", 3.5}}, {}, 10);
  EXPECT_EQ(p.policy_output, models::PolicyOutput::kBox);
  EXPECT_DOUBLE_EQ(p.policy_box_upper, 3.5);
  expect_error<ConfigError>(
      [] {
        make_problem("power", {{"rampp", 0.3}}, {}, 24);
      },
      {"program.rampp"});
  expect_error<ConfigError>(
      [] {
        make_problem("power", {{"gradient", "bogus"}}, {}, 24);
      },
      {"program.gradient"});
  expect_error<ConfigError>(
      [] {
        make_problem("portfolio", {}, {{"max_iter", 0}}, 5);
      },
      {"max_iter"});
  expect_error<ConfigError>(
      [] {
        make_problem("newsvendor", {{"under", -1}}, {}, 4);
      },
      {"program", "under"});
  expect_error<InvalidArgument>([] { make_problem("power", {}, {}, kMaxDecisionDim + 1); },
                                {"at most"});
}

TEST(Registry, PowerPolicyProjectionIsTheRampProjection) {
  const TaskProblem p = make_problem("power", {{"ramp", 0.3}}, {}, 24);
  ASSERT_NE(p.problem.policy_projection, nullptr);
  EXPECT_EQ(p.policy_output, models::PolicyOutput::kRaw);
  // A raw output with jumps beyond the ramp is mapped onto a schedule that respects it, and a
  // feasible one is left where it is.
  torch::Tensor v = torch::zeros({1, 1, 24}, torch::kDouble);
  v[0][0][12] = 2.0;
  const torch::Tensor z = p.problem.policy_projection->solve(v).z;
  EXPECT_LE((z.slice(1, 1) - z.slice(1, 0, 23)).abs().max().item<double>(), 0.3 + 1e-8);
  const torch::Tensor flat = torch::full({1, 1, 24}, 0.7, torch::kDouble);
  EXPECT_LT((p.problem.policy_projection->solve(flat).z - 0.7).abs().max().item<double>(), 1e-8);
  // The other tasks' policies are feasible by construction.
  EXPECT_EQ(make_problem("portfolio", {}, {}, 5).problem.policy_projection, nullptr);
  EXPECT_EQ(make_problem("portfolio", {}, {}, 5).policy_output, models::PolicyOutput::kSimplex);
}

TEST(Registry, PortfolioHeadlineIsTheReturnAndItsRegretIsNonNegative) {
  const Task& t = find_task("portfolio");
  EXPECT_EQ(t.headline, "return");
  EXPECT_TRUE(t.headline_higher_is_better);
  const torch::Tensor y = torch::tensor({{0.01, -0.02, 0.03}}, torch::kDouble);
  const torch::Tensor z = torch::tensor({{0.5, 0.25, 0.25}}, torch::kDouble);
  const auto m = t.extra_metrics(y, z);
  EXPECT_NEAR(m.at("return").item<double>(), 0.005 - 0.005 + 0.0075, 1e-15);
  EXPECT_NEAR(m.at("regret").item<double>(), 0.03 - 0.0075, 1e-15);
  // The portfolio alone reads the asset keys.
  for (const Task& task : all_tasks()) {
    const bool reads = std::count(task.data_keys.begin(), task.data_keys.end(), "n_assets") > 0;
    EXPECT_EQ(reads, task.name == "portfolio") << task.name;
  }
}

}  // namespace
}  // namespace diffdfl::tasks
