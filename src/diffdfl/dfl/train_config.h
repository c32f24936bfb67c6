// The options of the dfl layer's learning code, one struct per configuration section: fitting
// (PretrainConfig, for PredictorFitter), DFL fine-tuning (TrainConfig with its MixConfig, for
// DflTrainer and the estimators) and evaluation (EvalConfig). A run's configuration
// (run_config.h) holds one of each and reads, writes and checks them; these structs only carry
// the values, so the learning code depends on nothing but the options it uses.
//
// Example:
//   dfl::TrainConfig t;
//   t.epochs = 5;
//   t.mix.fit_weight = 1.0;        // mix the fitting-loss gradient in
//   t.mix.normalize = "dfl";       // rescaled to the DFL gradient's norm
#pragma once

#include <cstdint>
#include <string>

#include "diffdfl/models/graph_mode.h"

namespace diffdfl::dfl {

/// Fitting the predictor (two-stage training, and the starting point of every DFL method).
struct PretrainConfig {
  int64_t epochs = 800;      ///< the most epochs (fewer when the hold-out patience stops it)
  int64_t batch_size = 512;  ///< 0 = full batch
  double lr = 1e-3;
  std::string optimizer = "adam";        ///< "adam" | "adamw"
  double weight_decay = 0.0;             ///< adamw only
  std::string lr_schedule = "constant";  ///< "constant" | "cosine" (lr·½(1 + cos(π e/epochs)))
  /// Exponential moving average of the weights, decay per step (0 = off); the EMA weights are the
  /// ones evaluated on the hold-out split and kept.
  double ema = 0.0;
  /// "last": keep the weights of the last epoch (the reference); "hold": evaluate the fitting loss
  /// on the hold-out split every `eval_every` epochs (same noise every time) and keep the best.
  std::string select = "last";
  int64_t eval_every = 10;
  int64_t patience = 0;     ///< hold-out evaluations without improvement before stopping; 0 = never
  int64_t hold_draws = 10;  ///< passes over the hold split per evaluation (noise draws)
};

/// How the decision-focused gradient is mixed with the fitting-loss gradient (as in the authors'
/// code): g = dfl_weight · s_dfl · g_dfl + fit_weight · s_fit · g_fit, where `normalize` chooses
/// which gradient is rescaled to the other's norm: "dfl" (s_dfl = ‖g_fit‖/‖g_dfl‖), "fit" (s_fit =
/// ‖g_dfl‖/‖g_fit‖) or "none".
struct MixConfig {
  double dfl_weight = 1.0;
  double fit_weight = 0.0;
  std::string normalize = "none";
  int64_t fit_draws = 1;  ///< fitting-loss evaluations averaged per step (reference diffusion: 10)
};

struct TrainConfig {
  int64_t epochs = 50;
  int64_t batch_size = 64;  ///< 0 = full batch
  double lr = 1e-5;
  int64_t samples = 25;     ///< M per context (1 for the MLP methods, whatever this says)
  int64_t patience = 0;     ///< epochs without hold-out improvement before stopping; 0 = never
  double min_delta = 1e-4;  ///< improvement that resets the patience
  int64_t max_skipped_steps = 20;  ///< non-finite steps tolerated before the run stops
  double grad_clip = 0.0;          ///< max gradient norm after mixing; 0 = off
  MixConfig mix;
  /// Diffusion reparameterization: "full" or "checkpointed" storage of the sampler graph.
  models::GraphMode rp_graph = models::GraphMode::kCheckpointed;
};

struct EvalConfig {
  int64_t samples = 25;      ///< M per context at evaluation
  int64_t batch_size = 256;  ///< contexts per batch (pooled programs use the whole split)
  int64_t sample_steps = 0;  ///< diffusion: S at evaluation; 0 = as in training
  /// Independent sample draws averaged in the final evaluation and `diffdfl eval` (point
  /// forecasts always use one) ...
  int64_t repeats = 1;
  /// ... and in the hold/test evaluation after every training epoch (the model selection).
  int64_t epoch_repeats = 1;
};

/// The largest learning rate accepted (train.lr, pretrain.lr): larger values are no learning rate
/// for Adam, and beyond float32's range they are not even a number.
inline constexpr double kMaxLearningRate = 10.0;  // the messages say "(0, 10]"
/// The most samples per context accepted (train.samples, eval.samples).
inline constexpr int64_t kMaxSamples = 100000;

}  // namespace diffdfl::dfl
