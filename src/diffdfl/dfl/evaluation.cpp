#include "diffdfl/dfl/evaluation.h"

#include <cmath>

#include "diffdfl/models/diffusion.h"

namespace diffdfl::dfl {

namespace {

using torch::indexing::Slice;

/// Running sums of per-instance metrics over batches.
struct Accumulator {
  double cost = 0;
  std::map<std::string, double> extra;
  double sq_err = 0;
  int64_t sq_count = 0;
  int64_t usable = 0;
  int64_t instances = 0;
  int64_t failures = 0;

  void add(const DecisionProblem& problem, const torch::Tensor& y, const torch::Tensor& z,
           const torch::Tensor& ok) {
    const torch::Tensor y64 = y.to(z.device(), torch::kDouble);
    const torch::Tensor okd = ok.to(torch::kDouble);
    cost += (problem.cost(y64, z) * okd).sum().item<double>();
    if (problem.extra_metrics) {
      for (const auto& [name, v] : problem.extra_metrics(y64, z)) {
        extra[name] += (v * okd).sum().item<double>();
      }
    }
    usable += ok.sum().item<int64_t>();
    instances += ok.size(0);
    failures += ok.size(0) - ok.sum().item<int64_t>();
  }

  SplitMetrics finish() const {
    SplitMetrics m;
    // With no usable instance the split has no cost: NaN (null in JSON), never a flattering 0.
    const double n = usable > 0 ? static_cast<double>(usable) : std::nan("");
    m.cost = cost / n;
    for (const auto& [name, v] : extra)
      m.extra[name] = v / n;
    if (sq_count > 0) m.rmse = std::sqrt(sq_err / static_cast<double>(sq_count));
    m.instances = instances;
    m.solver_failures = failures;
    return m;
  }
};

}  // namespace

nlohmann::json SplitMetrics::to_json() const {
  const auto number_or_null = [](double v) {
    return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
  };
  nlohmann::json j = {{"cost", number_or_null(cost)},
                      {"instances", instances},
                      {"solver_failures", solver_failures}};
  if (!std::isnan(rmse)) j["rmse"] = rmse;
  for (const auto& [k, v] : extra)
    j[k] = number_or_null(v);
  return j;
}

SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y, int64_t M,
                                int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = predictor.is_training();
  predictor.train(false);
  const int64_t N = x.size(0);
  const int64_t step = problem.layer->options().pooled ? N : batch_size;
  Accumulator acc;
  for (int64_t start = 0; start < N; start += step) {
    const int64_t end = std::min(N, start + step);
    const torch::Tensor xb = x.index({Slice(start, end)});
    const torch::Tensor yb = y.index({Slice(start, end)});
    const torch::Tensor samples = predictor.sample(xb, M, models::GraphMode::kNone);
    const opt::Solution sol = problem.layer->solve(samples);
    acc.add(problem, yb, sol.z, sol.ok_mask());
    const torch::Tensor err =
        samples.to(torch::kDouble).mean(1) - yb.to(samples.device(), torch::kDouble);
    acc.sq_err += err.pow(2).sum().item<double>();
    acc.sq_count += err.numel();
  }
  predictor.train(was_training);
  return acc.finish();
}

int64_t samples_per_context(const models::Predictor& predictor, int64_t configured) {
  return predictor.kind() == "mlp" ? 1 : configured;
}

SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y,
                                const EvalConfig& eval, int64_t samples) {
  const int64_t M = samples_per_context(predictor, samples > 0 ? samples : eval.samples);
  auto* diffusion = dynamic_cast<models::DiffusionPredictor*>(&predictor);
  if (diffusion == nullptr || eval.sample_steps <= 0) {
    return evaluate_predictor(predictor, problem, x, y, M, eval.batch_size);
  }
  const models::SamplerOptions train_sampler = diffusion->options().sampler;
  models::SamplerOptions eval_sampler = train_sampler;
  eval_sampler.steps = eval.sample_steps;
  diffusion->set_sampler(eval_sampler);
  SplitMetrics m = evaluate_predictor(predictor, problem, x, y, M, eval.batch_size);
  diffusion->set_sampler(train_sampler);
  return m;
}

torch::Tensor policy_decisions(models::PolicyNet& policy, const DecisionProblem& problem,
                               const torch::Tensor& x, opt::Solution* projection) {
  const torch::Tensor raw = policy.forward(x.to(policy.device(), policy.dtype()));
  if (!problem.policy_projection) {
    if (projection != nullptr) *projection = opt::Solution{};
    return raw.to(torch::kDouble);
  }
  return problem.policy_projection->decide(raw.unsqueeze(1), projection);
}

SplitMetrics evaluate_policy(models::PolicyNet& policy, const DecisionProblem& problem,
                             const torch::Tensor& x, const torch::Tensor& y, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = policy.is_training();
  policy.train(false);
  const int64_t N = x.size(0);
  Accumulator acc;
  for (int64_t start = 0; start < N; start += batch_size) {
    const int64_t end = std::min(N, start + batch_size);
    opt::Solution proj;
    const torch::Tensor z = policy_decisions(policy, problem, x.index({Slice(start, end)}), &proj);
    const torch::Tensor ok = proj.status.empty()
                                 ? torch::ones({z.size(0)}, z.options().dtype(torch::kBool))
                                 : proj.ok_mask();
    acc.add(problem, y.index({Slice(start, end)}), z, ok);
  }
  policy.train(was_training);
  return acc.finish();
}

}  // namespace diffdfl::dfl
