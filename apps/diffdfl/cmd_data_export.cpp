// `diffdfl data export --task T --split {train,hold,test} [--seed N] [--assets N] [--verified-only]
//  [--data-dir DIR] --out FILE.csv`: writes one row per sample (`date` where the task has dates,
//  then
// x0.., then y0..), features as the model sees them (standardised), numbers in shortest round-trip
// form (they read back to the same float64).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "diffdfl/core/atomic_file.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

namespace {

struct DataExportOptions {
  tasks::DatasetOptions dataset;
  std::string data_dir;  ///< --data-dir as given
  std::string split;
  std::string out;
};

void append_number(std::string& s, double v) {
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  s.append(buf, res.ptr);
}

std::string to_csv(const data::Split& split) {
  const torch::Tensor x = split.x.to(torch::kDouble).contiguous();
  const torch::Tensor y = split.y.to(torch::kDouble).contiguous();
  const int64_t n = split.size(), dx = x.size(1), dy = y.size(1);
  const bool dated = !split.dates.empty();
  std::string s;
  s.reserve(static_cast<size_t>(n * (dx + dy) * 22 + 4096));
  if (dated) s += "date,";
  for (int64_t j = 0; j < dx; ++j)
    s += "x" + std::to_string(j) + ",";
  for (int64_t j = 0; j < dy; ++j)
    s += "y" + std::to_string(j) + (j + 1 < dy ? "," : "\n");
  const double* px = x.data_ptr<double>();
  const double* py = y.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    if (dated) s += split.dates[static_cast<size_t>(i)] + ",";
    for (int64_t j = 0; j < dx; ++j) {
      append_number(s, px[i * dx + j]);
      s += ',';
    }
    for (int64_t j = 0; j < dy; ++j) {
      append_number(s, py[i * dy + j]);
      s += j + 1 < dy ? ',' : '\n';
    }
  }
  return s;
}

void run_data_export(const CLI::App& cmd, const DataExportOptions& opts) {
  const data::Dataset ds = load_selected_dataset(cmd, opts.dataset, opts.data_dir);
  const data::Split& split = ds.split(opts.split);
  write_file_atomic(opts.out, to_csv(split));
  const nlohmann::json summary = {{"task", ds.task},
                                  {"split", opts.split},
                                  {"rows", split.size()},
                                  {"columns", (split.dates.empty() ? 0 : 1) + ds.x_dim + ds.y_dim},
                                  {"out", opts.out}};
  std::cout << summary.dump() << "\n";
}

}  // namespace

void setup_data_export(CLI::App& data) {
  auto opts = std::make_shared<DataExportOptions>();
  CLI::App* cmd = data.add_subcommand("export", "Write one split of a task's dataset as CSV");
  add_dataset_flags(*cmd, opts->dataset, opts->data_dir);
  cmd->add_option("--split", opts->split, "Split to export")
      ->required()
      ->check(CLI::IsMember({"train", "hold", "test"}));
  cmd->add_option("--out", opts->out, "Output CSV file (written atomically)")->required();
  cmd->callback([opts, cmd]() { run_data_export(*cmd, *opts); });
}

}  // namespace diffdfl::cli
