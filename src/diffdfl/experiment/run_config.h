// The resolved configuration of one run: every option of the predictor, pretraining, DFL
// fine-tuning and evaluation, read from JSON with errors that name the key, and written back in
// full (the run directory keeps it, so a run is reproducible from its config.json alone).
//
// Layout of the JSON (every section and key optional; see configs/README.md):
//   { "task": "power", "method": "dfl-diffusion-sf", "preset": "cpu", "seed": 1,
//     "device": "cpu", "threads": 0,
//     "data":      {"n_assets": 50, "verified_only": false},
//     "program":   {...}, "solver": {...},                       // tasks/task.h
//     "target_scaling": "standardize", "shuffle_targets": false,
//     "diffusion": {"T": 1000, "width": 1024, "sample_steps": 0, "eta": 0, "elbo_draws": 10, ...},
//     "gaussian":  {"width": 1024, "hidden_layers": 2},
//     "mlp":       {"width": 1024, "hidden_layers": 3, "bias_only": false},
//     "policy":    {"width": 1024, "hidden_layers": 2, "batch_norm": false},
//     "pretrain":  {"epochs": 800, "batch_size": 512, "lr": 1e-3, "optimizer": "adam", ...},
//     "train":     {"epochs": 50, "batch_size": 64, "lr": 1e-5, "samples": 25, ...},
//     "eval":      {"samples": 25, "batch_size": 256, "sample_steps": 0} }
//
// Every key is listed once, in a field table per section (run_config.cpp) that drives reading,
// writing and checking; the options structs of the learning code (dfl/train_config.h, the model
// options of models/) only carry the values. Runs are assembled here, in the experiment layer:
// experiment/session.h turns a RunConfig into the narrow options of the trainer and the predictor.
//
// Example:
//   RunConfig cfg = RunConfig::from_json(json, "configs/cpu.json");
//   nlohmann::json resolved = cfg.to_json();
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "diffdfl/dfl/method.h"
#include "diffdfl/dfl/train_config.h"
#include "diffdfl/models/diffusion.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/graph_mode.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/models/policy.h"

namespace diffdfl::experiment {

struct RunConfig {
  std::string task = "synthetic";
  dfl::Method method = dfl::Method::kDflDiffusionSf;
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

  dfl::PretrainConfig pretrain;
  dfl::TrainConfig train;
  dfl::EvalConfig eval;

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

}  // namespace diffdfl::experiment
