#include "diffdfl/dfl/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "diffdfl/core/error.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/dfl/batches.h"
#include "diffdfl/dfl/estimators.h"
#include "diffdfl/dfl/fitter.h"

namespace diffdfl::dfl {

namespace {

using nlohmann::json;

json metrics_or_null(const SplitMetrics& m) {
  return m.instances > 0 ? m.to_json() : json();
}

at::Generator cpu_generator() {
  return at::detail::getDefaultCPUGenerator();
}

}  // namespace

json EpochRecord::to_json() const {
  json j = {{"epoch", epoch},
            {"seconds", seconds},
            {"skipped_steps", skipped_steps},
            {"solver_failures", solver_failures},
            {"improved", improved},
            {"hold", metrics_or_null(hold)},
            {"test", metrics_or_null(test)}};
  j["train_cost"] = std::isnan(train_cost) ? json() : json(train_cost);
  j["fit_loss"] = std::isnan(fit_loss) ? json() : json(fit_loss);
  return j;
}

EpochRecord EpochRecord::from_json(const json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int64_t>();
  r.seconds = j.at("seconds").get<double>();
  r.skipped_steps = j.at("skipped_steps").get<int64_t>();
  r.solver_failures = j.at("solver_failures").get<int64_t>();
  r.improved = j.at("improved").get<bool>();
  r.hold = SplitMetrics::from_json(j.at("hold"));
  r.test = SplitMetrics::from_json(j.at("test"));
  if (!j.at("train_cost").is_null()) r.train_cost = j.at("train_cost").get<double>();
  if (!j.at("fit_loss").is_null()) r.fit_loss = j.at("fit_loss").get<double>();
  return r;
}

void TrainerOptions::validate() const {
  auto check = [](bool ok, const char* field, auto value, const char* what) {
    if (!ok) fail<InvalidArgument>("TrainerOptions.", field, " must be ", what, ", got ", value);
  };
  check(train.epochs >= 0, "train.epochs", train.epochs, ">= 0");
  check(train.batch_size >= 0, "train.batch_size", train.batch_size, ">= 0 (0 = full batch)");
  check(train.lr > 0 && std::isfinite(train.lr), "train.lr", train.lr, "> 0");
  check(train.samples >= 1, "train.samples", train.samples, ">= 1");
  check(train.patience >= 0, "train.patience", train.patience, ">= 0");
  check(train.min_delta >= 0, "train.min_delta", train.min_delta, ">= 0");
  check(train.max_skipped_steps >= 0, "train.max_skipped_steps", train.max_skipped_steps, ">= 0");
  check(train.grad_clip >= 0, "train.grad_clip", train.grad_clip, ">= 0");
  check(train.mix.dfl_weight >= 0, "train.mix.dfl_weight", train.mix.dfl_weight, ">= 0");
  check(train.mix.fit_weight >= 0, "train.mix.fit_weight", train.mix.fit_weight, ">= 0");
  check(
      train.mix.normalize == "dfl" || train.mix.normalize == "fit" || train.mix.normalize == "none",
      "train.mix.normalize", train.mix.normalize, "\"dfl\", \"fit\" or \"none\"");
  check(train.mix.fit_draws >= 1, "train.mix.fit_draws", train.mix.fit_draws, ">= 1");
  check(eval.samples >= 1, "eval.samples", eval.samples, ">= 1");
  check(eval.batch_size >= 1, "eval.batch_size", eval.batch_size, ">= 1");
  check(eval.sample_steps >= 0, "eval.sample_steps", eval.sample_steps, ">= 0");
  check(eval.epoch_repeats >= 1, "eval.epoch_repeats", eval.epoch_repeats, ">= 1");
}

DflTrainer::DflTrainer(const TrainerOptions& options, models::Predictor* predictor,
                       models::PolicyNet* policy, DecisionProblem problem, TrainData data,
                       std::shared_ptr<dist::Communicator> comm)
    : config_(options),
      comm_(comm ? std::move(comm) : dist::single_process()),
      predictor_(predictor),
      policy_(policy),
      problem_(std::move(problem)),
      data_(std::move(data)),
      range_(TargetRange::of(data_.train.y)) {
  config_.validate();
  DIFFDFL_CHECK((predictor_ == nullptr) != (policy_ == nullptr),
                "DflTrainer: give exactly one of a predictor and a policy");
  DIFFDFL_CHECK(problem_.layer != nullptr, "DflTrainer: the problem has no decision layer");
  for (const auto& p : model().parameters()) {
    if (p.requires_grad()) params_.push_back(p);
  }
  optimizer_ = make_optimizer(params_, "adam", config_.train.lr, 0.0);
  if (comm_->distributed()) {
    if (problem_.layer->options().pooled) {
      fail<InvalidArgument>(
          "data-parallel training shards each batch over the ranks, but this "
          "task's program is pooled (one program over the whole batch); train "
          "it in one process (without --nproc / WORLD_SIZE)");
    }
    std::vector<torch::Tensor> state = state_tensors();
    comm_->broadcast(state, 0);  // every rank starts from rank 0's model
  }
  best_state_ = state_tensors();
  for (auto& t : best_state_)
    t = t.detach().clone();
}

models::Model& DflTrainer::model() {
  return predictor_ != nullptr ? static_cast<models::Model&>(*predictor_) : *policy_;
}

const models::Model& DflTrainer::model() const {
  return predictor_ != nullptr ? static_cast<const models::Model&>(*predictor_) : *policy_;
}

std::vector<torch::Tensor> DflTrainer::state_tensors() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : model().module().parameters())
    out.push_back(p);
  for (const auto& b : model().module().buffers())
    out.push_back(b);
  return out;
}

SplitMetrics DflTrainer::evaluate(const SplitData& split) {
  if (policy_ != nullptr) {
    return evaluate_policy(*policy_, problem_, split.x, split.y, config_.eval.batch_size,
                           comm_.get());
  }
  EvalConfig per_epoch = config_.eval;
  per_epoch.repeats = config_.eval.epoch_repeats;
  return evaluate_predictor(*predictor_, problem_, split.x, split.y, per_epoch, range_, 0,
                            comm_.get());
}

EpochRecord DflTrainer::evaluate_initial() {
  Stopwatch sw;
  EpochRecord r;
  r.epoch = -1;
  r.hold = evaluate(data_.hold);
  r.test = evaluate(data_.test);
  r.seconds = sw.seconds();
  r.improved = true;
  // A hold split without a usable instance (NaN) is beaten by any later finite cost.
  best_hold_ = std::isnan(r.hold.cost) ? std::numeric_limits<double>::infinity() : r.hold.cost;
  best_epoch_ = -1;
  best_state_ = state_tensors();
  for (auto& t : best_state_)
    t = t.detach().clone();
  curve_ = {r};
  next_epoch_ = 0;
  if (config_.train.epochs == 0) stop_reason_ = "epochs";
  return r;
}

DflBatchLoss DflTrainer::reduce_dfl(const DflBatchLoss& local, int64_t shard_rows,
                                    std::vector<torch::Tensor>& grads) {
  // A NaN cost with usable solves means non-finite samples: one process would skip the whole
  // batch, so every rank does.
  const bool nonfinite = std::isnan(local.cost) && local.failures < shard_rows;
  const double usable =
      std::isnan(local.cost) ? 0.0 : static_cast<double>(shard_rows - local.failures);
  std::vector<torch::Tensor> values = grads;
  values.push_back(torch::tensor({usable > 0 ? local.cost : 0.0}, torch::kDouble));
  const double total = dist::weighted_mean(*comm_, values, usable);
  std::vector<torch::Tensor> counts = {
      torch::tensor({static_cast<double>(local.failures), nonfinite ? 1.0 : 0.0}, torch::kDouble)};
  comm_->all_reduce_sum(counts);
  DflBatchLoss global;
  global.failures = static_cast<int64_t>(counts[0][0].item<double>());
  if (total > 0 && counts[0][1].item<double>() == 0) global.cost = values.back().item<double>();
  return global;
}

DflTrainer::StepResult DflTrainer::train_step(const torch::Tensor& x_batch,
                                              const torch::Tensor& y_batch) {
  optimizer_->zero_grad();
  const auto [begin, end] = dist::shard_range(x_batch.size(0), comm_->rank(), comm_->world_size());
  const torch::Tensor x = comm_->distributed() ? x_batch.slice(0, begin, end) : x_batch;
  const torch::Tensor y = comm_->distributed() ? y_batch.slice(0, begin, end) : y_batch;
  const EstimatorOptions est{estimator(config_.method), config_.train.samples,
                             config_.train.rp_graph};
  DflBatchLoss dfl = dfl_backward(predictor_, policy_, problem_, x, y, est);
  std::vector<torch::Tensor> g_dfl = take_grads(params_);
  const double comm_before = comm_->comm_seconds();
  if (comm_->distributed()) dfl = reduce_dfl(dfl, x.size(0), g_dfl);
  const StepOptions step{config_.train.mix, config_.train.grad_clip, config_.shuffle_targets,
                         config_.seed, comm_.get()};
  const StepOutcome s = mixed_step(*optimizer_, params_, g_dfl, dfl.cost, predictor_, x, y, step,
                                   step_epoch_, step_batch_);
  step_comm_seconds_ += comm_->comm_seconds() - comm_before;
  ++steps_;
  StepResult r;
  r.cost = dfl.cost;
  r.fit = s.fit;
  r.failures = dfl.failures;
  r.skipped = s.skipped;
  return r;
}

EpochRecord DflTrainer::run_epoch(int64_t epoch, const ProgressFn& progress) {
  DIFFDFL_CHECK(!curve_.empty(), "DflTrainer::run_epoch: call evaluate_initial() first");
  DIFFDFL_CHECK(epoch == next_epoch_, "DflTrainer::run_epoch: expected epoch ", next_epoch_,
                ", got ", epoch);
  Stopwatch sw;
  model().train(true);
  EpochRecord r;
  r.epoch = epoch;
  const auto batches =
      epoch_batches(data_.train.x.size(0), config_.train.batch_size, config_.seed, "dfl", epoch);
  if (comm_->distributed()) {
    for (const torch::Tensor& idx : batches) {
      if (idx.size(0) < comm_->world_size())
        fail<InvalidArgument>("a training batch of ", idx.size(0), " rows cannot be shared by ",
                              comm_->world_size(), " ranks; raise train.batch_size or use fewer ",
                              "ranks");
    }
  }
  double cost_sum = 0;
  double fit_sum = 0;
  int64_t counted = 0;
  int64_t b = 0;
  for (const torch::Tensor& idx : batches) {
    step_epoch_ = epoch;
    step_batch_ = b;
    const StepResult s =
        train_step(data_.train.x.index_select(0, idx), data_.train.y.index_select(0, idx));
    ++b;
    r.solver_failures += s.failures;
    if (s.skipped) {
      ++r.skipped_steps;
      ++skipped_total_;
      if (skipped_total_ > config_.train.max_skipped_steps) break;
    } else {
      cost_sum += s.cost;
      if (!std::isnan(s.fit)) fit_sum += s.fit;
      ++counted;
    }
    if (progress)
      progress(b, static_cast<int64_t>(batches.size()), counted ? cost_sum / counted : 0.0);
  }
  failures_total_ += r.solver_failures;
  if (counted > 0) {
    r.train_cost = cost_sum / static_cast<double>(counted);
    if (predictor_ != nullptr && config_.train.mix.fit_weight > 0) r.fit_loss = fit_sum / counted;
  }
  r.hold = evaluate(data_.hold);
  r.test = evaluate(data_.test);
  if (r.hold.cost < best_hold_ - config_.train.min_delta) {
    r.improved = true;
    best_hold_ = r.hold.cost;
    best_epoch_ = epoch;
    bad_epochs_ = 0;
    best_state_ = state_tensors();
    for (auto& t : best_state_)
      t = t.detach().clone();
  } else {
    ++bad_epochs_;
  }
  r.seconds = sw.seconds();
  curve_.push_back(r);
  next_epoch_ = epoch + 1;
  if (skipped_total_ > config_.train.max_skipped_steps) {
    stop_reason_ = "diverged: " + std::to_string(skipped_total_) +
                   " steps had a non-finite loss or gradient (train.max_skipped_steps = " +
                   std::to_string(config_.train.max_skipped_steps) + "); try a smaller train.lr";
  } else if (next_epoch_ >= config_.train.epochs) {
    stop_reason_ = "epochs";
  } else if (config_.train.patience > 0 && bad_epochs_ >= config_.train.patience) {
    stop_reason_ = "patience";
  }
  return r;
}

double DflTrainer::comm_seconds_per_step() const {
  if (!comm_->distributed() || steps_ == 0) return std::nan("");
  return step_comm_seconds_ / static_cast<double>(steps_);
}

void DflTrainer::restore_best() {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> current = state_tensors();
  for (size_t i = 0; i < current.size(); ++i)
    current[i].copy_(best_state_[i]);
}

void DflTrainer::save(torch::serialize::OutputArchive& archive) const {
  json meta = {{"best_hold", best_hold_},         {"best_epoch", best_epoch_},
               {"bad_epochs", bad_epochs_},       {"next_epoch", next_epoch_},
               {"skipped_total", skipped_total_}, {"failures_total", failures_total_},
               {"stop_reason", stop_reason_},     {"curve", json::array()}};
  for (const auto& r : curve_)
    meta["curve"].push_back(r.to_json());
  archive.write("trainer.meta", c10::IValue(meta.dump()));
  torch::serialize::OutputArchive m;
  model().save(m);
  archive.write("model", m);
  torch::serialize::OutputArchive o;
  optimizer_->save(o);
  archive.write("optimizer", o);
  for (size_t i = 0; i < best_state_.size(); ++i) {
    archive.write("best." + std::to_string(i), best_state_[i]);
  }
  torch::Tensor rng;
  {
    at::Generator gen = cpu_generator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng = gen.get_state();
  }
  archive.write("rng.cpu", rng);  // rank 0's (the only one of a single-process run)
  if (comm_->distributed()) {
    archive.write("world_size", torch::tensor({static_cast<int64_t>(comm_->world_size())}));
    const std::vector<torch::Tensor> all = comm_->all_gather(rng);
    for (size_t r = 1; r < all.size(); ++r)
      archive.write("rng.cpu.rank" + std::to_string(r), all[r]);
  }
}

void DflTrainer::load(torch::serialize::InputArchive& archive) {
  // Refused before anything is loaded: a trainer is never left half restored.
  torch::Tensor saved_world;
  const int64_t world =
      archive.try_read("world_size", saved_world) ? saved_world.item<int64_t>() : 1;
  if (world != comm_->world_size()) {
    fail<InvalidArgument>(
        "the checkpoint was written by a run of ", world, " rank", world == 1 ? "" : "s",
        "; resume it with ", world,
        world == 1 ? " process (no --nproc / WORLD_SIZE)" : " ranks (--nproc or WORLD_SIZE)",
        ", not ", comm_->world_size());
  }
  c10::IValue meta_value;
  archive.read("trainer.meta", meta_value);
  const json meta = json::parse(meta_value.toStringRef());
  best_hold_ = meta.at("best_hold").get<double>();
  best_epoch_ = meta.at("best_epoch").get<int64_t>();
  bad_epochs_ = meta.at("bad_epochs").get<int64_t>();
  next_epoch_ = meta.at("next_epoch").get<int64_t>();
  skipped_total_ = meta.at("skipped_total").get<int64_t>();
  failures_total_ = meta.at("failures_total").get<int64_t>();
  stop_reason_ = meta.at("stop_reason").get<std::string>();
  curve_.clear();
  for (const auto& r : meta.at("curve"))
    curve_.push_back(EpochRecord::from_json(r));
  torch::serialize::InputArchive m;
  archive.read("model", m);
  model().load(m);
  torch::serialize::InputArchive o;
  archive.read("optimizer", o);
  optimizer_->load(o);
  best_state_ = state_tensors();
  for (size_t i = 0; i < best_state_.size(); ++i) {
    torch::Tensor t;
    archive.read("best." + std::to_string(i), t);
    best_state_[i] = t.to(best_state_[i].device(), best_state_[i].dtype());
  }
  torch::Tensor rng;
  archive.read(
      comm_->rank() == 0 ? std::string("rng.cpu") : "rng.cpu.rank" + std::to_string(comm_->rank()),
      rng);
  at::Generator gen = cpu_generator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(rng);
}

}  // namespace diffdfl::dfl
