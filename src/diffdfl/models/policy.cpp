#include "diffdfl/models/policy.h"

#include "diffdfl/core/enum_names.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/tensor_checks.h"

namespace diffdfl::models {

namespace {
const EnumNames<PolicyOutput>& policy_output_names() {
  static const EnumNames<PolicyOutput> names("policy output",
                                             {{PolicyOutput::kRaw, "raw"},
                                              {PolicyOutput::kBox, "box"},
                                              {PolicyOutput::kSimplex, "simplex"}});
  return names;
}
}  // namespace

std::string to_string(PolicyOutput value) {
  return policy_output_names().name(value);
}

PolicyOutput parse_policy_output(const std::string& name) {
  return policy_output_names().parse(name);
}

void PolicyOptions::validate() const {
  DIFFDFL_CHECK(width >= 1, "PolicyOptions.width must be >= 1, got ", width);
  DIFFDFL_CHECK(hidden_layers >= 0, "PolicyOptions.hidden_layers must be >= 0, got ",
                hidden_layers);
  if (output == PolicyOutput::kBox) {
    DIFFDFL_CHECK(std::isfinite(box_lower) && std::isfinite(box_upper) && box_lower < box_upper,
                  "PolicyOptions.box_lower (", box_lower, ") must be < box_upper (", box_upper,
                  "), both finite");
  }
}

PolicyNet::PolicyNet(int64_t x_dim, int64_t z_dim, const PolicyOptions& options,
                     torch::Device device, torch::Dtype dtype)
    : Model(device, dtype), x_dim_(x_dim), z_dim_(z_dim), options_(options) {
  options_.validate();
  DIFFDFL_CHECK(x_dim >= 1, "PolicyNet: x_dim must be >= 1, got ", x_dim);
  DIFFDFL_CHECK(z_dim >= 1, "PolicyNet: z_dim must be >= 1, got ", z_dim);
  int64_t in = x_dim;
  for (int64_t i = 0; i < options_.hidden_layers; ++i) {
    const std::string id = std::to_string(i + 1);
    layers_.push_back(root_->register_module("fc" + id, torch::nn::Linear(in, options_.width)));
    if (options_.batch_norm) {
      norms_.push_back(root_->register_module("bn" + id, torch::nn::BatchNorm1d(options_.width)));
    }
    in = options_.width;
  }
  out_ = root_->register_module("out", torch::nn::Linear(in, z_dim));
  finish_construction();
}

torch::Tensor PolicyNet::forward(const torch::Tensor& x) {
  check_shape(x, "x", {-1, x_dim_});
  check_finite_batch(x, "x");
  torch::Tensor h = x.to(tensor_options());
  for (size_t i = 0; i < layers_.size(); ++i) {
    h = layers_[i]->forward(h);
    if (options_.batch_norm) h = norms_[i]->forward(h);
    h = torch::relu(h);
  }
  h = out_->forward(h);
  switch (options_.output) {
    case PolicyOutput::kBox:
      return options_.box_lower + (options_.box_upper - options_.box_lower) * torch::sigmoid(h);
    case PolicyOutput::kSimplex:
      return torch::softmax(h, -1);
    case PolicyOutput::kRaw:
      break;
  }
  return h;
}

}  // namespace diffdfl::models
