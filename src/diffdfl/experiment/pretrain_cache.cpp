#include "diffdfl/experiment/pretrain_cache.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <mutex>

#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/file_lock.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/sha256.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/dfl/fitter.h"

namespace fs = std::filesystem;

namespace diffdfl::experiment {

namespace {

using nlohmann::json;

void save_fit(const fs::path& path, const models::Predictor& predictor, const json& meta,
              const dfl::PredictorFitter* fitter) {
  write_atomic_with(path, [&](const std::string& tmp) {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model;
    predictor.save(model);
    archive.write("model", model);
    archive.write("meta", c10::IValue(meta.dump()));
    if (fitter != nullptr) {
      torch::serialize::OutputArchive opt;
      fitter->save(opt);
      archive.write("optimizer", opt);
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      archive.write("rng.cpu", gen.get_state());
    }
    archive.save_to(tmp);
  });
}

json load_fit(const fs::path& path, models::Predictor& predictor, dfl::PredictorFitter* fitter) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const std::exception& e) {
    fail<IoError>(path.string(), ": unreadable pretrained-model file (", e.what(),
                  "); delete it to fit again");
  }
  torch::serialize::InputArchive model;
  archive.read("model", model);
  predictor.load(model);
  c10::IValue meta;
  archive.read("meta", meta);
  if (fitter != nullptr) {
    torch::serialize::InputArchive opt;
    archive.read("optimizer", opt);
    fitter->load(opt);
    torch::Tensor rng;
    archive.read("rng.cpu", rng);
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  }
  return json::parse(meta.toStringRef());
}

}  // namespace

json PretrainInfo::to_json() const {
  json j = {{"cached", cached},
            {"path", path},
            {"seconds", seconds},
            {"epochs", epochs},
            {"final_loss", losses.empty() ? json() : losses.back()}};
  if (!hold.is_null()) {
    j["hold_best_epoch"] = hold.at("best_epoch");
    j["hold_best_loss"] = hold.at("best_loss");
  }
  return j;
}

std::string training_data_digest(const dfl::SplitData& train) {
  std::string bytes;
  for (const torch::Tensor& t : {train.x, train.y}) {
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    for (int64_t d : c.sizes())
      bytes += std::to_string(d) + "x";
    bytes += std::string(c.dtype().name()) + ":";
    bytes.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
  }
  return sha256_hex(bytes);
}

std::string pretrain_cache_path(const dfl::RunConfig& cfg, const std::string& data_digest,
                                const std::string& cache_dir) {
  const std::string key =
      sha256_hex(cfg.pretrain_identity().dump() + "|data " + data_digest).substr(0, 20);
  return (fs::path(cache_dir) / (cfg.task + "-" + dfl::to_string(dfl::predictor_kind(cfg.method)) +
                                 "-seed" + std::to_string(cfg.seed) + "-" + key + ".pt"))
      .string();
}

PretrainInfo pretrain_with_cache(models::Predictor& predictor, const dfl::RunConfig& cfg,
                                 const dfl::SplitData& train, const dfl::SplitData& hold,
                                 const std::string& cache_dir, bool show_progress) {
  PretrainInfo info;
  const bool use_hold = cfg.pretrain.select == "hold";
  std::string data_digest = training_data_digest(train);
  if (use_hold) data_digest = sha256_hex(data_digest + "|hold " + training_data_digest(hold));
  info.path = pretrain_cache_path(cfg, data_digest, cache_dir);
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) fail<IoError>("cannot create the cache directory ", cache_dir, ": ", ec.message());
  const fs::path final_path = info.path;
  const fs::path partial_path = final_path.string() + ".partial";
  FileLock lock(final_path.string() + ".lock");

  if (fs::exists(final_path)) {
    const json meta = load_fit(final_path, predictor, nullptr);
    info.cached = true;
    info.seconds = meta.at("seconds").get<double>();
    info.losses = meta.at("losses");
    info.epochs = static_cast<int64_t>(info.losses.size());
    info.hold = meta.value("hold", json());
    return info;
  }

  dfl::PredictorFitter fitter(predictor, cfg.pretrain, train.x, train.y, cfg.seed,
                              cfg.shuffle_targets, use_hold ? hold.x : torch::Tensor(),
                              use_hold ? hold.y : torch::Tensor());
  seed_global(derive_seed(cfg.seed, "pretrain"));
  json meta = {{"identity", cfg.pretrain_identity()},
               {"data_sha256", data_digest},
               {"losses", json::array()},
               {"seconds", 0.0},
               {"next_epoch", 0}};
  if (use_hold)
    meta["hold"] = {{"best_epoch", -1}, {"best_loss", nullptr}, {"losses", json::array()}};
  if (fs::exists(partial_path)) meta = load_fit(partial_path, predictor, &fitter);
  Progress progress("pretrain " + dfl::to_string(dfl::predictor_kind(cfg.method)),
                    cfg.pretrain.epochs, show_progress);
  if (meta.at("next_epoch").get<int64_t>() > 0) {
    progress.message("resuming the pretraining at epoch " +
                     std::to_string(meta.at("next_epoch").get<int64_t>() + 1));
  }
  Stopwatch since_save;
  double seconds = meta.at("seconds").get<double>();
  for (int64_t e = meta.at("next_epoch").get<int64_t>();
       e < cfg.pretrain.epochs && !fitter.stopped(); ++e) {
    Stopwatch sw;
    const double loss = fitter.run_epoch(e, [&](int64_t b, int64_t n, double l) {
      progress.batch(e, b, n, {{"loss", l}});
    });
    seconds += sw.seconds();
    meta["losses"].push_back(loss);
    meta["seconds"] = seconds;
    meta["next_epoch"] = e + 1;
    if (!std::isnan(fitter.last_hold_loss())) {
      meta["hold"]["losses"].push_back({e, fitter.last_hold_loss()});
      meta["hold"]["best_epoch"] = fitter.best_epoch();
      meta["hold"]["best_loss"] = fitter.best_hold_loss();
    }
    const bool last = e + 1 == cfg.pretrain.epochs || fitter.stopped();
    if (last || e % std::max<int64_t>(1, cfg.pretrain.epochs / 10) == 0) {
      Progress::Values shown{{"loss", loss}};
      if (use_hold) shown.emplace_back("best hold", fitter.best_hold_loss());
      progress.epoch_done(e, shown);
    }
    // A partial checkpoint at most every 30 s keeps a killed fit resumable.
    if (!last && since_save.seconds() > 30) {
      save_fit(partial_path, predictor, meta, &fitter);
      since_save.reset();
    }
  }
  fitter.finish();
  save_fit(final_path, predictor, meta, nullptr);
  fs::remove(partial_path, ec);
  info.seconds = seconds;
  info.losses = meta["losses"];
  info.epochs = static_cast<int64_t>(info.losses.size());
  info.hold = meta.value("hold", json());
  return info;
}

}  // namespace diffdfl::experiment
