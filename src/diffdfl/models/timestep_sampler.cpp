#include "diffdfl/models/timestep_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"

namespace diffdfl::models {

namespace {
const auto kCpuDouble = torch::TensorOptions().dtype(torch::kDouble);

// The `q` quantile with linear interpolation (numpy / torch default), without torch::quantile's
// input-size limit.
double quantile_linear(const torch::Tensor& v, double q) {
  const torch::Tensor s = std::get<0>(v.reshape({-1}).sort());
  const int64_t n = s.numel();
  const double pos = q * static_cast<double>(n - 1);
  const auto lo = static_cast<int64_t>(std::floor(pos));
  const int64_t hi = std::min(lo + 1, n - 1);
  const double a = s[lo].item<double>();
  const double b = s[hi].item<double>();
  return a + (pos - static_cast<double>(lo)) * (b - a);
}
}  // namespace

namespace {
const EnumNames<TimestepSamplerKind>& timestep_sampler_names() {
  static const EnumNames<TimestepSamplerKind> names(
      "timestep sampler", {{TimestepSamplerKind::kUniform, "uniform"},
                           {TimestepSamplerKind::kSweep, "sweep"},
                           {TimestepSamplerKind::kSecondMoment, "second_moment"},
                           {TimestepSamplerKind::kSecondMomentPower, "second_moment_power"}});
  return names;
}
}  // namespace

std::string to_string(TimestepSamplerKind value) {
  return timestep_sampler_names().name(value);
}

TimestepSamplerKind parse_timestep_sampler(const std::string& name) {
  return timestep_sampler_names().parse(name);
}

void TimestepSamplerOptions::validate() const {
  DIFFDFL_CHECK(history >= 1, "TimestepSamplerOptions.history must be >= 1, got ", history);
  DIFFDFL_CHECK(uniform_mix >= 0 && uniform_mix <= 1,
                "TimestepSamplerOptions.uniform_mix must be in [0, 1], got ", uniform_mix);
  DIFFDFL_CHECK(clip_quantile > 0 && clip_quantile <= 1,
                "TimestepSamplerOptions.clip_quantile must be in (0, 1], got ", clip_quantile);
  DIFFDFL_CHECK(
      ess_low >= 0 && ess_low <= ess_high && ess_high <= 1,
      "TimestepSamplerOptions.ess_low/ess_high must satisfy 0 <= ess_low <= ess_high <= 1, got ",
      ess_low, " and ", ess_high);
  DIFFDFL_CHECK(u_min >= 0 && u_min <= u_max && u_max <= 1,
                "TimestepSamplerOptions.u_min/u_max must satisfy 0 <= u_min <= u_max <= 1, got ",
                u_min, " and ", u_max);
  DIFFDFL_CHECK(u_up_mul >= 1 && u_up_add >= 0,
                "TimestepSamplerOptions.u_up_mul must be >= 1 and u_up_add >= 0");
  DIFFDFL_CHECK(u_down_mul > 0 && u_down_mul <= 1 && u_down_sub >= 0,
                "TimestepSamplerOptions.u_down_mul must be in (0, 1] and u_down_sub >= 0");
}

TimestepSampler::TimestepSampler(int64_t T, const TimestepSamplerOptions& options)
    : T_(T), options_(options), u_(options.uniform_mix) {
  options_.validate();
  DIFFDFL_CHECK(T >= 1, "TimestepSampler: T must be >= 1, got ", T);
  history_ = torch::zeros({T, options_.history}, kCpuDouble);
  count_ = torch::zeros({T}, torch::kLong);
}

bool TimestepSampler::uses_history() const {
  return options_.kind == TimestepSamplerKind::kSecondMoment ||
         options_.kind == TimestepSamplerKind::kSecondMomentPower;
}

bool TimestepSampler::warmed_up() const {
  return (count_ == options_.history).all().item<bool>();
}

torch::Tensor TimestepSampler::probabilities() const {
  const torch::Tensor uniform = torch::full({T_}, 1.0 / static_cast<double>(T_), kCpuDouble);
  if (!uses_history() || !warmed_up()) return uniform;
  const torch::Tensor w = history_.pow(2).mean(1).sqrt();
  const double total = w.sum().item<double>();
  if (!(total > 0) || !std::isfinite(total)) return uniform;
  return (1.0 - u_) * (w / total) + u_ / static_cast<double>(T_);
}

TimestepDraw TimestepSampler::draw(int64_t N, int64_t K) {
  DIFFDFL_CHECK(N >= 1 && K >= 1, "TimestepSampler::draw needs N >= 1 and K >= 1, got ", N, " and ",
                K);
  TimestepDraw d;
  if (options_.kind == TimestepSamplerKind::kUniform) {
    d.t = torch::randint(T_, {N, K}, torch::kLong);
    d.coef = torch::full({N, K}, 1.0 / static_cast<double>(K), kCpuDouble);
    d.ess = static_cast<double>(N * K);
    return d;
  }
  if (options_.kind == TimestepSamplerKind::kSweep) {
    const torch::Tensor k = torch::arange(K, torch::kLong);
    d.t = (k * T_).div(K, "floor").unsqueeze(0).expand({N, K}).contiguous();
    d.coef = torch::full({N, K}, 1.0 / static_cast<double>(K), kCpuDouble);
    d.ess = static_cast<double>(N * K);
    return d;
  }
  const torch::Tensor p = probabilities();
  d.t = torch::multinomial(p, N * K, /*replacement=*/true).view({N, K});
  torch::Tensor omega = 1.0 / (static_cast<double>(T_) * p.index_select(0, d.t.reshape({-1})));
  omega = omega.view({N, K});
  if (options_.kind == TimestepSamplerKind::kSecondMoment) {
    d.coef = omega / static_cast<double>(K);
    d.ess = std::pow(omega.sum().item<double>(), 2) / omega.pow(2).sum().item<double>();
    return d;
  }
  // Power variant.
  omega = omega / omega.mean();
  omega = omega.clamp_max(quantile_linear(omega, options_.clip_quantile));
  d.coef = omega / (omega.sum(1, /*keepdim=*/true) + 1e-12);
  d.ess = std::pow(omega.sum().item<double>(), 2) / omega.pow(2).sum().item<double>();
  const double n = static_cast<double>(N * K);
  if (d.ess < options_.ess_low * n) {
    u_ = std::min(options_.u_max, options_.u_up_mul * u_ + options_.u_up_add);
  } else if (d.ess > options_.ess_high * n) {
    u_ = std::max(options_.u_min, options_.u_down_mul * u_ - options_.u_down_sub);
  }
  return d;
}

void TimestepSampler::update(const torch::Tensor& t, const torch::Tensor& losses) {
  if (!uses_history()) return;
  DIFFDFL_CHECK(t.numel() == losses.numel(), "TimestepSampler::update: ", t.numel(),
                " timesteps but ", losses.numel(), " losses");
  const torch::Tensor tt = t.detach().reshape({-1}).to(torch::kCPU, torch::kLong).contiguous();
  const torch::Tensor ll =
      losses.detach().reshape({-1}).to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t H = options_.history;
  double* hist = history_.data_ptr<double>();
  int64_t* cnt = count_.data_ptr<int64_t>();
  const int64_t* tp = tt.data_ptr<int64_t>();
  const double* lp = ll.data_ptr<double>();
  for (int64_t i = 0; i < tt.numel(); ++i) {
    const int64_t s = tp[i];
    DIFFDFL_CHECK(s >= 0 && s < T_, "TimestepSampler::update: timestep ", s, " outside [0, ",
                  T_ - 1, "]");
    double* row = hist + s * H;
    if (cnt[s] < H) {
      row[cnt[s]++] = lp[i];
    } else {
      std::memmove(row, row + 1, static_cast<size_t>(H - 1) * sizeof(double));
      row[H - 1] = lp[i];
    }
  }
}

void TimestepSampler::save(torch::serialize::OutputArchive& archive,
                           const std::string& prefix) const {
  archive.write(prefix + ".history", history_, /*is_buffer=*/true);
  archive.write(prefix + ".count", count_, /*is_buffer=*/true);
  archive.write(prefix + ".u", torch::tensor(u_, kCpuDouble), /*is_buffer=*/true);
}

void TimestepSampler::load(torch::serialize::InputArchive& archive, const std::string& prefix) {
  torch::Tensor history, count, u;
  archive.read(prefix + ".history", history, /*is_buffer=*/true);
  archive.read(prefix + ".count", count, /*is_buffer=*/true);
  archive.read(prefix + ".u", u, /*is_buffer=*/true);
  if (history.sizes() != history_.sizes() || count.sizes() != count_.sizes()) {
    fail<IoError>("timestep sampler state has history shape ", history.sizes(), ", expected ",
                  history_.sizes(), " (T or history length differ)");
  }
  history_ = history.to(torch::kCPU, torch::kDouble).contiguous().clone();
  count_ = count.to(torch::kCPU, torch::kLong).contiguous().clone();
  u_ = u.item<double>();
}

}  // namespace diffdfl::models
