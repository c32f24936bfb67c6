// Runs: one method on one task with one seed, in a run directory that keeps everything needed to
// inspect, re-evaluate or continue it:
//
//   DIR/config.json   the resolved configuration (every option)
//   DIR/curve.csv     per epoch: train/hold/test cost (and the task's extra metrics), seconds
//   DIR/checkpoint.pt the trainer's state after the last finished epoch (model, best model,
//                     optimizer, counters, RNG): `diffdfl train --resume DIR` continues from it
//   DIR/model.pt      the selected (best hold-out) model
//   DIR/metrics.json  the final metrics, experiment::RunMetrics (written last; its presence marks
//                     a finished run)
//
// model.pt and checkpoint.pt carry the SHA-256 of their content (core/artefact_file.h), verified
// before they are loaded: a damaged file is one error line that names it and how to recover.
// Every file is written atomically. Nothing is created before the configuration, the data and the
// decision program have been validated.
//
// Example:
//   experiment::TrainRequest req;
//   req.config = experiment::resolve_config("configs", "smoke", "power", "dfl-mlp", 1, "", {});
//   req.out_dir = "runs/power-dfl-mlp";
//   experiment::RunOutcome out = experiment::train(req);
//   std::cout << out.metrics.to_json().dump(2);
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "diffdfl/core/distributed.h"
#include "diffdfl/experiment/run_metrics.h"

namespace diffdfl::experiment {

struct RunPaths {
  std::string data_dir = "data";
  std::string cache_dir = "runs/.cache";  ///< pretrained models shared between runs
};

struct TrainRequest {
  nlohmann::json config;  ///< resolved (resolve_config), validated here
  std::string out_dir;
  RunPaths paths;
  bool show_progress = true;
  /// Data-parallel ranks (docs/distributed.md); null: one process. Every rank calls train() with
  /// the same request; rank 0 alone creates and writes the run directory.
  std::shared_ptr<dist::Communicator> comm;
};

/// The result of a run: its metrics (experiment/run_metrics.h), as written to metrics.json.
/// `metrics.status` is kCompleted, kDiverged (stopped because of repeated non-finite steps) or
/// kFailed (its final hold or test evaluation has no usable instance, so it has no result;
/// `metrics.failure` says why).
///
/// Example:
///   RunOutcome out = train(req);
///   if (out.metrics.status == RunStatus::kFailed) std::cerr << out.metrics.failure << "\n";
struct RunOutcome {
  RunMetrics metrics;
};

/// A fresh run into out_dir, which must not exist, be empty, or hold only what a run stopped
/// before writing config.json leaves (its .lock, temporaries). Everything (configuration, data,
/// program, cache directory) is validated before the directory is created. Stale temporary files
/// of killed writes are removed when a run starts or resumes. An IoError during the run (e.g. a
/// full disk) says how to continue it with --resume.
RunOutcome train(const TrainRequest& request);

/// Continues the run in run_dir from its checkpoint (or from the start if it has none). On the same
/// machine and thread count the result is bit-identical to an uninterrupted run. A finished run is
/// left as it is and its metrics are returned.
/// With `comm`, every rank calls resume() with the same directory and the checkpoint must be of as
/// many ranks.
RunOutcome resume(const std::string& run_dir, const RunPaths& paths, bool show_progress = true,
                  std::shared_ptr<dist::Communicator> comm = nullptr);

/// Re-evaluates the selected model of a finished run on `splits` (default hold and test) with the
/// run's evaluation settings (`samples` > 0 overrides M). Deterministic for a given run.
nlohmann::json evaluate(const std::string& run_dir, const RunPaths& paths,
                        const std::vector<std::string>& splits, int64_t samples = 0);

/// n samples of y for each of `count` consecutive contexts of a split, from row `index` on, from
/// the run's selected model: [count, n, y_dim] float64, and the contexts' true y in `truth`
/// ([count, y_dim]) when given. Each context draws from its own stream `sample.<split>.<row>`, so
/// a context's samples do not depend on which others are drawn with it.
torch::Tensor sample(const std::string& run_dir, const RunPaths& paths, const std::string& split,
                     int64_t index, int64_t n, torch::Tensor* truth = nullptr, int64_t count = 1);

}  // namespace diffdfl::experiment
