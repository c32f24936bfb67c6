// Fitting a predictor to data with its own loss (denoising / NLL / MSE): the two-stage methods and
// the pretraining every DFL method starts from. One epoch = one pass over shuffled minibatches.
//
// Example:
//   dfl::PredictorFitter fit(pred, cfg.pretrain, ds.train.x, ds.train.y, cfg.seed);
//   for (int64_t e = 0; e < cfg.pretrain.epochs; ++e) double loss = fit.run_epoch(e);
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>

#include "diffdfl/dfl/run_config.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

class PredictorFitter {
 public:
  /// With `shuffle_targets` each minibatch pairs x with permuted y (see batches.h).
  PredictorFitter(models::Predictor& predictor, const PretrainConfig& config, torch::Tensor x,
                  torch::Tensor y, uint64_t seed, bool shuffle_targets = false);

  /// One epoch; returns the mean fitting loss. `on_batch(b, n_batches, loss)` reports progress.
  double run_epoch(int64_t epoch,
                   const std::function<void(int64_t, int64_t, double)>& on_batch = nullptr);

  /// The optimizer's state, for resuming.
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  models::Predictor& predictor_;
  PretrainConfig config_;
  torch::Tensor x_;
  torch::Tensor y_;
  uint64_t seed_;
  bool shuffle_targets_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

/// Adam (or AdamW with weight decay) over the trainable parameters of `params`.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const std::string& kind, double lr,
                                                        double weight_decay);

}  // namespace diffdfl::dfl
