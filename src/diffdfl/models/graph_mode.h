// GraphMode: whether a predictor's sampler records an autograd graph, and how.
//
// Example:
//   torch::Tensor y = pred.sample(x, 25, GraphMode::kNone);          // evaluation / score function
//   torch::Tensor y = pred.sample(x, 25, GraphMode::kCheckpointed);  // reparameterization, O(√S)
//   memory
#pragma once

#include <string>

namespace diffdfl::models {

enum class GraphMode {
  kNone,          ///< no autograd graph (runs under NoGradGuard; the fast path)
  kFull,          ///< full graph: every step's activations are stored
  kCheckpointed,  ///< diffusion: segment checkpointing (same gradient, O(√S) activations); others:
                  ///< kFull
};

/// "none", "full", "checkpointed".
std::string to_string(GraphMode mode);
/// Inverse of to_string; InvalidArgument for another name.
GraphMode parse_graph_mode(const std::string& name);

}  // namespace diffdfl::models
