// `diffdfl sample --run DIR --split test --index I --n N [--contexts K] [--out FILE.csv]`: N
// samples of y for context I (or for the K contexts I..I+K−1) from a run's selected model, as CSV
// (header y0.., with a leading `context` column, the split's row, when K > 1), to FILE or stdout.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "commands.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/experiment/run.h"

namespace diffdfl::cli {

namespace {

struct SampleOptions {
  std::string run;
  std::string split = "test";
  int64_t index = 0;
  int64_t n = 100;
  int64_t contexts = 1;
  std::string out;
  std::string data_dir;
};

void run_sample(const SampleOptions& o) {
  experiment::RunPaths paths;
  paths.data_dir = resolve_data_dir(o.data_dir);
  const torch::Tensor y =
      experiment::sample(o.run, paths, o.split, o.index, o.n, nullptr, o.contexts);
  const int64_t K = y.size(0), n = y.size(1), d = y.size(2);
  std::vector<std::string> header;
  torch::Tensor table = y.reshape({K * n, d});
  if (K > 1) {
    header.push_back("context");
    const torch::Tensor rows =
        torch::arange(o.index, o.index + K, torch::kDouble).repeat_interleave(n).unsqueeze(1);
    table = torch::cat({rows, table}, 1);
  }
  for (int64_t j = 0; j < d; ++j)
    header.push_back("y" + std::to_string(j));
  if (!o.out.empty()) {
    write_numeric_csv(o.out, table, header);
    return;
  }
  std::ostringstream out;
  out.precision(17);
  for (size_t j = 0; j < header.size(); ++j)
    out << (j ? "," : "") << header[j];
  out << "\n";
  const torch::Tensor t = table.contiguous();
  const double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < t.size(0); ++i) {
    for (int64_t j = 0; j < t.size(1); ++j)
      out << (j ? "," : "") << p[i * t.size(1) + j];
    out << "\n";
  }
  std::cout << out.str();
}

}  // namespace

void setup_sample_command(CLI::App& app) {
  auto opts = std::make_shared<SampleOptions>();
  CLI::App* cmd =
      app.add_subcommand("sample", "Draw samples of y for contexts of a split from a run's model");
  cmd->add_option("--run", opts->run, "run directory")->required()->check(non_empty());
  cmd->add_option("--split", opts->split, "train, hold or test")
      ->check(CLI::IsMember({"train", "hold", "test"}))
      ->capture_default_str();
  cmd->add_option("--index", opts->index, "row of the split")->capture_default_str();
  cmd->add_option("--n", opts->n, "number of samples per context")->capture_default_str();
  cmd->add_option("--contexts", opts->contexts,
                  "consecutive contexts from --index on (then a leading `context` column)")
      ->capture_default_str();
  cmd->add_option("--out", opts->out, "CSV file (default: stdout)")->check(non_empty());
  cmd->add_option("--data-dir", opts->data_dir, "data folder")->check(non_empty());
  cmd->callback([opts]() { run_sample(*opts); });
}

}  // namespace diffdfl::cli
