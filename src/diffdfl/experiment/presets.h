// Presets and configuration resolution. A preset file (configs/<preset>.json) holds defaults for
// every run and sections per task, per method and per task/method pair:
//
//   { "description": "...",
//     "all":          { ... },
//     "tasks":        { "power": { ... } },
//     "methods":      { "dfl-diffusion-sf": { ... } },
//     "task_methods": { "power/dfl-diffusion-sf": { ... } } }
//
// A run's configuration is the built-in defaults, then those four sections in that order, then the
// user's --config file, then each --set override (objects merge key by key; other values replace).
//
// Example:
//   nlohmann::json cfg = experiment::resolve_config("configs", "cpu", "power", "dfl-diffusion-sf",
//                                                   /*seed=*/1, "", {"train.lr=5e-6"});
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace diffdfl::experiment {

/// Names of the presets found in `config_dir` (files <name>.json).
std::vector<std::string> preset_names(const std::string& config_dir);

/// The resolved configuration as JSON (not yet validated: RunConfig::from_json does that).
/// ConfigError names a missing preset, a malformed file or a bad override.
nlohmann::json resolve_config(const std::string& config_dir, const std::string& preset,
                              const std::string& task, const std::string& method, uint64_t seed,
                              const std::string& config_file,
                              const std::vector<std::string>& overrides);

}  // namespace diffdfl::experiment
