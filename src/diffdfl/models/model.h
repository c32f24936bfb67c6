// Model: the plumbing every trainable model of diffdfl::models shares — one root torch::nn::Module
// that holds all parameters and buffers, device/dtype moves, train/eval mode and serialisation.
// Predictors (predictor.h) and policy networks (policy.h) derive from it.
//
// Example:
//   diffdfl::models::GaussianPredictor g(149, 24, {});
//   g.to(torch::kCUDA, torch::kFloat);
//   torch::optim::Adam opt(g.parameters(), torch::optim::AdamOptions(1e-3));
//   torch::serialize::OutputArchive out;
//   g.save(out);
//   out.save_to("gaussian.pt");
//   ...
//   torch::serialize::InputArchive in;
//   in.load_from("gaussian.pt");
//   g.load(in);  // same kind and configuration; IoError otherwise
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace diffdfl::models {

/// Base class of predictors and policies. Not copyable (it owns a module graph); hold it by
/// std::unique_ptr / std::shared_ptr.
class Model {
 public:
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  /// A short stable name of the model type ("diffusion", "gaussian", "mlp", "policy", ...).
  virtual std::string kind() const = 0;

  /// Every parameter (trainable or not; check requires_grad()).
  std::vector<torch::Tensor> parameters() const;
  /// Number of scalar parameters.
  int64_t parameter_count() const;

  /// Moves parameters, buffers and any cached tensors. dtype must be float32 or float64.
  void to(torch::Device device, torch::Dtype dtype);
  torch::Device device() const { return device_; }
  torch::Dtype dtype() const { return dtype_; }
  /// TensorOptions with this model's device and dtype.
  torch::TensorOptions tensor_options() const;

  /// Training mode (affects BatchNorm in policies only; diffusion/Gaussian/MLP have no dropout).
  void train(bool on = true);
  bool is_training() const;

  /// Writes kind, parameters, buffers and any extra state (e.g. the timestep sampler's history).
  void save(torch::serialize::OutputArchive& archive) const;
  /// Reads what save() wrote into a model of the same kind and configuration; the tensors end up on
  /// this model's device and dtype. Throws IoError for another kind or a shape mismatch.
  void load(torch::serialize::InputArchive& archive);

  /// The root module (children are registered by the derived class).
  torch::nn::Module& module() { return *root_; }
  const torch::nn::Module& module() const { return *root_; }

 protected:
  Model(torch::Device device, torch::Dtype dtype);

  /// Called by derived constructors after registering every child: moves the root module to the
  /// requested device/dtype (initialisation itself always happens on the CPU with the global CPU
  /// generator, so a seed gives the same initial weights on every device).
  void finish_construction();

  /// Hooks for state outside the module (saved under keys that start with "state.").
  virtual void save_extra(torch::serialize::OutputArchive& /*archive*/) const {}
  virtual void load_extra(torch::serialize::InputArchive& /*archive*/) {}
  /// Called after to(): refresh cached tensors that live on the model's device.
  virtual void on_moved() {}

  std::shared_ptr<torch::nn::Module> root_;

 private:
  torch::Device device_;
  torch::Dtype dtype_;
};

}  // namespace diffdfl::models
