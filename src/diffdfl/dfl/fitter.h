// Fitting a predictor to data with its own loss (denoising / NLL / MSE): the two-stage methods and
// the pretraining every DFL method starts from. One epoch = one pass over shuffled minibatches.
//
// Options (PretrainConfig): Adam or AdamW, a constant or cosine learning rate, an exponential
// moving average of the weights, and hold-out selection: with select = "hold" the fitting loss of
// the hold-out split is evaluated every eval_every epochs, always with the same noise (a fixed
// random stream, so that two evaluations differ only through the weights), the best weights are
// kept, and `patience` evaluations without improvement stop the fit.
//
// Example:
//   dfl::PredictorFitter fit(pred, cfg.pretrain, train.x, train.y, cfg.seed, false, hold.x,
//   hold.y); for (int64_t e = 0; e < cfg.pretrain.epochs && !fit.stopped(); ++e) fit.run_epoch(e);
//   fit.finish();                        // loads the selected (best hold-out / EMA) weights
#pragma once

#include <torch/torch.h>

#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "diffdfl/dfl/train_config.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

class PredictorFitter {
 public:
  /// With `shuffle_targets` each minibatch pairs x with permuted y (see batches.h). The hold-out
  /// split is required when config.select is "hold" (InvalidArgument otherwise).
  PredictorFitter(models::Predictor& predictor, const PretrainConfig& config, torch::Tensor x,
                  torch::Tensor y, uint64_t seed, bool shuffle_targets = false,
                  torch::Tensor hold_x = {}, torch::Tensor hold_y = {});

  /// One epoch; returns the mean fitting loss. `on_batch(b, n_batches, loss)` reports progress.
  /// With select = "hold" the epoch ends with a hold-out evaluation when one is due.
  double run_epoch(int64_t epoch,
                   const std::function<void(int64_t, int64_t, double)>& on_batch = nullptr);

  /// The hold-out fitting loss of the weights that would be kept now (the EMA weights when the EMA
  /// is on), on the fixed evaluation stream; NaN without a hold-out split.
  double hold_loss();
  /// Hold-out loss of the last evaluation that ran in run_epoch (NaN if none ran in that epoch).
  double last_hold_loss() const { return last_hold_; }
  double best_hold_loss() const { return best_hold_; }
  int64_t best_epoch() const { return best_epoch_; }
  /// The hold-out patience ran out.
  bool stopped() const { return stopped_; }

  /// Loads the selected weights into the predictor: the best hold-out state (select = "hold"),
  /// else the EMA weights (ema > 0), else the current ones.
  void finish();

  /// The optimizer's state, the EMA, the best state and the counters, for resuming.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  std::vector<torch::Tensor> selected_weights() const;
  void update_ema();

  models::Predictor& predictor_;
  PretrainConfig config_;
  torch::Tensor x_, y_, hold_x_, hold_y_;
  uint64_t seed_;
  bool shuffle_targets_;
  std::vector<torch::Tensor> params_;  // trainable parameters
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<torch::Tensor> ema_;   // shadow of params_ (empty when off)
  std::vector<torch::Tensor> best_;  // best hold-out weights (empty until the first evaluation)
  int64_t steps_ = 0;
  double best_hold_ = std::numeric_limits<double>::infinity();
  int64_t best_epoch_ = -1;
  int64_t bad_evals_ = 0;
  double last_hold_ = std::numeric_limits<double>::quiet_NaN();
  bool stopped_ = false;
};

/// Adam (or AdamW with weight decay) over the trainable parameters of `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const std::string& kind, double lr,
                                                        double weight_decay);

}  // namespace diffdfl::dfl
