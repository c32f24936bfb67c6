#include "diffdfl/dfl/fitter.h"

#include "diffdfl/core/error.h"
#include "diffdfl/dfl/batches.h"

namespace diffdfl::dfl {

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
                                 bool shuffle_targets)
    : predictor_(predictor),
      config_(config),
      x_(std::move(x)),
      y_(std::move(y)),
      seed_(seed),
      shuffle_targets_(shuffle_targets) {
  optimizer_ =
      make_optimizer(predictor_.parameters(), config_.optimizer, config_.lr, config_.weight_decay);
}

double PredictorFitter::run_epoch(int64_t epoch,
                                  const std::function<void(int64_t, int64_t, double)>& on_batch) {
  predictor_.train(true);
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
    const double v = loss.item<double>();
    total += v;
    if (on_batch) on_batch(++b, static_cast<int64_t>(batches.size()), v);
  }
  return total / static_cast<double>(batches.size());
}

void PredictorFitter::save(torch::serialize::OutputArchive& archive) const {
  optimizer_->save(archive);
}
void PredictorFitter::load(torch::serialize::InputArchive& archive) {
  optimizer_->load(archive);
}

}  // namespace diffdfl::dfl
