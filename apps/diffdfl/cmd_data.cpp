// `diffdfl data ...`: dataset tools. The subcommands live in cmd_data_summary.cpp and
// cmd_data_export.cpp; this file registers them and holds the dataset flags they share.
#include <CLI/CLI.hpp>

#include <string>

#include <algorithm>
#include <utility>
#include <vector>

#include "commands.h"
#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

/// Registers --task, --seed, --assets, --verified-only and --data-dir on `cmd`.
void add_dataset_flags(CLI::App& cmd, tasks::DatasetOptions& dataset, std::string& data_dir) {
  cmd.add_option("--task", dataset.task, "Task")
      ->required()
      ->check(CLI::IsMember(tasks::task_names()));
  cmd.add_option("--seed", dataset.seed, "Seed that fixes every random choice of the data")
      ->check(seed_value())
      ->capture_default_str();
  cmd.add_option("--assets", dataset.n_assets, "portfolio: number of assets drawn with the seed")
      ->capture_default_str();
  cmd.add_flag("--verified-only", dataset.verified_only,
               "portfolio: draw the assets from the verified tickers only");
  cmd.add_option("--data-dir", data_dir,
                 "Data folder (default: $DIFFDFL_DATA_DIR, else the source tree's data/)")
      ->check(non_empty());
}

/// Checks flag combinations that only the command line can get wrong, then loads the dataset.
data::Dataset load_selected_dataset(const CLI::App& cmd, tasks::DatasetOptions dataset,
                                    const std::string& data_dir) {
  const std::vector<std::string>& keys = tasks::find_task(dataset.task).data_keys;
  for (const auto& [flag, key] : {std::pair<const char*, const char*>{"--assets", "n_assets"},
                                  {"--verified-only", "verified_only"}}) {
    if (cmd.count(flag) == 0 || std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    std::vector<std::string> readers;
    for (const tasks::Task& t : tasks::all_tasks()) {
      if (std::find(t.data_keys.begin(), t.data_keys.end(), key) != t.data_keys.end())
        readers.push_back(t.name);
    }
    fail<InvalidArgument>(flag, " applies only to --task ", joined_alternatives(readers),
                          " (got --task ", dataset.task, ")");
  }
  if (dataset.n_assets < 1) fail<InvalidArgument>("--assets must be >= 1, got ", dataset.n_assets);
  dataset.data_dir = resolve_data_dir(data_dir);
  return tasks::load_dataset(dataset);
}

void setup_data_command(CLI::App& app) {
  CLI::App* data = app.add_subcommand("data", "Dataset tools: summaries and CSV export");
  data->require_subcommand(1);
  setup_data_summary(*data);
  setup_data_export(*data);
}

}  // namespace diffdfl::cli
