// PolicyNet: the direct decision baseline x → z (as in the authors' code), feasible by construction
// where the output transform allows it (docs/models.md §3):
//   kBox      z = lower + (upper − lower)·sigmoid(·)   (synthetic: [0, C]^n)
//   kSimplex  z = softmax(·)                            (portfolio: Σz = 1, 0 ≤ z ≤ 1; a cap
//                                                        below 1 is NOT enforced by softmax)
//   kRaw      z unconstrained (power: the ramp projection goes through the decision layer in the
//             training layer; models must not depend on opt)
// Trunk: x → [Linear(→W) → (BatchNorm1d) → ReLU] × hidden_layers → Linear(W→z_dim); BatchNorm
// (the reference's portfolio policy) needs batches of ≥ 2 rows in training mode.
//
// Example:
//   PolicyOptions o;
//   o.output = PolicyOutput::kSimplex;
//   o.batch_norm = true;
//   PolicyNet pi(/*x_dim=*/1400, /*z_dim=*/50, o);
//   torch::Tensor z = pi.forward(x);            // [B, 50], rows on the simplex
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "diffdfl/models/model.h"

namespace diffdfl::models {

enum class PolicyOutput { kRaw, kBox, kSimplex };

std::string to_string(PolicyOutput output);
PolicyOutput parse_policy_output(const std::string& name);  ///< "raw" | "box" | "simplex"

struct PolicyOptions {
  int64_t width = 1024;
  int64_t hidden_layers = 2;
  PolicyOutput output = PolicyOutput::kRaw;
  double box_lower = 0.0;  ///< kBox
  double box_upper = 1.0;  ///< kBox (the synthetic task's C)
  bool batch_norm = false;

  void validate() const;
};

class PolicyNet : public Model {
 public:
  PolicyNet(int64_t x_dim, int64_t z_dim, const PolicyOptions& options = {},
            torch::Device device = torch::kCPU, torch::Dtype dtype = torch::kFloat);

  std::string kind() const override { return "policy"; }
  int64_t x_dim() const { return x_dim_; }
  int64_t z_dim() const { return z_dim_; }
  const PolicyOptions& options() const { return options_; }

  /// Decisions z [B, z_dim] for x [B, x_dim], with graph.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t x_dim_;
  int64_t z_dim_;
  PolicyOptions options_;
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::BatchNorm1d> norms_;
  torch::nn::Linear out_{nullptr};
};

}  // namespace diffdfl::models
