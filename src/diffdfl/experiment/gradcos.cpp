// The gradient-fidelity experiment's entry point (gradcos.h): checks both parts' options, writes
// config.json, runs the selected parts (gradcos_sf_rp.cpp, gradcos_elbo.cpp) and writes their
// files (gradcos_output.cpp); and the small utilities of gradcos.h.
#include "diffdfl/experiment/gradcos.h"

#include <filesystem>
#include <limits>
#include <sstream>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/version.h"
#include "diffdfl/experiment/gradcos_output.h"

namespace fs = std::filesystem;

namespace diffdfl::experiment {

using nlohmann::json;

double gradient_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const torch::Tensor fa = a.detach().reshape({-1}).to(torch::kCPU, torch::kDouble);
  const torch::Tensor fb = b.detach().reshape({-1}).to(torch::kCPU, torch::kDouble);
  DIFFDFL_CHECK(fa.numel() == fb.numel(), "gradient_cosine: sizes differ (", fa.numel(), " vs ",
                fb.numel(), ")");
  const double na = fa.norm().item<double>();
  const double nb = fb.norm().item<double>();
  if (!(na > 0) || !(nb > 0)) return std::numeric_limits<double>::quiet_NaN();
  return fa.dot(fb).item<double>() / (na * nb);
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    const std::string s = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (s.empty() || used != s.size() || v <= 0) {
      fail<InvalidArgument>(what, ": expected a comma-separated list of positive integers, got '",
                            text, "' ('", s, "' is not one)");
    }
    out.push_back(v);
  }
  if (out.empty()) fail<InvalidArgument>(what, ": the list is empty");
  return out;
}

void GradcosOptions::validate() const {
  DIFFDFL_CHECK(part == "a" || part == "b" || part == "both",
                "GradcosOptions.part must be 'a', 'b' or 'both', got '", part, "'");
  DIFFDFL_CHECK(!out_dir.empty(), "GradcosOptions.out_dir is empty");
  if (part != "b") sf_rp.validate();
  if (part != "a") elbo.validate();
}

namespace {

json options_json(const GradcosOptions& o) {
  json j = {{"part", o.part}, {"version", kVersion}, {"threads", torch::get_num_threads()}};
  if (o.part != "b") {
    j["sf_rp"] = {{"epochs", o.sf_rp.epochs},
                  {"ks", o.sf_rp.ks},
                  {"importance_sampling", o.sf_rp.importance_sampling},
                  {"is_draws", o.sf_rp.is_draws},
                  {"is_uniform_mix", o.sf_rp.is_uniform_mix},
                  {"is_warmup", o.sf_rp.is_warmup},
                  {"noise_baselines", o.sf_rp.noise_baselines},
                  {"max_batches", o.sf_rp.max_batches},
                  {"cache_dir", o.sf_rp.paths.cache_dir},
                  {"data_dir", o.sf_rp.paths.data_dir},
                  {"run_config", sf_rp_config(o.sf_rp.config).to_json()}};
  }
  if (o.part != "a") {
    const ElboGradOptions& e = o.elbo;
    j["elbo"] = {{"seed", e.seed},           {"x_dim", e.x_dim},
                 {"y_dim", e.y_dim},         {"T", e.T},
                 {"pairs", e.pairs},         {"noise", e.noise},
                 {"fit_steps", e.fit_steps}, {"lr", e.lr},
                 {"contexts", e.contexts},   {"draws", e.draws},
                 {"sweep", e.sweep},         {"sampler", "ddpm"}};
  }
  return j;
}

}  // namespace

GradcosResult run_gradcos(const GradcosOptions& options) {
  options.validate();
  // Everything that can be checked is checked before the first file is written.
  const json config = options_json(options);
  const fs::path dir = options.out_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail<IoError>("cannot create the output directory ", dir.string(), ": ", ec.message());
  write_file_atomic(dir / "config.json", config.dump(2) + "\n");

  GradcosResult result;
  std::ostringstream md;
  md << "# Gradient fidelity (`diffdfl experiment gradcos`)\n\n"
     << "diffdfl " << kVersion << ", " << torch::get_num_threads() << " threads. Files: "
     << (options.part != "b" ? "`gradcos_sf_rp.csv`, `gradcos_sf_rp_epochs.csv`, " : "")
     << (options.part != "a" ? "`gradcos_elbo.csv`, `gradcos_elbo_timesteps.csv`, " : "")
     << "`config.json`.\n\n";
  if (options.part != "b") {
    result.sf_rp = run_sf_vs_rp(options.sf_rp);
    write_file_atomic(dir / "gradcos_sf_rp.csv", sf_rp_csv(result.sf_rp));
    write_file_atomic(dir / "gradcos_sf_rp_epochs.csv", sf_rp_epochs_csv(result.sf_rp));
    md << sf_rp_summary(options.sf_rp, result.sf_rp);
  }
  if (options.part != "a") {
    result.elbo = run_elbo_vs_exact(options.elbo);
    write_file_atomic(dir / "gradcos_elbo.csv", elbo_csv(result.elbo));
    write_file_atomic(dir / "gradcos_elbo_timesteps.csv", elbo_timesteps_csv(result.elbo));
    md << elbo_summary(options.elbo, result.elbo);
  }
  result.summary = md.str();
  result.summary_path = (dir / "summary.md").string();
  write_file_atomic(result.summary_path, result.summary);
  return result;
}

}  // namespace diffdfl::experiment
