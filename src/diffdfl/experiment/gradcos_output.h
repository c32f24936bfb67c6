// The files of the gradient-fidelity experiment (gradcos.h): one CSV table per result list and the
// Markdown summary of each part. Pure functions of the options and results; run_gradcos writes
// them. Internal to experiment/.
//
// Example:
//   const SfRpResult r = run_sf_vs_rp(o);
//   write_file_atomic(dir / "gradcos_sf_rp.csv", sf_rp_csv(r));
//   std::cout << sf_rp_summary(o, r);
#pragma once

#include <string>

#include "diffdfl/experiment/gradcos.h"

namespace diffdfl::experiment {

/// epoch,batch,label,K,cosine,rel_rms,norm_ratio (one row per comparison).
std::string sf_rp_csv(const SfRpResult& r);
/// epoch,label,K,batches,cosine_of_sums,mean_cost (one row per epoch and estimator).
std::string sf_rp_epochs_csv(const SfRpResult& r);
/// context,label,K,cos_all,cos_A,cos_B,cos_c,rel_rms,norm_ratio,exact_log_p.
std::string elbo_csv(const ElboGradResult& r);
/// label,t,cos_A,cos_B,cos_c,count.
std::string elbo_timesteps_csv(const ElboGradResult& r);

/// Part (a)'s section of summary.md: setup, cosine tables, noise-only prediction, paired K
/// comparison and how to read them.
std::string sf_rp_summary(const SfRpOptions& o, const SfRpResult& r);
/// Part (b)'s section of summary.md.
std::string elbo_summary(const ElboGradOptions& o, const ElboGradResult& r);

}  // namespace diffdfl::experiment
