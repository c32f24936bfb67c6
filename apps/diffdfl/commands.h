// The diffdfl command line: one file per subcommand, each with an options struct and a setup
// function that registers the subcommand and its run callback on the app.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace diffdfl::cli {

void setup_data_command(CLI::App& app);

/// The data directory: --data-dir if given, else $DIFFDFL_DATA_DIR, else the source tree's data/
/// (compiled in), else ./data.
std::string resolve_data_dir(const std::string& flag_value);

}  // namespace diffdfl::cli
