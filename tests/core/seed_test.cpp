// ScopedGlobalSeed: a block on a fixed stream is reproducible and leaves the global stream where it
// was, as if the block had not run.
#include "diffdfl/core/seed.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace diffdfl {
namespace {

TEST(ScopedGlobalSeed, RunsOnAFixedStreamAndRestoresTheGlobalOne) {
  seed_global(42);
  const torch::Tensor a = torch::randn({3});
  const torch::Tensor b = torch::randn({3});

  seed_global(42);
  const torch::Tensor a2 = torch::randn({3});
  torch::Tensor inside1, inside2;
  {
    const ScopedGlobalSeed scope(7);
    inside1 = torch::randn({4});
  }
  {
    const ScopedGlobalSeed scope(7);
    inside2 = torch::randn({4});
  }
  const torch::Tensor b2 = torch::randn({3});
  EXPECT_TRUE(torch::equal(a, a2));
  EXPECT_TRUE(torch::equal(b, b2));  // the outer stream did not move
  EXPECT_TRUE(torch::equal(inside1, inside2));
  EXPECT_FALSE(torch::equal(inside1.slice(0, 0, 3), b));
}

}  // namespace
}  // namespace diffdfl
