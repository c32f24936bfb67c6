#!/usr/bin/env bash
# The results campaign (docs/results.md): every method on each task, over seeds, at one preset.
# Runs one single-threaded training at a time per invocation (start two invocations with different
# --tasks or --seeds to use two cores). A run that completed is skipped, a killed one resumes, so
# the script can be interrupted and restarted at will. After each run its config, metrics and
# curve (not the checkpoints) are copied to results/runs/.
#
#   scripts/campaign.sh --tasks "synthetic power" --seeds "1 2 3" [--methods "..."] [--preset cpu]
#   build/diffdfl table results/runs --out results/table1
#
# DIFFDFL=path/to/diffdfl runs another binary (e.g. a copy, so that rebuilding build/ while the
# campaign runs cannot change the program halfway through).
set -euo pipefail
cd "$(dirname "$0")/.."

tasks="synthetic power portfolio"
seeds="1 2 3"
methods="two-stage-mlp two-stage-gaussian two-stage-diffusion dfl-mlp dfl-gaussian-rp dfl-gaussian-sf dfl-diffusion-rp dfl-diffusion-sf policy"
preset=cpu
work=runs/campaign
bin="${DIFFDFL:-build/diffdfl}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) tasks="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --methods) methods="$2"; shift 2 ;;
    --preset) preset="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) echo "campaign.sh: unknown option '$1' (use --tasks, --seeds, --methods, --preset, --work)" >&2; exit 64 ;;
  esac
done

for seed in $seeds; do
  for task in $tasks; do
    for method in $methods; do
      dir="$work/$preset/$task/$method/seed$seed"
      keep="results/runs/$preset/$task/$method/seed$seed"
      if [[ -f "$dir/metrics.json" ]]; then
        echo "done already: $dir"
      elif [[ -f "$dir/config.json" ]]; then
        "$bin" train --resume "$dir" --quiet --cache-dir "$work/.cache" || true
      else
        "$bin" train --task "$task" --method "$method" --preset "$preset" --seed "$seed" \
          --threads 1 --quiet --out "$dir" --cache-dir "$work/.cache" || true
      fi
      if [[ -f "$dir/metrics.json" ]]; then
        mkdir -p "$keep"
        cp "$dir/config.json" "$dir/metrics.json" "$dir/curve.csv" "$keep/"
      fi
    done
  done
done
