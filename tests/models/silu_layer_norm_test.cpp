#include "diffdfl/models/silu_layer_norm.h"

#include <gtest/gtest.h>

#include "diffdfl/core/error.h"
#include "diffdfl/models/eps_network.h"
#include "test_util.h"

namespace diffdfl::models {
namespace {

// The fused kernel against LibTorch's SiLU + LayerNorm evaluated in float64, for widths that hit
// the vector blocks and the remainders, with inputs large enough to hit the exp clamp (|h| ≫ 88).
// LayerNorm outputs are O(|γ| + |β|), so an absolute error of 2e-5 is ~100 float32 ulps.
TEST(SiluLayerNorm, MatchesLibTorchSiluThenLayerNorm) {
  torch::manual_seed(1);
  for (int64_t W : {1, 7, 8, 64, 129, 1024}) {
    torch::Tensor h = torch::randn({37, W}) * 3;
    h.index_put_({0}, torch::linspace(-200, 200, W));
    const torch::Tensor gamma = torch::rand({W}) + 0.5;
    const torch::Tensor beta = torch::randn({W});
    const torch::Tensor ref =
        torch::layer_norm(torch::silu(h.to(torch::kDouble)), {W}, gamma.to(torch::kDouble),
                          beta.to(torch::kDouble), 1e-5);
    torch::NoGradGuard ng;
    ASSERT_TRUE(silu_layer_norm_supported(h));
    torch::Tensor out = h.clone();
    silu_layer_norm_(out, gamma, beta, 1e-5);
    EXPECT_LT((out.to(torch::kDouble) - ref).abs().max().item<double>(), 2e-5) << "W=" << W;
  }
}

TEST(SiluLayerNorm, SupportedOnlyForFloat32CpuWithoutGraph) {
  const torch::Tensor f = torch::randn({4, 8});
  EXPECT_FALSE(silu_layer_norm_supported(f.to(torch::kDouble)));
  EXPECT_FALSE(silu_layer_norm_supported(f.t()));  // not contiguous
  EXPECT_FALSE(silu_layer_norm_supported(f.clone().requires_grad_(true)));
  {
    const FusedKernelsDisabled off;
    EXPECT_FALSE(silu_layer_norm_supported(f));
  }
  EXPECT_TRUE(silu_layer_norm_supported(f));
  torch::Tensor d = f.to(torch::kDouble);
  EXPECT_THROW(silu_layer_norm_(d, torch::ones({8}), torch::zeros({8}), 1e-5), InvalidArgument);
}

// The float32 no-grad network path (split first layer + fused kernels) against the literal
// LibTorch reference forward: agreement to float32 rounding.
TEST(SiluLayerNorm, Float32NoGradNetworkMatchesReference) {
  torch::manual_seed(2);
  EpsNetworkOptions o;
  o.width = 96;
  EpsNetworkImpl net(10, 4, o);
  const torch::Tensor x = torch::randn({6, 10});
  const torch::Tensor y = torch::randn({6, 5, 4});
  torch::NoGradGuard ng;
  const torch::Tensor fast =
      net.predict(y, torch::scalar_tensor(321, torch::kLong), net.condition(x));
  const torch::Tensor ref =
      net.forward_reference(y.reshape({30, 4}), torch::full({30}, 321, torch::kLong),
                            x.unsqueeze(1).expand({6, 5, 10}).reshape({30, 10}));
  EXPECT_LT(testing::relative_error(fast.reshape({30, 4}), ref), 1e-5);
}

}  // namespace
}  // namespace diffdfl::models
