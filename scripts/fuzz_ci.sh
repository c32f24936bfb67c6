#!/usr/bin/env bash
# The CI smoke run of the fuzz targets: builds them (./build-fuzz, clang++-14, ASan + UBSan) and runs
# each one briefly from its committed seed corpus, well under a minute in total (7 targets x
# FUZZ_SECONDS, default 6 s, plus start-up). Exits non-zero on a crash, a leak, a sanitizer report or
# a build failure. The long runs (scripts/fuzz.sh TARGET SECONDS) are not part of CI.
#
#   scripts/fuzz_ci.sh                 # after scripts/test.sh, in the main CI job
#   FUZZ_SECONDS=3 scripts/fuzz_ci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-6}"
scripts/fuzz.sh --build
start=$(date +%s)
scripts/fuzz.sh --all "$seconds"
echo "fuzz_ci.sh: every fuzz target ran ${seconds}s without a finding ($(($(date +%s) - start)) s in all)"
