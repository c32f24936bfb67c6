#include "diffdfl/models/predictor.h"

#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::models {

Predictor::Predictor(int64_t x_dim, int64_t y_dim, torch::Device device, torch::Dtype dtype)
    : Model(device, dtype), x_dim_(x_dim), y_dim_(y_dim) {
  DIFFDFL_CHECK(x_dim >= 0, "x_dim must be >= 0, got ", x_dim);
  DIFFDFL_CHECK(y_dim >= 1, "y_dim must be >= 1, got ", y_dim);
  target_shift_ = root_->register_buffer("target_shift", torch::zeros({y_dim}));
  target_scale_ = root_->register_buffer("target_scale", torch::ones({y_dim}));
}

torch::Tensor Predictor::log_density(const torch::Tensor& /*x*/, const torch::Tensor& /*samples*/) {
  fail("the '", kind(),
       "' predictor has no log-density; use a gaussian or diffusion predictor for ",
       "the score-function estimator");
}

void Predictor::set_sample_steps(int64_t /*steps*/) {
  fail<InvalidArgument>("the '", kind(),
                        "' predictor has no iterative sampler whose steps could be set");
}

ScopedSampleSteps::ScopedSampleSteps(Predictor& predictor, int64_t steps)
    : predictor_(predictor), saved_(predictor.sample_steps()) {
  if (!predictor_.has_sample_steps()) return;
  predictor_.set_sample_steps(steps);
  active_ = true;
}

ScopedSampleSteps::~ScopedSampleSteps() {
  if (active_) predictor_.set_sample_steps(saved_);
}

double Predictor::surrogate_backward(const torch::Tensor& x, const torch::Tensor& samples,
                                     const torch::Tensor& weights, double scale) {
  const torch::Tensor ld = log_density(x, samples);
  const torch::Tensor w = prepare_weights(weights, ld.size(0), ld.size(1));
  const torch::Tensor s = (ld * w).sum() * scale;
  if (s.requires_grad()) s.backward();
  return s.item<double>();
}

void Predictor::set_target_transform(const torch::Tensor& shift, const torch::Tensor& scale) {
  check_shape(shift, "target shift", {y_dim_});
  check_shape(scale, "target scale", {y_dim_});
  check_finite_batch(shift, "target shift");
  check_finite_batch(scale, "target scale");
  DIFFDFL_CHECK((scale > 0).all().item<bool>(), "target scale must be > 0 in every dimension");
  torch::NoGradGuard no_grad;
  target_shift_.copy_(shift.detach().to(target_shift_.options()));
  target_scale_.copy_(scale.detach().to(target_scale_.options()));
}

torch::Tensor Predictor::normalize_targets(const torch::Tensor& y) const {
  return (y - target_shift_) / target_scale_;
}

torch::Tensor Predictor::denormalize_targets(const torch::Tensor& y_norm) const {
  return torch::addcmul(target_shift_, y_norm, target_scale_);
}

torch::Tensor Predictor::log_abs_det_scale() const {
  return target_scale_.log().sum();
}

torch::Tensor Predictor::prepare_x(const torch::Tensor& x) const {
  check_shape(x, "x", {-1, x_dim_});
  DIFFDFL_CHECK(x.size(0) >= 1, "x: the batch is empty");
  check_finite_batch(x, "x");
  return x.to(tensor_options());
}

torch::Tensor Predictor::prepare_y(const torch::Tensor& y, int64_t batch) const {
  check_shape(y, "y", {batch, y_dim_});
  check_finite_batch(y, "y");
  return normalize_targets(y.to(tensor_options()));
}

torch::Tensor Predictor::prepare_samples(const torch::Tensor& samples, int64_t batch) const {
  check_shape(samples, "samples", {batch, -1, y_dim_});
  DIFFDFL_CHECK(samples.size(1) >= 1, "samples: M must be >= 1");
  check_finite_batch(samples, "samples");
  return normalize_targets(samples.to(tensor_options()));
}

torch::Tensor Predictor::prepare_weights(const torch::Tensor& weights, int64_t batch,
                                         int64_t m) const {
  check_shape(weights, "weights", {batch, m});
  check_finite_batch(weights, "weights");
  return weights.detach().to(tensor_options());
}

void Predictor::check_sample_count(int64_t M) {
  DIFFDFL_CHECK(M >= 1, "the number of samples per context M must be >= 1, got ", M);
}

std::pair<torch::Tensor, torch::Tensor> target_standardization(const torch::Tensor& y,
                                                               double min_scale) {
  check_shape(y, "y", {-1, -1});
  DIFFDFL_CHECK(y.size(0) >= 2, "target_standardization needs at least 2 rows, got ", y.size(0));
  check_finite_batch(y, "y");
  DIFFDFL_CHECK(min_scale > 0, "min_scale must be > 0, got ", min_scale);
  const torch::Tensor y64 = y.detach().to(torch::kDouble);
  return {y64.mean(0), y64.std(0, /*unbiased=*/true).clamp_min(min_scale)};
}

}  // namespace diffdfl::models
