// Fuzzes `diffdfl solve`'s inputs end to end: the first byte picks the task and the gradient mode,
// then come `--set` lines, the samples CSV and the upstream CSV, separated by "\n%%\n". Any input
// gives a solution or a diffdfl::Error; a solution reported usable has a finite z and objective,
// and every gradient is finite.
#include <cstdint>
#include <sstream>
#include <string>

#include "diffdfl/core/config.h"
#include "diffdfl/core/csv.h"
#include "diffdfl/core/error.h"
#include "diffdfl/tasks/task.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const gradients[] = {"reference", "exact", "smoothed"};
  const auto parts = diffdfl::fuzzing::split_parts(data + 1, size - 1, 3);
  try {
    nlohmann::json config = nlohmann::json::object();
    if (data[0] & 0x10) config["program"]["gradient"] = gradients[(data[0] >> 5) % 3];
    std::istringstream sets(parts[0]);
    for (std::string line; std::getline(sets, line);)
      diffdfl::apply_override(config, line);
    const torch::Tensor samples = diffdfl::parse_numeric_csv(parts[1], "samples.csv");
    if (samples.size(1) > diffdfl::tasks::kMaxDecisionDim || samples.size(0) > 512) return 0;
    diffdfl::ConfigReader reader(config, "--set");
    const auto layer = diffdfl::tasks::make_decision_layer(
        diffdfl::tasks::task_names()[data[0] % diffdfl::tasks::task_names().size()],
        samples.size(1), reader);
    reader.finish();
    diffdfl::opt::Solution sol;
    const torch::Tensor y = samples.unsqueeze(0).clone().requires_grad_(true);
    const torch::Tensor z = layer->decide(y, &sol);
    if (diffdfl::opt::usable(sol.status[0]) && (!torch::isfinite(sol.z).all().item<bool>() ||
                                                !torch::isfinite(sol.objective).all().item<bool>()))
      __builtin_trap();
    diffdfl::NumericCsvOptions u_opts;
    u_opts.expected_columns = layer->program().n_z();
    const torch::Tensor u = diffdfl::parse_numeric_csv(parts[2], "upstream.csv", u_opts);
    if (u.size(0) != 1) return 0;
    (z * u).sum().backward();
    const torch::Tensor w = layer->sf_weights(y.detach(), sol, u);
    if (!torch::isfinite(y.grad()).all().item<bool>() || !torch::isfinite(w).all().item<bool>())
      __builtin_trap();
  } catch (const diffdfl::Error&) {
  }
  return 0;
}
