#!/usr/bin/env bash
# Builds (incrementally) and runs the whole test suite: ctest, then the Python package's pytest suite
# when the build has it (scripts/setup.sh). Extra arguments go to ctest (e.g. -L opt).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
ctest --test-dir build --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" "$@"
if grep -q '^DIFFDFL_PYTHON:BOOL=ON' build/CMakeCache.txt; then
  cmake --install build --component python >/dev/null
  python=$(sed -n 's/^DIFFDFL_PYTHON_EXECUTABLE:INTERNAL=//p' build/CMakeCache.txt)
  "$python" -m pytest -q tests/python
fi
