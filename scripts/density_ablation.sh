#!/usr/bin/env bash
# The diffusion predictor's density ablation (docs/models.md §7): two-stage diffusion at the cpu
# preset, on every task and seed, for the old preset's model ("baseline"), each change alone on top
# of it, the new preset ("cpu") and the new preset without each change; plus the Gaussian as the
# reference. Resumable (finished runs are skipped). Then summarises the density scores of
# metrics.json, and on synthetic the low mode of 1,000 samples of each of 20 test contexts, into
# results/density/ablation.{csv,md}.
#
#   scripts/density_ablation.sh [--tasks "synthetic power portfolio"] [--seeds "1 2 3 4 5"]
#                               [--variants "baseline cpu ..."] [--jobs 2] [--summary-only]
set -euo pipefail
cd "$(dirname "$0")/.."

tasks="synthetic power portfolio"
seeds="1 2 3 4 5"
jobs=2
summary_only=0
only_variants=
work=runs/density
out=results/density
bin="${DIFFDFL:-build/diffdfl}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) tasks="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --variants) only_variants="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --summary-only) summary_only=1; shift ;;
    *) echo "density_ablation.sh: unknown option '$1' (use --tasks, --seeds, --variants, --jobs, --summary-only)" >&2; exit 64 ;;
  esac
done

# The old cpu preset's diffusion model (before issue 11), written as overrides of the new one.
old="diffusion.input_norm=joint diffusion.clip_x0_range=false diffusion.sampler=ddim pretrain.ema=0"
new_batch() { case "$1" in synthetic) echo 64 ;; *) echo 128 ;; esac; }

# variant name -> overrides (on top of the cpu preset) for task $1
variant_sets() {
  local task=$1 name=$2 base
  base="$old pretrain.batch_size=512"
  [[ $task == synthetic ]] && base="$base diffusion.clip_x0=4"
  case "$name" in
    baseline) echo "$base" ;;
    +context) echo "$base diffusion.input_norm=context" ;;
    +range) echo "$base diffusion.clip_x0_range=true" ;;
    +batch) echo "$base pretrain.batch_size=$(new_batch "$task")" ;;
    +ema) echo "$base pretrain.ema=0.999" ;;
    +cosine) echo "$base pretrain.lr_schedule=cosine" ;;
    +ddpm) echo "$base diffusion.sampler=ddpm" ;;
    +hold) echo "$base pretrain.select=hold pretrain.eval_every=10" ;;
    cpu) echo "" ;;
    cpu-context) echo "diffusion.input_norm=joint" ;;
    cpu-range) echo "diffusion.clip_x0_range=false" ;;
    cpu-ema) echo "pretrain.ema=0" ;;
    cpu-ddpm) echo "diffusion.sampler=ddim" ;;
    gaussian) echo "" ;;
  esac
}
variants="baseline +context +range +batch +ema +cosine +ddpm +hold cpu cpu-context cpu-range cpu-ema cpu-ddpm gaussian"
all_variants=$variants
if [[ -n $only_variants ]]; then
  for v in $only_variants; do
    [[ " $all_variants " == *" $v "* ]] || { echo "density_ablation.sh: unknown variant '$v' (one of: $all_variants)" >&2; exit 64; }
  done
  variants=$only_variants
fi

run_one() {
  local task=$1 name=$2 seed=$3 dir method sets=()
  dir="$work/$task/$name/seed$seed"
  if [[ ! -f "$dir/metrics.json" ]]; then
    rm -rf "$dir"
    method=two-stage-diffusion
    [[ $name == gaussian ]] && method=two-stage-gaussian
    for s in $(variant_sets "$task" "$name"); do sets+=(--set "$s"); done
    "$bin" train --task "$task" --method "$method" --preset cpu --seed "$seed" --threads 1 --quiet \
      --set eval.repeats=3 "${sets[@]}" --out "$dir" --cache-dir "$work/.cache" > /dev/null || true
  fi
  if [[ $task == synthetic && -f "$dir/metrics.json" && ! -f "$dir/samples.csv" ]]; then
    "$bin" sample --run "$dir" --split test --index 0 --contexts 20 --n 1000 \
      --out "$dir/samples.csv" > /dev/null
  fi
}
export -f run_one variant_sets new_batch
export old work bin

if [[ $summary_only == 0 ]]; then
  # Pretraining fits are shared through the cache: run one seed's variants in order, seeds in
  # parallel, so two processes never wait on the same fit.
  for seed in $seeds; do
    echo "$seed"
  done | xargs -P "$jobs" -I{} bash -c '
    for task in '"$tasks"'; do for name in '"$variants"'; do run_one "$task" "$name" {}; done; done'
fi

mkdir -p "$out"
python3 scripts/density_summary.py "$work" "$out/ablation" --variants $all_variants
