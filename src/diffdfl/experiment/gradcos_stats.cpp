#include "diffdfl/experiment/gradcos_stats.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace diffdfl::experiment::gradcos {

namespace {

/// Linear-interpolation quantile of sorted values.
double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNan;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(sorted.size() - 1, lo + 1);
  const double f = pos - static_cast<double>(lo);
  return sorted[lo] * (1 - f) + sorted[hi] * f;
}

}  // namespace

torch::Tensor flatten(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> flat;
  flat.reserve(ts.size());
  for (const auto& t : ts)
    flat.push_back(t.detach().reshape({-1}).to(torch::kCPU, torch::kDouble));
  return flat.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(flat);
}

double norm_of(const torch::Tensor& v) {
  return v.norm().item<double>();
}

std::string num(double v, int precision) {
  if (std::isnan(v)) return "";
  std::ostringstream out;
  out << std::setprecision(precision) << v;
  return out.str();
}

std::string fx(double v, int digits) {
  if (std::isnan(v)) return "—";
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

Stats stats_of(const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (!std::isnan(x)) v.push_back(x);
  Stats s;
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v)
    sum += x;
  s.mean = sum / static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v)
      ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  std::sort(v.begin(), v.end());
  s.median = quantile(v, 0.5);
  s.q10 = quantile(v, 0.1);
  s.q90 = quantile(v, 0.9);
  return s;
}

std::vector<torch::Tensor> trainable(const models::Model& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model.parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

std::string label_key(const std::string& label, int64_t K) {
  return label + (K > 0 ? " K=" + std::to_string(K) : "");
}

}  // namespace diffdfl::experiment::gradcos
