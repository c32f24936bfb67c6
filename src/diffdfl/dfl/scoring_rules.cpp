#include "diffdfl/dfl/scoring_rules.h"

#include "diffdfl/core/error.h"

namespace diffdfl::dfl {

namespace {

/// samples [B, M, n] and y [B, n] as float64 on the samples' device, shapes checked.
std::pair<torch::Tensor, torch::Tensor> checked(const torch::Tensor& samples,
                                                const torch::Tensor& y) {
  DIFFDFL_CHECK(samples.dim() == 3 && samples.size(1) >= 1,
                "scoring rule: samples must be [B, M, n] with M >= 1, got ", samples.sizes());
  DIFFDFL_CHECK(y.dim() == 2 && y.size(0) == samples.size(0) && y.size(1) == samples.size(2),
                "scoring rule: y must be [", samples.size(0), ", ", samples.size(2), "], got ",
                y.sizes());
  return {samples.to(torch::kDouble), y.to(samples.device(), torch::kDouble)};
}

}  // namespace

torch::Tensor crps(const torch::Tensor& samples, const torch::Tensor& y) {
  const auto [s, t] = checked(samples, y);
  const int64_t M = s.size(1);
  const torch::Tensor abs_err = (s - t.unsqueeze(1)).abs().mean(1);  // [B, n]
  if (M == 1) return abs_err.mean(1);
  // Σ_{m<m'} |x_m − x_m'| = Σ_i x_(i) (2i − M + 1) over the sorted samples (0-based i).
  const torch::Tensor sorted = std::get<0>(s.sort(1));
  const torch::Tensor w = torch::arange(M, s.options()) * 2.0 - static_cast<double>(M - 1);
  const torch::Tensor pair_sum = (sorted * w.view({1, M, 1})).sum(1);  // [B, n]
  return (abs_err - pair_sum / static_cast<double>(M * (M - 1))).mean(1);
}

torch::Tensor energy_score(const torch::Tensor& samples, const torch::Tensor& y) {
  const auto [s, t] = checked(samples, y);
  const int64_t M = s.size(1);
  const torch::Tensor to_truth = (s - t.unsqueeze(1)).norm(2, -1).mean(1);  // [B]
  if (M == 1) return to_truth;
  const torch::Tensor pair = torch::cdist(s, s).sum({1, 2});  // counts each pair twice
  return to_truth - pair / static_cast<double>(2 * M * (M - 1));
}

torch::Tensor interval_coverage(const torch::Tensor& samples, const torch::Tensor& y,
                                double level) {
  DIFFDFL_CHECK(level > 0 && level < 1, "interval_coverage: level must be in (0, 1), got ", level);
  const auto [s, t] = checked(samples, y);
  const torch::Tensor q = torch::tensor({(1.0 - level) / 2.0, (1.0 + level) / 2.0}, s.options());
  const torch::Tensor bounds = torch::quantile(s, q, /*dim=*/1);  // [2, B, n]
  return ((t >= bounds[0]) & (t <= bounds[1])).to(torch::kDouble).mean(1);
}

TargetRange TargetRange::of(const torch::Tensor& y) {
  DIFFDFL_CHECK(y.dim() == 2 && y.size(0) >= 1, "TargetRange: y must be [N, n] with N >= 1, got ",
                y.sizes());
  const torch::Tensor y64 = y.to(torch::kDouble);
  return {std::get<0>(y64.min(0)), std::get<0>(y64.max(0))};
}

torch::Tensor outside_fraction(const torch::Tensor& samples, const TargetRange& range) {
  DIFFDFL_CHECK(range.defined(), "outside_fraction: no training range");
  DIFFDFL_CHECK(samples.dim() == 3 && samples.size(2) == range.lo.size(0),
                "outside_fraction: samples must be [B, M, ", range.lo.size(0), "], got ",
                samples.sizes());
  const torch::Tensor s = samples.to(torch::kDouble);
  const torch::Tensor lo = range.lo.to(s.device()), hi = range.hi.to(s.device());
  const torch::Tensor half = (hi - lo) / 2.0;
  const torch::Tensor out = (s < lo - half) | (s > hi + half);
  return out.to(torch::kDouble).mean({1, 2});
}

}  // namespace diffdfl::dfl
