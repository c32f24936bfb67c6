#include "diffdfl/core/config.h"

#include <gtest/gtest.h>

#include "diffdfl/core/error.h"

namespace diffdfl {
namespace {

std::string message_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ReadsTypedValuesAndNamesBadKeys) {
  const nlohmann::json cfg = {
      {"train", {{"lr", 1e-4}, {"epochs", 5}, {"name", "x"}, {"ema", true}}}};
  ConfigReader root(cfg, "cfg.json");
  ConfigReader train = root.child("train");
  double lr = 0;
  int64_t epochs = 0;
  std::string name;
  bool ema = false;
  train.get("lr", lr);
  train.get("epochs", epochs);
  train.get("name", name);
  train.get("ema", ema);
  double absent = 7;
  train.get("absent", absent);
  EXPECT_DOUBLE_EQ(lr, 1e-4);
  EXPECT_EQ(epochs, 5);
  EXPECT_EQ(name, "x");
  EXPECT_TRUE(ema);
  EXPECT_DOUBLE_EQ(absent, 7);
  train.finish();
  root.finish();

  const nlohmann::json bad = {{"train", {{"lr", "fast"}, {"lrr", 1}}}};
  ConfigReader r2(bad, "cfg.json");
  ConfigReader t2 = r2.child("train");
  EXPECT_EQ(message_of([&] { t2.get("lr", lr); }),
            "cfg.json: train.lr: expected a number, got \"fast\"");
  EXPECT_EQ(message_of([&] { t2.finish(); }), "cfg.json: unknown key 'train.lrr'");
  EXPECT_EQ(message_of([&] { ConfigReader(nlohmann::json::array(), "c"); }),
            "c: '(root)' must be an object, got array");
  int64_t i = 0;
  ConfigReader r3({{"n", 2.5}}, "c");
  EXPECT_NE(message_of([&] { r3.get("n", i); }).find("expected an integer"), std::string::npos);
}

TEST(Config, OverridesCreatePathsAndInferTypes) {
  nlohmann::json cfg = {{"train", {{"lr", 1e-4}}}};
  apply_override(cfg, "train.lr=5e-6");
  apply_override(cfg, "model.width=256");
  apply_override(cfg, "program.gradient=exact");
  apply_override(cfg, "train.ema=true");
  EXPECT_DOUBLE_EQ(cfg["train"]["lr"].get<double>(), 5e-6);
  EXPECT_EQ(cfg["model"]["width"].get<int64_t>(), 256);
  EXPECT_EQ(cfg["program"]["gradient"], "exact");
  EXPECT_EQ(cfg["train"]["ema"], true);
  EXPECT_THROW(apply_override(cfg, "novalue"), ConfigError);
  EXPECT_THROW(apply_override(cfg, "a..b=1"), ConfigError);
  EXPECT_THROW(apply_override(cfg, "train.lr.x=1"), ConfigError);
}

TEST(Config, IntegersBeyondInt64AreOutOfRangeNotWrapped) {
  // 2^64 − 1 parses as an unsigned JSON number; read as int64 it used to become −1.
  nlohmann::json cfg = nlohmann::json::object();
  apply_override(cfg, "seed=18446744073709551615");
  ConfigReader r(cfg, "--set");
  uint64_t seed = 1;
  const std::string msg = message_of([&] { r.get("seed", seed); });
  EXPECT_NE(msg.find("seed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  EXPECT_EQ(seed, 1u);
}

TEST(Config, BytesThatAreNotUtf8AreAConfigErrorNotAJsonException) {
  // Found by fuzz_solve: "--set program.ramp=0\xff..." kept the text as a JSON string, and the
  // error message's dump() of it threw nlohmann's type_error 316 (an internal error, or an abort).
  nlohmann::json cfg = nlohmann::json::object();
  const std::string msg = message_of([&] { apply_override(cfg, "program.ramp=0\xff\xfe.3"); });
  EXPECT_NE(msg.find("program.ramp"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UTF-8"), std::string::npos) << msg;
  // A string that holds such bytes already (built in code) is still reported by key.
  cfg = {{"ramp", std::string("0\xff")}};
  ConfigReader r(cfg, "--set", "program");
  double ramp = 0;
  const std::string got = message_of([&] { r.get("ramp", ramp); });
  EXPECT_NE(got.find("program.ramp: expected a number"), std::string::npos) << got;
}

}  // namespace
}  // namespace diffdfl
