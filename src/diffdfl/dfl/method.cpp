#include "diffdfl/dfl/method.h"

#include <array>
#include <utility>

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"

namespace diffdfl::dfl {

namespace {

/// One row per method: its name, the predictor it trains and the estimator of its DFL gradient.
struct MethodRow {
  Method method;
  const char* name;
  PredictorKind predictor;
  Estimator estimator;
};

const std::array<MethodRow, 9> kMethods = {{
    {Method::kDflDiffusionSf, "dfl-diffusion-sf", PredictorKind::kDiffusion,
     Estimator::kScoreFunction},
    {Method::kDflDiffusionRp, "dfl-diffusion-rp", PredictorKind::kDiffusion,
     Estimator::kReparameterization},
    {Method::kDflGaussianSf, "dfl-gaussian-sf", PredictorKind::kGaussian,
     Estimator::kScoreFunction},
    {Method::kDflGaussianRp, "dfl-gaussian-rp", PredictorKind::kGaussian,
     Estimator::kReparameterization},
    {Method::kDflMlp, "dfl-mlp", PredictorKind::kMlp, Estimator::kReparameterization},
    {Method::kPolicy, "policy", PredictorKind::kPolicy, Estimator::kDirect},
    {Method::kTwoStageDiffusion, "two-stage-diffusion", PredictorKind::kDiffusion,
     Estimator::kNone},
    {Method::kTwoStageGaussian, "two-stage-gaussian", PredictorKind::kGaussian, Estimator::kNone},
    {Method::kTwoStageMlp, "two-stage-mlp", PredictorKind::kMlp, Estimator::kNone},
}};

const MethodRow& row_of(Method m) {
  for (const MethodRow& r : kMethods) {
    if (r.method == m) return r;
  }
  fail("unknown method value ", static_cast<int>(m));
}

const EnumNames<Method>& method_table() {
  static const EnumNames<Method> names("method", [] {
    std::vector<std::pair<Method, std::string>> v;
    for (const MethodRow& r : kMethods)
      v.emplace_back(r.method, r.name);
    return v;
  }());
  return names;
}

const EnumNames<PredictorKind>& predictor_table() {
  static const EnumNames<PredictorKind> names("predictor",
                                              {{PredictorKind::kMlp, "mlp"},
                                               {PredictorKind::kGaussian, "gaussian"},
                                               {PredictorKind::kDiffusion, "diffusion"},
                                               {PredictorKind::kPolicy, "policy"}});
  return names;
}

}  // namespace

const std::vector<std::string>& method_names() {
  return method_table().list();
}

Method parse_method(const std::string& name) {
  return method_table().parse(name);
}

std::string to_string(Method m) {
  return method_table().name(m);
}

std::string to_string(PredictorKind k) {
  return predictor_table().name(k);
}

PredictorKind predictor_kind(Method m) {
  return row_of(m).predictor;
}

Estimator estimator(Method m) {
  return row_of(m).estimator;
}

bool uses_pretraining(Method m) {
  return m != Method::kPolicy;
}
bool is_two_stage(Method m) {
  return estimator(m) == Estimator::kNone;
}

}  // namespace diffdfl::dfl
