// Entry point of the `diffdfl` command-line tool.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <new>

#include "commands.h"
#include "diffdfl/core/config.h"
#include "diffdfl/core/distributed.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/torch_error.h"
#include "diffdfl/core/version.h"

namespace diffdfl::cli {

namespace {
std::vector<std::string>& args_storage() {
  static std::vector<std::string> args;
  return args;
}

/// "diffdfl: " or, in a data-parallel job, "diffdfl: rank R: " (so that each rank's line says
/// which rank it comes from).
std::string prefix() {
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (rank == nullptr || world == nullptr || std::string(world) == "1") return "diffdfl: ";
  return std::string("diffdfl: rank ") + rank + ": ";
}
}  // namespace

void set_program_args(int argc, char** argv) {
  args_storage().assign(argv, argv + argc);
}

const std::vector<std::string>& program_args() {
  return args_storage();
}

void apply_overrides(nlohmann::json& config, const std::vector<std::string>& assignments) {
  for (const std::string& a : assignments)
    apply_override(config, a);
}

std::string resolve_data_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("DIFFDFL_DATA_DIR"); env && *env) return env;
  if (std::filesystem::exists(DIFFDFL_SOURCE_DATA_DIR)) return DIFFDFL_SOURCE_DATA_DIR;
  return "data";
}

std::string resolve_config_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("DIFFDFL_CONFIG_DIR"); env && *env) return env;
  if (std::filesystem::exists(DIFFDFL_SOURCE_CONFIG_DIR)) return DIFFDFL_SOURCE_CONFIG_DIR;
  return "configs";
}

std::string resolve_cache_dir(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("DIFFDFL_CACHE_DIR"); env && *env) return env;
  return "runs/.cache";
}

}  // namespace diffdfl::cli

int main(int argc, char** argv) {
  diffdfl::cli::set_program_args(argc, argv);
  CLI::App app{"diffdfl: decision-focused learning with conditional diffusion models"};
  // The version, and whether this build can train data-parallel (docs/distributed.md).
  app.set_version_flag("--version",
                       std::string("diffdfl ") + diffdfl::kVersion +
                           (diffdfl::dist::distributed_available() ? " (distributed: c10d/Gloo)"
                                                                   : " (distributed: not built)"));
  app.require_subcommand(1);
  diffdfl::cli::setup_data_command(app);
  diffdfl::cli::setup_solve_command(app);
  diffdfl::cli::setup_train_command(app);
  diffdfl::cli::setup_eval_command(app);
  diffdfl::cli::setup_sample_command(app);
  diffdfl::cli::setup_experiment_command(app);
  diffdfl::cli::setup_report_commands(app);
  using diffdfl::cli::kExitError;
  using diffdfl::cli::kExitInternal;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const diffdfl::cli::ExitCode& e) {
    return e.code;
  } catch (const diffdfl::Error& e) {
    std::cerr << diffdfl::cli::prefix() << "error: " << e.what() << "\n";
    return kExitError;
  } catch (const std::bad_alloc&) {
    std::cerr << "diffdfl: error: out of memory; the input or the configuration is too large for "
                 "this machine (fewer samples, rows or columns, or smaller networks)\n";
    return kExitError;
  } catch (const std::filesystem::filesystem_error& e) {
    // What the library did not anticipate still names the path and the reason, on one line.
    std::cerr << diffdfl::cli::prefix() << "error: " << e.what() << "\n";
    return kExitError;
  } catch (const c10::Error& e) {
    // Never LibTorch's C++ backtrace: its first line says what failed.
    const std::string line = diffdfl::torch_error_line(e);
    if (line.find("can't allocate memory") != std::string::npos) {
      std::cerr << "diffdfl: error: out of memory (" << line
                << "); the input or the configuration is too large for this machine\n";
      return kExitError;
    }
    std::cerr << diffdfl::cli::prefix() << "internal error: " << line << "\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << diffdfl::cli::prefix() << "internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return 0;
}
