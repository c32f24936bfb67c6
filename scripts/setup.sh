#!/usr/bin/env bash
# Installs every Debian package diffdfl needs and builds it (Release) into ./build; with --fuzz also
# the fuzz targets (clang, ASan + UBSan) into ./build-fuzz (fuzz/README.md).
# Works as root or through sudo. Usage: scripts/setup.sh [--no-install] [--jobs N] [--fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
fuzz=0
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --jobs) jobs="$2"; shift ;;
    --fuzz) fuzz=1 ;;
    *) echo "setup.sh: unknown option $1 (use --no-install, --jobs N, --fuzz)" >&2; exit 2 ;;
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

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
echo "setup.sh: built ./build/diffdfl"
if [ "$fuzz" = 1 ]; then
  JOBS="$jobs" scripts/fuzz.sh --build
  echo "setup.sh: built the fuzz targets in ./build-fuzz/fuzz (scripts/fuzz.sh)"
fi
