// `diffdfl solve --task T --samples FILE.csv [--upstream FILE.csv]
//  [--gradient reference|exact|smoothed] [--set key=value]...`: solves one context's stochastic
// program from M samples (CSV, M rows × n_y columns, optional header) and prints one JSON object:
// status, iterations, objective, z, duals, and with --upstream (∂ℓ/∂z, one row of n_z) the
// reparameterization gradient w.r.t. the samples, the score-function weights and
// "gradient_status". A status that is not usable (e.g. "numerical" for samples that overflow) or
// unusable gradients exit with code 4 after the JSON, with one line on stderr saying why. Keys for
// --set: program.<key> and solver.<key>, as each task reads them (src/diffdfl/tasks/) (e.g. --set
// program.ramp=0.3 --set solver.tol=1e-9).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "diffdfl/core/config.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"
#include "diffdfl/opt/power.h"
#include "diffdfl/tasks/task.h"

namespace diffdfl::cli {

namespace {

struct SolveOptions {
  std::string task;
  std::string samples;
  std::string upstream;
  std::string gradient;
  std::vector<std::string> sets;
};

std::string shortest(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kDouble).contiguous().reshape({-1});
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

nlohmann::json to_rows(const torch::Tensor& t) {
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t i = 0; i < t.size(0); ++i)
    rows.push_back(to_vector(t[i]));
  return rows;
}

void run_solve(const SolveOptions& o) {
  nlohmann::json config = nlohmann::json::object();
  if (!o.gradient.empty()) config["program"]["gradient"] = o.gradient;
  apply_overrides(config, o.sets);
  const torch::Tensor samples = read_numeric_csv(o.samples);  // [M, n_y], named errors
  const int64_t n = samples.size(1);
  if (n > tasks::kMaxDecisionDim) {
    fail<DataError>(o.samples, ": ", n, " columns, but a program has at most ",
                    tasks::kMaxDecisionDim,
                    " decision variables (one column per coordinate of y; rows are samples)");
  }
  ConfigReader reader(config, "--set");
  const auto layer = tasks::make_decision_layer(o.task, n, reader);
  reader.finish();
  const opt::StochasticProgram& program = layer->program();
  if (program.name() == "power" && n < 2) fail<DataError>(o.samples, ": power needs >= 2 columns");
  torch::Tensor u;
  if (!o.upstream.empty()) {  // read before solving: a bad file is an error, not a late surprise
    NumericCsvOptions csv;
    csv.expected_columns = program.n_z();
    u = read_numeric_csv(o.upstream, csv);
    if (u.size(0) != 1)
      fail<DataError>(o.upstream, ": expected one row (dl/dz), found ", u.size(0));
  }

  const torch::Tensor y = samples.unsqueeze(0);  // one context
  opt::Solution sol;
  const torch::Tensor yg = y.clone().requires_grad_(true);
  const torch::Tensor z = layer->decide(yg, &sol);
  nlohmann::json out;
  out["task"] = o.task;
  out["program"] = program.name();
  out["status"] = opt::to_string(sol.status[0]);
  out["iterations"] = sol.iterations[0].item<int64_t>();
  out["objective"] = sol.objective[0].item<double>();
  out["z"] = to_vector(sol.z[0]);
  out["ineq_duals"] = to_vector(sol.ineq_duals[0]);
  out["eq_duals"] = to_vector(sol.eq_duals[0]);
  std::string problem;
  if (!opt::usable(sol.status[0])) {
    problem =
        std::string("the solve did not succeed (status ") + opt::to_string(sol.status[0]) +
        "); its z, duals and objective are not a solution" +
        (torch::isfinite(samples).all().item<bool>() && samples.abs().max().item<double>() > 1e100
             ? ": samples as large as " + shortest(samples.abs().max().item<double>()) +
                   " overflow float64 arithmetic"
             : "");
  }
  if (u.defined()) {
    const int64_t failures_before = layer->stats().adjoint_failures;
    (z * u).sum().backward();
    const torch::Tensor weights = layer->sf_weights(y, sol, u);
    const bool gradient_ok =
        opt::usable(sol.status[0]) && layer->stats().adjoint_failures == failures_before;
    out["gradient_status"] = gradient_ok ? "ok" : "failed";
    out["dloss_dsamples"] = to_rows(yg.grad()[0]);
    out["sf_weights"] = to_vector(weights[0]);
    if (problem.empty() && !gradient_ok) {
      problem =
          "the gradients are not usable (the adjoint system is singular or its result is not "
          "finite); dloss_dsamples and sf_weights are zero";
    }
  }
  std::cout << out.dump(2) << "\n";
  if (!problem.empty()) {
    std::cerr << "diffdfl: " << problem << "\n";
    throw ExitCode{kExitFailed};
  }
}

}  // namespace

void setup_solve_command(CLI::App& app) {
  auto opts = std::make_shared<SolveOptions>();
  CLI::App* cmd =
      app.add_subcommand("solve", "Solve one context's stochastic program from samples");
  cmd->add_option("--task", opts->task, "Task whose program to solve")
      ->required()
      ->check(CLI::IsMember(tasks::task_names()));
  cmd->add_option("--samples", opts->samples, "CSV of M samples (rows) x n_y (columns)")
      ->required();
  cmd->add_option("--upstream", opts->upstream, "CSV with one row dl/dz: also print the gradients");
  cmd->add_option("--gradient", opts->gradient, "power: gradient mode")
      ->check(CLI::IsMember(opt::power_gradient_names()));
  cmd->add_option("--set", opts->sets,
                  "Override program.<key> or solver.<key>, e.g. program.ramp=0.3");
  cmd->callback([opts]() { run_solve(*opts); });
}

}  // namespace diffdfl::cli
