// Decision quality of a predictor or a policy on a split: the realised cost of its decisions, the
// task's extra metrics (portfolio return and regret), the RMSE of the sample mean, and the number
// of instances whose solve failed.
//
// Example:
//   dfl::SplitMetrics m = dfl::evaluate_predictor(pred, problem, ds.test.x, ds.test.y, 25, 256);
//   std::cout << m.cost << " " << m.rmse << "\n";
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "diffdfl/dfl/problem.h"
#include "diffdfl/dfl/run_config.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

struct SplitMetrics {
  double cost = 0.0;                    ///< mean realised cost over usable instances
  std::map<std::string, double> extra;  ///< means of the task's extra metrics
  double rmse = std::nan("");           ///< √mean((mean_m ŷ − y)²); NaN for policies
  int64_t instances = 0;
  int64_t solver_failures = 0;

  nlohmann::json to_json() const;
};

/// M samples per context (no graph) → decisions through the layer → metrics. Pooled programs use
/// the whole split as one batch (the reference's evaluation); others go `batch_size` contexts at a
/// time.
SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y, int64_t M,
                                int64_t batch_size);

/// Samples per context a predictor decides from: 1 for the deterministic MLP (its point
/// forecast), `configured` for every other predictor.
int64_t samples_per_context(const models::Predictor& predictor, int64_t configured);

/// evaluate_predictor with a run's evaluation settings: M = eval.samples (or `samples` when > 0,
/// e.g. `diffdfl eval --samples`) through samples_per_context, eval.batch_size, and for a diffusion
/// predictor the sampler with eval.sample_steps steps when that is set (restored afterwards).
SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y,
                                const EvalConfig& eval, int64_t samples = 0);

/// The policy's decisions (projected where the problem says so) → metrics.
SplitMetrics evaluate_policy(models::PolicyNet& policy, const DecisionProblem& problem,
                             const torch::Tensor& x, const torch::Tensor& y, int64_t batch_size);

/// A policy's feasible decisions [B, n_z] float64 with graph (raw output through the projection).
torch::Tensor policy_decisions(models::PolicyNet& policy, const DecisionProblem& problem,
                               const torch::Tensor& x, opt::Solution* projection = nullptr);

}  // namespace diffdfl::dfl
