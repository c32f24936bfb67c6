#include "diffdfl/dfl/evaluation.h"

#include <cmath>
#include <optional>
#include <set>
#include <vector>

namespace diffdfl::dfl {

namespace {

using nlohmann::json;
using torch::indexing::Slice;

/// Running sums of per-instance metrics over batches.
struct Accumulator {
  double cost = 0;
  std::map<std::string, double> extra;
  double sq_err = 0;
  int64_t sq_count = 0;
  double crps = 0, energy = 0, coverage = 0, outside = 0;
  int64_t scored = 0;  // contexts with density scores
  bool has_outside = false;
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

  void add_samples(const torch::Tensor& samples, const torch::Tensor& y, const TargetRange& range) {
    const torch::Tensor err =
        samples.to(torch::kDouble).mean(1) - y.to(samples.device(), torch::kDouble);
    sq_err += err.pow(2).sum().item<double>();
    sq_count += err.numel();
    if (samples.size(1) < 2) return;  // a point forecast has no distribution to score
    crps += dfl::crps(samples, y).sum().item<double>();
    energy += energy_score(samples, y).sum().item<double>();
    coverage += interval_coverage(samples, y, 0.9).sum().item<double>();
    if (range.defined()) {
      outside += outside_fraction(samples, range).sum().item<double>();
      has_outside = true;
    }
    scored += samples.size(0);
  }

  /// Sums over the ranks of `comm` (every rank holds the same totals afterwards).
  void reduce(dist::Communicator* comm) {
    if (comm == nullptr || !comm->distributed()) return;
    std::vector<double> v = {cost,
                             sq_err,
                             static_cast<double>(sq_count),
                             crps,
                             energy,
                             coverage,
                             outside,
                             static_cast<double>(scored),
                             has_outside ? 1.0 : 0.0,
                             static_cast<double>(usable),
                             static_cast<double>(instances),
                             static_cast<double>(failures)};
    for (const auto& [name, value] : extra)  // the same names on every rank (a non-empty shard)
      v.push_back(value);
    std::vector<torch::Tensor> t = {torch::tensor(v, torch::kDouble)};
    comm->all_reduce_sum(t);
    const auto r = t[0].accessor<double, 1>();
    cost = r[0];
    sq_err = r[1];
    sq_count = static_cast<int64_t>(r[2]);
    crps = r[3];
    energy = r[4];
    coverage = r[5];
    outside = r[6];
    scored = static_cast<int64_t>(r[7]);
    has_outside = r[8] > 0;
    usable = static_cast<int64_t>(r[9]);
    instances = static_cast<int64_t>(r[10]);
    failures = static_cast<int64_t>(r[11]);
    int64_t i = 12;
    for (auto& [name, value] : extra)
      value = r[i++];
  }

  SplitMetrics finish() const {
    SplitMetrics m;
    // With no usable instance the split has no cost: NaN (null in JSON), never a flattering 0.
    const double n = usable > 0 ? static_cast<double>(usable) : std::nan("");
    m.cost = cost / n;
    for (const auto& [name, v] : extra)
      m.extra[name] = v / n;
    if (sq_count > 0) m.rmse = std::sqrt(sq_err / static_cast<double>(sq_count));
    if (scored > 0) {
      const double c = static_cast<double>(scored);
      m.crps = crps / c;
      m.energy = energy / c;
      m.coverage90 = coverage / c;
      if (has_outside) m.outside = outside / c;
    }
    m.instances = instances;
    m.solver_failures = failures;
    return m;
  }
};

/// The rows [begin, end) of an N-row split this rank evaluates: all of them for one rank.
std::pair<int64_t, int64_t> eval_shard(int64_t N, dist::Communicator* comm) {
  if (comm == nullptr || !comm->distributed()) return {0, N};
  if (N < comm->world_size())
    fail<InvalidArgument>("a split of ", N, " rows cannot be shared by ", comm->world_size(),
                          " ranks; use fewer ranks");
  return dist::shard_range(N, comm->rank(), comm->world_size());
}

json number_or_null(double v) {
  return std::isnan(v) ? json() : json(v);
}

double number(const json& v) {
  return v.is_null() ? std::nan("") : v.get<double>();
}

/// Mean of the draws' metrics; the cost's standard deviation over the draws.
SplitMetrics average_draws(const std::vector<SplitMetrics>& draws) {
  if (draws.size() == 1) return draws.front();
  SplitMetrics m;
  const auto R = static_cast<double>(draws.size());
  auto mean = [&](auto field) {
    double sum = 0;
    for (const auto& d : draws)
      sum += field(d);
    return sum / R;
  };
  m.cost = mean([](const SplitMetrics& d) { return d.cost; });
  for (const auto& [name, v] : draws.front().extra) {
    m.extra[name] = mean([&name = name](const SplitMetrics& d) { return d.extra.at(name); });
  }
  m.rmse = mean([](const SplitMetrics& d) { return d.rmse; });
  m.crps = mean([](const SplitMetrics& d) { return d.crps; });
  m.energy = mean([](const SplitMetrics& d) { return d.energy; });
  m.coverage90 = mean([](const SplitMetrics& d) { return d.coverage90; });
  m.outside = mean([](const SplitMetrics& d) { return d.outside; });
  double ss = 0;
  for (const auto& d : draws) {
    ss += (d.cost - m.cost) * (d.cost - m.cost);
    m.instances += d.instances;
    m.solver_failures += d.solver_failures;
  }
  m.cost_sampling_sd = std::sqrt(ss / (R - 1));
  m.repeats = static_cast<int64_t>(draws.size());
  return m;
}

}  // namespace

json SplitMetrics::to_json() const {
  json j = {{"cost", number_or_null(cost)},
            {"instances", instances},
            {"solver_failures", solver_failures}};
  if (!std::isnan(rmse)) j["rmse"] = rmse;
  const std::pair<const char*, double> scores[] = {
      {"crps", crps}, {"energy", energy}, {"coverage90", coverage90}, {"outside", outside}};
  for (const auto& [k, v] : scores) {
    if (!std::isnan(v)) j[k] = v;
  }
  if (repeats > 1) {
    j["repeats"] = repeats;
    j["cost_sampling_sd"] = number_or_null(cost_sampling_sd);
  }
  for (const auto& [k, v] : extra)
    j[k] = number_or_null(v);
  return j;
}

SplitMetrics SplitMetrics::from_json(const json& j) {
  SplitMetrics m;
  if (j.is_null()) return m;
  static const std::set<std::string> known = {
      "cost",   "instances",  "solver_failures", "rmse",    "crps",
      "energy", "coverage90", "outside",         "repeats", "cost_sampling_sd"};
  m.cost = number(j.at("cost"));
  m.instances = j.at("instances").get<int64_t>();
  m.solver_failures = j.at("solver_failures").get<int64_t>();
  const std::pair<const char*, double*> optional[] = {
      {"rmse", &m.rmse},       {"crps", &m.crps},
      {"energy", &m.energy},   {"coverage90", &m.coverage90},
      {"outside", &m.outside}, {"cost_sampling_sd", &m.cost_sampling_sd}};
  for (const auto& [k, field] : optional) {
    if (j.contains(k)) *field = number(j.at(k));
  }
  if (j.contains("repeats")) m.repeats = j.at("repeats").get<int64_t>();
  for (const auto& [k, v] : j.items()) {
    if (known.count(k) == 0) m.extra[k] = number(v);
  }
  return m;
}

SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y, int64_t M,
                                int64_t batch_size, const TargetRange& range,
                                dist::Communicator* comm) {
  torch::NoGradGuard no_grad;
  const bool pooled = problem.layer->options().pooled;
  DIFFDFL_CHECK(!pooled || comm == nullptr || !comm->distributed(),
                "a pooled program (one program over the whole split) cannot be evaluated in "
                "shards; evaluate it in one process");
  const bool was_training = predictor.is_training();
  predictor.train(false);
  const auto [first, N] = eval_shard(x.size(0), comm);
  const int64_t step = pooled ? N : batch_size;
  Accumulator acc;
  for (int64_t start = first; start < N; start += step) {
    const int64_t end = std::min(N, start + step);
    const torch::Tensor xb = x.index({Slice(start, end)});
    const torch::Tensor yb = y.index({Slice(start, end)});
    const torch::Tensor samples = predictor.sample(xb, M, models::GraphMode::kNone);
    const opt::Solution sol = problem.layer->solve(samples);
    acc.add(problem, yb, sol.z, sol.ok_mask());
    acc.add_samples(samples, yb, range);
  }
  predictor.train(was_training);
  acc.reduce(comm);
  return acc.finish();
}

int64_t samples_per_context(const models::Predictor& predictor, int64_t configured) {
  return predictor.is_point_forecast() ? 1 : configured;
}

SplitMetrics evaluate_predictor(models::Predictor& predictor, const DecisionProblem& problem,
                                const torch::Tensor& x, const torch::Tensor& y,
                                const EvalConfig& eval, const TargetRange& range, int64_t samples,
                                dist::Communicator* comm) {
  const int64_t M = samples_per_context(predictor, samples > 0 ? samples : eval.samples);
  std::optional<models::ScopedSampleSteps> steps;  // restored on every exit
  if (eval.sample_steps > 0) steps.emplace(predictor, eval.sample_steps);
  const int64_t draws = predictor.is_point_forecast() ? 1 : eval.repeats;
  std::vector<SplitMetrics> out;
  for (int64_t r = 0; r < draws; ++r)
    out.push_back(evaluate_predictor(predictor, problem, x, y, M, eval.batch_size, range, comm));
  return average_draws(out);
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
                             const torch::Tensor& x, const torch::Tensor& y, int64_t batch_size,
                             dist::Communicator* comm) {
  torch::NoGradGuard no_grad;
  const bool was_training = policy.is_training();
  policy.train(false);
  const auto [first, N] = eval_shard(x.size(0), comm);
  Accumulator acc;
  for (int64_t start = first; start < N; start += batch_size) {
    const int64_t end = std::min(N, start + batch_size);
    opt::Solution proj;
    const torch::Tensor z = policy_decisions(policy, problem, x.index({Slice(start, end)}), &proj);
    const torch::Tensor ok = proj.status.empty()
                                 ? torch::ones({z.size(0)}, z.options().dtype(torch::kBool))
                                 : proj.ok_mask();
    acc.add(problem, y.index({Slice(start, end)}), z, ok);
  }
  policy.train(was_training);
  acc.reduce(comm);
  return acc.finish();
}

}  // namespace diffdfl::dfl
