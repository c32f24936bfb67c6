// Results of the decision layer: a batch of solutions with a status per instance.
//
// Example:
//   opt::Solution sol = opt::solve(program, samples);      // samples [B, M, n_y]
//   if (!sol.all_ok()) std::cerr << sol.brief() << "\n";   // "62 solved, 2 max-iter"
//   torch::Tensor ok = sol.ok_mask();                      // [B] bool: use these instances only
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace diffdfl::opt {

/// Outcome of one instance's solve. Numerical trouble is a status, never an exception.
enum class SolveStatus {
  kSolved,      ///< converged to the requested tolerance
  kInaccurate,  ///< stopped early but residuals are within the inaccurate tolerance (usable)
  kInfeasible,  ///< the constraints admit no point (certified by a phase-I problem)
  kMaxIter,     ///< iteration limit reached without an acceptable point
  kNumerical,   ///< a factorisation failed or a value became non-finite
};

/// "solved", "inaccurate", "infeasible", "max-iter", "numerical".
const char* to_string(SolveStatus s);

/// True for kSolved and kInaccurate: z is usable and the adjoint is meaningful.
inline bool usable(SolveStatus s) {
  return s == SolveStatus::kSolved || s == SolveStatus::kInaccurate;
}

/// A batch of solutions of `min_z (1/M) Σ_m f(ŷ_m, z) s.t. G z ≤ h, A z = b`. All tensors are
/// float64 on the device of the samples.
struct Solution {
  torch::Tensor z;                  ///< [B, n_z]
  torch::Tensor ineq_duals;         ///< [B, m]  λ ≥ 0 of G z ≤ h
  torch::Tensor eq_duals;           ///< [B, p]  ν of A z = b
  torch::Tensor slacks;             ///< [B, m]  h − G z ≥ 0
  torch::Tensor objective;          ///< [B]     SAA objective at z
  torch::Tensor iterations;         ///< [B]     int64
  std::vector<SolveStatus> status;  ///< one per instance

  int64_t batch() const { return static_cast<int64_t>(status.size()); }
  /// [B] bool on z's device: true where usable(status).
  torch::Tensor ok_mask() const;
  bool all_ok() const;
  /// Number of instances that are not usable.
  int64_t failures() const;
  /// One line, e.g. "64 instances: 63 solved, 1 max-iter; at most 21 iterations".
  std::string brief() const;
  /// Demotes to kNumerical every usable instance whose z, duals or objective is not finite (an
  /// overflow the solver did not notice): a status must never claim a solution it does not have.
  void mark_non_finite();
};

}  // namespace diffdfl::opt
