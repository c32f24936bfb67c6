#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in ./build-fuzz and runs one of them, or all.
#
#   scripts/fuzz.sh TARGET SECONDS      e.g. scripts/fuzz.sh fuzz_numeric_csv 600
#   scripts/fuzz.sh --all SECONDS       each target in turn for SECONDS (CI: a few seconds each)
#   scripts/fuzz.sh --list              the targets
#   scripts/fuzz.sh --build             only build them
#
# Each target starts from its committed seed corpus fuzz/corpus/TARGET (never written to) and keeps
# what it finds in build-fuzz/corpus/TARGET (FUZZ_CORPUS_DIR/TARGET when that is set); a crash, leak or sanitizer report stops it, exits
# non-zero and leaves the input in build-fuzz/artifacts/TARGET/. The last lines of each run give
# the executions (stat::number_of_executed_units). Environment: JOBS (build jobs, default nproc),
# CXX (default clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(fuzz_numeric_csv fuzz_price_file fuzz_config fuzz_power_loader fuzz_portfolio_loader
         fuzz_synthetic_loader fuzz_solve)
usage="usage: scripts/fuzz.sh TARGET SECONDS | --all SECONDS | --list | --build"

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
build_only=0
if [ "${1:-}" = "--build" ] && [ $# -eq 1 ]; then
  build_only=1
  set -- --all 1
fi
if [ $# -ne 2 ] || ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
  echo "fuzz.sh: $usage" >&2
  exit 2
fi
if [ "$1" = "--all" ]; then
  run=("${targets[@]}")
else
  case " ${targets[*]} " in
    *" $1 "*) run=("$1") ;;
    *) echo "fuzz.sh: unknown target '$1'; targets: ${targets[*]}" >&2; exit 2 ;;
  esac
fi
seconds=$2

cxx="${CXX:-clang++-14}"
if ! command -v "$cxx" > /dev/null; then
  echo "fuzz.sh: $cxx not found; install clang-14 and libclang-rt-14-dev (scripts/setup.sh does)" >&2
  exit 2
fi
[ -f build-fuzz/CMakeCache.txt ] ||
  cmake -S . -B build-fuzz -DDIFFDFL_FUZZ=ON -DCMAKE_CXX_COMPILER="$cxx" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build-fuzz --target fuzz_targets -j "${JOBS:-$(nproc 2>/dev/null || echo 2)}"
[ "$build_only" = 1 ] && exit 0

# LibTorch is not instrumented: its one-time allocations at start-up are reachable, not leaks, and
# its global symbols are not ours to police (odr). Everything diffdfl allocates is checked.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_odr_violation=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_NUM_THREADS=1

status=0
corpus_root="${FUZZ_CORPUS_DIR:-build-fuzz/corpus}"
for t in "${run[@]}"; do
  mkdir -p "$corpus_root/$t" "build-fuzz/artifacts/$t"
  max_len=4096
  case "$t" in
    fuzz_power_loader | fuzz_portfolio_loader) max_len=65536 ;;
  esac
  echo "fuzz.sh: $t for ${seconds}s"
  if ! "build-fuzz/fuzz/$t" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 \
       -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
       "$corpus_root/$t" "fuzz/corpus/$t" > "build-fuzz/$t.log" 2>&1; then
    status=1
    echo "fuzz.sh: $t FAILED (crash, leak or sanitizer report); see build-fuzz/$t.log and" \
         "build-fuzz/artifacts/$t/" >&2
    tail -n 40 "build-fuzz/$t.log" >&2
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" "build-fuzz/$t.log" |
    sed "s/^/  $t: /" || true
done
exit $status
