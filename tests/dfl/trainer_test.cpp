// DflTrainer on a two-asset risk-averse portfolio, f(y, z) = ½α(yᵀz)² − yᵀz on the simplex, where
// everything is small and the answer is known: a constant point forecast ŷ = ȳ + b (a bias-only
// MLP) decides z*(ŷ), and DFL must move it from the plug-in decision z*(ȳ) to the sample-average
// optimum argmin_z mean_i f(y_i, z), which the decision layer computes directly. Also: a checkpoint
// saved mid-run and continued ends bit-identically to an uninterrupted run; the patience and the
// divergence rules stop the run; restore_best loads the best hold-out state; and one trainer step
// is exactly the step of the estimators unit (estimators.h) on the same batch.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/dfl/batches.h"
#include "diffdfl/dfl/estimators.h"
#include "diffdfl/dfl/fitter.h"
#include "diffdfl/dfl/trainer.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/opt/portfolio.h"

namespace diffdfl::dfl {
namespace {

constexpr double kAlpha = 1.0;

torch::TensorOptions f64() {
  return torch::TensorOptions().dtype(torch::kDouble);
}

DecisionProblem portfolio() {
  opt::PortfolioOptions o;
  o.n = 2;
  o.alpha = kAlpha;
  o.kkt_ridge = 0.0;  // the exact derivative
  DecisionProblem p;
  p.layer = std::make_shared<opt::DecisionLayer>(std::make_shared<opt::PortfolioProgram>(o));
  return p;
}

/// N returns per asset with means (1.2, 0.6) and standard deviation `sd`; x carries no signal.
SplitData returns(int64_t n, double sd, uint64_t seed) {
  at::Generator g = make_generator(seed);
  const torch::Tensor mean = torch::tensor({1.2, 0.6}, f64());
  return {torch::zeros({n, 1}, f64()), mean + sd * torch::randn({n, 2}, g, f64())};
}

/// ŷ = shift + b with b learned, starting at the training mean.
std::unique_ptr<models::MlpPredictor> constant_forecast(const torch::Tensor& train_y) {
  models::MlpOptions o;
  o.bias_only = true;
  auto m = std::make_unique<models::MlpPredictor>(1, 2, o, torch::kCPU, torch::kDouble);
  m->set_target_transform(train_y.mean(0), torch::ones({2}, f64()));
  return m;
}

std::unique_ptr<models::GaussianPredictor> small_gaussian(const torch::Tensor& train_y) {
  seed_global(3);
  models::GaussianOptions o;
  o.width = 8;
  o.hidden_layers = 1;
  auto m = std::make_unique<models::GaussianPredictor>(1, 2, o, torch::kCPU, torch::kDouble);
  m->set_target_transform(train_y.mean(0), torch::ones({2}, f64()));
  return m;
}

TrainerOptions options(Method method, int64_t epochs) {
  TrainerOptions o;
  o.method = method;
  o.seed = 11;
  o.train.epochs = epochs;
  o.train.batch_size = 0;  // full batch: deterministic for a point forecast
  o.train.lr = 0.02;
  o.train.samples = 4;
  o.eval.samples = 4;
  return o;
}

/// Mean realised cost of one decision z [2] over the rows of y.
double mean_cost(const DecisionProblem& p, const torch::Tensor& y, const torch::Tensor& z) {
  return p.cost(y, z.unsqueeze(0).expand({y.size(0), 2})).mean().item<double>();
}

/// The decision of a constant forecast.
torch::Tensor decision_of(models::Predictor& m, const DecisionProblem& p) {
  torch::NoGradGuard no_grad;
  const torch::Tensor s = m.sample(torch::zeros({1, 1}, f64()), 1, models::GraphMode::kNone);
  return p.layer->solve(s).z[0];
}

std::vector<torch::Tensor> state_of(models::Model& m) {
  std::vector<torch::Tensor> out;
  for (const auto& t : m.parameters())
    out.push_back(t.detach().clone());
  return out;
}

bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

TEST(DflTrainer, ReachesTheSampleAverageOptimumFromThePlugInDecision) {
  const DecisionProblem p = portfolio();
  const SplitData train = returns(64, 0.5, 1);
  auto model = constant_forecast(train.y);
  // The known answer: the SAA program over all training returns, solved as one context.
  const torch::Tensor z_saa = p.layer->solve(train.y.unsqueeze(0)).z[0];
  const double best = mean_cost(p, train.y, z_saa);
  const double plug_in = mean_cost(p, train.y, decision_of(*model, p));
  ASSERT_GT(plug_in - best, 2e-3) << "the test needs a plug-in decision that is clearly worse";

  const SplitData hold = returns(4, 0.5, 6);  // small: only the training cost is checked
  DflTrainer trainer(options(Method::kDflMlp, 100), model.get(), nullptr, p, {train, hold, hold});
  trainer.evaluate_initial();
  while (!trainer.finished())
    trainer.run_epoch(trainer.next_epoch());
  const torch::Tensor z = decision_of(*model, p);
  EXPECT_NEAR(z[0].item<double>(), z_saa[0].item<double>(), 0.01);
  EXPECT_NEAR(mean_cost(p, train.y, z), best, 1e-4);
  EXPECT_EQ(trainer.stop_reason(), "epochs");
  EXPECT_EQ(trainer.skipped_steps(), 0);
}

/// A Gaussian RP run of `epochs`, continued from a checkpoint taken after `split` epochs when
/// split > 0; returns the final parameters and the curve's hold costs.
std::pair<std::vector<torch::Tensor>, std::vector<double>> gaussian_run(int64_t epochs,
                                                                        int64_t split) {
  const DecisionProblem p = portfolio();
  const SplitData train = returns(32, 0.5, 2), hold = returns(16, 0.5, 3);
  TrainerOptions o = options(Method::kDflGaussianRp, epochs);
  o.train.batch_size = 8;
  auto model = small_gaussian(train.y);
  DflTrainer trainer(o, model.get(), nullptr, p, {train, hold, hold});
  seed_global(4);
  trainer.evaluate_initial();
  std::stringstream saved;
  for (int64_t e = 0; e < (split > 0 ? split : epochs); ++e)
    trainer.run_epoch(e);
  if (split > 0) {
    torch::serialize::OutputArchive out;
    trainer.save(out);
    out.save_to(saved);
    seed_global(99);  // whatever the generator holds now, the checkpoint restores its state
    auto fresh = small_gaussian(train.y);
    DflTrainer resumed(o, fresh.get(), nullptr, p, {train, hold, hold});
    torch::serialize::InputArchive in;
    in.load_from(saved);
    resumed.load(in);
    while (!resumed.finished())
      resumed.run_epoch(resumed.next_epoch());
    std::vector<double> holds;
    for (const auto& r : resumed.curve())
      holds.push_back(r.hold.cost);
    return {state_of(*fresh), holds};
  }
  std::vector<double> holds;
  for (const auto& r : trainer.curve())
    holds.push_back(r.hold.cost);
  return {state_of(*model), holds};
}

TEST(DflTrainer, CheckpointAndContinueIsBitIdenticalToAnUninterruptedRun) {
  const auto whole = gaussian_run(4, 0);
  const auto resumed = gaussian_run(4, 2);
  EXPECT_TRUE(same(whole.first, resumed.first));
  EXPECT_EQ(whole.second, resumed.second);  // exact, epoch −1 to 3
  ASSERT_EQ(whole.second.size(), 5U);
}

TEST(DflTrainer, PatienceStopsAfterEpochsWithoutImprovement) {
  const DecisionProblem p = portfolio();
  const SplitData train = returns(16, 0.5, 1);
  auto model = constant_forecast(train.y);
  TrainerOptions o = options(Method::kDflMlp, 50);
  o.train.patience = 2;
  o.train.min_delta = 1.0;  // no epoch can improve the hold-out cost by that much
  DflTrainer trainer(o, model.get(), nullptr, p, {train, train, train});
  trainer.evaluate_initial();
  while (!trainer.finished())
    trainer.run_epoch(trainer.next_epoch());
  EXPECT_EQ(trainer.stop_reason(), "patience");
  EXPECT_EQ(trainer.curve().size(), 3U);  // epochs −1, 0, 1
  EXPECT_EQ(trainer.best_epoch(), -1);
}

TEST(DflTrainer, NonFiniteStepsAreSkippedAndStopTheRunAsDiverged) {
  const DecisionProblem p = portfolio();
  SplitData train = returns(16, 0.5, 1);
  const SplitData hold = returns(8, 0.5, 2);
  auto model = constant_forecast(train.y);
  train.y = torch::full_like(train.y, std::nan(""));  // every training cost is NaN
  TrainerOptions o = options(Method::kDflMlp, 5);
  o.train.batch_size = 2;  // 8 steps per epoch
  o.train.max_skipped_steps = 3;
  DflTrainer trainer(o, model.get(), nullptr, p, {train, hold, hold});
  const auto before = state_of(*model);
  trainer.evaluate_initial();
  const EpochRecord r = trainer.run_epoch(0);
  EXPECT_TRUE(trainer.finished());
  EXPECT_EQ(trainer.stop_reason().rfind("diverged: 4 steps", 0), 0U) << trainer.stop_reason();
  EXPECT_EQ(r.skipped_steps, 4);  // the epoch ends at the step that exceeds the budget
  EXPECT_TRUE(std::isnan(r.train_cost));
  EXPECT_TRUE(same(before, state_of(*model)));  // no skipped step moved the parameters
}

TEST(DflTrainer, RestoreBestLoadsTheBestHoldOutState) {
  const DecisionProblem p = portfolio();
  const SplitData train = returns(64, 0.5, 1);
  // Nearly noiseless hold-out returns: their best decision is the plug-in one of their mean, where
  // training starts, so every step towards the training optimum is worse on the hold-out split.
  const SplitData hold = returns(16, 0.01, 5);
  auto model = constant_forecast(hold.y);
  DflTrainer trainer(options(Method::kDflMlp, 5), model.get(), nullptr, p, {train, hold, hold});
  const auto initial = state_of(*model);
  trainer.evaluate_initial();
  while (!trainer.finished())
    trainer.run_epoch(trainer.next_epoch());
  ASSERT_FALSE(same(initial, state_of(*model)));
  EXPECT_EQ(trainer.best_epoch(), -1);
  trainer.restore_best();
  EXPECT_TRUE(same(initial, state_of(*model)));
}

TEST(DflTrainer, OneStepIsTheEstimatorsUnitsStepOnTheSameBatch) {
  const DecisionProblem p = portfolio();
  const SplitData train = returns(12, 0.5, 1);
  for (Method method : {Method::kDflMlp, Method::kDflGaussianRp, Method::kDflGaussianSf}) {
    TrainerOptions o = options(method, 1);
    o.train.batch_size = 12;  // one step per epoch
    o.train.mix.fit_weight = 0.5;
    o.train.mix.normalize = "dfl";
    o.train.grad_clip = 0.3;
    auto by_trainer = small_gaussian(train.y);
    auto by_hand = small_gaussian(train.y);
    std::unique_ptr<models::Predictor> mlp_a, mlp_b;
    models::Predictor* a = by_trainer.get();
    models::Predictor* b = by_hand.get();
    if (method == Method::kDflMlp) {
      mlp_a = constant_forecast(train.y);
      mlp_b = constant_forecast(train.y);
      a = mlp_a.get();
      b = mlp_b.get();
    }
    DflTrainer trainer(o, a, nullptr, p, {train, train, train});
    trainer.evaluate_initial();
    seed_global(21);
    trainer.run_epoch(0);

    std::vector<torch::Tensor> params;
    for (const auto& t : b->parameters())
      if (t.requires_grad()) params.push_back(t);
    auto optimizer = make_optimizer(params, "adam", o.train.lr, 0.0);
    const torch::Tensor idx = epoch_batches(12, 12, o.seed, "dfl", 0).front();
    const torch::Tensor x = train.x.index_select(0, idx), y = train.y.index_select(0, idx);
    b->train(true);
    seed_global(21);
    optimizer->zero_grad();
    const DflBatchLoss l =
        dfl_backward(b, nullptr, p, x, y, {estimator(method), o.train.samples, o.train.rp_graph});
    const StepOptions step{o.train.mix, o.train.grad_clip, o.shuffle_targets, o.seed};
    const StepOutcome s =
        mixed_step(*optimizer, params, take_grads(params), l.cost, b, x, y, step, 0, 0);
    ASSERT_FALSE(s.skipped) << to_string(method);
    EXPECT_TRUE(same(state_of(*a), state_of(*b))) << to_string(method);
    EXPECT_EQ(trainer.curve().back().train_cost, l.cost) << to_string(method);
  }
}

TEST(TrainerOptions, NameTheBadField) {
  TrainerOptions o;
  o.train.lr = 0;
  try {
    o.validate();
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("TrainerOptions.train.lr"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace diffdfl::dfl
