// `diffdfl data ...` (placeholder until the data pipelines land)
#include "commands.h"

namespace diffdfl::cli {
void setup_data_command(CLI::App& app) { app.add_subcommand("data", "Dataset tools"); }
}  // namespace diffdfl::cli
