#include "diffdfl/experiment/run.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <sstream>

#include "diffdfl/core/artefact_file.h"
#include "diffdfl/core/atomic_file.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/file_lock.h"
#include "diffdfl/core/memory.h"
#include "diffdfl/core/seed.h"
#include "diffdfl/core/timer.h"
#include "diffdfl/core/version.h"
#include "diffdfl/dfl/trainer.h"
#include "diffdfl/experiment/pretrain_cache.h"
#include "diffdfl/experiment/session.h"

namespace fs = std::filesystem;

namespace diffdfl::experiment {

namespace {

using nlohmann::json;

/// A JSON file of the run directory; `recovery` says what to do when it is damaged.
json read_json(const fs::path& path, const std::string& recovery) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail<IoError>(path.string(), " not found");
  try {
    return json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    fail<DataError>(path.string(), ": damaged (not valid JSON: ", e.what(), "); ", recovery);
  }
}

void write_json(const fs::path& path, const json& j) {
  write_file_atomic(path, j.dump(2) + "\n");
}

std::string resume_command(const fs::path& dir) {
  return "`diffdfl train --resume " + dir.string() + "`";
}

std::string config_recovery(const fs::path& dir) {
  return "the run cannot be rebuilt without its configuration: restore " +
         (dir / "config.json").string() + " or start the run again in a new directory with --out";
}

std::string model_recovery(const fs::path& dir) {
  return "delete " + (dir / "model.pt").string() + " and " + (dir / "metrics.json").string() +
         ", then run " + resume_command(dir) +
         " to rebuild it (from checkpoint.pt or the pretrained-model cache)";
}

void warn_unverified(const fs::path& path) {
  std::cerr << "diffdfl: warning: " << path.string()
            << " records no digest (written by an earlier diffdfl), so its integrity cannot be "
               "checked\n";
}

void save_model(const fs::path& path, const models::Model& model) {
  torch::serialize::OutputArchive archive;
  model.save(archive);
  save_archive_file(path, archive);
}

void load_model(const fs::path& path, models::Model& model) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail<IoError>(path.string(), " not found (is the run finished?)");
  const bool verified =
      load_archive_file(path, model_recovery(path.parent_path()),
                        [&](torch::serialize::InputArchive& archive) { model.load(archive); });
  if (!verified) warn_unverified(path);
}

/// Seconds recorded in DIR/wall_seconds (0 when absent or unreadable: it is only a timing).
double read_wall_seconds(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return 0;
  const std::string text = read_file(path);
  double v = 0;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || !std::isfinite(v) || v < 0) {
    std::cerr << "diffdfl: warning: " << path.string()
              << " is damaged; the wall time counts from this resume on\n";
    return 0;
  }
  return v;
}

std::string number(double v) {
  if (std::isnan(v)) return "";
  std::ostringstream out;
  out << std::setprecision(10) << v;
  return out.str();
}

void write_curve(const fs::path& path, const std::vector<dfl::EpochRecord>& curve) {
  std::vector<std::string> extras;
  for (const auto& [k, v] : curve.front().test.extra)
    extras.push_back(k);
  std::ostringstream out;
  out << "epoch,train_cost,fit_loss,hold_cost,test_cost";
  for (const auto& k : extras)
    out << ",hold_" << k << ",test_" << k;
  out << ",hold_rmse,test_rmse,seconds,cumulative_seconds,skipped_steps,solver_failures,improved\n";
  double cumulative = 0;
  for (const auto& r : curve) {
    cumulative += r.seconds;
    out << r.epoch << "," << number(r.train_cost) << "," << number(r.fit_loss) << ","
        << number(r.hold.cost) << "," << number(r.test.cost);
    for (const auto& k : extras) {
      out << "," << number(r.hold.extra.count(k) ? r.hold.extra.at(k) : std::nan("")) << ","
          << number(r.test.extra.count(k) ? r.test.extra.at(k) : std::nan(""));
    }
    out << "," << number(r.hold.rmse) << "," << number(r.test.rmse) << "," << number(r.seconds)
        << "," << number(cumulative) << "," << r.skipped_steps << "," << r.solver_failures << ","
        << (r.improved ? 1 : 0) << "\n";
  }
  write_file_atomic(path, out.str());
}

dfl::SplitMetrics evaluate_split(Session& s, const std::string& name, int64_t samples,
                                 dist::Communicator* comm = nullptr) {
  const data::Split& split = s.split(name);
  if (s.policy) {
    return dfl::evaluate_policy(*s.policy, s.problem, split.x, split.y, s.cfg.eval.batch_size,
                                comm);
  }
  return dfl::evaluate_predictor(*s.predictor, s.problem, split.x, split.y, s.cfg.eval,
                                 dfl::TargetRange::of(s.ds.train.y), samples, comm);
}

/// The random stream `purpose` of this rank: the run's own for one process (runs stay as they
/// were), one per rank for N ranks (a run of N ranks is reproducible with N ranks).
uint64_t rank_seed(uint64_t seed, const std::string& purpose, const dist::Communicator& comm) {
  return derive_seed(
      seed, comm.distributed() ? purpose + ".rank" + std::to_string(comm.rank()) : purpose);
}

/// Hold and test metrics of the current model, from a fixed random stream (reproducible by eval).
std::pair<dfl::SplitMetrics, dfl::SplitMetrics> final_evaluation(Session& s,
                                                                 dist::Communicator& comm) {
  seed_global(rank_seed(s.cfg.seed, "final-eval", comm));
  dfl::SplitMetrics hold = evaluate_split(s, "hold", 0, &comm);
  dfl::SplitMetrics test = evaluate_split(s, "test", 0, &comm);
  return {hold, test};
}

/// Why the final evaluation has no usable value ("" when it has one): a split whose every instance
/// failed has a NaN cost.
std::string unusable_evaluation(const dfl::SplitMetrics& hold, const dfl::SplitMetrics& test) {
  std::string why;
  for (const auto& [name, m] :
       {std::pair<const char*, const dfl::SplitMetrics&>{"hold", hold}, {"test", test}}) {
    if (!std::isnan(m.cost)) continue;
    why += std::string(why.empty() ? "" : "; ") + "the final " + name +
           " evaluation has no usable " + "instance (" + std::to_string(m.solver_failures) +
           " of " + std::to_string(m.instances) + " solves failed)";
  }
  if (!why.empty()) {
    why += "; check the solver settings (e.g. solver.max_iter) and the program, then train again";
  }
  return why;
}

/// The metrics of the selected model: its final hold and test evaluation and the training's
/// record; the status says whether the run has a result.
RunMetrics final_metrics(const Session& s, const dfl::DflTrainer& trainer,
                         const dfl::SplitMetrics& hold, const dfl::SplitMetrics& test,
                         const json& pretrain, double wall_seconds) {
  const std::vector<dfl::EpochRecord>& curve = trainer.curve();
  double curve_seconds = 0;
  for (const auto& r : curve)
    curve_seconds += r.seconds;
  RunMetrics m;
  m.task = s.cfg.task;
  m.method = dfl::to_string(s.cfg.method);
  m.seed = s.cfg.seed;
  m.preset = s.cfg.preset;
  m.device = s.cfg.device;
  m.version = kVersion;
  m.threads = torch::get_num_threads();
  m.stop_reason = dfl::is_two_stage(s.cfg.method) ? "two-stage" : trainer.stop_reason();
  m.headline = s.problem.headline;
  m.hold = hold;
  m.test = test;
  m.initial_test_cost = curve.front().test.cost;
  if (curve.front().test.extra.count(m.headline)) {
    m.initial_test_extra[m.headline] = curve.front().test.extra.at(m.headline);
  }
  m.best_epoch = trainer.best_epoch();
  m.epochs_run = static_cast<int64_t>(curve.size()) - 1;
  m.solver_failures = trainer.solver_failures() + hold.solver_failures + test.solver_failures;
  m.skipped_steps = trainer.skipped_steps();
  const double pretrain_seconds = pretrain.is_object() ? pretrain.value("seconds", 0.0) : 0.0;
  m.train_seconds = pretrain_seconds + curve_seconds;
  m.wall_seconds = wall_seconds;
  m.peak_rss_mb = peak_rss_mb();
  m.pretrain = pretrain;
  if (m.stop_reason.rfind("diverged", 0) == 0) {
    m.status = RunStatus::kDiverged;
  } else if (const std::string why = unusable_evaluation(hold, test); !why.empty()) {
    // A run whose selected model has no usable final evaluation has no result: it must not claim
    // to have completed.
    m.status = RunStatus::kFailed;
    m.failure = why;
  }
  return m;
}

RunOutcome run_session(Session& s, const fs::path& dir, const RunPaths& paths, bool progress_on,
                       bool resuming, const std::shared_ptr<dist::Communicator>& comm) {
  Stopwatch wall;
  const bool main = comm->is_main();  // rank 0 alone writes the run directory and shows progress
  progress_on = progress_on && main;
  const fs::path checkpoint = dir / "checkpoint.pt";
  const fs::path pretrain_file = dir / "pretrain.json";
  Progress progress(dfl::to_string(s.cfg.method), s.cfg.train.epochs, progress_on);
  const bool have_checkpoint = resuming && fs::exists(checkpoint);
  const double wall_before = resuming ? read_wall_seconds(dir / "wall_seconds") : 0.0;

  json pretrain = json();
  if (s.predictor && s.cfg.pretrain.epochs > 0 && !have_checkpoint) {
    const PretrainInfo info =
        pretrain_with_cache(*s.predictor, s.cfg, {s.ds.train.x, s.ds.train.y},
                            {s.ds.hold.x, s.ds.hold.y}, paths.cache_dir, progress_on);
    pretrain = info.to_json();
    if (main) write_json(pretrain_file, pretrain);
  } else if (fs::exists(pretrain_file)) {
    pretrain = read_json(pretrain_file, "delete it and run " + resume_command(dir) +
                                            " again (metrics.json then lacks the pretraining "
                                            "record)");
  }

  dfl::DflTrainer trainer(trainer_options(s.cfg), s.predictor.get(), s.policy.get(), s.problem,
                          s.data(), comm);
  if (dfl::is_two_stage(s.cfg.method)) {
    seed_global(rank_seed(s.cfg.seed, "dfl", *comm));
    trainer.evaluate_initial();
  } else if (have_checkpoint) {
    const bool verified =
        load_archive_file(checkpoint,
                          "delete it and run " + resume_command(dir) +
                              " again: the DFL training then restarts from its pretrained model",
                          [&](torch::serialize::InputArchive& archive) { trainer.load(archive); });
    if (!verified) warn_unverified(checkpoint);
    progress.message("resuming " + dir.string() + " at epoch " +
                     std::to_string(trainer.next_epoch() + 1));
  } else {
    seed_global(rank_seed(s.cfg.seed, "dfl", *comm));
    const dfl::EpochRecord r0 = trainer.evaluate_initial();
    progress.message("initial hold " + s.problem.headline + " " + std::to_string(r0.hold.cost) +
                     ", test " + std::to_string(r0.test.cost));
  }
  auto save_state = [&]() {
    torch::serialize::OutputArchive archive;
    trainer.save(archive);  // a collective with N ranks
    if (!main) return;
    write_curve(dir / "curve.csv", trainer.curve());
    save_archive_file(checkpoint, archive);
    write_file_atomic(dir / "wall_seconds", std::to_string(wall_before + wall.seconds()));
  };
  if (!dfl::is_two_stage(s.cfg.method)) {
    if (!have_checkpoint) save_state();
    while (!trainer.finished()) {
      const int64_t e = trainer.next_epoch();
      const dfl::EpochRecord r = trainer.run_epoch(e, [&](int64_t b, int64_t n, double cost) {
        progress.batch(e, b, n, {{"train", cost}});
      });
      progress.epoch_done(e, {{"train", r.train_cost},
                              {"hold", r.hold.cost},
                              {"test", r.test.cost},
                              {"s", r.seconds}});
      save_state();
    }
    trainer.restore_best();
  } else if (main) {
    write_curve(dir / "curve.csv", trainer.curve());
  }
  if (trainer.stop_reason().rfind("diverged", 0) == 0)
    progress.message("stopped: " + trainer.stop_reason());

  const auto [hold, test] = final_evaluation(s, *comm);
  RunOutcome out;
  out.metrics = final_metrics(s, trainer, hold, test, pretrain, wall_before + wall.seconds());
  if (comm->distributed()) {
    out.metrics.ranks = comm->world_size();
    out.metrics.comm_seconds = comm->comm_seconds();
    out.metrics.comm_seconds_per_step = trainer.comm_seconds_per_step();
  }
  if (main) {
    save_model(dir / "model.pt", s.model());
    write_json(dir / "metrics.json", out.metrics.to_json());
  }
  comm->barrier();  // no rank reports success before rank 0 has written the result
  return out;
}

/// Holds DIR/.lock while this process trains in DIR: a second process on the same run directory
/// (two campaigns, or a --resume of a run still going) is refused instead of interleaving writes.
std::unique_ptr<FileLock> lock_run_dir(const fs::path& dir) {
  std::unique_ptr<FileLock> lock = FileLock::try_lock(dir / ".lock");
  if (!lock)
    fail<IoError>("run directory ", dir.string(),
                  " is in use by another diffdfl process (it holds ", (dir / ".lock").string(),
                  "); wait for it to finish, or stop it and run --resume ", dir.string(), " again");
  return lock;
}

/// True when `dir` is absent, empty, or holds nothing but what a run leaves before it writes
/// config.json: its lock file and temporaries of a killed write. Such a directory holds no run
/// and may be (re)used by a fresh one.
bool holds_no_run(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) return false;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool temporary = name.rfind('.', 0) == 0 && name.find(".tmp.") != std::string::npos;
    if (name != ".lock" && !temporary) return false;
  }
  return !ec;
}

void create_run_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    fail<IoError>("--out ", dir.string(), " is a file, not a directory; choose another --out");
  }
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    fail<IoError>("cannot create the run directory ", dir.string(), ": ",
                  ec ? ec.message() : "not a directory", "; choose another --out");
  }
}

bool pretrains(const Session& s) {
  return s.predictor != nullptr && s.cfg.pretrain.epochs > 0;
}

/// Runs the session, turning an I/O failure (a full disk, a file-size limit) into a message that
/// says how to continue: every file written so far is complete, so the run resumes.
RunOutcome run_guarded(Session& s, const fs::path& dir, const RunPaths& paths, bool progress,
                       bool resuming, const std::shared_ptr<dist::Communicator>& comm) {
  try {
    return run_session(s, dir, paths, progress, resuming, comm);
  } catch (const IoError& e) {
    fail<IoError>(e.what(), "; the run directory is intact: once this is fixed, continue with ",
                  resume_command(dir));
  }
}

}  // namespace

RunOutcome train(const TrainRequest& request) {
  if (request.out_dir.empty()) fail<InvalidArgument>("--out: the run directory name is empty");
  // Everything that can be checked is checked before anything is created.
  Session s = open_session(request.config, "config", request.paths);
  const fs::path dir = request.out_dir;
  const std::shared_ptr<dist::Communicator> comm =
      request.comm ? request.comm : dist::single_process();
  if (!comm->is_main()) {
    comm->barrier();  // rank 0 has created the directory (or stopped with an error)
    return run_guarded(s, dir, request.paths, false, /*resuming=*/false, comm);
  }
  const auto refuse_used = [&]() {
    fail<IoError>("run directory ", dir.string(),
                  " exists and is not empty; continue it with --resume ", dir.string(),
                  " or choose another --out");
  };
  if (!holds_no_run(dir)) refuse_used();
  if (pretrains(s)) check_cache_dir(request.paths.cache_dir);
  const bool existed = fs::exists(dir);
  create_run_dir(dir);
  if (pretrains(s)) {
    try {
      prepare_cache_dir(request.paths.cache_dir);
    } catch (const Error&) {
      std::error_code ec;
      if (!existed) fs::remove(dir, ec);  // ours and still empty: leave nothing behind
      throw;
    }
  }
  const std::unique_ptr<FileLock> lock = lock_run_dir(dir);
  if (!holds_no_run(dir)) refuse_used();  // another process got here first
  remove_stale_temporaries(dir);
  write_json(dir / "config.json", s.cfg.to_json());
  comm->barrier();
  return run_guarded(s, dir, request.paths, request.show_progress, /*resuming=*/false, comm);
}

RunOutcome resume(const std::string& run_dir, const RunPaths& paths, bool show_progress,
                  std::shared_ptr<dist::Communicator> comm) {
  if (!comm) comm = dist::single_process();
  const fs::path dir = run_dir;
  const auto finished = [&]() {
    const std::string recovery = "delete it and run " + resume_command(dir) +
                                 " to redo the final evaluation (it is deterministic)";
    const json metrics = read_json(dir / "metrics.json", recovery);
    for (const char* key : {"status", "task", "method", "stop_reason"}) {
      if (!metrics.is_object() || !metrics.contains(key) || !metrics[key].is_string()) {
        fail<DataError>((dir / "metrics.json").string(), ": damaged (no '", key, "'); ", recovery);
      }
    }
    RunOutcome out;
    try {
      out.metrics = RunMetrics::from_json(metrics, (dir / "metrics.json").string());
    } catch (const DataError& e) {
      fail<DataError>(e.what(), "; ", recovery);
    }
    return out;
  };
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fail<IoError>(dir.string(),
                  " is not a run directory (it does not exist); start a run with "
                  "--out");
  }
  if (fs::exists(dir / "metrics.json")) return finished();
  if (!fs::exists(dir / "config.json")) {
    if (holds_no_run(dir)) {
      fail<IoError>(dir.string(),
                    " holds no run: it was stopped before it wrote config.json; start the run "
                    "again with `diffdfl train --task T --method M --out ",
                    dir.string(), "`, which reuses the directory");
    }
    fail<IoError>(dir.string(), " is not a run directory (no config.json); start a run with --out");
  }
  // Rank 0 holds the lock; the other ranks only read the directory.
  std::unique_ptr<FileLock> lock;
  if (comm->is_main()) {
    lock = lock_run_dir(dir);
    if (fs::exists(dir / "metrics.json")) return finished();  // it ended before we took the lock
    remove_stale_temporaries(dir);
  }
  const json config = read_json(dir / "config.json", config_recovery(dir));
  Session s = open_session(config, (dir / "config.json").string(), paths);
  if (pretrains(s)) prepare_cache_dir(paths.cache_dir);
  comm->barrier();
  return run_guarded(s, dir, paths, show_progress, /*resuming=*/true, comm);
}

json evaluate(const std::string& run_dir, const RunPaths& paths,
              const std::vector<std::string>& splits, int64_t samples) {
  const fs::path dir = run_dir;
  Session s = open_session(read_json(dir / "config.json", config_recovery(dir)),
                           (dir / "config.json").string(), paths);
  load_model(dir / "model.pt", s.model());
  seed_global(derive_seed(s.cfg.seed, "final-eval"));
  json out = {{"task", s.cfg.task}, {"method", dfl::to_string(s.cfg.method)}, {"seed", s.cfg.seed}};
  for (const auto& name : splits) {
    s.ds.split(name);  // InvalidArgument for an unknown split name
    out[name] = evaluate_split(s, name, samples).to_json();
  }
  return out;
}

torch::Tensor sample(const std::string& run_dir, const RunPaths& paths, const std::string& split,
                     int64_t index, int64_t n, torch::Tensor* truth, int64_t count) {
  const fs::path dir = run_dir;
  Session s = open_session(read_json(dir / "config.json", config_recovery(dir)),
                           (dir / "config.json").string(), paths);
  if (!s.predictor)
    fail("run ", run_dir, " trained a policy, which has no predictive distribution");
  const data::Split& sp = s.ds.split(split);
  DIFFDFL_CHECK(count >= 1, "--contexts must be >= 1, got ", count);
  DIFFDFL_CHECK(index >= 0 && index + count <= sp.size(), "--index ", index,
                (count > 1 ? " with --contexts " + std::to_string(count) : std::string()),
                " is out of range for the ", split, " split of ", sp.size(), " rows");
  DIFFDFL_CHECK(n >= 1, "--n must be >= 1, got ", n);
  load_model(dir / "model.pt", s.model());
  torch::NoGradGuard no_grad;
  s.predictor->train(false);
  std::vector<torch::Tensor> out;
  for (int64_t row = index; row < index + count; ++row) {
    seed_global(derive_seed(s.cfg.seed, "sample." + split + "." + std::to_string(row)));
    const torch::Tensor x = sp.x.index({torch::indexing::Slice(row, row + 1)});
    out.push_back(
        s.predictor->sample(x, n, models::GraphMode::kNone)[0].to(torch::kCPU, torch::kDouble));
  }
  if (truth != nullptr) *truth = sp.y.index({torch::indexing::Slice(index, index + count)}).clone();
  return torch::stack(out);
}

}  // namespace diffdfl::experiment
