// The newsvendor data has the law it documents: y | x ~ N(base + W x, σ² I), seeded, with fixed
// split sizes.
#include <gtest/gtest.h>

#include "diffdfl/core/error.h"
#include "diffdfl/data/newsvendor.h"

namespace diffdfl::data {
namespace {

TEST(Newsvendor, SplitsAndShapes) {
  const Dataset ds = make_newsvendor(NewsvendorOptions{});
  EXPECT_EQ(ds.task, "newsvendor");
  EXPECT_EQ(ds.train.size(), 640);
  EXPECT_EQ(ds.hold.size(), 160);
  EXPECT_EQ(ds.test.size(), 200);
  EXPECT_EQ(ds.x_dim, 5);
  EXPECT_EQ(ds.y_dim, 4);
  EXPECT_EQ(ds.train.y.sizes(), (std::vector<int64_t>{640, 4}));
}

TEST(Newsvendor, ResidualsHaveTheDocumentedLaw) {
  NewsvendorOptions o;
  o.n_samples = 20000;
  o.sigma = 2.0;
  const Dataset ds = make_newsvendor(o);
  for (const Split* s : {&ds.train, &ds.hold, &ds.test}) {
    const torch::Tensor r = s->y - newsvendor_mean(ds.meta, s->x);
    // Mean 0 (SE 2/sqrt(N·4) ≤ 0.03) and sd σ (relative SE ≈ 1/sqrt(2 N·4) ≤ 0.016).
    EXPECT_NEAR(r.mean().item<double>(), 0.0, 0.12);
    EXPECT_NEAR(r.std().item<double>() / o.sigma, 1.0, 0.06);
  }
  // The context explains the demand: the conditional mean varies with the loading's scale.
  const torch::Tensor mu = newsvendor_mean(ds.meta, ds.train.x);
  EXPECT_NEAR(mu.std(0).mean().item<double>(), o.loading, 0.6);
  EXPECT_NEAR(mu.mean().item<double>(), o.base, 0.3);
}

TEST(Newsvendor, SeededAndDeterministic) {
  NewsvendorOptions o;
  o.seed = 4;
  const Dataset a = make_newsvendor(o);
  const Dataset b = make_newsvendor(o);
  EXPECT_EQ(digest(a.train), digest(b.train));
  o.seed = 5;
  EXPECT_NE(digest(make_newsvendor(o).train), digest(a.train));
}

TEST(Newsvendor, BadOptionsAreNamed) {
  NewsvendorOptions o;
  o.sigma = 0;
  EXPECT_THROW(make_newsvendor(o), InvalidArgument);
  o = NewsvendorOptions{};
  o.n_samples = 3;
  try {
    make_newsvendor(o);
    ADD_FAILURE() << "no exception";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("NewsvendorOptions.n_samples"), std::string::npos);
  }
}

}  // namespace
}  // namespace diffdfl::data
