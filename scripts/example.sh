#!/usr/bin/env bash
# Installs the built diffdfl (./build) into build/install and builds and runs examples/ against the
# installed package, as a user's own CMake project would (examples/README.md). CI runs it after
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d build ] || { echo "example.sh: run scripts/setup.sh first (no ./build)" >&2; exit 64; }
prefix="$PWD/build/install"
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target diffdfl_cli
cmake --install build --prefix "$prefix" > /dev/null
cmake -S examples -B build/examples -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build build/examples -j "$(nproc 2>/dev/null || echo 2)"
build/examples/budget_newsvendor
"$prefix/bin/diffdfl" --version
echo "example.sh: examples/ built against the installed diffdfl ($prefix) and ran"
