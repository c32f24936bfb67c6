// Builds the model of a method from the options of its model alone (PredictorOptions, or the
// policy's options); the experiment layer fills them from a run's configuration
// (experiment/session.h).
//
// Example:
//   dfl::PredictorOptions o;
//   o.method = dfl::Method::kDflDiffusionRp;
//   o.diffusion.schedule.steps = 100;
//   auto pred = dfl::make_predictor(o, /*x_dim=*/149, /*y_dim=*/24, torch::kCPU);
//   dfl::set_target_statistics(*pred, o.standardize_targets, train_y);
//   auto pi = dfl::make_policy(models::PolicyOptions{}, 149, 24, models::PolicyOutput::kRaw, 1.0,
//                              torch::kCPU);
#pragma once

#include <torch/torch.h>

#include <memory>

#include "diffdfl/dfl/method.h"
#include "diffdfl/models/diffusion.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

/// What building a method's predictor needs: the method (its PredictorKind picks the model), each
/// model's options (only the method's one is used) and the target scaling.
struct PredictorOptions {
  Method method = Method::kDflDiffusionSf;
  models::DiffusionOptions diffusion;
  models::GaussianOptions gaussian;
  models::MlpOptions mlp;
  bool standardize_targets = true;  ///< target_scaling "standardize" (false: "none")
};

/// The predictor of options.method (InvalidArgument for the policy method). Weights are
/// initialised from the global generator, which the caller seeds.
std::unique_ptr<models::Predictor> make_predictor(const PredictorOptions& options, int64_t x_dim,
                                                  int64_t y_dim, torch::Device device);

/// Fixes the predictor's target transform from the training targets [N, y_dim] (standardisation
/// when `standardize`), and its target range (their min and max; Predictor::set_target_range).
void set_target_statistics(models::Predictor& predictor, bool standardize,
                           const torch::Tensor& train_y);

/// The policy network with the given feasibility transform (box bounds [0, box_upper]).
std::unique_ptr<models::PolicyNet> make_policy(const models::PolicyOptions& options, int64_t x_dim,
                                               int64_t z_dim, models::PolicyOutput output,
                                               double box_upper, torch::Device device);

}  // namespace diffdfl::dfl
