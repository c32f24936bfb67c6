#!/usr/bin/env bash
# Regenerates the committed tables and figures from the kept runs (docs/results.md):
#   results/table1.{csv,md}    mean ± std over seeds per task × method, beside the paper
#   results/figures/*.{png,svg}
#   results/scalability/scalability.{csv,png,svg}   portfolio regret and return against n_assets
# The runs themselves come from scripts/campaign.sh. Sample histograms need the run's model.pt,
# which only the campaign's work directory (runs/campaign) has; they are skipped without it.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=results/runs/cpu
figs=results/figures
mkdir -p "$figs"
build/diffdfl table results/runs --out results/table1
build/diffdfl plot bars results/table1.csv --out "$figs/table1"
for task in synthetic power portfolio; do
  dirs=()
  for m in two-stage-diffusion dfl-gaussian-sf dfl-diffusion-sf dfl-diffusion-rp; do
    [[ -f "$runs/$task/$m/seed1/curve.csv" ]] && dirs+=("$runs/$task/$m/seed1")
  done
  if [[ ${#dirs[@]} -gt 0 ]]; then
    build/diffdfl plot curves "${dirs[@]}" --out "$figs/${task}_curves"
  fi
done
if [[ -f results/memory_power.csv ]]; then
  build/diffdfl plot memory results/memory_power.csv --out "$figs/memory_power"
fi
if [[ -d results/scalability/runs ]]; then
  build/diffdfl plot scalability results/scalability/runs --out results/scalability/scalability
fi
model=runs/campaign/cpu/synthetic/two-stage-diffusion/seed1
if [[ -f "$model/model.pt" ]]; then
  build/diffdfl plot samples "$model" --split test --index 0 --n 2000 --out "$figs/synthetic_samples"
fi
