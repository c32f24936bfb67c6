#include "diffdfl/data/newsvendor.h"

#include <cmath>
#include <string>
#include <vector>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"

namespace diffdfl::data {

namespace {

/// E[y | x] row by row in a fixed order (no BLAS: the same bits on every machine).
torch::Tensor conditional_mean(const torch::Tensor& w, double base, const torch::Tensor& x) {
  const torch::Tensor xc = x.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor wc = w.to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t n = xc.size(0), dx = xc.size(1), dy = wc.size(0);
  const double* px = xc.data_ptr<double>();
  const double* pw = wc.data_ptr<double>();
  torch::Tensor out = torch::empty({n, dy}, torch::kDouble);
  double* po = out.data_ptr<double>();
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t j = 0; j < dy; ++j) {
      double z = base;
      for (int64_t k = 0; k < dx; ++k)
        z += pw[j * dx + k] * px[r * dx + k];
      po[r * dy + j] = z;
    }
  }
  return out;
}

}  // namespace

void NewsvendorOptions::validate() const {
  DIFFDFL_CHECK(n_samples >= 4 && n_samples <= 10000000,
                "NewsvendorOptions.n_samples must be in [4, 1e7], got ", n_samples);
  DIFFDFL_CHECK(x_dim >= 1 && x_dim <= 10000, "NewsvendorOptions.x_dim must be in [1, 10000], got ",
                x_dim);
  DIFFDFL_CHECK(y_dim >= 1 && y_dim <= 2048, "NewsvendorOptions.y_dim must be in [1, 2048], got ",
                y_dim);
  for (const auto& [name, v] :
       {std::pair<const char*, double>{"base", base}, {"loading", loading}, {"sigma", sigma}}) {
    DIFFDFL_CHECK(std::isfinite(v) && std::abs(v) <= 1e6, "NewsvendorOptions.", name,
                  " must be finite and at most 1e6 in magnitude, got ", v);
  }
  DIFFDFL_CHECK(loading >= 0, "NewsvendorOptions.loading must be >= 0, got ", loading);
  DIFFDFL_CHECK(sigma > 0, "NewsvendorOptions.sigma must be > 0, got ", sigma);
  GeneratedSplit::of("NewsvendorOptions", n_samples, trainhold_fraction, hold_fraction);
}

Dataset make_newsvendor(const NewsvendorOptions& options) {
  options.validate();
  const int64_t n = options.n_samples;
  const auto dbl = torch::dtype(torch::kDouble);
  auto gen = make_generator(derive_seed(options.seed, "newsvendor.data"));
  const torch::Tensor w = torch::randn({options.y_dim, options.x_dim}, gen, dbl) *
                          (options.loading / std::sqrt(static_cast<double>(options.x_dim)));
  const torch::Tensor x = torch::randn({n, options.x_dim}, gen, dbl);
  const torch::Tensor eps = torch::randn({n, options.y_dim}, gen, dbl);
  const torch::Tensor y = conditional_mean(w, options.base, x) + options.sigma * eps;

  const GeneratedSplit split =
      GeneratedSplit::of("NewsvendorOptions", n, options.trainhold_fraction, options.hold_fraction);

  Dataset ds;
  ds.task = "newsvendor";
  ds.x_dim = options.x_dim;
  ds.y_dim = options.y_dim;
  split.assign(ds, x, y, derive_seed(options.seed, "newsvendor.hold_split"));

  nlohmann::json rows = nlohmann::json::array();
  const torch::Tensor wc = w.contiguous();
  for (int64_t j = 0; j < options.y_dim; ++j) {
    const double* p = wc[j].data_ptr<double>();
    rows.push_back(std::vector<double>(p, p + options.x_dim));
  }
  ds.meta = {{"task", ds.task},
             {"seed", options.seed},
             {"n_samples", n},
             {"formula", "y_j = base + W_j . x + sigma * eps_j, x ~ N(0, I), eps ~ N(0, 1)"},
             {"W", rows},
             {"base", options.base},
             {"sigma", options.sigma},
             {"test_rows", {split.trainhold, n}}};
  return ds;
}

torch::Tensor newsvendor_mean(const nlohmann::json& meta, const torch::Tensor& x) {
  DIFFDFL_CHECK(meta.contains("W") && meta.contains("base"),
                "newsvendor_mean: the meta is not a newsvendor dataset's (no W or base)");
  const auto rows = meta.at("W").get<std::vector<std::vector<double>>>();
  DIFFDFL_CHECK(!rows.empty() && x.dim() == 2 && x.size(1) == static_cast<int64_t>(rows[0].size()),
                "newsvendor_mean: x must be [N, ", rows.empty() ? 0 : rows[0].size(), "], got ",
                x.sizes());
  torch::Tensor w = torch::empty({static_cast<int64_t>(rows.size()), x.size(1)}, torch::kDouble);
  for (size_t j = 0; j < rows.size(); ++j) {
    for (size_t k = 0; k < rows[j].size(); ++k)
      w[static_cast<int64_t>(j)][static_cast<int64_t>(k)] = rows[j][k];
  }
  return conditional_mean(w, meta.at("base").get<double>(), x);
}

}  // namespace diffdfl::data
