// Fuzzes configuration input: a JSON document (a preset section or a --config file) merged over a
// run's identity, then `--set key=value` lines, read as an experiment::RunConfig and, when valid,
// turned into the task's decision layer. Any input gives a configuration or a diffdfl::Error; a
// valid configuration survives the round trip through its own JSON unchanged.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <sstream>
#include <string>

#include "diffdfl/core/config.h"
#include "diffdfl/core/error.h"
#include "diffdfl/experiment/run_config.h"
#include "diffdfl/tasks/task.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = diffdfl::fuzzing::split_parts(data, size, 2);
  nlohmann::json cfg = {{"task", "power"}, {"method", "dfl-mlp"}, {"preset", "fuzz"}, {"seed", 1}};
  const nlohmann::json file = nlohmann::json::parse(parts[0], nullptr, /*allow_exceptions=*/false);
  if (!file.is_discarded() && file.is_object()) diffdfl::deep_merge(cfg, file);
  try {
    std::istringstream sets(parts[1]);
    for (std::string line; std::getline(sets, line);)
      diffdfl::apply_override(cfg, line);
    const diffdfl::experiment::RunConfig c = diffdfl::experiment::RunConfig::from_json(cfg, "fuzz");
    const nlohmann::json again = c.to_json();
    if (diffdfl::experiment::RunConfig::from_json(again, "round trip").to_json() != again)
      __builtin_trap();
    const nlohmann::json section = {{"program", c.program}, {"solver", c.solver}};
    diffdfl::ConfigReader reader(section, "fuzz");
    const auto layer = diffdfl::tasks::make_decision_layer(c.task, 24, reader);
    reader.finish();
  } catch (const diffdfl::Error&) {
  }
  return 0;
}
