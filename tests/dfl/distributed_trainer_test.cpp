// DflTrainer over two ranks (c10d/Gloo on localhost; this test is rank 0 and a copy of the test
// binary rank 1, tests/support/rank_process.h), on the two-asset portfolio of trainer_test.cpp with
// a contextual signal:
//   - a DFL step of an MLP (deterministic) on two ranks equals the step of one process on the same
//     global batch, also with the fitting term mixed in, and the sharded, reduced evaluation equals
//     the one-process evaluation;
//   - a two-rank checkpoint continued on two ranks ends bit-identically to an uninterrupted
//     two-rank run (a Gaussian predictor, so every rank's RNG state matters);
//   - one process refuses a two-rank checkpoint, and a pooled program is refused on two ranks.
#include <gtest/gtest.h>

#include <sstream>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/dfl/trainer.h"
#include "diffdfl/models/gaussian.h"
#include "diffdfl/models/mlp.h"
#include "diffdfl/opt/portfolio.h"
#include "support/rank_process.h"

namespace diffdfl::dfl {
namespace {

using diffdfl::testing::is_rank_worker;
using diffdfl::testing::rank_options;
using diffdfl::testing::RankProcess;
using diffdfl::testing::worker_options;

torch::TensorOptions f64() {
  return torch::TensorOptions().dtype(torch::kDouble);
}

DecisionProblem portfolio(bool pooled = false) {
  opt::PortfolioOptions o;
  o.n = 2;
  o.alpha = 1.0;
  o.kkt_ridge = 0.0;
  DecisionProblem p;
  opt::LayerOptions lo;
  lo.pooled = pooled;
  p.layer = std::make_shared<opt::DecisionLayer>(std::make_shared<opt::PortfolioProgram>(o), lo);
  return p;
}

/// y = (1.2, 0.6) + x·W + noise, with x [n, 3]: the decision depends on the context.
SplitData returns(int64_t n, uint64_t seed) {
  at::Generator g = make_generator(seed);
  const torch::Tensor x = torch::randn({n, 3}, g, f64());
  const torch::Tensor w = torch::tensor({{0.5, -0.2}, {0.1, 0.3}, {-0.4, 0.2}}, f64());
  return {x, torch::tensor({1.2, 0.6}, f64()) + x.matmul(w) + 0.3 * torch::randn({n, 2}, g, f64())};
}

TrainData data() {
  return {returns(23, 1), returns(11, 2), returns(9, 3)};
}

TrainerOptions options(Method method, int64_t epochs) {
  TrainerOptions o;
  o.method = method;
  o.seed = 5;
  o.train.epochs = epochs;
  o.train.batch_size = 0;  // one step per epoch on the global batch of 23 rows
  o.train.lr = 0.05;
  o.train.samples = 4;
  o.eval.samples = 4;
  o.eval.batch_size = 4;
  return o;
}

std::unique_ptr<models::MlpPredictor> mlp() {
  seed_global(7);
  models::MlpOptions o;
  o.width = 16;
  o.hidden_layers = 1;
  return std::make_unique<models::MlpPredictor>(3, 2, o, torch::kCPU, torch::kDouble);
}

std::unique_ptr<models::GaussianPredictor> gaussian() {
  seed_global(8);
  models::GaussianOptions o;
  o.width = 8;
  o.hidden_layers = 1;
  return std::make_unique<models::GaussianPredictor>(3, 2, o, torch::kCPU, torch::kDouble);
}

std::vector<torch::Tensor> parameters(const models::Predictor& p) {
  std::vector<torch::Tensor> out;
  for (const auto& t : p.module().parameters())
    out.push_back(t.detach().clone());
  return out;
}

void expect_close(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                  double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i], b[i], tol, tol)) << "parameter " << i;
}

/// One epoch (one step) of an MLP with `comm` and with one process: the same parameters and
/// metrics. `fit_weight` > 0 mixes the fitting term in (reduced over the ranks as well).
void mlp_step_matches(const std::shared_ptr<dist::Communicator>& comm, double fit_weight) {
  TrainerOptions o = options(Method::kDflMlp, 1);
  o.train.mix.fit_weight = fit_weight;
  auto one = mlp();
  DflTrainer alone(o, one.get(), nullptr, portfolio(), data());
  const EpochRecord a0 = alone.evaluate_initial();
  const EpochRecord a1 = alone.run_epoch(0);

  auto many = mlp();
  DflTrainer sharded(o, many.get(), nullptr, portfolio(), data(), comm);
  const EpochRecord b0 = sharded.evaluate_initial();
  const EpochRecord b1 = sharded.run_epoch(0);

  EXPECT_NEAR(b0.hold.cost, a0.hold.cost, 1e-12);
  EXPECT_NEAR(b0.test.cost, a0.test.cost, 1e-12);
  EXPECT_EQ(b0.test.instances, a0.test.instances);
  EXPECT_NEAR(b0.test.rmse, a0.test.rmse, 1e-12);
  EXPECT_NEAR(b1.train_cost, a1.train_cost, 1e-12);
  if (fit_weight > 0) {
    EXPECT_NEAR(b1.fit_loss, a1.fit_loss, 1e-12);
  }
  EXPECT_NEAR(b1.hold.cost, a1.hold.cost, 1e-12);
  EXPECT_NE(a1.hold.cost, a0.hold.cost);  // the step moved the model
  expect_close(parameters(*many), parameters(*one), 1e-12);
}

/// Two epochs on the ranks of `comm` uninterrupted, and saved after the first then continued in a
/// new trainer: bit-identical. Returns the saved checkpoint.
std::string resume_is_exact(const std::shared_ptr<dist::Communicator>& comm) {
  const TrainerOptions o = options(Method::kDflGaussianRp, 2);
  auto straight = gaussian();
  DflTrainer t(o, straight.get(), nullptr, portfolio(), data(), comm);
  seed_global(21);
  t.evaluate_initial();
  t.run_epoch(0);
  std::stringstream saved;
  torch::serialize::OutputArchive out;
  t.save(out);
  out.save_to(saved);
  t.run_epoch(1);

  auto resumed_model = gaussian();
  DflTrainer r(o, resumed_model.get(), nullptr, portfolio(), data(), comm);
  torch::serialize::InputArchive in;
  in.load_from(saved);
  r.load(in);
  r.run_epoch(1);
  const auto a = parameters(*straight);
  const auto b = parameters(*resumed_model);
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
  EXPECT_EQ(r.curve().back().hold.cost, t.curve().back().hold.cost);
  return saved.str();
}

/// Everything both ranks check.
void two_rank_checks(const std::shared_ptr<dist::Communicator>& comm) {
  ASSERT_EQ(comm->world_size(), 2);
  mlp_step_matches(comm, 0.0);
  mlp_step_matches(comm, 0.5);
  const std::string saved = resume_is_exact(comm);

  // A checkpoint of two ranks is refused by one process, naming both counts.
  auto model = gaussian();
  DflTrainer single(options(Method::kDflGaussianRp, 2), model.get(), nullptr, portfolio(), data());
  std::stringstream in_stream(saved);
  torch::serialize::InputArchive in;
  in.load_from(in_stream);
  try {
    single.load(in);
    ADD_FAILURE() << "a two-rank checkpoint was loaded by one process";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()),
              "the checkpoint was written by a run of 2 ranks; resume it with 2 ranks (--nproc or "
              "WORLD_SIZE), not 1");
  }

  // A pooled program cannot be sharded.
  auto pooled_model = mlp();
  EXPECT_THROW(DflTrainer(options(Method::kDflMlp, 1), pooled_model.get(), nullptr,
                          portfolio(/*pooled=*/true), data(), comm),
               InvalidArgument);
}

TEST(DistributedTrainerWorker, TwoRanks) {
  if (!is_rank_worker()) GTEST_SKIP() << "rank 1 of DistributedTrainer.TwoRanks";
  two_rank_checks(dist::connect(worker_options()));
}

TEST(DistributedTrainer, TwoRanks) {
  if (!dist::distributed_available()) GTEST_SKIP() << "built without c10d";
  const int port = dist::free_port();
  RankProcess peer("DistributedTrainerWorker.TwoRanks", port);
  ASSERT_TRUE(peer.started());
  two_rank_checks(dist::connect(rank_options(0, port)));
  EXPECT_EQ(peer.wait(), 0) << "rank 1's checks failed (its output is above)";
}

}  // namespace
}  // namespace diffdfl::dfl
