#!/usr/bin/env bash
# The results campaign (docs/results.md): every method on each task, over seeds, at one preset.
# Runs one single-threaded training at a time per invocation (start two invocations with different
# --tasks or --seeds to use two cores). A run that completed is skipped, a killed one resumes, so
# the script can be interrupted and restarted at will. After each run its config, metrics and
# curve (not the checkpoints) are copied to results/runs/.
#
#   scripts/campaign.sh --tasks "synthetic power" --seeds "1 2 3 4 5" [--methods "..."] [--preset cpu]
#                       [--shard K/N] [--list] [--device cuda]
#   build/diffdfl table results/runs --out results/table1
#
# The run list is every (seed, task, method) in that order. --shard K/N runs only the runs whose
# position in the list is K−1 modulo N (K = 1..N): N invocations with the same arguments and
# K = 1..N share the list between them (two cores, or the tasks of a cluster job array, e.g.
# --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" with a 1-based array). --list prints the
# shard's runs and exits.
#
# --device D trains new runs on device D (`--set device=D`; default: the preset's, the CPU). A CUDA
# run draws from CUDA's random generator, so it is reproducible on CUDA but not bit-identical to the
# CPU run of the same seed; metrics.json records the device.
#
# DIFFDFL=path/to/diffdfl runs another binary and DIFFDFL_CONFIG_DIR=folder reads the presets from
# another folder (e.g. copies, so that rebuilding build/ or editing configs/ while the campaign runs
# cannot change the runs halfway through).
set -euo pipefail
cd "$(dirname "$0")/.."

tasks="synthetic power portfolio"
seeds="1 2 3 4 5"
shard=1/1
list=0
methods="two-stage-mlp two-stage-gaussian two-stage-diffusion dfl-mlp dfl-gaussian-rp dfl-gaussian-sf dfl-diffusion-rp dfl-diffusion-sf policy"
preset=cpu
device=
work=runs/campaign
bin="${DIFFDFL:-build/diffdfl}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) tasks="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --methods) methods="$2"; shift 2 ;;
    --preset) preset="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --shard) shard="$2"; shift 2 ;;
    --list) list=1; shift ;;
    *) echo "campaign.sh: unknown option '$1' (use --tasks, --seeds, --methods, --preset, --work, --shard K/N, --list, --device D)" >&2; exit 64 ;;
  esac
done
if [[ ! $shard =~ ^([0-9]+)/([0-9]+)$ ]] || ((BASH_REMATCH[2] < 1 || BASH_REMATCH[1] < 1 || BASH_REMATCH[1] > BASH_REMATCH[2])); then
  echo "campaign.sh: --shard must be K/N with 1 <= K <= N, got '$shard'" >&2
  exit 64
fi
shard_k=${BASH_REMATCH[1]}
shard_n=${BASH_REMATCH[2]}

device_set=()
[[ -n $device ]] && device_set=(--set "device=$device")

index=0
for seed in $seeds; do
  for task in $tasks; do
    for method in $methods; do
      index=$((index + 1))
      (( (index - 1) % shard_n == shard_k - 1 )) || continue
      dir="$work/$preset/$task/$method/seed$seed"
      if [[ $list == 1 ]]; then
        echo "$dir"
        continue
      fi
      keep="results/runs/$preset/$task/$method/seed$seed"
      if [[ -f "$dir/metrics.json" ]]; then
        echo "done already: $dir"
      elif [[ -f "$dir/config.json" ]]; then
        "$bin" train --resume "$dir" --quiet --cache-dir "$work/.cache" || true
      else
        "$bin" train --task "$task" --method "$method" --preset "$preset" --seed "$seed" \
          --threads 1 --quiet --out "$dir" --cache-dir "$work/.cache" "${device_set[@]}" || true
      fi
      if [[ -f "$dir/metrics.json" ]]; then
        mkdir -p "$keep"
        cp "$dir/config.json" "$dir/metrics.json" "$dir/curve.csv" "$keep/"
      fi
    done
  done
done
