# Finds the Python interpreter the package is built for (Python_EXECUTABLE; scripts/setup.sh passes
# the project's .venv) and points find_package(Torch) and find_package(pybind11) at what that
# interpreter imports: the extension must link the very LibTorch that `import torch` loads. With
# Debian's python3-torch that is the system LibTorch (libtorch-dev); with a PyPI torch it is the
# copy inside its wheel (torch.utils.cmake_prefix_path).
find_package(Python 3.8 REQUIRED COMPONENTS Interpreter Development.Module)

execute_process(
  COMMAND "${Python_EXECUTABLE}" -c "import torch, torch.utils; print(torch.utils.cmake_prefix_path); print(torch.__version__)"
  OUTPUT_VARIABLE _diffdfl_torch_out RESULT_VARIABLE _diffdfl_torch_rc ERROR_VARIABLE _diffdfl_torch_err
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _diffdfl_torch_rc EQUAL 0)
  message(FATAL_ERROR "DIFFDFL_PYTHON: ${Python_EXECUTABLE} cannot import torch (${_diffdfl_torch_err}); "
                      "install torch for it (Debian: apt-get install python3-torch) or pass "
                      "-DPython_EXECUTABLE=<an interpreter that has torch>")
endif()
string(REPLACE "\n" ";" _diffdfl_torch_out "${_diffdfl_torch_out}")
list(GET _diffdfl_torch_out 0 _diffdfl_torch_prefix)
list(GET _diffdfl_torch_out 1 DIFFDFL_PYTHON_TORCH_VERSION)
# Debian's python3-torch has no CMake files of its own (it uses the system LibTorch): only a prefix
# that holds TorchConfig.cmake is added.
if(EXISTS "${_diffdfl_torch_prefix}/Torch/TorchConfig.cmake")
  list(PREPEND CMAKE_PREFIX_PATH "${_diffdfl_torch_prefix}")
endif()

execute_process(COMMAND "${Python_EXECUTABLE}" -c "import pybind11; print(pybind11.get_cmake_dir())"
                OUTPUT_VARIABLE _diffdfl_pybind11_dir RESULT_VARIABLE _diffdfl_pybind11_rc
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(_diffdfl_pybind11_rc EQUAL 0)
  list(PREPEND CMAKE_PREFIX_PATH "${_diffdfl_pybind11_dir}")
endif()
# scripts/test.sh runs the Python tests with this interpreter.
set(DIFFDFL_PYTHON_EXECUTABLE "${Python_EXECUTABLE}" CACHE INTERNAL "The interpreter the package is built for")
message(STATUS "DIFFDFL_PYTHON: ${Python_EXECUTABLE} (Python ${Python_VERSION}, torch ${DIFFDFL_PYTHON_TORCH_VERSION})")
