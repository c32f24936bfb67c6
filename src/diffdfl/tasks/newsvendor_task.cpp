// The newsvendor task (data/newsvendor.h, tasks/newsvendor.h): the worked example of adding a task
// with this file, its loader in data/ and one line in registry.cpp.
#include <cmath>

#include "diffdfl/core/error.h"
#include "diffdfl/data/newsvendor.h"
#include "diffdfl/tasks/builtin_tasks.h"
#include "diffdfl/tasks/newsvendor.h"

namespace diffdfl::tasks {

namespace {

double normal_pdf(double x) {
  return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
}

double normal_cdf(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

}  // namespace

void NewsvendorCosts::validate() const {
  DIFFDFL_CHECK(std::isfinite(under) && under > 0 && under <= 1e6,
                "newsvendor: under must be in (0, 1e6], got ", under);
  DIFFDFL_CHECK(std::isfinite(over) && over > 0 && over <= 1e6,
                "newsvendor: over must be in (0, 1e6], got ", over);
  DIFFDFL_CHECK(std::isfinite(capacity) && capacity > 0 && capacity <= 1e9,
                "newsvendor: capacity must be in (0, 1e9], got ", capacity);
}

std::shared_ptr<opt::StochasticProgram> make_newsvendor_program(int64_t n,
                                                                const NewsvendorCosts& costs) {
  costs.validate();
  const double under = costs.under;
  const double over = costs.over;
  return std::make_shared<opt::CostFunctionProgram>(
      "newsvendor", n, n, opt::LinearConstraints::box(n, 0.0, costs.capacity),
      [under, over](const torch::Tensor& y, const torch::Tensor& z) {
        const torch::Tensor d = y - z;
        return (0.5 * under * torch::relu(d).pow(2) + 0.5 * over * torch::relu(-d).pow(2)).sum(-1);
      });
}

double standard_normal_expectile(double tau) {
  DIFFDFL_CHECK(tau > 0 && tau < 1, "standard_normal_expectile: tau must be in (0, 1), got ", tau);
  // g(e) = τ E(ξ − e)₊ − (1 − τ) E(e − ξ)₊ decreases in e: bisection.
  const auto g = [tau](double e) {
    const double above = normal_pdf(e) - e * (1.0 - normal_cdf(e));
    const double below = normal_pdf(e) + e * normal_cdf(e);
    return tau * above - (1.0 - tau) * below;
  };
  double lo = -40.0, hi = 40.0;
  for (int it = 0; it < 200 && hi - lo > 1e-14; ++it) {
    const double mid = 0.5 * (lo + hi);
    (g(mid) > 0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double gaussian_optimal_order(double mu, double sigma, const NewsvendorCosts& costs) {
  return mu + sigma * standard_normal_expectile(costs.tau());
}

double gaussian_expected_cost(double mu, double sigma, double z, const NewsvendorCosts& costs) {
  const double d = (mu - z) / sigma;
  const double shortfall = sigma * sigma * ((d * d + 1) * normal_cdf(d) + d * normal_pdf(d));
  const double excess = sigma * sigma * ((d * d + 1) * normal_cdf(-d) - d * normal_pdf(d));
  return 0.5 * costs.under * shortfall + 0.5 * costs.over * excess;
}

Task newsvendor_task() {
  Task t;
  t.name = "newsvendor";
  t.load = [](const DatasetOptions& options) {
    data::NewsvendorOptions o;
    o.seed = options.seed;
    return data::make_newsvendor(o);
  };
  t.program = "newsvendor";
  t.make_program = [](int64_t n, ConfigReader& program) {
    NewsvendorCosts c;
    program.get("under", c.under);
    program.get("over", c.over);
    program.get("capacity", c.capacity);
    ProgramParts parts;
    parts.program = make_newsvendor_program(n, c);
    parts.policy_output = models::PolicyOutput::kBox;
    parts.policy_box_upper = c.capacity;
    return parts;
  };
  return t;
}

}  // namespace diffdfl::tasks
