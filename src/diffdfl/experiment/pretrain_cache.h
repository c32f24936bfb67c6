// Pretrained predictors, cached and shared: every method of a seed starts from the same fitted
// model (as the reference does), keyed by the task, seed, data options, predictor configuration and
// pretraining options (RunConfig::pretrain_identity) and by a SHA-256 of the training data
// itself, so that changed data files or feature code never reuse a stale model. Fitting is
// resumable (a partial checkpoint is kept while it runs) and guarded by a lock file, so two runs
// that need the same model at the same time fit it once.
//
// Example:
//   PretrainInfo info = pretrain_with_cache(*pred, cfg, train_split, "runs/.cache", progress);
//   if (info.cached) std::cerr << "reused " << info.path << "\n";
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "diffdfl/dfl/trainer.h"
#include "diffdfl/experiment/progress.h"
#include "diffdfl/experiment/run_config.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::experiment {

struct PretrainInfo {
  bool cached = false;    ///< loaded from the cache (not fitted by this process)
  std::string path;       ///< the cache file
  double seconds = 0;     ///< wall time the fit took (when it was made)
  int64_t epochs = 0;     ///< epochs run (fewer than configured when the patience stopped it)
  nlohmann::json losses;  ///< mean fitting loss per epoch
  nlohmann::json hold;  ///< hold-out selection: {"best_epoch", "best_loss", "losses": [[e, l]…]}

  nlohmann::json to_json() const;
};

/// Loads the predictor's pretrained state from the cache, or fits it (resuming a partial fit) and
/// stores it. `predictor` must already carry its target transform. The hold-out split is used (and
/// becomes part of the key) only when cfg.pretrain.select is "hold".
PretrainInfo pretrain_with_cache(models::Predictor& predictor, const RunConfig& cfg,
                                 const dfl::SplitData& train, const dfl::SplitData& hold,
                                 const std::string& cache_dir, bool show_progress);

/// IoError naming the cache directory when something other than a directory is in its place
/// (creates nothing: a run checks this before it creates its own directory).
void check_cache_dir(const std::string& cache_dir);

/// check_cache_dir, then creates the directory if needed. IoError naming it when that is impossible
/// (no permission, a read-only file system).
void prepare_cache_dir(const std::string& cache_dir);

/// SHA-256 of the training tensors (shape, dtype and bytes of x, then of y): data::digest.
std::string training_data_digest(const dfl::SplitData& train);

/// The cache file name for a configuration and the digest of its training data (without creating
/// anything).
std::string pretrain_cache_path(const RunConfig& cfg, const std::string& data_digest,
                                const std::string& cache_dir);

}  // namespace diffdfl::experiment
