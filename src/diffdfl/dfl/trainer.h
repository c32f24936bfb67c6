// Decision-focused fine-tuning (docs/methods.md): every DFL method and the policy baseline, with
// the reference's gradient-norm matched mixing of the DFL gradient and the fitting-loss gradient,
// hold-out evaluation after every epoch, best-state selection with patience, guards against
// non-finite steps, and a checkpointable state (a killed run resumes bit-identically on the same
// machine and thread count: batches derive from (seed, epoch) and the RNG state is saved).
//
// Data-parallel (docs/distributed.md): with a Communicator of N ranks every rank draws the same
// global batches, trains on its contiguous shard of each, and the ranks average their gradients
// (weighted by usable instances, so the step equals one process's step on the global batch) before
// an identical optimizer step; evaluation is sharded and reduced, so every rank selects the same
// epoch. The checkpoint holds every rank's RNG state.
//
// Example:
//   dfl::TrainerOptions o;
//   o.method = dfl::Method::kDflGaussianRp;
//   o.train.epochs = 5;
//   dfl::DflTrainer trainer(o, pred.get(), nullptr, problem, data);
//   trainer.evaluate_initial();
//   while (!trainer.finished()) trainer.run_epoch(trainer.next_epoch(), progress);
//   trainer.restore_best();
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "diffdfl/core/distributed.h"
#include "diffdfl/dfl/estimators.h"
#include "diffdfl/dfl/evaluation.h"
#include "diffdfl/dfl/method.h"
#include "diffdfl/dfl/problem.h"
#include "diffdfl/dfl/train_config.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

struct SplitData {
  torch::Tensor x;
  torch::Tensor y;
};

struct TrainData {
  SplitData train, hold, test;
};

/// One row of the learning curve. Epoch −1 is the starting point (the pretrained model).
struct EpochRecord {
  int64_t epoch = -1;
  double train_cost = std::nan("");  ///< mean realised cost of the training batches
  double fit_loss = std::nan("");    ///< mean fitting loss when it is mixed in
  SplitMetrics hold;
  SplitMetrics test;
  double seconds = 0;           ///< wall time of the epoch (training and evaluation)
  int64_t skipped_steps = 0;    ///< non-finite steps this epoch
  int64_t solver_failures = 0;  ///< unusable training-time solves this epoch
  bool improved = false;        ///< new best hold-out cost

  nlohmann::json to_json() const;
  static EpochRecord from_json(const nlohmann::json& j);
};

/// What the trainer needs of a run's configuration.
///
/// Example: TrainerOptions o{Method::kDflMlp, /*seed=*/1, /*shuffle_targets=*/false, train, eval};
struct TrainerOptions {
  Method method = Method::kDflDiffusionSf;  ///< its estimator (kNone: evaluation only)
  uint64_t seed = 1;                        ///< batches (seed, "dfl", epoch) and target shuffles
  /// The fitting term mixed into DFL sees y permuted within the batch (batches.h, "dfl.fit").
  bool shuffle_targets = false;
  TrainConfig train;
  EvalConfig eval;  ///< per-epoch hold/test evaluation (eval.epoch_repeats draws)

  /// InvalidArgument naming the bad field (e.g. "TrainerOptions.train.lr must be > 0, got 0").
  void validate() const;
};

/// Progress of the current epoch: (batch, batches, running mean train cost).
using ProgressFn = std::function<void(int64_t, int64_t, double)>;

class DflTrainer {
 public:
  /// Exactly one of `predictor` and `policy` is non-null; the model must outlive the trainer.
  /// Checks `options` (TrainerOptions::validate). With `comm` of N > 1 ranks (every rank builds
  /// its trainer with the same arguments), rank 0's parameters are broadcast to all; a pooled
  /// program (one program over the whole batch) cannot be sharded and is refused.
  DflTrainer(const TrainerOptions& options, models::Predictor* predictor, models::PolicyNet* policy,
             DecisionProblem problem, TrainData data,
             std::shared_ptr<dist::Communicator> comm = nullptr);

  /// Evaluates hold and test before any training (curve epoch −1) and makes it the best state.
  EpochRecord evaluate_initial();
  /// Trains one epoch, evaluates hold and test, updates the best state and the stop rule.
  EpochRecord run_epoch(int64_t epoch, const ProgressFn& progress = nullptr);

  bool finished() const { return !stop_reason_.empty(); }
  /// "", "epochs", "patience" or "diverged: <why>".
  const std::string& stop_reason() const { return stop_reason_; }
  int64_t next_epoch() const { return next_epoch_; }
  int64_t best_epoch() const { return best_epoch_; }
  double best_hold() const { return best_hold_; }
  int64_t skipped_steps() const { return skipped_total_; }
  int64_t solver_failures() const { return failures_total_; }
  /// Mean wall seconds per training step inside the gradient collectives (waiting for the slowest
  /// rank included), over the steps this process ran; NaN for one rank or before any step.
  double comm_seconds_per_step() const;
  const std::vector<EpochRecord>& curve() const { return curve_; }

  /// Loads the best parameters into the model.
  void restore_best();

  /// Everything needed to continue: model, best state, optimizer, counters, curve and RNG state
  /// (every rank's: with N ranks all must call save, a collective; rank 0 writes the archive).
  /// load() refuses a checkpoint of another number of ranks.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  struct StepResult {
    double cost = 0;
    double fit = std::nan("");
    int64_t failures = 0;
    bool skipped = false;
  };
  /// One step on a global batch: the DFL backward of this rank's shard, averaged over the ranks,
  /// and the mixed step of estimators.h.
  StepResult train_step(const torch::Tensor& x, const torch::Tensor& y);
  /// Averages this rank's DFL gradient (in .grad) and cost over the ranks, weighted by usable
  /// instances; returns the global batch's loss (NaN when a rank's samples were not finite or no
  /// instance is usable) and sets `failures` to the global count.
  DflBatchLoss reduce_dfl(const DflBatchLoss& local, int64_t shard_rows,
                          std::vector<torch::Tensor>& grads);
  SplitMetrics evaluate(const SplitData& split);
  models::Model& model();
  const models::Model& model() const;
  std::vector<torch::Tensor> state_tensors() const;

  TrainerOptions config_;
  std::shared_ptr<dist::Communicator> comm_;  // never null (one rank by default)
  models::Predictor* predictor_ = nullptr;
  models::PolicyNet* policy_ = nullptr;
  DecisionProblem problem_;
  TrainData data_;
  TargetRange range_;                  // of the training targets, for the density scores
  std::vector<torch::Tensor> params_;  // trainable parameters
  std::unique_ptr<torch::optim::Optimizer> optimizer_;

  std::vector<torch::Tensor> best_state_;
  double best_hold_ = std::numeric_limits<double>::infinity();
  int64_t best_epoch_ = -1;
  int64_t bad_epochs_ = 0;
  int64_t next_epoch_ = 0;
  int64_t skipped_total_ = 0;
  int64_t failures_total_ = 0;
  std::string stop_reason_;
  std::vector<EpochRecord> curve_;
  double step_comm_seconds_ = 0;  // in train_step's collectives, this process
  int64_t steps_ = 0;
  int64_t step_epoch_ = 0;  // position of the current step (for seeded target shuffling)
  int64_t step_batch_ = 0;
};

}  // namespace diffdfl::dfl
