// Exact solver kernel for the power-scheduling SAA (used by PowerProgram; exposed for tests):
//
//   min_z Σ_h F_h(z_h)  s.t. |z_{h+1} − z_h| ≤ c,
//   F_h(z) = (1/M) Σ_m γu (y_mh − z)₊ + γo (z − y_mh)₊ + ½ (z − y_mh)².
//
// Dynamic programming over the hours on the derivative of the value function: V_h' = F_h' +
// W_{h−1}' with W(z) = min_{|z'−z| ≤ c} V(z'), whose derivative is V' translated by ±c away from
// argmin V and zero in between. Every V_h' is piecewise linear with jumps (one per sample kink),
// stored as sorted events, so the whole solve is exact (no iterations, no tolerance) and costs O(M
// n²) per instance. The optimum is recovered backwards: z_{h} = clip(argmin V_h, z_{h+1} − c,
// z_{h+1} + c).
//
// `analyse_power_solution` then classifies the solution: which ramps are active (chains of hours
// that move together), which chains sit on a sample's kink (pinned: they follow that sample), and
// the ramp multipliers ν (from stationarity along each chain).
//
// Example:
//   std::vector<double> z(24);
//   detail::power_dp_solve(y.data(), M, 24, params, z.data());   // y: M×24 row-major
#pragma once

#include <cstdint>
#include <vector>

namespace diffdfl::opt::detail {

struct PowerParams {
  double gamma_under = 50.0;
  double gamma_over = 0.5;
  double ramp = 0.4;
};

/// Solves one instance exactly. y: M × n row-major samples; z: n outputs.
void power_dp_solve(const double* y, int64_t M, int64_t n, const PowerParams& p, double* z);

/// Σ_h F_h(z_h) for one instance.
double power_saa_objective(const double* y, int64_t M, int64_t n, const PowerParams& p,
                           const double* z);

struct PowerAnalysis {
  std::vector<int> link;   ///< per link i (hours i, i+1): +1 up-ramp binding, −1 down, 0 free
  std::vector<double> nu;  ///< per link: ν_i = μ⁺_i − μ⁻_i (0 on free links)
  std::vector<int> chain;  ///< per hour: index of its chain (maximal run of binding links)
  std::vector<int> chain_start;  ///< per chain: first hour
  std::vector<int> chain_end;    ///< per chain: last hour (inclusive)
  std::vector<int> pin_sample;   ///< per chain: the sample m whose kink it sits on, or −1
  std::vector<int> pin_hour;     ///< per chain: the hour of that kink, or −1
};

/// Classifies an (exact) solution z of one instance; see the header comment.
PowerAnalysis analyse_power_solution(const double* y, int64_t M, int64_t n, const PowerParams& p,
                                     const double* z);

}  // namespace diffdfl::opt::detail
