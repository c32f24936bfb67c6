// The pieces of the extension module diffdfl._C (python/diffdfl/ is the public API over it).
#pragma once

#include <torch/extension.h>

namespace diffdfl::python {

/// DecisionLayer, Solution and the layer factories (layers.cpp).
void bind_layers(pybind11::module_& m);
/// train, sample and the default folders (runs.cpp).
void bind_runs(pybind11::module_& m);

}  // namespace diffdfl::python
