// Reproducibility: one user seed fixes data splits, initialisation and sampling. Each consumer
// derives its own stream from (seed, purpose) so that adding a random draw in one place does not
// shift another.
//
// Example:
//   auto gen = make_generator(derive_seed(cfg.seed, "data.split"));
//   torch::Tensor perm = torch::randperm(800, gen, torch::kLong);
#pragma once

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace diffdfl {

/// A well-mixed 64-bit seed for `purpose`, stable across platforms (SplitMix64 over an FNV-1a
/// hash).
uint64_t derive_seed(uint64_t seed, std::string_view purpose);

/// A CPU generator seeded with `seed` (independent of the global generator).
at::Generator make_generator(uint64_t seed);

/// Seeds LibTorch's global generators (CPU and, where present, CUDA) for model initialisation and
/// sampling on any device.
void seed_global(uint64_t seed);

/// Runs a block on a fixed random stream without disturbing the global one: saves the states of
/// the global CPU generator (and of `device`'s, when it is not the CPU), seeds them with `seed`,
/// and restores the saved states when it goes out of scope. Used for evaluations that should see
/// the same noise every time they run (common random numbers), wherever they sit in a run.
///
///   { ScopedGlobalSeed same_noise(derive_seed(seed, "pretrain.hold"), device);
///     loss = predictor.fit_loss(x, y); }      // the global streams continue as if untouched
class ScopedGlobalSeed {
 public:
  explicit ScopedGlobalSeed(uint64_t seed, c10::Device device = c10::kCPU);
  ~ScopedGlobalSeed();
  ScopedGlobalSeed(const ScopedGlobalSeed&) = delete;
  ScopedGlobalSeed& operator=(const ScopedGlobalSeed&) = delete;

 private:
  std::vector<std::pair<at::Generator, at::Tensor>> saved_;
};

}  // namespace diffdfl
