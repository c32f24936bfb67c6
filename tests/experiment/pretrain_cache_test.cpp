// Tests of the pretrained-model cache (experiment/pretrain_cache.h): a second run with the same
// options and data reuses the fitted model, and the same options on different training data never
// do (the key includes a digest of the data, not only the data options).
#include "diffdfl/experiment/pretrain_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli/cli_test_util.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/dfl/predictor_factory.h"
#include "diffdfl/experiment/presets.h"
#include "diffdfl/experiment/session.h"

namespace diffdfl::experiment {
namespace {

namespace fs = std::filesystem;

RunConfig small_mlp_config() {
  const nlohmann::json j =
      resolve_config(std::string(DIFFDFL_TEST_SOURCE_DIR) + "/configs", "smoke", "synthetic",
                     "two-stage-mlp", 1, "", {"pretrain.epochs=3"});
  return RunConfig::from_json(j, "smoke preset");
}

PretrainInfo fit(const RunConfig& cfg, const dfl::SplitData& data, const fs::path& cache) {
  seed_global(1);
  std::unique_ptr<models::Predictor> p =
      dfl::make_predictor(predictor_options(cfg), data.x.size(1), data.y.size(1), torch::kCPU);
  return pretrain_with_cache(*p, cfg, data, {}, cache.string(), /*show_progress=*/false);
}

TEST(PretrainCache, ReusesTheFitOnlyForTheSameOptionsAndData) {
  const fs::path cache = cli_testing::temp_dir("pretrain_cache");
  const experiment::RunConfig cfg = small_mlp_config();
  torch::manual_seed(3);
  const dfl::SplitData data{torch::randn({40, 5}), torch::randn({40, 3})};

  const PretrainInfo first = fit(cfg, data, cache);
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(fs::is_regular_file(first.path));
  const PretrainInfo again = fit(cfg, data, cache);
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(again.path, first.path);

  // The same options on other data (one changed target value): a new fit under another key.
  dfl::SplitData changed{data.x, data.y.clone()};
  changed.y[7][1] += 1e-3;
  EXPECT_NE(training_data_digest(changed), training_data_digest(data));
  const PretrainInfo other = fit(cfg, changed, cache);
  EXPECT_FALSE(other.cached);
  EXPECT_NE(other.path, first.path);
  // Other options on the same data: another key too.
  experiment::RunConfig longer = cfg;
  longer.pretrain.epochs = 4;
  EXPECT_NE(pretrain_cache_path(longer, training_data_digest(data), cache.string()), first.path);
}

}  // namespace
}  // namespace diffdfl::experiment
