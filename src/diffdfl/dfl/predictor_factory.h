// Builds the model of a method from a RunConfig.
//
// Example:
//   auto pred = dfl::make_predictor(cfg, /*x_dim=*/149, /*y_dim=*/24, torch::kCPU);
//   auto pi = dfl::make_policy(cfg, 149, 24, models::PolicyOutput::kRaw, torch::kCPU);
#pragma once

#include <torch/torch.h>

#include <memory>

#include "diffdfl/dfl/run_config.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

/// The predictor of cfg.method (InvalidArgument for the policy method). Weights are initialised
/// from the global generator, which the caller seeds.
std::unique_ptr<models::Predictor> make_predictor(const RunConfig& cfg, int64_t x_dim,
                                                  int64_t y_dim, torch::Device device);

/// Fixes the predictor's target transform from the training targets [N, y_dim] (standardisation
/// when cfg.target_scaling is "standardize"), and a diffusion model's ŷ0 range (their min and max).
void set_target_statistics(models::Predictor& predictor, const RunConfig& cfg,
                           const torch::Tensor& train_y);

/// The policy network with the given feasibility transform (box bounds from `box_upper`).
std::unique_ptr<models::PolicyNet> make_policy(const RunConfig& cfg, int64_t x_dim, int64_t z_dim,
                                               models::PolicyOutput output, double box_upper,
                                               torch::Device device);

}  // namespace diffdfl::dfl
