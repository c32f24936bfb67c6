// DecisionLayer and Solution for Python: the built-in programs from the task registry (configured
// by the same "program" and "solver" sections as `diffdfl solve --set`), and user programs whose
// cost is a Python callable (opt::CostFunctionProgram). The GIL is released while the library
// works; a Python cost takes it back for each call.
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "diffdfl/core/config.h"
#include "diffdfl/core/error.h"
#include "diffdfl/opt/decision_layer.h"
#include "diffdfl/tasks/task.h"

namespace py = pybind11;

namespace diffdfl::python {

namespace {

using LayerPtr = std::shared_ptr<opt::DecisionLayer>;

LayerPtr task_layer(const std::string& task, int64_t n, const std::string& config_json,
                    const std::string& source) {
  const nlohmann::json config = nlohmann::json::parse(config_json);
  ConfigReader reader(config, source);
  LayerPtr layer = tasks::make_decision_layer(task, n, reader);
  reader.finish();
  return layer;
}

/// A Python callable as an opt::CostFunctionProgram cost. The callable is released under the GIL.
class PythonCost {
 public:
  explicit PythonCost(py::function fn)
      : fn_(new py::function(std::move(fn)), [](py::function* f) {
          py::gil_scoped_acquire gil;
          delete f;
        }) {}

  torch::Tensor operator()(const torch::Tensor& y, const torch::Tensor& z) const {
    py::gil_scoped_acquire gil;
    const py::object out = (*fn_)(y, z);
    if (!THPVariable_Check(out.ptr())) {
      fail<InvalidArgument>("cost: the callable must return a torch.Tensor [B, M], got ",
                            std::string(py::str(py::type::of(out).attr("__name__"))));
    }
    return out.cast<torch::Tensor>();
  }

 private:
  std::shared_ptr<py::function> fn_;
};

LayerPtr cost_layer(const std::string& name, int64_t n_y, int64_t n_z, const torch::Tensor& G,
                    const torch::Tensor& h, const std::optional<torch::Tensor>& A,
                    const std::optional<torch::Tensor>& b, py::function cost, double tol,
                    double inaccurate_tol, int64_t max_iter, bool pooled) {
  opt::LayerOptions options;
  options.solver.tol = tol;
  options.solver.inaccurate_tol = inaccurate_tol;
  options.solver.max_iter = max_iter;
  options.pooled = pooled;
  auto program = std::make_shared<opt::CostFunctionProgram>(
      name, n_y, n_z,
      opt::LinearConstraints::make(G, h, A.value_or(torch::Tensor()), b.value_or(torch::Tensor())),
      PythonCost(std::move(cost)));
  return std::make_shared<opt::DecisionLayer>(program, options);
}

std::vector<std::string> status_names(const opt::Solution& s) {
  std::vector<std::string> out;
  out.reserve(s.status.size());
  for (opt::SolveStatus st : s.status)
    out.emplace_back(opt::to_string(st));
  return out;
}

}  // namespace

void bind_layers(py::module_& m) {
  py::class_<opt::Solution>(m, "Solution",
                            "A batch of solutions with one status per instance (float64 tensors).")
      .def_readonly("z", &opt::Solution::z, "decisions [B, n_z]")
      .def_readonly("ineq_duals", &opt::Solution::ineq_duals, "multipliers of G z <= h [B, m]")
      .def_readonly("eq_duals", &opt::Solution::eq_duals, "multipliers of A z = b [B, p]")
      .def_readonly("slacks", &opt::Solution::slacks, "h - G z [B, m]")
      .def_readonly("objective", &opt::Solution::objective, "SAA objective at z [B]")
      .def_readonly("iterations", &opt::Solution::iterations, "solver iterations [B] (int64)")
      .def_property_readonly("status", &status_names,
                             "per instance: 'solved', 'inaccurate', 'infeasible', 'max-iter' or "
                             "'numerical'")
      .def_property_readonly("ok", &opt::Solution::ok_mask,
                             "[B] bool: True where z is usable ('solved' or 'inaccurate')")
      .def_property_readonly("all_ok", &opt::Solution::all_ok)
      .def("brief", &opt::Solution::brief, "one line, e.g. '64 instances: 64 solved; ...'")
      .def("__len__", &opt::Solution::batch)
      .def("__repr__", [](const opt::Solution& s) { return "<diffdfl.Solution " + s.brief() + ">"; });

  py::class_<opt::DecisionLayer, LayerPtr>(m, "DecisionLayer")
      .def_property_readonly("name", [](const opt::DecisionLayer& l) { return l.program().name(); })
      .def_property_readonly("n_y", [](const opt::DecisionLayer& l) { return l.program().n_y(); })
      .def_property_readonly("n_z", [](const opt::DecisionLayer& l) { return l.program().n_z(); })
      .def_property_readonly("pooled", [](const opt::DecisionLayer& l) { return l.options().pooled; })
      .def(
          "cost",
          [](const opt::DecisionLayer& l, const torch::Tensor& y, const torch::Tensor& z) {
            return l.program().cost(y, z);
          },
          py::arg("y"), py::arg("z"))
      .def("solve", &opt::DecisionLayer::solve, py::arg("samples"),
           py::call_guard<py::gil_scoped_release>())
      .def(
          "decide",
          [](const opt::DecisionLayer& l, const torch::Tensor& samples) {
            opt::Solution sol;
            torch::Tensor z = l.decide(samples, &sol);
            return std::make_pair(z, sol);
          },
          py::arg("samples"), py::call_guard<py::gil_scoped_release>())
      .def("sf_weights", &opt::DecisionLayer::sf_weights, py::arg("samples"), py::arg("solution"),
           py::arg("dl_dz"), py::call_guard<py::gil_scoped_release>())
      .def("stats",
           [](const opt::DecisionLayer& l) {
             const opt::LayerStats& s = l.stats();
             py::dict d;
             d["solves"] = s.solves;
             d["solve_failures"] = s.solve_failures;
             d["adjoint_failures"] = s.adjoint_failures;
             return d;
           })
      .def("reset_stats", &opt::DecisionLayer::reset_stats);

  m.def("task_layer", &task_layer, py::arg("task"), py::arg("n"), py::arg("config_json"),
        py::arg("source"));
  m.def("cost_layer", &cost_layer, py::arg("name"), py::arg("n_y"), py::arg("n_z"), py::arg("G"),
        py::arg("h"), py::arg("A"), py::arg("b"), py::arg("cost"), py::arg("tol"),
        py::arg("inaccurate_tol"), py::arg("max_iter"), py::arg("pooled"));
}

}  // namespace diffdfl::python
