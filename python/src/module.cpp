// diffdfl._C: diffdfl's exceptions become Python exceptions carrying the library's one-line message
// (every diffdfl::Error is a diffdfl.Error, a ValueError; ConfigError and DataError have their own
// subclasses), and LibTorch errors raised inside the library become RuntimeError without the C++
// backtrace.
#include "bindings.h"
#include "diffdfl/core/error.h"
#include "diffdfl/core/version.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
  m.doc() = "diffdfl's C++ core; use the diffdfl package, not this module";
  m.attr("__version__") = diffdfl::kVersion;
  m.attr("source_dir") = DIFFDFL_SOURCE_DIR;

  static py::exception<diffdfl::Error> error(m, "Error", PyExc_ValueError);
  static py::exception<diffdfl::ConfigError> config_error(m, "ConfigError", error.ptr());
  static py::exception<diffdfl::DataError> data_error(m, "DataError", error.ptr());
  static py::exception<diffdfl::IoError> io_error(m, "IoError", error.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const diffdfl::ConfigError& e) {
      config_error(e.what());
    } catch (const diffdfl::DataError& e) {
      data_error(e.what());
    } catch (const diffdfl::IoError& e) {
      io_error(e.what());
    } catch (const diffdfl::Error& e) {
      error(e.what());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what_without_backtrace());
    }
  });

  diffdfl::python::bind_layers(m);
  diffdfl::python::bind_runs(m);
}
