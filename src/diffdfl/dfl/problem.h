// What the trainer needs from a task: the decision layer, the realised cost of a decision, the
// policy baseline's feasibility map, and the task's extra metrics. Each task builds its own from
// its registry entry (tasks/task.h), which sits above this layer.
//
// Example:
//   dfl::DecisionProblem p = tasks::make_problem("power", program, solver, /*n_y=*/24).problem;
//   torch::Tensor z = p.layer->solve(samples).z;      // [B, n_z]
//   torch::Tensor c = p.cost(y_true, z);               // [B] realised cost, differentiable in z
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "diffdfl/opt/decision_layer.h"

namespace diffdfl::dfl {

struct DecisionProblem {
  /// Samples [B, M, n_y] → decisions [B, n_z].
  std::shared_ptr<opt::DecisionLayer> layer;
  /// Maps a policy network's raw output onto the feasible set through a layer of its own (power:
  /// the projection onto the ramp constraints); null when the policy is feasible by construction.
  std::shared_ptr<opt::DecisionLayer> policy_projection;
  /// Name of the task's headline metric in reports ("cost" or "return") and whether it is
  /// maximised.
  std::string headline = "cost";
  bool headline_higher_is_better = false;
  /// Extra per-instance metrics from (y [B, n_y], z [B, n_z]) float64, e.g. portfolio "return" and
  /// "regret".
  std::function<std::map<std::string, torch::Tensor>(const torch::Tensor& y,
                                                     const torch::Tensor& z)>
      extra_metrics;

  /// Realised cost f(y_b, z_b) → [B] float64 (the program's own cost, differentiable in z).
  torch::Tensor cost(const torch::Tensor& y, const torch::Tensor& z) const;
};

}  // namespace diffdfl::dfl
