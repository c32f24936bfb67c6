// The resolved configuration of one run: every option of the predictor, pretraining, DFL
// fine-tuning and evaluation, read from JSON with errors that name the key, and written back in
// full (the run directory keeps it, so a run is reproducible from its config.json alone).
//
// Layout of the JSON (every section and key optional; see configs/README.md):
//   { "task": "power", "method": "dfl-diffusion-sf", "preset": "cpu", "seed": 1,
//     "device": "cpu", "threads": 0,
//     "data":      {"n_assets": 50, "verified_only": false},
//     "program":   {...}, "solver": {...},                       // tasks/programs.h
//     "target_scaling": "standardize", "shuffle_targets": false,
//     "diffusion": {"T": 1000, "width": 1024, "sample_steps": 0, "eta": 0, "elbo_draws": 10, ...},
//     "gaussian":  {"width": 1024, "hidden_layers": 2},
//     "mlp":       {"width": 1024, "hidden_layers": 3, "bias_only": false},
//     "policy":    {"width": 1024, "hidden_layers": 2, "batch_norm": false},
//     "pretrain":  {"epochs": 800, "batch_size": 512, "lr": 1e-3, "optimizer": "adam", ...},
//     "train":     {"epochs": 50, "batch_size": 64, "lr": 1e-5, "samples": 25, ...},
//     "eval":      {"samples": 25, "batch_size": 256, "sample_steps": 0} }
//
// Example:
//   dfl::RunConfig cfg = dfl::RunConfig::from_json(json, "configs/cpu.json");
//   nlohmann::json resolved = cfg.to_json();
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "diffdfl/dfl/method.h"
#include "diffdfl/models/diffusion.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/graph_mode.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/models/policy.h"

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

struct RunConfig {
  std::string task = "synthetic";
  Method method = Method::kDflDiffusionSf;
  std::string preset = "custom";
  uint64_t seed = 1;
  std::string device = "cpu";
  int64_t threads = 0;  ///< intra-op threads; 0 = LibTorch's default

  int64_t n_assets = 50;                              ///< portfolio
  bool verified_only = false;                         ///< portfolio
  nlohmann::json program = nlohmann::json::object();  ///< validated by tasks::make_decision_layer
  nlohmann::json solver = nlohmann::json::object();

  std::string target_scaling = "standardize";  ///< "standardize" | "none"
  /// Fitting losses (pretraining, and the fit term mixed into DFL) see y permuted within each
  /// minibatch: valid only where y is independent of x (synthetic; the reference does it there).
  bool shuffle_targets = false;
  models::DiffusionOptions diffusion;
  models::GaussianOptions gaussian;
  models::MlpOptions mlp;
  models::PolicyOptions policy;

  PretrainConfig pretrain;
  TrainConfig train;
  EvalConfig eval;

  /// Reads every key (ConfigError naming an unknown key or a bad value; `source` names the file).
  static RunConfig from_json(const nlohmann::json& j, const std::string& source);
  /// The complete configuration, every option written out.
  nlohmann::json to_json() const;
  /// Cross-field checks and ranges (ConfigError naming the key): everything a run can check before
  /// it creates its directory.
  void validate() const;
  /// The part of the configuration that determines the pretrained model (cache key material).
  nlohmann::json pretrain_identity() const;
};

}  // namespace diffdfl::dfl
