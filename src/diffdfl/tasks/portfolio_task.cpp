// The S&P 500 portfolio (data/portfolio.h, opt/portfolio.h). Its headline is the realised return
// yᵀz, maximised; the regret is the hindsight-best single asset's return minus it.
#include "diffdfl/data/portfolio.h"
#include "diffdfl/opt/portfolio.h"
#include "diffdfl/tasks/builtin_tasks.h"

namespace diffdfl::tasks {

Task portfolio_task() {
  Task t;
  t.name = "portfolio";
  t.load = [](const DatasetOptions& options) {
    data::PortfolioOptions o;
    o.seed = options.seed;
    o.data_dir = options.data_dir;
    o.n_assets = options.n_assets;
    o.verified_only = options.verified_only;
    o.verify_checksums = options.verify_checksums;
    return data::load_portfolio(o);
  };
  t.data_keys = {"n_assets", "verified_only"};
  t.program = "portfolio";
  t.make_program = [](int64_t n, ConfigReader& program) {
    opt::PortfolioOptions o;
    o.n = n;
    program.get("alpha", o.alpha);
    program.get("kkt_ridge", o.kkt_ridge);
    ProgramParts parts;
    parts.program = std::make_shared<opt::PortfolioProgram>(o);
    parts.policy_output = models::PolicyOutput::kSimplex;
    return parts;
  };
  t.headline = "return";
  t.headline_higher_is_better = true;
  t.extra_metrics = [](const torch::Tensor& y, const torch::Tensor& z) {
    const torch::Tensor ret = (y * z).sum(1);
    return std::map<std::string, torch::Tensor>{{"return", ret},
                                                {"regret", std::get<0>(y.max(1)) - ret}};
  };
  t.reporting.title = "test return, mean realised daily return (fraction; higher is better)";
  t.reporting.axis = "mean realised daily return (fraction of wealth)";
  t.reporting.extra_columns = {"regret"};
  t.reporting.size_key = "data.n_assets";
  t.reporting.size_unit = "assets";
  t.data_summary = [](const data::Dataset& ds) {
    // Mean over dates of max_a y: the return of the hindsight-optimal (all-in) portfolio.
    nlohmann::json best;
    for (const char* name : {"train", "hold", "test"}) {
      best[name] = std::get<0>(ds.split(name).y.max(1)).mean().item<double>();
    }
    return nlohmann::json{{"hindsight_mean_return", best}};
  };
  return t;
}

}  // namespace diffdfl::tasks
