// Decision-focused fine-tuning (docs/methods.md): every DFL method and the policy baseline, with
// the reference's gradient-norm matched mixing of the DFL gradient and the fitting-loss gradient,
// hold-out evaluation after every epoch, best-state selection with patience, guards against
// non-finite steps, and a checkpointable state (a killed run resumes bit-identically on the same
// machine and thread count: batches derive from (seed, epoch) and the RNG state is saved).
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
  /// Checks `options` (TrainerOptions::validate).
  DflTrainer(const TrainerOptions& options, models::Predictor* predictor, models::PolicyNet* policy,
             DecisionProblem problem, TrainData data);

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
  const std::vector<EpochRecord>& curve() const { return curve_; }

  /// Loads the best parameters into the model.
  void restore_best();

  /// Everything needed to continue: model, best state, optimizer, counters, curve and RNG state.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  struct StepResult {
    double cost = 0;
    double fit = std::nan("");
    int64_t failures = 0;
    bool skipped = false;
  };
  /// One step: the DFL backward and the mixed step of estimators.h.
  StepResult train_step(const torch::Tensor& x, const torch::Tensor& y);
  SplitMetrics evaluate(const SplitData& split);
  models::Model& model();
  const models::Model& model() const;
  std::vector<torch::Tensor> state_tensors() const;

  TrainerOptions config_;
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
  int64_t step_epoch_ = 0;  // position of the current step (for seeded target shuffling)
  int64_t step_batch_ = 0;
};

}  // namespace diffdfl::dfl
