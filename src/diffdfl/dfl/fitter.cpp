#include "diffdfl/dfl/fitter.h"

#include <cmath>
#include <string>

#include "diffdfl/core/error.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/dfl/batches.h"

namespace diffdfl::dfl {

namespace {

std::vector<torch::Tensor> detached_copies(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> out;
  out.reserve(ts.size());
  for (const auto& t : ts)
    out.push_back(t.detach().clone());
  return out;
}

void copy_into(const std::vector<torch::Tensor>& dst, const std::vector<torch::Tensor>& src) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < dst.size(); ++i)
    dst[i].copy_(src[i]);
}

void write_list(torch::serialize::OutputArchive& a, const std::string& key,
                const std::vector<torch::Tensor>& ts) {
  a.write(key + ".count", torch::tensor(static_cast<int64_t>(ts.size())));
  for (size_t i = 0; i < ts.size(); ++i)
    a.write(key + "." + std::to_string(i), ts[i]);
}

std::vector<torch::Tensor> read_list(torch::serialize::InputArchive& a, const std::string& key) {
  torch::Tensor count;
  a.read(key + ".count", count);
  std::vector<torch::Tensor> out(static_cast<size_t>(count.item<int64_t>()));
  for (size_t i = 0; i < out.size(); ++i)
    a.read(key + "." + std::to_string(i), out[i]);
  return out;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params,
                                                        const std::string& kind, double lr,
                                                        double weight_decay) {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : params) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  if (kind == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        trainable, torch::optim::AdamWOptions(lr).weight_decay(weight_decay));
  }
  DIFFDFL_CHECK(kind == "adam", "optimizer must be adam or adamw, got ", kind);
  return std::make_unique<torch::optim::Adam>(trainable, torch::optim::AdamOptions(lr));
}

PredictorFitter::PredictorFitter(models::Predictor& predictor, const PretrainConfig& config,
                                 torch::Tensor x, torch::Tensor y, uint64_t seed,
                                 bool shuffle_targets, torch::Tensor hold_x, torch::Tensor hold_y)
    : predictor_(predictor),
      config_(config),
      x_(std::move(x)),
      y_(std::move(y)),
      hold_x_(std::move(hold_x)),
      hold_y_(std::move(hold_y)),
      seed_(seed),
      shuffle_targets_(shuffle_targets) {
  DIFFDFL_CHECK(config_.select != "hold" || (hold_x_.defined() && hold_x_.size(0) > 0),
                "pretrain.select = \"hold\" needs a hold-out split");
  for (const auto& p : predictor_.parameters()) {
    if (p.requires_grad()) params_.push_back(p);
  }
  optimizer_ = make_optimizer(params_, config_.optimizer, config_.lr, config_.weight_decay);
  if (config_.ema > 0) ema_ = detached_copies(params_);
}

void PredictorFitter::update_ema() {
  if (ema_.empty()) return;
  ++steps_;
  // The usual warm-up: the decay grows from 0.1 towards config.ema over the first steps, so the
  // average does not remember the random initialisation.
  const double n = static_cast<double>(steps_);
  const double d = std::min(config_.ema, (1.0 + n) / (10.0 + n));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < ema_.size(); ++i)
    ema_[i].mul_(d).add_(params_[i].detach(), 1.0 - d);
}

double PredictorFitter::run_epoch(int64_t epoch,
                                  const std::function<void(int64_t, int64_t, double)>& on_batch) {
  predictor_.train(true);
  if (config_.lr_schedule == "cosine") {
    const double frac = static_cast<double>(epoch) / static_cast<double>(config_.epochs);
    const double lr = config_.lr * 0.5 * (1.0 + std::cos(M_PI * frac));
    for (auto& group : optimizer_->param_groups())
      group.options().set_lr(lr);
  }
  const auto batches = epoch_batches(x_.size(0), config_.batch_size, seed_, "pretrain", epoch);
  double total = 0;
  int64_t b = 0;
  for (const torch::Tensor& idx : batches) {
    optimizer_->zero_grad();
    torch::Tensor yb = y_.index_select(0, idx);
    if (shuffle_targets_) yb = shuffled_rows(yb, seed_, "pretrain", epoch, b);
    const torch::Tensor loss = predictor_.fit_loss(x_.index_select(0, idx), yb);
    loss.backward();
    optimizer_->step();
    update_ema();
    const double v = loss.item<double>();
    total += v;
    if (on_batch) on_batch(++b, static_cast<int64_t>(batches.size()), v);
  }
  last_hold_ = std::nan("");
  const bool last = epoch + 1 >= config_.epochs;
  if (config_.select == "hold" && ((epoch + 1) % config_.eval_every == 0 || last)) {
    last_hold_ = hold_loss();
    if (last_hold_ < best_hold_) {
      best_hold_ = last_hold_;
      best_epoch_ = epoch;
      best_ = selected_weights();
      bad_evals_ = 0;
    } else if (config_.patience > 0 && ++bad_evals_ >= config_.patience) {
      stopped_ = true;
    }
  }
  return total / static_cast<double>(batches.size());
}

std::vector<torch::Tensor> PredictorFitter::selected_weights() const {
  return detached_copies(ema_.empty() ? params_ : ema_);
}

double PredictorFitter::hold_loss() {
  if (!hold_x_.defined() || hold_x_.size(0) == 0) return std::nan("");
  torch::NoGradGuard no_grad;
  const bool was_training = predictor_.is_training();
  predictor_.train(false);
  std::vector<torch::Tensor> current;
  if (!ema_.empty()) {
    current = detached_copies(params_);
    copy_into(params_, ema_);
  }
  double total = 0;
  {
    const ScopedGlobalSeed same_noise(derive_seed(seed_, "pretrain.hold"), predictor_.device());
    for (int64_t r = 0; r < config_.hold_draws; ++r)
      total += predictor_.fit_loss(hold_x_, hold_y_).item<double>();
  }
  if (!current.empty()) copy_into(params_, current);
  predictor_.train(was_training);
  return total / static_cast<double>(config_.hold_draws);
}

void PredictorFitter::finish() {
  if (config_.select == "hold" && !best_.empty()) {
    copy_into(params_, best_);
  } else if (!ema_.empty()) {
    copy_into(params_, ema_);
  }
}

void PredictorFitter::save(torch::serialize::OutputArchive& archive) const {
  optimizer_->save(archive);
  write_list(archive, "fitter.ema", ema_);
  write_list(archive, "fitter.best", best_);
  archive.write("fitter.counters",
                torch::tensor({steps_, best_epoch_, bad_evals_, static_cast<int64_t>(stopped_)}));
  archive.write("fitter.best_hold", torch::tensor(best_hold_, torch::kDouble));
}

void PredictorFitter::load(torch::serialize::InputArchive& archive) {
  optimizer_->load(archive);
  ema_ = read_list(archive, "fitter.ema");
  best_ = read_list(archive, "fitter.best");
  torch::Tensor counters, best_hold;
  archive.read("fitter.counters", counters);
  archive.read("fitter.best_hold", best_hold);
  steps_ = counters[0].item<int64_t>();
  best_epoch_ = counters[1].item<int64_t>();
  bad_evals_ = counters[2].item<int64_t>();
  stopped_ = counters[3].item<int64_t>() != 0;
  best_hold_ = best_hold.item<double>();
}

}  // namespace diffdfl::dfl
