#include "diffdfl/core/seed.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <mutex>

namespace diffdfl {

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

uint64_t derive_seed(uint64_t seed, std::string_view purpose) {
  uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a offset basis
  for (const char c : purpose) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return splitmix64(splitmix64(seed) ^ h);
}

at::Generator make_generator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

void seed_global(uint64_t seed) {
  torch::manual_seed(seed);
}

ScopedGlobalSeed::ScopedGlobalSeed(uint64_t seed, c10::Device device) {
  std::vector<at::Generator> gens{at::detail::getDefaultCPUGenerator()};
  if (device.type() != c10::DeviceType::CPU)
    gens.push_back(at::globalContext().defaultGenerator(device));
  for (at::Generator& g : gens) {
    std::lock_guard<std::mutex> lock(g.mutex());
    saved_.emplace_back(g, g.get_state());
    g.set_current_seed(seed);
  }
}

ScopedGlobalSeed::~ScopedGlobalSeed() {
  for (auto& [g, state] : saved_) {
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
  }
}

}  // namespace diffdfl
