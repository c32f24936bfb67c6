// `diffdfl data summary --task T [--seed N] [--assets N] [--verified-only] [--data-dir DIR]`:
// prints one JSON object describing the dataset (dimensions, split sizes, dates, tickers).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

namespace {

struct DataSummaryOptions {
  tasks::DatasetOptions dataset;
  std::string data_dir;  ///< --data-dir as given
};

nlohmann::json split_summary(const data::Split& s) {
  nlohmann::json j = {{"n", s.size()}};
  if (!s.dates.empty()) {
    j["first_date"] = s.dates.front();
    j["last_date"] = s.dates.back();
  }
  return j;
}

void run_data_summary(const CLI::App& cmd, const DataSummaryOptions& opts) {
  const data::Dataset ds = load_selected_dataset(cmd, opts.dataset, opts.data_dir);
  nlohmann::json out;
  out["task"] = ds.task;
  out["seed"] = ds.meta.at("seed");
  out["x_dim"] = ds.x_dim;
  out["y_dim"] = ds.y_dim;
  out["n_train"] = ds.train.size();
  out["n_hold"] = ds.hold.size();
  out["n_test"] = ds.test.size();
  // The digest that keys the pretrained-model cache: equal on every x86-64 machine and thread
  // count for the same data files, seed and options (docs/data.md, "Reproducibility").
  out["train_digest"] = data::digest(ds.train);
  out["splits"] = {{"train", split_summary(ds.train)},
                   {"hold", split_summary(ds.hold)},
                   {"test", split_summary(ds.test)}};
  for (const char* key : {"first_date", "last_date", "samples_per_file", "n_assets", "universe",
                          "pool_size", "tickers", "p_low", "modes", "noise_std"}) {
    if (ds.meta.contains(key)) out[key] = ds.meta.at(key);
  }
  if (ds.meta.contains("contextual_map")) {
    out["contextual_map"] = {{"formula", ds.meta["contextual_map"]["formula"]},
                             {"context_strength", ds.meta["contextual_map"]["context_strength"]},
                             {"a", ds.meta["contextual_map"]["a"][0]}};
  }
  if (ds.meta.contains("standardization") && !ds.meta["standardization"].is_null()) {
    out["standardized_on"] = ds.meta["standardization"]["fit_rows"];
  }
  if (const tasks::Task& task = tasks::find_task(ds.task); task.data_summary) {
    out.update(task.data_summary(ds));
  }
  std::cout << out.dump(2) << "\n";
}

}  // namespace

void setup_data_summary(CLI::App& data) {
  auto opts = std::make_shared<DataSummaryOptions>();
  CLI::App* cmd = data.add_subcommand("summary", "Print a JSON summary of a task's dataset");
  add_dataset_flags(*cmd, opts->dataset, opts->data_dir);
  cmd->callback([opts, cmd]() { run_data_summary(*cmd, *opts); });
}

}  // namespace diffdfl::cli
