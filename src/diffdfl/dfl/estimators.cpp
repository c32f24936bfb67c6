#include "diffdfl/dfl/estimators.h"

#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/dfl/batches.h"
#include "diffdfl/dfl/evaluation.h"

namespace diffdfl::dfl {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// The policy baseline: the realised cost of its (projected) decisions, backpropagated.
DflBatchLoss direct_backward(models::PolicyNet& policy, const DecisionProblem& problem,
                             const torch::Tensor& x, const torch::Tensor& y) {
  opt::Solution proj;
  const torch::Tensor z = policy_decisions(policy, problem, x, &proj);
  const torch::Tensor ok = proj.status.empty()
                               ? torch::ones({z.size(0)}, z.options().dtype(torch::kBool))
                               : proj.ok_mask();
  const torch::Tensor loss = masked_mean(problem.cost(y, z), ok);
  loss.backward();
  return {loss.item<double>(), z.size(0) - ok.sum().item<int64_t>()};
}

DflBatchLoss rp_backward(models::Predictor& predictor, const DecisionProblem& problem,
                         const torch::Tensor& x, const torch::Tensor& y, int64_t M,
                         models::GraphMode rp_graph) {
  const torch::Tensor samples =
      draw_samples(predictor, x, M, Estimator::kReparameterization, rp_graph);
  if (!all_finite(samples)) return {kNan, 0};
  opt::Solution sol;
  const torch::Tensor loss = rp_cost(problem, samples, y, &sol);
  if (sol.failures() == sol.ok_mask().size(0)) return {kNan, sol.failures()};  // nothing to learn
  loss.backward();
  return {loss.item<double>(), sol.failures()};
}

/// Score function: detached samples, one adjoint per context, then the weighted surrogate.
DflBatchLoss sf_backward_batch(models::Predictor& predictor, const DecisionProblem& problem,
                               const torch::Tensor& x, const torch::Tensor& y, int64_t M) {
  const torch::Tensor samples =
      draw_samples(predictor, x, M, Estimator::kScoreFunction, models::GraphMode::kNone);
  if (!all_finite(samples)) return {kNan, 0};
  const opt::Solution sol = problem.layer->solve(samples);
  if (sol.failures() == sol.ok_mask().size(0)) return {kNan, sol.failures()};  // nothing to learn
  const ScoreWeights w = sf_weights(problem, samples, sol, y);
  sf_backward(predictor, problem, x, samples, w.weights, M);
  return {w.cost, sol.failures()};
}

}  // namespace

torch::Tensor draw_samples(models::Predictor& predictor, const torch::Tensor& x, int64_t M,
                           Estimator estimator, models::GraphMode rp_graph) {
  DIFFDFL_CHECK(
      estimator == Estimator::kReparameterization || estimator == Estimator::kScoreFunction,
      "draw_samples: only the reparameterization and score-function estimators sample");
  if (estimator == Estimator::kScoreFunction)
    return predictor.sample(x, M, models::GraphMode::kNone);
  return predictor.sample(x, M, predictor.rp_graph_mode(rp_graph));
}

bool all_finite(const torch::Tensor& samples) {
  return torch::isfinite(samples).all().item<bool>();
}

torch::Tensor rp_cost(const DecisionProblem& problem, const torch::Tensor& samples,
                      const torch::Tensor& y, opt::Solution* solution) {
  DIFFDFL_CHECK(solution != nullptr, "rp_cost: `solution` must not be null");
  const torch::Tensor z = problem.layer->decide(samples, solution);
  return masked_mean(problem.cost(y, z), solution->ok_mask());
}

ScoreWeights sf_weights(const DecisionProblem& problem, const torch::Tensor& samples,
                        const opt::Solution& solution, const torch::Tensor& y) {
  const torch::Tensor z = solution.z.detach().requires_grad_(true);
  const torch::Tensor loss = masked_mean(problem.cost(y, z), solution.ok_mask());
  const torch::Tensor dl_dz = torch::autograd::grad({loss}, {z})[0];
  ScoreWeights out;
  out.weights = problem.layer->sf_weights(samples, solution, dl_dz);
  out.cost = loss.item<double>();
  return out;
}

double sf_scale(const DecisionProblem& problem, int64_t B, int64_t M) {
  // Per context the estimator is (1/M) Σ_m w_bm ∇ log p; a pooled program averages over all B·M.
  const int64_t m_eff = problem.layer->options().pooled ? B * M : M;
  return 1.0 / static_cast<double>(m_eff);
}

void sf_backward(models::Predictor& predictor, const DecisionProblem& problem,
                 const torch::Tensor& x, const torch::Tensor& samples, const torch::Tensor& weights,
                 int64_t M) {
  predictor.surrogate_backward(x, samples, weights, sf_scale(problem, samples.size(0), M));
}

DflBatchLoss dfl_backward(models::Predictor* predictor, models::PolicyNet* policy,
                          const DecisionProblem& problem, const torch::Tensor& x,
                          const torch::Tensor& y, const EstimatorOptions& options) {
  DIFFDFL_CHECK((predictor == nullptr) != (policy == nullptr),
                "dfl_backward: give exactly one of a predictor and a policy");
  if (options.estimator == Estimator::kDirect) {
    DIFFDFL_CHECK(policy != nullptr, "dfl_backward: the direct estimator needs a policy");
    return direct_backward(*policy, problem, x, y);
  }
  DIFFDFL_CHECK(
      predictor != nullptr, "dfl_backward: the ",
      options.estimator == Estimator::kScoreFunction ? "score-function" : "reparameterization",
      " estimator needs a predictor");
  const int64_t M = samples_per_context(*predictor, options.samples);
  if (options.estimator == Estimator::kReparameterization)
    return rp_backward(*predictor, problem, x, y, M, options.rp_graph);
  DIFFDFL_CHECK(options.estimator == Estimator::kScoreFunction,
                "dfl_backward: a two-stage method has no DFL gradient");
  return sf_backward_batch(*predictor, problem, x, y, M);
}

FitGradient dfl_fit_gradient(models::Predictor& predictor, const std::vector<torch::Tensor>& params,
                             const torch::Tensor& x, const torch::Tensor& y,
                             const StepOptions& options, int64_t epoch, int64_t batch) {
  const torch::Tensor y_fit =
      options.shuffle_targets ? shuffled_rows(y, options.seed, "dfl.fit", epoch, batch) : y;
  return fit_gradient(predictor, params, x, y_fit, options.mix.fit_draws);
}

void set_mixed_gradients(const std::vector<torch::Tensor>& params,
                         const std::vector<torch::Tensor>& g_dfl, double n_dfl,
                         const std::vector<torch::Tensor>& g_fit, double n_fit,
                         const MixConfig& mix) {
  const bool mixing = !g_fit.empty();
  double s_dfl = 1.0;
  double s_fit = 1.0;
  if (mixing && mix.normalize == "dfl") s_dfl = n_dfl > 1e-30 ? n_fit / n_dfl : 0.0;
  if (mixing && mix.normalize == "fit") s_fit = n_fit > 1e-30 ? n_dfl / n_fit : 0.0;
  for (size_t i = 0; i < params.size(); ++i) {
    torch::Tensor g = g_dfl[i] * (mix.dfl_weight * s_dfl);
    if (mixing) g = g + g_fit[i] * (mix.fit_weight * s_fit);
    params[i].mutable_grad() = g;
  }
}

StepOutcome mixed_step(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params,
                       const std::vector<torch::Tensor>& g_dfl, double cost,
                       models::Predictor* predictor, const torch::Tensor& x, const torch::Tensor& y,
                       const StepOptions& options, int64_t epoch, int64_t batch) {
  StepOutcome out;
  const double n_dfl = global_norm(g_dfl);
  FitGradient fit;
  const bool mixing = predictor != nullptr && options.mix.fit_weight > 0;
  if (mixing) {
    fit = dfl_fit_gradient(*predictor, params, x, y, options, epoch, batch);
    if (options.comm != nullptr && options.comm->distributed()) {
      std::vector<torch::Tensor> values = fit.grads;
      values.push_back(torch::tensor({fit.loss}, torch::kDouble));
      dist::weighted_mean(*options.comm, values, static_cast<double>(x.size(0)));
      fit.loss = values.back().item<double>();
      fit.norm = global_norm(fit.grads);
    }
    out.fit = fit.loss;
  }
  if (!std::isfinite(cost) || !std::isfinite(n_dfl) || (mixing && !std::isfinite(fit.norm))) {
    optimizer.zero_grad();
    out.skipped = true;
    return out;
  }
  set_mixed_gradients(params, g_dfl, n_dfl, fit.grads, fit.norm, options.mix);
  if (options.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options.grad_clip);
  optimizer.step();
  return out;
}

}  // namespace diffdfl::dfl
