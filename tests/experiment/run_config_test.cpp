// RunConfig validation: every value that would only fail once a run is under way (a learning rate
// beyond float32, batch norm on batches of one row, permuted targets where y depends on x, sizes
// out of range) is a ConfigError naming the key, raised before anything is created.
#include "diffdfl/experiment/run_config.h"

#include <gtest/gtest.h>

#include <string>

#include "diffdfl/core/config.h"
#include "diffdfl/core/error.h"

namespace diffdfl::experiment {
namespace {

/// The ConfigError message of a configuration with the given overrides, or "" when it is valid.
std::string error_of(const std::string& method, const std::vector<std::string>& sets,
                     const std::string& task = "power") {
  nlohmann::json j = {{"task", task}, {"method", method}};
  for (const auto& s : sets)
    apply_override(j, s);
  try {
    RunConfig::from_json(j, "test");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, OutOfRangeValuesAreNamedBeforeTheRun) {
  EXPECT_EQ(error_of("dfl-mlp", {}), "");
  EXPECT_NE(error_of("dfl-mlp", {"train.lr=1e300"}).find("train.lr"), std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"pretrain.lr=1e39"}).find("pretrain.lr"), std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"pretrain.weight_decay=1e300"}).find("pretrain.weight_decay"),
            std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"train.fit_weight=1e300"}).find("fit_weight"), std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"train.samples=1000000000"}).find("train.samples"),
            std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"eval.samples=1000000000"}).find("eval.samples"),
            std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"threads=100000"}).find("threads"), std::string::npos);
  EXPECT_NE(error_of("dfl-mlp", {"train.epochs=18446744073709551615"}).find("out of range"),
            std::string::npos);
}

TEST(RunConfig, BatchNormNeedsTwoRowsPerBatch) {
  const std::string e = error_of("policy", {"policy.batch_norm=true", "train.batch_size=1"});
  EXPECT_NE(e.find("train.batch_size"), std::string::npos) << e;
  EXPECT_NE(e.find("batch_norm"), std::string::npos) << e;
  EXPECT_EQ(error_of("policy", {"policy.batch_norm=true", "train.batch_size=2"}), "");
  EXPECT_EQ(error_of("policy", {"policy.batch_norm=false", "train.batch_size=1"}), "");
}

TEST(RunConfig, ShuffledTargetsOnlyWhereYIsIndependentOfX) {
  EXPECT_EQ(error_of("dfl-mlp", {"shuffle_targets=true"}, "synthetic"), "");
  for (const char* task : {"power", "portfolio", "synthetic-contextual"}) {
    const std::string e = error_of("dfl-mlp", {"shuffle_targets=true"}, task);
    EXPECT_NE(e.find("shuffle_targets"), std::string::npos) << task << ": " << e;
  }
}

}  // namespace
}  // namespace diffdfl::experiment
