// The run configuration survives a round trip through config.json: for every committed preset,
// task and method, the resolved configuration read into experiment::RunConfig, written with to_json
// and read again gives the same configuration, and the written form keeps every value the preset
// set. This is what `--resume` relies on (it rebuilds the run from config.json alone).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "diffdfl/dfl/method.h"
#include "diffdfl/experiment/presets.h"
#include "diffdfl/experiment/run_config.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::experiment {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// Every leaf of `part` is present in `whole` with an equal value (numbers compared as doubles).
void expect_contains(const json& whole, const json& part, const std::string& where) {
  for (auto it = part.begin(); it != part.end(); ++it) {
    const std::string key = where.empty() ? it.key() : where + "." + it.key();
    ASSERT_TRUE(whole.contains(it.key())) << key << " was dropped";
    if (it->is_object()) {
      expect_contains(whole[it.key()], *it, key);
    } else if (it->is_number()) {
      EXPECT_DOUBLE_EQ(whole[it.key()].get<double>(), it->get<double>()) << key;
    } else {
      EXPECT_EQ(whole[it.key()], *it) << key;
    }
  }
}

TEST(ConfigRoundTrip, EveryPresetTaskAndMethodSurvivesConfigJson) {
  const std::string configs = (fs::path(DIFFDFL_TEST_SOURCE_DIR) / "configs").string();
  size_t checked = 0;
  for (const std::string preset : {"smoke", "cpu", "paper"}) {
    for (const auto& task : tasks::task_names()) {
      for (const auto& method : dfl::method_names()) {
        SCOPED_TRACE(preset + " " + task + " " + method);
        const json resolved = resolve_config(configs, preset, task, method, 3, "", {});
        const json written = RunConfig::from_json(resolved, "resolved").to_json();
        const json again = RunConfig::from_json(written, "config.json").to_json();
        EXPECT_EQ(written, again);
        expect_contains(written, resolved, "");
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3u * tasks::task_names().size() * dfl::method_names().size());
}

}  // namespace
}  // namespace diffdfl::experiment
