#include "diffdfl/dfl/method.h"

#include <array>
#include <utility>

#include "diffdfl/core/error.h"

namespace diffdfl::dfl {

namespace {
const std::array<std::pair<Method, const char*>, 9> kNames = {{
    {Method::kDflDiffusionSf, "dfl-diffusion-sf"},
    {Method::kDflDiffusionRp, "dfl-diffusion-rp"},
    {Method::kDflGaussianSf, "dfl-gaussian-sf"},
    {Method::kDflGaussianRp, "dfl-gaussian-rp"},
    {Method::kDflMlp, "dfl-mlp"},
    {Method::kPolicy, "policy"},
    {Method::kTwoStageDiffusion, "two-stage-diffusion"},
    {Method::kTwoStageGaussian, "two-stage-gaussian"},
    {Method::kTwoStageMlp, "two-stage-mlp"},
}};
}  // namespace

const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [m, n] : kNames)
      v.emplace_back(n);
    return v;
  }();
  return names;
}

Method parse_method(const std::string& name) {
  for (const auto& [m, n] : kNames) {
    if (name == n) return m;
  }
  std::string valid;
  for (const auto& n : method_names())
    valid += (valid.empty() ? "" : ", ") + n;
  fail("unknown method '", name, "'; valid methods: ", valid);
}

std::string to_string(Method m) {
  for (const auto& [mm, n] : kNames) {
    if (mm == m) return n;
  }
  return "unknown";
}

std::string to_string(PredictorKind k) {
  switch (k) {
    case PredictorKind::kMlp:
      return "mlp";
    case PredictorKind::kGaussian:
      return "gaussian";
    case PredictorKind::kDiffusion:
      return "diffusion";
    case PredictorKind::kPolicy:
      return "policy";
  }
  return "unknown";
}

PredictorKind predictor_kind(Method m) {
  switch (m) {
    case Method::kTwoStageMlp:
    case Method::kDflMlp:
      return PredictorKind::kMlp;
    case Method::kTwoStageGaussian:
    case Method::kDflGaussianRp:
    case Method::kDflGaussianSf:
      return PredictorKind::kGaussian;
    case Method::kTwoStageDiffusion:
    case Method::kDflDiffusionRp:
    case Method::kDflDiffusionSf:
      return PredictorKind::kDiffusion;
    case Method::kPolicy:
      return PredictorKind::kPolicy;
  }
  return PredictorKind::kMlp;
}

Estimator estimator(Method m) {
  switch (m) {
    case Method::kTwoStageMlp:
    case Method::kTwoStageGaussian:
    case Method::kTwoStageDiffusion:
      return Estimator::kNone;
    case Method::kDflMlp:
    case Method::kDflGaussianRp:
    case Method::kDflDiffusionRp:
      return Estimator::kReparameterization;
    case Method::kDflGaussianSf:
    case Method::kDflDiffusionSf:
      return Estimator::kScoreFunction;
    case Method::kPolicy:
      return Estimator::kDirect;
  }
  return Estimator::kNone;
}

bool uses_pretraining(Method m) {
  return m != Method::kPolicy;
}
bool is_two_stage(Method m) {
  return estimator(m) == Estimator::kNone;
}

}  // namespace diffdfl::dfl
