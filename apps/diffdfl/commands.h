// The diffdfl command line: one file per subcommand, each with an options struct and a setup
// function that registers the subcommand and its run callback on the app.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/data/dataset.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

/// Thrown by a subcommand to end the program with a given exit code after printing its output.
struct ExitCode {
  int code;
};

/// Exit codes (docs/methods.md §8): 0 success; 1 a diffdfl error (configuration, data, I/O),
/// printed as one line "diffdfl: error: ..."; 2 a run that diverged; 3 an internal error; 4 a run
/// or evaluation without a usable result (every instance of a final evaluation failed), or a
/// `solve` whose status or gradient is not usable.
inline constexpr int kExitError = 1;
inline constexpr int kExitDiverged = 2;
inline constexpr int kExitInternal = 3;
inline constexpr int kExitFailed = 4;

/// The most intra-op threads --threads accepts.
inline constexpr int64_t kMaxThreads = 1024;

// Validators shared by the subcommands (option_checks.cpp).
/// Refuses "" for an option whose absence means a default (--out "", --data-dir "").
CLI::Validator non_empty();
/// A decimal seed in [0, 2^63 − 1] (what a config's "seed" holds).
CLI::Validator seed_value();
/// A thread count in [0, kMaxThreads].
CLI::Validator thread_count();

// Top-level commands (main.cpp registers them).
void setup_data_command(CLI::App& app);        // cmd_data.cpp
void setup_solve_command(CLI::App& app);       // cmd_solve.cpp
void setup_train_command(CLI::App& app);       // cmd_train.cpp
void setup_eval_command(CLI::App& app);        // cmd_eval.cpp
void setup_sample_command(CLI::App& app);      // cmd_sample.cpp
void setup_experiment_command(CLI::App& app);  // cmd_experiment.cpp
void setup_report_commands(CLI::App& app);     // cmd_report.cpp: `table` and `plot`

// `data` subcommands.
void setup_data_summary(CLI::App& data);  // cmd_data_summary.cpp
void setup_data_export(CLI::App& data);   // cmd_data_export.cpp

/// The command line this process was started with (main.cpp records it before parsing), for
/// `train --nproc`, which starts copies of itself.
void set_program_args(int argc, char** argv);
const std::vector<std::string>& program_args();

/// The data directory: --data-dir if given, else $DIFFDFL_DATA_DIR, else the source tree's data/
/// (compiled in), else ./data.
std::string resolve_data_dir(const std::string& flag_value);

/// The presets directory: --config-dir, else $DIFFDFL_CONFIG_DIR, else the source tree's configs/,
/// else ./configs.
std::string resolve_config_dir(const std::string& flag_value);
/// The pretrained-model cache: --cache-dir, else $DIFFDFL_CACHE_DIR, else runs/.cache.
std::string resolve_cache_dir(const std::string& flag_value);

/// Registers --task, --seed, --assets, --verified-only and --data-dir on `cmd` (cmd_data.cpp).
void add_dataset_flags(CLI::App& cmd, tasks::DatasetOptions& dataset, std::string& data_dir);
/// Checks flag combinations only the command line can get wrong, then loads the dataset.
data::Dataset load_selected_dataset(const CLI::App& cmd, tasks::DatasetOptions dataset,
                                    const std::string& data_dir);

/// Applies every `--set key=value` to `config` (ConfigError naming a malformed one).
void apply_overrides(nlohmann::json& config, const std::vector<std::string>& assignments);

}  // namespace diffdfl::cli
