// `diffdfl train --task T --method M [--preset smoke|cpu|paper] [--seed S] [--out DIR]
//  [--config FILE] [--set key=value]... [--threads N] [--quiet] [--nproc N]`, or
// `diffdfl train --resume DIR [--nproc N]`: trains one method on one task and writes the run
// directory (experiment/run.h). Prints the final metrics as JSON on stdout and a one-line
// comparison with the starting (two-stage) model on stderr.
//
// Data-parallel (docs/distributed.md): under torchrun-style variables (WORLD_SIZE > 1, RANK, ...)
// this process is one rank of the job; `--nproc N` starts N local ranks of itself and waits.
#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "diffdfl/core/distributed.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/local_launch.h"
#include "diffdfl/dfl/method.h"
#include "diffdfl/experiment/presets.h"
#include "diffdfl/experiment/run.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

namespace {

struct TrainOptions {
  std::string task;
  std::string method;
  std::string preset = "cpu";
  uint64_t seed = 1;
  std::string out;
  std::string config_file;
  std::vector<std::string> sets;
  std::string resume;
  int64_t threads = -1;
  int nproc = 1;
  bool quiet = false;
  std::string data_dir;
  std::string config_dir;
  std::string cache_dir;
  std::string given_with_resume;  ///< options that --resume cannot honour, if given with it
};

/// This command line without --nproc (what each rank of `--nproc N` runs).
std::vector<std::string> rank_command_line() {
  std::vector<std::string> args = program_args();
  args[0] = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
    } else if (args[i].rfind("--nproc=", 0) != 0) {
      out.push_back(args[i]);
    }
  }
  return out;
}

int run_train(const TrainOptions& o) {
  if (o.nproc > 1) {
    if (dist::RankOptions::from_env().world_size > 1) {
      fail<InvalidArgument>(
          "--nproc starts its own ranks on this host; under torchrun or another "
          "launcher (WORLD_SIZE is set) leave --nproc out");
    }
    if (!dist::distributed_available()) {
      fail<InvalidArgument>("--nproc ", o.nproc,
                            " needs distributed support, but this diffdfl "
                            "was built without c10d/Gloo; install libgloo-dev, rebuild, and see "
                            "docs/distributed.md");
    }
    return dist::launch_local(rank_command_line(), o.nproc);
  }
  const std::shared_ptr<dist::Communicator> comm = dist::connect(dist::RankOptions::from_env());
  experiment::RunPaths paths;
  paths.data_dir = resolve_data_dir(o.data_dir);
  paths.cache_dir = resolve_cache_dir(o.cache_dir);
  experiment::RunOutcome out;
  std::string dir;
  if (!o.resume.empty()) {
    if (!o.given_with_resume.empty()) {
      fail<InvalidArgument>("--resume continues a run with its saved config.json (task, method, ",
                            "preset, seed, threads, every option) in its own directory; do not ",
                            "combine it with ", o.given_with_resume);
    }
    dir = o.resume;
    out = experiment::resume(dir, paths, !o.quiet, comm);
  } else {
    if (o.task.empty() || o.method.empty()) {
      fail<InvalidArgument>("--task and --method are required (or --resume DIR)");
    }
    dfl::parse_method(o.method);  // a named error before anything else
    std::vector<std::string> sets = o.sets;
    if (o.threads >= 0) sets.push_back("threads=" + std::to_string(o.threads));
    experiment::TrainRequest req;
    req.config = experiment::resolve_config(resolve_config_dir(o.config_dir), o.preset, o.task,
                                            o.method, o.seed, o.config_file, sets);
    dir = !o.out.empty() ? o.out
                         : "runs/" + o.task + "/" + o.method + "/" + o.preset + "-seed" +
                               std::to_string(o.seed);
    req.out_dir = dir;
    req.paths = paths;
    req.show_progress = !o.quiet;
    req.comm = comm;
    out = experiment::train(req);
  }
  if (!comm->is_main()) return 0;  // rank 0 reports the run
  const experiment::RunMetrics& m = out.metrics;
  std::cout << m.to_json().dump(2) << "\n";
  // One line for the console, beside the starting (two-stage) model where there is one.
  std::cerr << m.brief_report() << "; run in " << dir << "\n";
  if (m.status == experiment::RunStatus::kDiverged) {
    std::cerr << "diffdfl: the run diverged: " << m.stop_reason << "\n";
    return kExitDiverged;
  }
  if (m.status == experiment::RunStatus::kFailed) {
    std::cerr << "diffdfl: the run failed: " << (m.failure.empty() ? "?" : m.failure) << "\n";
    return kExitFailed;
  }
  return 0;
}

}  // namespace

void setup_train_command(CLI::App& app) {
  auto opts = std::make_shared<TrainOptions>();
  CLI::App* cmd =
      app.add_subcommand("train", "Train one method on one task (writes a run directory)");
  cmd->add_option("--task", opts->task, tasks::joined_task_names())
      ->check(CLI::IsMember(tasks::task_names()));
  cmd->add_option("--method", opts->method, "one of the nine methods (see README)")
      ->check(CLI::IsMember(dfl::method_names()));
  cmd->add_option("--preset", opts->preset, "smoke (seconds), cpu (minutes), paper (GPU scale)")
      ->check(non_empty())
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "fixes data splits, initialisation and sampling")
      ->check(seed_value())
      ->capture_default_str();
  cmd->add_option("--out", opts->out,
                  "run directory (default runs/<task>/<method>/<preset>-seed<S>)")
      ->check(non_empty());
  cmd->add_option("--config", opts->config_file, "JSON file merged over the preset")
      ->check(non_empty());
  cmd->add_option("--set", opts->sets, "override one key, e.g. --set train.lr=5e-6");
  cmd->add_option("--resume", opts->resume, "continue the run in this directory")
      ->check(non_empty());
  cmd->add_option("--threads", opts->threads, "intra-op threads (default: all cores)")
      ->check(thread_count());
  cmd->add_flag("--quiet", opts->quiet, "no progress output");
  cmd->add_option("--nproc", opts->nproc,
                  "data-parallel: start N local ranks (c10d/Gloo; see docs/distributed.md)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--data-dir", opts->data_dir, "data folder (default: the source tree's data/)")
      ->check(non_empty());
  cmd->add_option("--config-dir", opts->config_dir,
                  "presets folder (default: the source tree's configs/)")
      ->check(non_empty());
  cmd->add_option("--cache-dir", opts->cache_dir, "pretrained-model cache (default runs/.cache)")
      ->check(non_empty());
  cmd->callback([opts, cmd]() {
    for (const char* name :
         {"--task", "--method", "--preset", "--seed", "--out", "--config", "--set", "--threads"}) {
      if (cmd->count(name) > 0)
        opts->given_with_resume +=
            (opts->given_with_resume.empty() ? "" : ", ") + std::string(name);
    }
    const int code = run_train(*opts);
    if (code != 0) throw ExitCode{code};
  });
}

}  // namespace diffdfl::cli
