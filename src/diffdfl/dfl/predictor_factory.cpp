#include "diffdfl/dfl/predictor_factory.h"

#include "diffdfl/core/error.h"

namespace diffdfl::dfl {

std::unique_ptr<models::Predictor> make_predictor(const PredictorOptions& options, int64_t x_dim,
                                                  int64_t y_dim, torch::Device device) {
  switch (predictor_kind(options.method)) {
    case PredictorKind::kDiffusion:
      return std::make_unique<models::DiffusionPredictor>(x_dim, y_dim, options.diffusion, device,
                                                          torch::kFloat);
    case PredictorKind::kGaussian:
      return std::make_unique<models::GaussianPredictor>(x_dim, y_dim, options.gaussian, device,
                                                         torch::kFloat);
    case PredictorKind::kMlp:
      return std::make_unique<models::MlpPredictor>(x_dim, y_dim, options.mlp, device,
                                                    torch::kFloat);
    case PredictorKind::kPolicy:
      break;
  }
  fail("make_predictor: method ", to_string(options.method), " has no predictor");
}

void set_target_statistics(models::Predictor& predictor, bool standardize,
                           const torch::Tensor& train_y) {
  if (standardize) {
    const auto [shift, scale] = models::target_standardization(train_y);
    predictor.set_target_transform(shift, scale);
  }
  predictor.set_target_range(std::get<0>(train_y.min(0)), std::get<0>(train_y.max(0)));
}

std::unique_ptr<models::PolicyNet> make_policy(const models::PolicyOptions& options, int64_t x_dim,
                                               int64_t z_dim, models::PolicyOutput output,
                                               double box_upper, torch::Device device) {
  models::PolicyOptions o = options;
  o.output = output;
  o.box_lower = 0.0;
  o.box_upper = box_upper;
  return std::make_unique<models::PolicyNet>(x_dim, z_dim, o, device, torch::kFloat);
}

}  // namespace diffdfl::dfl
