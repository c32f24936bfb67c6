// The nine methods of the paper as compositions of a predictor and a training mode (docs/methods.md).
//
//   method               predictor  trained on                        decision
//   two-stage-mlp        mlp        MSE                               program on the point forecast
//   two-stage-gaussian   gaussian   NLL                               SAA on M Gaussian samples
//   two-stage-diffusion  diffusion  denoising loss                    SAA on M diffusion samples
//   dfl-mlp              mlp        decision cost through the KKT     program on the point forecast
//   dfl-gaussian-rp      gaussian   decision cost, μ + σξ             SAA
//   dfl-gaussian-sf      gaussian   decision cost, exact score        SAA
//   dfl-diffusion-rp     diffusion  decision cost through the sampler SAA
//   dfl-diffusion-sf     diffusion  decision cost, ELBO surrogate     SAA
//   policy               policy     realised cost, no optimisation    network output
//
// Example:
//   dfl::Method m = dfl::parse_method("dfl-diffusion-sf");
//   if (dfl::estimator(m) == dfl::Estimator::kScoreFunction) { ... }
#pragma once

#include <string>
#include <vector>

namespace diffdfl::dfl {

enum class Method {
  kTwoStageMlp,
  kTwoStageGaussian,
  kTwoStageDiffusion,
  kDflMlp,
  kDflGaussianRp,
  kDflGaussianSf,
  kDflDiffusionRp,
  kDflDiffusionSf,
  kPolicy,
};

enum class PredictorKind { kMlp, kGaussian, kDiffusion, kPolicy };

/// How the decision cost's gradient reaches the parameters.
enum class Estimator {
  kNone,                ///< two-stage: no decision-focused training
  kReparameterization,  ///< ∂ℓ/∂ŷ through the decision layer into the sampler (M = 1 for the MLP)
  kScoreFunction,       ///< weighted log-density surrogate
  kDirect,              ///< policy: the realised cost of the network's decision
};

/// Every method name, in the order of the paper's table.
const std::vector<std::string>& method_names();
/// InvalidArgument listing the valid names for an unknown one.
Method parse_method(const std::string& name);
std::string to_string(Method m);
std::string to_string(PredictorKind k);

PredictorKind predictor_kind(Method m);
Estimator estimator(Method m);
/// True for the methods that start from a pretrained (fitted) predictor.
bool uses_pretraining(Method m);
/// True for the two-stage methods (fit only, then evaluate).
bool is_two_stage(Method m);

}  // namespace diffdfl::dfl
