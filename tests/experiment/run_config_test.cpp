// RunConfig validation: every value that would only fail once a run is under way (a learning rate
// beyond float32, batch norm on batches of one row, permuted targets where y depends on x, sizes
// out of range) is a ConfigError naming the key, raised before anything is created.
#include "diffdfl/experiment/run_config.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

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

// The messages of every check, word for word (they were each spelled out in validate() before the
// field tables drove it; users and scripts match on them).
TEST(RunConfig, EveryCheckKeepsItsMessage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"threads=2000", "threads: must be in [0, 1024] (0 = LibTorch's default)"},
      {"shuffle_targets=true",
       "shuffle_targets: is valid only on task synthetic (where y is independent of x); on power "
       "it would pair every x with another context's y"},
      {"data.n_assets=1", "data.n_assets: must be >= 2"},
      {"target_scaling=x", "target_scaling: must be \"standardize\" or \"none\", got \"x\""},
      {"pretrain.epochs=-1", "pretrain.epochs: must be >= 0"},
      {"pretrain.batch_size=-1", "pretrain.batch_size: must be >= 0 (0 = full batch)"},
      {"pretrain.lr=0", "pretrain.lr: must be in (0, 10]"},
      {"pretrain.optimizer=sgd", "pretrain.optimizer: must be \"adam\" or \"adamw\""},
      {"pretrain.weight_decay=-1", "pretrain.weight_decay: must be in [0, 1000]"},
      {"pretrain.lr_schedule=x", "pretrain.lr_schedule: must be \"constant\" or \"cosine\""},
      {"pretrain.ema=1", "pretrain.ema: must be in [0, 1) (0 = off)"},
      {"pretrain.select=x", "pretrain.select: must be \"last\" or \"hold\""},
      {"pretrain.eval_every=0", "pretrain.eval_every: must be >= 1"},
      {"pretrain.patience=-1", "pretrain.patience: must be >= 0 (0 = never stop early)"},
      {"pretrain.hold_draws=0", "pretrain.hold_draws: must be >= 1"},
      {"train.epochs=-1", "train.epochs: must be >= 0"},
      {"train.batch_size=-1", "train.batch_size: must be >= 0 (0 = full batch)"},
      {"train.lr=0", "train.lr: must be in (0, 10]"},
      {"train.samples=0", "train.samples: must be in [1, 100000]"},
      {"train.patience=-1", "train.patience: must be >= 0 (0 = never stop early)"},
      {"train.min_delta=-1", "train.min_delta: must be >= 0"},
      {"train.max_skipped_steps=-1", "train.max_skipped_steps: must be >= 0"},
      {"train.grad_clip=-1", "train.grad_clip: must be >= 0"},
      {"train.fit_weight=-1", "train.dfl_weight/fit_weight: must be in [0, 1e6]"},
      {"train.dfl_weight=0", "train.dfl_weight: and fit_weight are both 0"},
      {"train.normalize=x", "train.normalize: must be \"dfl\", \"fit\" or \"none\", got \"x\""},
      {"train.fit_draws=0", "train.fit_draws: must be in [1, 1000]"},
      {"eval.samples=0", "eval.samples: must be in [1, 100000]"},
      {"eval.batch_size=0", "eval.batch_size: must be >= 1"},
      {"eval.repeats=0", "eval.repeats: must be in [1, 1000]"},
      {"eval.epoch_repeats=0", "eval.epoch_repeats: must be in [1, 1000]"},
      {"eval.sample_steps=-1", "eval.sample_steps: must be in [0, diffusion.T]"},
      {"eval.sample_steps=100000", "eval.sample_steps: must be in [0, diffusion.T]"},
      {"diffusion.sampler=nope",
       "diffusion.sampler: sampler 'nope' is not valid; use ddim or ddpm"},
      {"diffusion.T=0", "diffusion: NoiseScheduleOptions.steps (T) must be >= 2, got 0"},
      {"train.rp_graph=nope",
       "train.rp_graph: graph mode 'nope' is not valid; use none, full or checkpointed"},
      {"mlp.width=0", "mlp: MlpOptions.width must be >= 1, got 0"},
      {"gaussian.width=0", "gaussian: GaussianOptions.width must be >= 1, got 0"},
  };
  for (const auto& [set, message] : cases)
    EXPECT_EQ(error_of("dfl-mlp", {set}), message) << set;
  // With several bad keys the first check in the old order still wins.
  EXPECT_EQ(error_of("dfl-mlp", {"data.n_assets=1", "shuffle_targets=true"}).rfind("shuffle", 0),
            0U);
  EXPECT_EQ(error_of("dfl-mlp", {"eval.sample_steps=-1", "train.lr=0"}).rfind("train.lr", 0), 0U);
  EXPECT_EQ(error_of("dfl-mlp", {}, "bogus"),
            "task: unknown task 'bogus'; use synthetic, synthetic-contextual, power, portfolio or newsvendor");
}

// Every key is written, and what is written reads back to the same configuration.
TEST(RunConfig, WritesEveryKeyAndReadsItBack) {
  RunConfig c;
  c.task = "power";
  c.train.mix.fit_weight = 0.25;
  c.eval.sample_steps = 7;
  c.diffusion.sampler.eta = 0.5;
  const nlohmann::json j = c.to_json();
  EXPECT_EQ(j["train"]["fit_weight"], 0.25);
  EXPECT_EQ(j["eval"]["sample_steps"], 7);
  EXPECT_EQ(j["diffusion"]["eta"], 0.5);
  EXPECT_EQ(j["method"], "dfl-diffusion-sf");
  EXPECT_EQ(j["train"]["rp_graph"], "checkpointed");
  EXPECT_EQ(j.size(), 18U);
  EXPECT_EQ(j["data"].size(), 2U);
  EXPECT_EQ(j["pretrain"].size(), 11U);
  EXPECT_EQ(j["train"].size(), 13U);
  EXPECT_EQ(j["eval"].size(), 5U);
  EXPECT_EQ(j["diffusion"].size(), 21U);
  EXPECT_EQ(RunConfig::from_json(j, "round trip").to_json(), j);
}

}  // namespace
}  // namespace diffdfl::experiment
