#include "diffdfl/data/synthetic.h"

#include <cmath>
#include <utility>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"

namespace diffdfl::data {

namespace {

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

// E_{ξ~N(0,1)}[sigmoid(a + s ξ)] by the trapezoid rule on [−10, 10] (error far below 1e-12).
double mean_sigmoid(double a, double s) {
  constexpr int kPoints = 8001;
  constexpr double kLo = -10.0, kHi = 10.0;
  const double h = (kHi - kLo) / (kPoints - 1);
  const double norm = 1.0 / std::sqrt(2.0 * M_PI);
  double total = 0;
  for (int k = 0; k < kPoints; ++k) {
    const double xi = kLo + h * k;
    const double w = (k == 0 || k == kPoints - 1) ? 0.5 : 1.0;
    total += w * norm * std::exp(-0.5 * xi * xi) * sigmoid(a + s * xi);
  }
  return total * h;
}

// The intercept a with E[sigmoid(a + s ξ)] = p (the mean is increasing in a): bisection.
double solve_intercept(double p, double s) {
  double lo = -40.0, hi = 40.0;
  for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
    const double mid = 0.5 * (lo + hi);
    (mean_sigmoid(mid, s) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kDouble);
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::vector<int64_t> to_index_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kLong);
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

}  // namespace

void SyntheticOptions::validate() const {
  DIFFDFL_CHECK(n_samples >= 4, "SyntheticOptions.n_samples must be >= 4, got ", n_samples);
  DIFFDFL_CHECK(x_dim >= 1, "SyntheticOptions.x_dim must be >= 1, got ", x_dim);
  DIFFDFL_CHECK(y_dim >= 1, "SyntheticOptions.y_dim must be >= 1, got ", y_dim);
  GeneratedSplit::of("SyntheticOptions", n_samples, trainhold_fraction, hold_fraction);
  DIFFDFL_CHECK(p_low > 0 && p_low < 1, "SyntheticOptions.p_low must be in (0, 1), got ", p_low);
  DIFFDFL_CHECK(std::isfinite(high) && std::isfinite(low) && high != low,
                "SyntheticOptions.high and .low must be finite and different, got ", high, " and ",
                low);
  DIFFDFL_CHECK(noise >= 0 && std::isfinite(noise), "SyntheticOptions.noise must be >= 0, got ",
                noise);
  DIFFDFL_CHECK(scale > 0 && std::isfinite(scale), "SyntheticOptions.scale must be > 0, got ",
                scale);
  // y = scale · (centre + noise · ε) must stay far inside float64: a scale of 1e161 times a noise
  // of 1e163 passed every check above and gave infinite targets (found by fuzz_synthetic_loader).
  for (const auto& [name, v] : {std::pair<const char*, double>{"high", scale * high},
                                {"low", scale * low},
                                {"noise", scale * noise}}) {
    DIFFDFL_CHECK(std::abs(v) <= kSyntheticMaxMagnitude, "SyntheticOptions.scale · ", name, " = ",
                  v, " is beyond ", kSyntheticMaxMagnitude,
                  " in magnitude; choose a smaller scale or ", name);
  }
  DIFFDFL_CHECK(context_strength >= 0 && context_strength <= 20,
                "SyntheticOptions.context_strength must be in [0, 20], got ", context_strength);
}

torch::Tensor ContextualMap::p_low(const torch::Tensor& x) const {
  DIFFDFL_CHECK(x.dim() == 2 && x.size(1) == w.size(1), "ContextualMap::p_low: x must be [N, ",
                w.size(1), "], got ", x.sizes());
  // Plain loops in a fixed order with std::exp, not matmul (BLAS kernels differ between CPUs) and
  // torch::sigmoid (its vectorised exp differs between instruction sets): the same bits everywhere.
  const torch::Tensor xc = x.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor wc = w.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor ac = a.to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t n = xc.size(0), dx = xc.size(1), dy = wc.size(0);
  const double* px = xc.data_ptr<double>();
  const double* pw = wc.data_ptr<double>();
  const double* pa = ac.data_ptr<double>();
  torch::Tensor out = torch::empty({n, dy}, torch::kDouble);
  double* po = out.data_ptr<double>();
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t i = 0; i < dy; ++i) {
      double z = 0;
      for (int64_t k = 0; k < dx; ++k)
        z += px[r * dx + k] * pw[i * dx + k];
      po[r * dy + i] = sigmoid(pa[i] + z);
    }
  }
  return out;
}

ContextualMap make_contextual_map(const SyntheticOptions& options) {
  options.validate();
  auto gen = make_generator(derive_seed(options.seed, "synthetic.contextual_map"));
  const torch::Tensor u =
      torch::randn({options.y_dim, options.x_dim}, gen, torch::dtype(torch::kDouble));
  // w_i = s · u_i / ‖u_i‖ with the norm summed in a fixed order (see p_low).
  ContextualMap m;
  m.w = torch::empty_like(u);
  const double* pu = u.data_ptr<double>();
  double* pw = m.w.data_ptr<double>();
  const int64_t dx = options.x_dim;
  for (int64_t i = 0; i < options.y_dim; ++i) {
    double ss = 0;
    for (int64_t k = 0; k < dx; ++k)
      ss += pu[i * dx + k] * pu[i * dx + k];
    const double norm = std::sqrt(ss);
    for (int64_t k = 0; k < dx; ++k)
      pw[i * dx + k] = options.context_strength * pu[i * dx + k] / norm;
  }
  const double a = solve_intercept(options.p_low, options.context_strength);
  m.a = torch::full({options.y_dim}, a, torch::kDouble);
  return m;
}

Dataset make_synthetic(const SyntheticOptions& options) {
  options.validate();
  const int64_t n = options.n_samples;
  const auto dbl = torch::dtype(torch::kDouble);

  auto gen = make_generator(derive_seed(options.seed, "synthetic.data"));
  const torch::Tensor x = torch::randn({n, options.x_dim}, gen, dbl);
  const torch::Tensor u = torch::rand({n, options.y_dim}, gen, dbl);
  const torch::Tensor eps = torch::randn({n, options.y_dim}, gen, dbl);

  ContextualMap map;
  torch::Tensor p_low;
  if (options.contextual) {
    map = make_contextual_map(options);
    p_low = map.p_low(x);
  } else {
    p_low = torch::full({n, options.y_dim}, options.p_low, dbl);
  }
  const torch::Tensor is_low = u < p_low;
  const torch::Tensor centre =
      torch::where(is_low, torch::full_like(u, options.low), torch::full_like(u, options.high));
  const torch::Tensor y = options.scale * (centre + options.noise * eps);

  const GeneratedSplit rows =
      GeneratedSplit::of("SyntheticOptions", n, options.trainhold_fraction, options.hold_fraction);

  Dataset ds;
  ds.task = options.contextual ? "synthetic-contextual" : "synthetic";
  ds.x_dim = options.x_dim;
  ds.y_dim = options.y_dim;
  const auto [fit_idx, hold_idx] =
      rows.assign(ds, x, y, derive_seed(options.seed, "synthetic.hold_split"));

  nlohmann::json& meta = ds.meta;
  meta["task"] = ds.task;
  meta["seed"] = options.seed;
  meta["n_samples"] = n;
  meta["p_low"] = options.p_low;
  meta["modes"] = {{"high", options.scale * options.high}, {"low", options.scale * options.low}};
  meta["noise_std"] = options.scale * options.noise;
  meta["contextual"] = options.contextual;
  meta["test_rows"] = {rows.trainhold, n};
  meta["train_indices"] = to_index_vector(fit_idx);
  meta["hold_indices"] = to_index_vector(hold_idx);
  if (options.contextual) {
    nlohmann::json w = nlohmann::json::array();
    for (int64_t i = 0; i < map.w.size(0); ++i)
      w.push_back(to_vector(map.w[i]));
    meta["contextual_map"] = {{"formula", "p_low_i(x) = sigmoid(a_i + w_i . x)"},
                              {"w", w},
                              {"a", to_vector(map.a)},
                              {"context_strength", options.context_strength}};
  }
  return ds;
}

}  // namespace diffdfl::data
