// `diffdfl eval --run DIR [--split hold,test] [--samples M]`: re-evaluates a finished run's
// selected model (deterministic: the default reproduces the hold and test numbers of metrics.json).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "diffdfl/experiment/run.h"

namespace diffdfl::cli {

namespace {

struct EvalOptions {
  std::string run;
  std::vector<std::string> splits = {"hold", "test"};
  int64_t samples = 0;
  std::string data_dir;
};

void run_eval(const EvalOptions& o) {
  experiment::RunPaths paths;
  paths.data_dir = resolve_data_dir(o.data_dir);
  const nlohmann::json out = experiment::evaluate(o.run, paths, o.splits, o.samples);
  std::cout << out.dump(2) << "\n";
  // A split without a usable instance has no cost (null): say so, and do not exit 0.
  std::string unusable;
  for (const auto& name : o.splits) {
    const nlohmann::json& m = out.at(name);
    if (m.at("cost").is_null()) {
      unusable += (unusable.empty() ? "" : ", ") + name + " (" +
                  std::to_string(m.at("solver_failures").get<int64_t>()) + " of " +
                  std::to_string(m.at("instances").get<int64_t>()) + " solves failed)";
    }
  }
  if (!unusable.empty()) {
    std::cerr << "diffdfl: the evaluation has no usable instance on " << unusable
              << "; check the run's solver settings\n";
    throw ExitCode{kExitFailed};
  }
}

}  // namespace

void setup_eval_command(CLI::App& app) {
  auto opts = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Re-evaluate a finished run");
  cmd->add_option("--run", opts->run, "run directory")->required()->check(non_empty());
  cmd->add_option("--split", opts->splits, "splits to evaluate")
      ->delimiter(',')
      ->check(CLI::IsMember({"train", "hold", "test"}))
      ->capture_default_str();
  cmd->add_option("--samples", opts->samples,
                  "samples per context (default: the run's eval.samples)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  cmd->add_option("--data-dir", opts->data_dir, "data folder")->check(non_empty());
  cmd->callback([opts]() { run_eval(*opts); });
}

}  // namespace diffdfl::cli
