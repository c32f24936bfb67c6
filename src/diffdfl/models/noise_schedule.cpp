#include "diffdfl/models/noise_schedule.h"

#include <cmath>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {
const EnumNames<BetaSchedule>& beta_schedule_names() {
  static const EnumNames<BetaSchedule> names(
      "beta schedule", {{BetaSchedule::kLinear, "linear"}, {BetaSchedule::kCosine, "cosine"}});
  return names;
}
}  // namespace

std::string to_string(BetaSchedule value) {
  return beta_schedule_names().name(value);
}

BetaSchedule parse_beta_schedule(const std::string& name) {
  return beta_schedule_names().parse(name);
}

void NoiseScheduleOptions::validate() const {
  DIFFDFL_CHECK(steps >= 2, "NoiseScheduleOptions.steps (T) must be >= 2, got ", steps);
  if (kind == BetaSchedule::kLinear) {
    DIFFDFL_CHECK(beta_start > 0 && beta_start < 1,
                  "NoiseScheduleOptions.beta_start must be in (0, 1), got ", beta_start);
    DIFFDFL_CHECK(beta_end > 0 && beta_end < 1,
                  "NoiseScheduleOptions.beta_end must be in (0, 1), got ", beta_end);
    DIFFDFL_CHECK(beta_start <= beta_end, "NoiseScheduleOptions.beta_start (", beta_start,
                  ") must be <= beta_end (", beta_end, ")");
  } else {
    DIFFDFL_CHECK(cosine_offset > 0, "NoiseScheduleOptions.cosine_offset must be > 0, got ",
                  cosine_offset);
    DIFFDFL_CHECK(max_beta > 0 && max_beta < 1,
                  "NoiseScheduleOptions.max_beta must be in (0, 1), got ", max_beta);
  }
}

NoiseSchedule::NoiseSchedule(const NoiseScheduleOptions& options) : options_(options) {
  options_.validate();
  const int64_t T = options_.steps;
  betas_v_.resize(static_cast<size_t>(T));
  if (options_.kind == BetaSchedule::kLinear) {
    // torch.linspace(beta_start, beta_end, T) in float64, as in the reference.
    const torch::Tensor b =
        torch::linspace(options_.beta_start, options_.beta_end, T, torch::kDouble).contiguous();
    for (int64_t t = 0; t < T; ++t)
      betas_v_[static_cast<size_t>(t)] = b[t].item<double>();
  } else {
    const double s = options_.cosine_offset;
    auto f = [&](double u) {
      const double c = std::cos((u / static_cast<double>(T) + s) / (1.0 + s) * M_PI / 2.0);
      return c * c;
    };
    for (int64_t t = 0; t < T; ++t) {
      const double b = 1.0 - f(static_cast<double>(t + 1)) / f(static_cast<double>(t));
      betas_v_[static_cast<size_t>(t)] = std::min(b, options_.max_beta);
    }
  }
  alpha_bars_v_.resize(static_cast<size_t>(T));
  double prod = 1.0;
  for (int64_t t = 0; t < T; ++t) {
    prod *= 1.0 - betas_v_[static_cast<size_t>(t)];
    alpha_bars_v_[static_cast<size_t>(t)] = prod;
  }
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  betas_ = torch::tensor(betas_v_, opts);
  alphas_ = 1.0 - betas_;
  alpha_bars_ = torch::tensor(alpha_bars_v_, opts);
  alpha_bars_prev_ = torch::cat({torch::ones({1}, opts), alpha_bars_.slice(0, 0, T - 1)});
  posterior_variances_ = betas_ * (1.0 - alpha_bars_prev_) / (1.0 - alpha_bars_);
  posterior_log_var_ =
      torch::cat({posterior_variances_.slice(0, 1, 2), posterior_variances_.slice(0, 1)}).log();
  // λ_t for t ≥ 1; λ_0 := λ_1 (β̃_0 = 0).
  torch::Tensor lam = betas_.pow(2) / (2.0 * posterior_variances_ * alphas_ * (1.0 - alpha_bars_));
  lam.index_put_({0}, lam[1]);
  elbo_weights_ = lam;
}

double NoiseSchedule::alpha_bar(int64_t t) const {
  DIFFDFL_CHECK(t >= -1 && t < options_.steps, "timestep ", t, " is outside [-1, ",
                options_.steps - 1, "]");
  return t < 0 ? 1.0 : alpha_bars_v_[static_cast<size_t>(t)];
}

double NoiseSchedule::beta(int64_t t) const {
  DIFFDFL_CHECK(t >= 0 && t < options_.steps, "timestep ", t, " is outside [0, ",
                options_.steps - 1, "]");
  return betas_v_[static_cast<size_t>(t)];
}

std::vector<int64_t> strided_timesteps(int64_t T, int64_t S) {
  DIFFDFL_CHECK(T >= 1, "T must be >= 1, got ", T);
  DIFFDFL_CHECK(S >= 1 && S <= T, "the number of sampling steps S must be in [1, T=", T, "], got ",
                S);
  if (S == 1) return {T - 1};
  std::vector<int64_t> taus(static_cast<size_t>(S));
  for (int64_t i = 0; i < S; ++i) {
    // round(i (T−1) / (S−1)) with exact integer arithmetic (ties up).
    taus[static_cast<size_t>(i)] = (2 * i * (T - 1) + (S - 1)) / (2 * (S - 1));
  }
  return taus;
}

}  // namespace diffdfl::models
