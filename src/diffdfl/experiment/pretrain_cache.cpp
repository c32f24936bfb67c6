#include "diffdfl/experiment/pretrain_cache.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "diffdfl/core/artefact_file.h"
#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/file_lock.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/sha256.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/data/dataset.h"
#include "diffdfl/dfl/fitter.h"

namespace fs = std::filesystem;

namespace diffdfl::experiment {

namespace {

using nlohmann::json;

void save_fit(const fs::path& path, const models::Predictor& predictor, const json& meta,
              const dfl::PredictorFitter* fitter) {
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
  save_archive_file(path, archive);
}

json load_fit(const fs::path& path, models::Predictor& predictor, dfl::PredictorFitter* fitter) {
  const std::string recovery =
      fitter != nullptr
          ? "delete it and rerun: the pretraining then starts again from its first epoch"
          : "delete it and rerun: the model is then fitted again";
  json meta;
  const bool verified =
      load_archive_file(path, recovery, [&](torch::serialize::InputArchive& archive) {
        torch::serialize::InputArchive model;
        archive.read("model", model);
        predictor.load(model);
        c10::IValue meta_value;
        archive.read("meta", meta_value);
        meta = json::parse(meta_value.toStringRef());
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
        // The keys every later step reads: a file without them is as good as damaged.
        for (const char* key : {"seconds", "losses", "next_epoch"}) {
          if (!meta.contains(key))
            fail<DataError>(path.string(), ": its metadata lacks '", key, "'; ", recovery);
        }
      });
  if (!verified) {
    std::cerr << "diffdfl: warning: " << path.string()
              << " records no digest (written by an earlier diffdfl), so its integrity cannot be "
                 "checked; delete it to fit the model again\n";
  }
  return meta;
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

void check_cache_dir(const std::string& cache_dir) {
  std::error_code ec;
  if (fs::exists(cache_dir, ec) && !fs::is_directory(cache_dir, ec)) {
    fail<IoError>("the pretrained-model cache ", cache_dir,
                  " is not a directory; pass --cache-dir DIR (or set DIFFDFL_CACHE_DIR) to a "
                  "directory");
  }
}

void prepare_cache_dir(const std::string& cache_dir) {
  check_cache_dir(cache_dir);
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec || !fs::is_directory(cache_dir, ec)) {
    fail<IoError>("cannot create the pretrained-model cache ", cache_dir, ": ",
                  ec ? ec.message() : "not a directory",
                  "; pass --cache-dir DIR (or set DIFFDFL_CACHE_DIR) to a writable directory");
  }
}

std::string training_data_digest(const dfl::SplitData& train) {
  data::Split split;
  split.x = train.x;
  split.y = train.y;
  return data::digest(split);
}

std::string pretrain_cache_path(const RunConfig& cfg, const std::string& data_digest,
                                const std::string& cache_dir) {
  const std::string key =
      sha256_hex(cfg.pretrain_identity().dump() + "|data " + data_digest).substr(0, 20);
  return (fs::path(cache_dir) / (cfg.task + "-" + dfl::to_string(dfl::predictor_kind(cfg.method)) +
                                 "-seed" + std::to_string(cfg.seed) + "-" + key + ".pt"))
      .string();
}

PretrainInfo pretrain_with_cache(models::Predictor& predictor, const RunConfig& cfg,
                                 const dfl::SplitData& train, const dfl::SplitData& hold,
                                 const std::string& cache_dir, bool show_progress) {
  PretrainInfo info;
  const bool use_hold = cfg.pretrain.select == "hold";
  std::string data_digest = training_data_digest(train);
  if (use_hold) data_digest = sha256_hex(data_digest + "|hold " + training_data_digest(hold));
  info.path = pretrain_cache_path(cfg, data_digest, cache_dir);
  std::error_code ec;
  prepare_cache_dir(cache_dir);
  const fs::path final_path = info.path;
  const fs::path partial_path = final_path.string() + ".partial";
  FileLock lock(final_path.string() + ".lock");
  // Temporaries of this entry left by a process killed while writing it (we hold its lock).
  remove_stale_temporaries(cache_dir, final_path.filename().string());
  remove_stale_temporaries(cache_dir, partial_path.filename().string());

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
