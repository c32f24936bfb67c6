// Linear constraints G z ≤ h, A z = b shared by every instance of a batch.
//
// Example:
//   LinearConstraints box = LinearConstraints::box(10, 0.0, 2.0);   // 0 ≤ z ≤ 2, 20 rows
//   box.validate(10);
#pragma once

#include <torch/torch.h>

namespace diffdfl::opt {

struct LinearConstraints {
  torch::Tensor G;  ///< [m, n] float64
  torch::Tensor h;  ///< [m], or [B, m] for right-hand sides that differ per instance
  torch::Tensor A;  ///< [p, n] (p may be 0)
  torch::Tensor b;  ///< [p], or [B, p]

  int64_t n_ineq() const { return G.defined() ? G.size(0) : 0; }
  int64_t n_eq() const { return A.defined() ? A.size(0) : 0; }

  /// Throws InvalidArgument naming the bad field unless shapes fit n_z and values are finite.
  void validate(int64_t n_z) const;
  /// True when h or b differs per instance.
  bool batched_rhs() const { return h.dim() == 2 || b.dim() == 2; }
  /// The constraints of instance i (h, b sliced where batched).
  LinearConstraints instance(int64_t i) const;
  /// A copy on `device` (float64).
  LinearConstraints to(const torch::Device& device) const;
  /// True when every row of G is ±(a unit vector): bound constraints, whose KKT systems reduce to
  /// n_z × n_z with a diagonal constraint term.
  bool bounds_only() const;

  /// lo ≤ z_i ≤ hi for i < n: rows [−I; I], h = [−lo; hi]; no equalities.
  static LinearConstraints box(int64_t n, double lo, double hi);
  /// Builds from dense float64 tensors (empty A/b allowed: pass undefined tensors).
  static LinearConstraints make(torch::Tensor G, torch::Tensor h, torch::Tensor A = {},
                                torch::Tensor b = {});
};

}  // namespace diffdfl::opt
