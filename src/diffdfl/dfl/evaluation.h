// Decision quality of a predictor or a policy on a split: the realised cost of its decisions, the
// task's extra metrics (portfolio return and regret), the RMSE of the sample mean, the number of
// instances whose solve failed, and for probabilistic predictors (M ≥ 2) the density scores of
// scoring_rules.h. With eval.repeats = R the split is evaluated R times on independent sample
// draws and every number is the mean over the draws; the cost's spread over draws is reported, so
// that a difference between methods can be told from re-evaluation noise.
//
// Example:
//   dfl::SplitMetrics m = dfl::evaluate_predictor(pred, problem, ds.test.x, ds.test.y, cfg.eval,
//                                                 dfl::TargetRange::of(ds.train.y));
//   std::cout << m.cost << " ± " << m.cost_sampling_se << ", CRPS " << m.crps << "\n";
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "diffdfl/core/distributed.h"
#include "diffdfl/dfl/problem.h"
#include "diffdfl/dfl/scoring_rules.h"
#include "diffdfl/dfl/train_config.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::dfl {

struct SplitMetrics {
  double cost = 0.0;                    ///< mean realised cost over usable instances
  std::map<std::string, double> extra;  ///< means of the task's extra metrics
  double rmse = std::nan("");           ///< √mean((mean_m ŷ − y)²); NaN for policies
  // Density scores (scoring_rules.h), means over contexts; NaN for point forecasts and policies.
  double crps = std::nan("");        ///< CRPS per coordinate (lower is better)
  double energy = std::nan("");      ///< energy score (lower is better)
  double coverage90 = std::nan("");  ///< 90 % central-interval coverage (0.9 is calibrated)
  double outside = std::nan("");  ///< fraction of sample coordinates far outside the training range
  int64_t repeats = 1;            ///< independent sample draws averaged
  /// Standard deviation of one draw's cost over the draws (NaN for one draw); the sampling
  /// standard error of `cost` is cost_sampling_sd / √repeats.
  double cost_sampling_sd = std::nan("");
  int64_t instances = 0;  ///< contexts evaluated, over all draws
  int64_t solver_failures = 0;

  nlohmann::json to_json() const;
  static SplitMetrics from_json(const nlohmann::json& j);
};

/// One draw: M samples per context (no graph) → decisions through the layer → metrics. Pooled
/// programs use the whole split as one batch (the reference's evaluation); others go `batch_size`
/// contexts at a time. The density scores need M ≥ 2 (and `range` for `outside`).
/// With `comm` of N ranks each rank evaluates its contiguous shard of the split and the sums are
/// reduced, so every rank returns the same metrics (a pooled program is not sharded: InvalidArgument).
SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y, int64_t M,
                                int64_t batch_size, const TargetRange& range = {},
                                dist::Communicator* comm = nullptr);

/// Samples per context a predictor decides from: 1 for the deterministic MLP (its point
/// forecast), `configured` for every other predictor.
int64_t samples_per_context(const models::Predictor& predictor, int64_t configured);

/// evaluate_predictor with a run's evaluation settings: M = eval.samples (or `samples` when > 0,
/// e.g. `diffdfl eval --samples`) through samples_per_context, eval.batch_size, eval.repeats draws
/// (one for a point forecast, which has no sampling noise), and for a diffusion predictor the
/// sampler with eval.sample_steps steps when that is set (restored afterwards, also on error).
SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y,
                                const EvalConfig& eval, const TargetRange& range,
                                int64_t samples = 0, dist::Communicator* comm = nullptr);

/// The policy's decisions (projected where the problem says so) → metrics; sharded over the ranks
/// of `comm` as evaluate_predictor.
SplitMetrics evaluate_policy(models::PolicyNet& policy, const DecisionProblem& problem,
                             const torch::Tensor& x, const torch::Tensor& y, int64_t batch_size,
                             dist::Communicator* comm = nullptr);

/// A policy's feasible decisions [B, n_z] float64 with graph (raw output through the projection).
torch::Tensor policy_decisions(models::PolicyNet& policy, const DecisionProblem& problem,
                               const torch::Tensor& x, opt::Solution* projection = nullptr);

}  // namespace diffdfl::dfl
