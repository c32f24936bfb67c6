// The newsvendor task's program and its closed forms. Order z_j ≥ 0 of each product j against a
// demand y_j, paying a squared shortfall and a squared excess with different weights:
//
//   f(y, z) = Σ_j ½·under·(y_j − z_j)₊² + ½·over·(z_j − y_j)₊²,   0 ≤ z ≤ capacity.
//
// Its sample-average solution is the τ-expectile of each product's samples, τ = under/(under +
// over); for Gaussian demand N(μ, σ²) the optimal order is μ + σ·e_τ with e_τ the standard normal
// τ-expectile, and its expected cost has a closed form. The data (data/newsvendor.h) has Gaussian
// demand with a known mean given x, so the best achievable test cost is known: a predictor that
// learns p(y | x) exactly, with M → ∞ samples, reaches `gaussian_expected_cost` at the optimum.
// The cost is C¹ with a piecewise-constant, positive Hessian, so the interior-point method's
// Newton steps and the KKT adjoint are well defined.
//
// Example:
//   tasks::NewsvendorCosts c;                         // under 4, over 1: τ = 0.8
//   double e = tasks::standard_normal_expectile(0.8);  // 0.5492…
//   double z = tasks::gaussian_optimal_order(10.0, 2.0, c);            // 10 + 2e
//   double cost = tasks::gaussian_expected_cost(10.0, 2.0, z, c);      // the least expected cost
#pragma once

#include <torch/torch.h>

#include <memory>

#include "diffdfl/opt/program.h"

namespace diffdfl::tasks {

struct NewsvendorCosts {
  double under = 4.0;       ///< weight of the squared shortfall (y − z)₊²
  double over = 1.0;        ///< weight of the squared excess (z − y)₊²
  double capacity = 100.0;  ///< upper bound of every order

  /// Throws InvalidArgument naming the bad field.
  void validate() const;
  /// τ = under / (under + over).
  double tau() const { return under / (under + over); }
};

/// The program for n products (a CostFunctionProgram: every derivative by autograd).
std::shared_ptr<opt::StochasticProgram> make_newsvendor_program(int64_t n,
                                                                const NewsvendorCosts& costs);

/// The τ-expectile of N(0, 1), 0 < τ < 1: the e with τ·E(ξ − e)₊ = (1 − τ)·E(e − ξ)₊.
double standard_normal_expectile(double tau);
/// The order minimising E f(y, z) for y ~ N(mu, sigma²), before the capacity bound.
double gaussian_optimal_order(double mu, double sigma, const NewsvendorCosts& costs);
/// E f(y, z) for one product with y ~ N(mu, sigma²).
double gaussian_expected_cost(double mu, double sigma, double z, const NewsvendorCosts& costs);

}  // namespace diffdfl::tasks
