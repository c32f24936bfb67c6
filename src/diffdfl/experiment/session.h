// A run's in-memory session: its checked configuration, dataset, decision problem, device and
// freshly initialised model, built from a resolved configuration without touching any run
// directory (so a bad configuration leaves nothing behind). Runs (run.cpp) and the gradient
// experiment (gradcos_sf_rp.cpp) open their sessions here, so both build a model the same way and
// draw its initial weights from the same stream (seed "init").
//
// Example:
//   Session s = open_session(config, "config", paths);
//   dfl::DflTrainer trainer(trainer_options(s.cfg), s.predictor.get(), s.policy.get(), s.problem,
//                           s.data());
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "diffdfl/data/dataset.h"
#include "diffdfl/dfl/predictor_factory.h"
#include "diffdfl/dfl/problem.h"
#include "diffdfl/dfl/trainer.h"
#include "diffdfl/experiment/run.h"
#include "diffdfl/experiment/run_config.h"
#include "diffdfl/models/policy.h"
#include "diffdfl/models/predictor.h"

namespace diffdfl::experiment {

/// Everything a run needs in memory. Exactly one of `predictor` and `policy` is set.
struct Session {
  RunConfig cfg;
  data::Dataset ds;
  dfl::DecisionProblem problem;
  torch::Device device = torch::kCPU;
  std::unique_ptr<models::Predictor> predictor;
  std::unique_ptr<models::PolicyNet> policy;

  models::Model& model() {
    return predictor ? static_cast<models::Model&>(*predictor)
                     : static_cast<models::Model&>(*policy);
  }
  dfl::TrainData data() const {
    return {{ds.train.x, ds.train.y}, {ds.hold.x, ds.hold.y}, {ds.test.x, ds.test.y}};
  }
  const data::Split& split(const std::string& name) const { return ds.split(name); }
};

/// The trainer's part of a run's configuration.
dfl::TrainerOptions trainer_options(const RunConfig& cfg);

/// The predictor's part of a run's configuration (method, model sections, target scaling).
dfl::PredictorOptions predictor_options(const RunConfig& cfg);

/// Reads and checks `config` (ConfigError naming `source` and the key), sets the thread count,
/// loads the dataset from paths.data_dir, builds the decision problem, seeds the global generator
/// from (seed, "init") and builds the method's model (a predictor with the training targets'
/// statistics, or a policy).
Session open_session(const nlohmann::json& config, const std::string& source,
                     const RunPaths& paths);

}  // namespace diffdfl::experiment
