// PredictorFitter against known answers on a constant predictor (a learned vector b, MSE loss):
// the fit reaches the data mean; the EMA and the cosine schedule land closer to it than the noisy
// last iterate of a constant large learning rate; hold-out selection keeps the state nearest the
// hold-out mean and the patience stops the fit; and a fit saved and resumed mid-way ends
// bit-identically to an uninterrupted one.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/dfl/fitter.h"
#include "diffdfl/models/mlp.h"

namespace diffdfl::dfl {
namespace {

std::unique_ptr<models::MlpPredictor> constant_model() {
  models::MlpOptions o;
  o.bias_only = true;
  return std::make_unique<models::MlpPredictor>(1, 1, o, torch::kCPU, torch::kDouble);
}

double bias(models::Predictor& p) {
  torch::NoGradGuard ng;
  return p.sample(torch::zeros({1, 1}, torch::kDouble), 1, models::GraphMode::kNone).item<double>();
}

PretrainConfig base_config() {
  PretrainConfig c;
  c.epochs = 60;
  c.batch_size = 8;
  c.lr = 0.3;  // large: the last iterate of Adam keeps jumping around the optimum
  return c;
}

struct Data {
  torch::Tensor x, y;
};

Data data(double mean, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::zeros({n, 1}, torch::kDouble), mean + torch::randn({n, 1}, torch::kDouble)};
}

double fit(const PretrainConfig& c, const Data& train) {
  auto model = constant_model();
  PredictorFitter f(*model, c, train.x, train.y, 5);
  seed_global(1);
  for (int64_t e = 0; e < c.epochs; ++e)
    f.run_epoch(e);
  f.finish();
  return bias(*model);
}

TEST(PredictorFitter, EmaAndCosineScheduleLandNearerTheMeanThanTheLastIterate) {
  const Data train = data(2.0, 400, 1);
  const double mean = train.y.mean().item<double>();
  const double last = std::abs(fit(base_config(), train) - mean);
  PretrainConfig ema = base_config();
  ema.ema = 0.98;
  PretrainConfig cosine = base_config();
  cosine.lr_schedule = "cosine";
  const double with_ema = std::abs(fit(ema, train) - mean);
  const double with_cosine = std::abs(fit(cosine, train) - mean);
  EXPECT_GT(last, 0.01);  // the constant-lr iterate is visibly off
  EXPECT_LT(with_ema, last / 3);
  EXPECT_LT(with_cosine, last / 3);
  EXPECT_LT(with_cosine, 0.01);
}

TEST(PredictorFitter, HoldOutSelectionKeepsTheBestStateAndThePatienceStops) {
  // Training pulls b from 0 towards 1, the hold-out data sit at 0.4: the kept state is the
  // evaluated one nearest 0.4, and once b has passed it the patience ends the fit.
  const Data train = data(1.0, 200, 2);
  const Data hold = data(0.4, 200, 3);
  const double hold_mean = hold.y.mean().item<double>();
  PretrainConfig c = base_config();
  c.lr = 0.004;
  c.epochs = 200;
  c.select = "hold";
  c.eval_every = 2;
  c.patience = 3;
  auto model = constant_model();
  PredictorFitter f(*model, c, train.x, train.y, 5, false, hold.x, hold.y);
  seed_global(1);
  int64_t e = 0;
  for (; e < c.epochs && !f.stopped(); ++e)
    f.run_epoch(e);
  EXPECT_TRUE(f.stopped());
  EXPECT_LT(e, c.epochs);
  EXPECT_EQ(f.best_epoch() % 2, 1);  // evaluated after epochs 1, 3, 5, ...
  const double before = bias(*model);
  f.finish();
  const double kept = bias(*model);
  EXPECT_GT(before, kept);  // the last iterate went past the hold-out mean
  EXPECT_LT(std::abs(kept - hold_mean), 0.05);
  // The hold-out loss is on a fixed random stream: evaluating twice gives the same number.
  EXPECT_EQ(f.hold_loss(), f.hold_loss());
  EXPECT_THROW(PredictorFitter(*model, c, train.x, train.y, 5), InvalidArgument);
}

TEST(PredictorFitter, ResumedFitIsBitIdentical) {
  const Data train = data(-1.0, 120, 4);
  const Data hold = data(-1.0, 50, 5);
  PretrainConfig c = base_config();
  c.epochs = 12;
  c.ema = 0.9;
  c.select = "hold";
  c.eval_every = 3;
  c.lr_schedule = "cosine";
  auto run = [&](int64_t stop_at) {
    auto model = constant_model();
    PredictorFitter f(*model, c, train.x, train.y, 9, false, hold.x, hold.y);
    seed_global(3);
    int64_t e = 0;
    for (; e < stop_at; ++e)
      f.run_epoch(e);
    if (stop_at < c.epochs) {  // save, then continue in a fresh model and fitter
      torch::serialize::OutputArchive a, m;
      f.save(a);
      model->save(m);
      std::stringstream fs, ms;
      a.save_to(fs);
      m.save_to(ms);
      auto model2 = constant_model();
      PredictorFitter f2(*model2, c, train.x, train.y, 9, false, hold.x, hold.y);
      torch::serialize::InputArchive ia, im;
      ia.load_from(fs);
      im.load_from(ms);
      model2->load(im);
      f2.load(ia);
      for (; e < c.epochs; ++e)
        f2.run_epoch(e);
      f2.finish();
      return bias(*model2);
    }
    f.finish();
    return bias(*model);
  };
  EXPECT_EQ(run(c.epochs), run(5));
}

}  // namespace
}  // namespace diffdfl::dfl
