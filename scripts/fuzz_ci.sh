#!/usr/bin/env bash
# The CI smoke run of the fuzz targets: builds them (./build-fuzz, clang++-14, ASan + UBSan) and
# runs each one briefly from its committed seed corpus alone (what earlier local runs found is not
# replayed: that alone can take longer than the run), under a minute in total (7 targets x
# FUZZ_SECONDS, default 4 s, plus about 2 s of start-up each: 53 s measured on two busy cores).
# Exits non-zero on a crash, a leak, a sanitizer report or a build failure. The long runs
# (scripts/fuzz.sh TARGET SECONDS) are not part of CI.
#
#   scripts/fuzz_ci.sh                 # after scripts/test.sh, in the main CI job
#   FUZZ_SECONDS=3 scripts/fuzz_ci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-4}"
scripts/fuzz.sh --build
start=$(date +%s)
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
FUZZ_CORPUS_DIR="$corpus" scripts/fuzz.sh --all "$seconds"
echo "fuzz_ci.sh: every fuzz target ran ${seconds}s without a finding ($(($(date +%s) - start)) s in all)"
