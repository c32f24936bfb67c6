#!/usr/bin/env bash
# Installs every Debian package diffdfl needs and builds it (Release) into ./build; with --fuzz also
# the fuzz targets (clang, ASan + UBSan) into ./build-fuzz (fuzz/README.md). Unless --no-python, it
# also builds the Python package and installs it into ./.venv (docs/python.md).
# Works as root or through sudo. Usage: scripts/setup.sh [--no-install] [--jobs N] [--fuzz] [--no-python]
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
fuzz=0
python=1
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --jobs) jobs="$2"; shift ;;
    --fuzz) fuzz=1 ;;
    --no-python) python=0 ;;
    *) echo "setup.sh: unknown option $1 (use --no-install, --jobs N, --fuzz, --no-python)" >&2; exit 2 ;;
  esac
  shift
done

packages=(
  build-essential cmake            # compiler and build system
  libtorch-dev                     # LibTorch 1.13.1 (CPU): tensors, autograd, nn
  libgloo-dev                      # Gloo headers, for c10d data-parallel training (docs/distributed.md)
  libopenblas0-pthread             # fast BLAS for LibTorch (reference BLAS is ~30x slower)
  libcli11-dev                     # command-line parsing
  nlohmann-json3-dev               # JSON configs, metrics and CLI output
  zlib1g-dev                       # reading the gzip-compressed S&P 500 prices
  libssl-dev                       # SHA-256 (libcrypto) to verify the shipped data files
  tzdata                           # America/New_York time-zone rules for the PJM timestamps
  googletest libgtest-dev          # unit tests
  libbenchmark-dev                 # benchmarks under bench/
  gnuplot-nox                      # figures (diffdfl plot)
  clang-14 libclang-rt-14-dev      # the fuzz targets: clang with libFuzzer, ASan and UBSan
)
if [ "$python" = 1 ]; then
  packages+=(
    python3-dev python3-venv pybind11-dev  # the Python package's extension module
    python3-torch                          # torch for /usr/bin/python3 (the same LibTorch 1.13.1)
    python3-numpy python3-scipy python3-pytest
  )
fi

if [ "$install" = 1 ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
    echo "setup.sh: installing ${missing[*]}"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

python_flags=()
if [ "$python" = 1 ]; then
  # A virtual environment that sees Debian's torch, numpy and scipy; pip adds only cvxpylayers (the
  # reference the tests and bench/bench_python.py compare with), pinned to the system numpy/scipy so
  # that it never replaces them (Debian's torch is built against numpy 1.x).
  [ -x .venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/python -c 'import numpy, scipy; print(f"numpy=={numpy.__version__}\nscipy=={scipy.__version__}")' \
    > .venv/constraints.txt
  if ! .venv/bin/pip install -q -c .venv/constraints.txt "cvxpy>=1.4,<1.7" "diffcp>=1.0" ||
     ! .venv/bin/pip install -q --no-deps "cvxpylayers==0.1.6"; then
    echo "setup.sh: warning: cvxpylayers could not be installed; its comparison tests will be skipped" >&2
  fi
  python_flags=(-DDIFFDFL_PYTHON=ON "-DPython_EXECUTABLE=$PWD/.venv/bin/python")
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${python_flags[@]}"
cmake --build build -j "$jobs"
echo "setup.sh: built ./build/diffdfl"
if [ "$python" = 1 ]; then
  cmake --install build --component python
  echo "setup.sh: installed the Python package diffdfl into ./.venv (source .venv/bin/activate)"
fi
if [ "$fuzz" = 1 ]; then
  JOBS="$jobs" scripts/fuzz.sh --build
  echo "setup.sh: built the fuzz targets in ./build-fuzz/fuzz (scripts/fuzz.sh)"
fi
