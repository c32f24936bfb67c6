// Runs from Python: the same resolve_config + experiment::train the CLI's `diffdfl train` uses, and
// experiment::sample for `diffdfl sample`. Configurations and metrics cross as JSON text.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "diffdfl/experiment/presets.h"
#include "diffdfl/experiment/run.h"

namespace py = pybind11;

namespace diffdfl::python {

namespace {

experiment::RunPaths run_paths(const std::string& data_dir, const std::string& cache_dir) {
  experiment::RunPaths p;
  p.data_dir = data_dir;
  p.cache_dir = cache_dir;
  return p;
}

std::string train(const std::string& config_dir, const std::string& preset, const std::string& task,
                  const std::string& method, uint64_t seed,
                  const std::vector<std::string>& overrides, const std::string& out_dir,
                  const std::string& data_dir, const std::string& cache_dir, bool progress) {
  experiment::TrainRequest req;
  req.config = experiment::resolve_config(config_dir, preset, task, method, seed, "", overrides);
  req.out_dir = out_dir;
  req.paths = run_paths(data_dir, cache_dir);
  req.show_progress = progress;
  return experiment::train(req).metrics.to_json().dump();
}

std::pair<torch::Tensor, torch::Tensor> sample(const std::string& run_dir, const std::string& split,
                                               int64_t index, int64_t n, int64_t count,
                                               const std::string& data_dir,
                                               const std::string& cache_dir) {
  torch::Tensor truth;
  torch::Tensor s =
      experiment::sample(run_dir, run_paths(data_dir, cache_dir), split, index, n, &truth, count);
  return {s, truth};
}

}  // namespace

void bind_runs(py::module_& m) {
  m.def("train", &train, py::arg("config_dir"), py::arg("preset"), py::arg("task"),
        py::arg("method"), py::arg("seed"), py::arg("overrides"), py::arg("out_dir"),
        py::arg("data_dir"), py::arg("cache_dir"), py::arg("progress"),
        py::call_guard<py::gil_scoped_release>());
  m.def("sample", &sample, py::arg("run_dir"), py::arg("split"), py::arg("index"), py::arg("n"),
        py::arg("count"), py::arg("data_dir"), py::arg("cache_dir"),
        py::call_guard<py::gil_scoped_release>());
  m.def("evaluate",
        [](const std::string& run_dir, const std::vector<std::string>& splits, int64_t samples,
           const std::string& data_dir, const std::string& cache_dir) {
          return experiment::evaluate(run_dir, run_paths(data_dir, cache_dir), splits, samples)
              .dump();
        },
        py::arg("run_dir"), py::arg("splits"), py::arg("samples"), py::arg("data_dir"),
        py::arg("cache_dir"), py::call_guard<py::gil_scoped_release>());
}

}  // namespace diffdfl::python
