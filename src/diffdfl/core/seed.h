// Reproducibility: one user seed fixes data splits, initialisation and sampling. Each consumer derives
// its own stream from (seed, purpose) so that adding a random draw in one place does not shift another.
//
// Example:
//   auto gen = make_generator(derive_seed(cfg.seed, "data.split"));
//   torch::Tensor perm = torch::randperm(800, gen, torch::kLong);
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <string_view>

namespace diffdfl {

/// A well-mixed 64-bit seed for `purpose`, stable across platforms (SplitMix64 over an FNV-1a hash).
uint64_t derive_seed(uint64_t seed, std::string_view purpose);

/// A CPU generator seeded with `seed` (independent of the global generator).
at::Generator make_generator(uint64_t seed);

/// Seeds LibTorch's global generators (CPU and, where present, CUDA) for model initialisation and
/// sampling on any device.
void seed_global(uint64_t seed);

}  // namespace diffdfl
