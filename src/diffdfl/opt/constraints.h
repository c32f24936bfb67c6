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

  /// G z for z [B, n] → [B, m]; Gᵀ λ for λ [B, m] → [B, n]; diag(Gᵀ diag(D) G) for bound
  /// constraints → [B, n]. Bound constraints use gathers and scatters instead of dense products.
  torch::Tensor G_times(const torch::Tensor& z) const;
  torch::Tensor Gt_times(const torch::Tensor& lam) const;
  torch::Tensor bounds_gdg_diag(const torch::Tensor& D) const;

  /// lo ≤ z_i ≤ hi for i < n: rows [−I; I], h = [−lo; hi]; no equalities.
  static LinearConstraints box(int64_t n, double lo, double hi);
  /// Builds from dense float64 tensors (empty A/b allowed: pass undefined tensors).
  static LinearConstraints make(torch::Tensor G, torch::Tensor h, torch::Tensor A = {},
                                torch::Tensor b = {});

  // Structure of bound constraints (set by make/box/to when bounds_only()): the column and sign of
  // each row.
  torch::Tensor bound_col;   ///< [m] int64, or undefined
  torch::Tensor bound_sign;  ///< [m] float64, or undefined

 private:
  void detect_bounds();
};

}  // namespace diffdfl::opt
