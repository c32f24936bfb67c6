#include "diffdfl/models/eps_network.h"

#include <gtest/gtest.h>

#include <cmath>

#include "diffdfl/core/error.h"
#include "test_util.h"

namespace diffdfl::models {
namespace {

using testing::relative_error;

TEST(SinusoidalEmbedding, CosBlockFirstWithReferenceFrequencies) {
  const torch::Tensor t = torch::tensor({3, 250}, torch::kLong);
  const torch::Tensor e = sinusoidal_embedding(t, 16, 1e4, torch::kDouble);
  ASSERT_EQ(e.sizes(), torch::IntArrayRef({2, 16}));
  for (int k = 0; k < 8; ++k) {
    const double f = std::exp(-std::log(1e4) * k / 8.0);
    EXPECT_NEAR(e[1][k].item<double>(), std::cos(250 * f), 1e-12);
    EXPECT_NEAR(e[1][8 + k].item<double>(), std::sin(250 * f), 1e-12);
    EXPECT_NEAR(e[0][k].item<double>(), std::cos(3 * f), 1e-12);
  }
}

// The reference architecture's parameter counts (the authors' code: ≈2.33M power, ≈3.67M stock).
TEST(EpsNetwork, ParameterCountsMatchTheReference) {
  auto count = [](int64_t x_dim, int64_t y_dim) {
    EpsNetworkImpl net(x_dim, y_dim, {});
    int64_t n = 0;
    for (const auto& p : net.parameters())
      n += p.numel();
    return n;
  };
  EXPECT_EQ(count(149, 24), 2333346);   // ≈ 2.33M
  EXPECT_EQ(count(1400, 50), 3670198);  // ≈ 3.67M
}

// predict() (split first layer, context precomputed) computes the same function as the literal
// concatenate → LayerNorm → Linear reference, with a shared step and with one step per row, for
// both placements of the input LayerNorm.
class EpsNetworkNorm : public ::testing::TestWithParam<InputNorm> {};

TEST_P(EpsNetworkNorm, SplitFirstLayerEqualsReferenceForward) {
  for (auto [x_dim, G] : {std::pair<int64_t, int64_t>{5, 6}, {0, 6}, {5, 9}, {3, 1}}) {
    torch::manual_seed(7);
    EpsNetworkOptions o;
    o.width = 32;
    o.depth = 3;
    o.time_hidden = 12;
    o.input_norm = GetParam();
    EpsNetworkImpl net(x_dim, 3, o);
    net.to(torch::kDouble);
    {
      torch::NoGradGuard ng;  // non-trivial LayerNorm affine parameters
      for (auto& p : net.named_parameters()) {
        if (p.key().find("norm") != std::string::npos)
          p.value().copy_(torch::randn_like(p.value()) * 0.5 + 0.2);
      }
    }
    const int64_t C = 4;
    const torch::Tensor x = torch::randn({C, x_dim}, torch::kDouble) * 2 + 1;
    const torch::Tensor y = torch::randn({C, G, 3}, torch::kDouble);
    const torch::Tensor xr = x.unsqueeze(1).expand({C, G, x_dim}).reshape({C * G, x_dim});
    // One step per row.
    const torch::Tensor t = torch::randint(1000, {C, G}, torch::kLong);
    const torch::Tensor a = net.predict(y, t, net.condition(x));
    const torch::Tensor b =
        net.forward_reference(y.reshape({C * G, 3}), t.reshape({-1}), xr).view({C, G, 3});
    EXPECT_LT(relative_error(a, b), 1e-12) << "x_dim=" << x_dim << " G=" << G;
    // A shared step, no grad (in-place path) and with grad.
    const torch::Tensor ts = torch::scalar_tensor(417, torch::kLong);
    const torch::Tensor c = net.predict(y, ts, net.condition(x));
    const torch::Tensor d =
        net.forward_reference(y.reshape({C * G, 3}), torch::full({C * G}, 417, torch::kLong), xr)
            .view({C, G, 3});
    EXPECT_LT(relative_error(c, d), 1e-12);
    torch::NoGradGuard ng;
    EXPECT_LT(relative_error(net.predict(y, ts, net.condition(x)), d), 1e-12);
    EXPECT_LT(relative_error(net.forward_rows(y.reshape({C * G, 3}),
                                              torch::full({C * G}, 417, torch::kLong), xr),
                             d.reshape({C * G, 3})),
              1e-12);
  }
}

// Gradients through the split form equal those of the reference form.
TEST_P(EpsNetworkNorm, SplitFirstLayerGradientsEqualReference) {
  torch::manual_seed(9);
  EpsNetworkOptions o;
  o.width = 24;
  o.time_hidden = 10;
  o.input_norm = GetParam();
  EpsNetworkImpl net(4, 2, o);
  net.to(torch::kDouble);
  const torch::Tensor x = torch::randn({3, 4}, torch::kDouble);
  const torch::Tensor y = torch::randn({3, 5, 2}, torch::kDouble);
  const torch::Tensor t = torch::randint(1000, {3, 5}, torch::kLong);
  const torch::Tensor R = torch::randn({3, 5, 2}, torch::kDouble);
  (net.predict(y, t, net.condition(x)) * R).sum().backward();
  const auto ga = testing::take_grads(net.parameters());
  const torch::Tensor xr = x.unsqueeze(1).expand({3, 5, 4}).reshape({15, 4});
  (net.forward_reference(y.reshape({15, 2}), t.reshape({-1}), xr).view({3, 5, 2}) * R)
      .sum()
      .backward();
  const auto gb = testing::take_grads(net.parameters());
  EXPECT_LT(relative_error(testing::flatten_all(ga), testing::flatten_all(gb)), 1e-11);
}

INSTANTIATE_TEST_SUITE_P(BothPlacements, EpsNetworkNorm,
                         ::testing::Values(InputNorm::kJoint, InputNorm::kContext),
                         [](const auto& p) { return to_string(p.param); });

// With the joint LayerNorm the scale of x decides how strongly y_t reaches the network; with the
// context LayerNorm it does not: ε̂ is unchanged when every context's x is multiplied by 10.
TEST(EpsNetwork, ContextNormMakesTheOutputIndependentOfTheScaleOfX) {
  for (InputNorm norm : {InputNorm::kJoint, InputNorm::kContext}) {
    torch::manual_seed(11);
    EpsNetworkOptions o;
    o.width = 32;
    o.time_hidden = 12;
    o.input_norm = norm;
    EpsNetworkImpl net(40, 3, o);
    net.to(torch::kDouble);
    torch::NoGradGuard ng;
    const torch::Tensor x = torch::randn({4, 40}, torch::kDouble);
    const torch::Tensor y = torch::randn({4, 5, 3}, torch::kDouble);
    const torch::Tensor t = torch::scalar_tensor(300, torch::kLong);
    const double change = relative_error(net.predict(y, t, net.condition(10 * x)),
                                         net.predict(y, t, net.condition(x)));
    if (norm == InputNorm::kContext) {
      EXPECT_LT(change, 1e-5);  // only LayerNorm's eps distinguishes the two
    } else {
      EXPECT_GT(change, 0.05);
    }
  }
  EXPECT_EQ(parse_input_norm("context"), InputNorm::kContext);
  EXPECT_THROW(parse_input_norm("rows"), InvalidArgument);
}

TEST(EpsNetwork, OptionsAndShapesAreChecked) {
  EpsNetworkOptions o;
  o.time_embed_dim = 15;
  try {
    o.validate();
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("time_embed_dim"), std::string::npos);
  }
  EpsNetworkOptions small;
  small.width = 8;
  EpsNetworkImpl net(3, 2, small);
  EXPECT_THROW(net.condition(torch::randn({2, 4})), InvalidArgument);
  EXPECT_THROW(net.predict(torch::randn({2, 1, 3}), torch::scalar_tensor(0, torch::kLong),
                           net.condition(torch::randn({2, 3}))),
               InvalidArgument);
  EXPECT_EQ(net.flops_per_row(false), 2 * (2 * 8 + 2 * 8 * 8 + 8 * 2));
  EXPECT_EQ(net.flops_per_row(true), 2 * ((2 + 16 + 3) * 8 + 2 * 8 * 8 + 8 * 2));
}

}  // namespace
}  // namespace diffdfl::models
