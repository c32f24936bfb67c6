#!/usr/bin/env bash
# A snapshot of everything diffdfl computes, for showing that a refactoring changes no behaviour:
# every task × method at the smoke preset (metrics.json, curve.csv, eval, samples), `diffdfl solve`,
# the gradient experiment, and the tables and figure data made from the committed runs. Timings,
# memory and paths are dropped, so two snapshots of the same code are identical byte for byte:
#
#   scripts/behaviour_snapshot.sh --bin /tmp/before/diffdfl --out /tmp/snap-before
#   scripts/behaviour_snapshot.sh --bin build/diffdfl --out /tmp/snap-after
#   diff -r /tmp/snap-before /tmp/snap-after && echo identical
#
# Runs single-threaded, one at a time (about 10 minutes on one core). Options: --tasks "...",
# --methods "...", --no-runs (tables, solve and gradcos only).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/diffdfl
out=
tasks="synthetic synthetic-contextual power portfolio"
methods="two-stage-mlp two-stage-gaussian two-stage-diffusion dfl-mlp dfl-gaussian-rp dfl-gaussian-sf dfl-diffusion-rp dfl-diffusion-sf policy"
runs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --tasks) tasks="$2"; shift 2 ;;
    --methods) methods="$2"; shift 2 ;;
    --no-runs) runs=0; shift ;;
    *) echo "behaviour_snapshot.sh: unknown option '$1' (use --bin, --out, --tasks, --methods, --no-runs)" >&2; exit 64 ;;
  esac
done
[[ -n $out ]] || { echo "behaviour_snapshot.sh: --out DIR is required" >&2; exit 64; }
[[ -x $bin ]] || { echo "behaviour_snapshot.sh: $bin is not an executable; build it or pass --bin" >&2; exit 64; }
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# metrics.json (or the JSON `diffdfl train` prints) without what differs between two runs of the
# same code: timings, memory, the version and temporary paths. Text that is not JSON is kept with
# its timings and temporary paths blanked.
strip_metrics() {
  python3 - "$1" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
try:
    m = json.loads(text)
except ValueError:
    text = re.sub(r"[0-9.]+(e[-+]?[0-9]+)? ?s\b", "<s>", text)
    print(re.sub(r"/tmp/[^ ,\n]*", "<tmp>", text), end="")
    sys.exit(0)
for k in ("train_seconds", "wall_seconds", "peak_rss_mb", "version"):
    m.pop(k, None)
if isinstance(m.get("pretrain"), dict):
    m["pretrain"].pop("seconds", None)
    m["pretrain"].pop("path", None)
print(json.dumps(m, indent=1, sort_keys=True))
EOF
}
# curve.csv without its timing columns.
strip_curve() {
  python3 - "$1" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
drop = {i for i, h in enumerate(rows[0]) if h in ("seconds", "cumulative_seconds")}
for r in rows:
    print(",".join(v for i, v in enumerate(r) if i not in drop))
EOF
}

if [[ $runs == 1 ]]; then
  for task in $tasks; do
    for method in $methods; do
      dir="$work/runs/$task/$method"
      "$bin" train --preset smoke --task "$task" --method "$method" --seed 1 --threads 1 --quiet \
        --out "$dir" --cache-dir "$work/cache" > "$work/summary.txt"
      dest="$out/runs/$task/$method"
      mkdir -p "$dest"
      # What `diffdfl train` prints.
      strip_metrics "$work/summary.txt" > "$dest/summary.txt"
      strip_metrics "$dir/metrics.json" > "$dest/metrics.json"
      strip_curve "$dir/curve.csv" > "$dest/curve.csv"
      python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(json.dumps(c, indent=1, sort_keys=True))' \
        "$dir/config.json" > "$dest/config.json"
      "$bin" eval --run "$dir" > "$dest/eval.json"
      if [[ $method != policy && $method != *mlp ]]; then
        "$bin" sample --run "$dir" --split test --index 0 --n 5 --contexts 2 > "$dest/samples.csv"
      fi
    done
  done
fi

# The decision layer on fixed samples.
python3 - "$work/samples.csv" <<'EOF'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for _ in range(6):
        f.write(",".join(f"{random.gauss(1.0, 0.3):.6f}" for _ in range(24)) + "\n")
with open(sys.argv[1].replace("samples", "upstream"), "w") as f:
    f.write(",".join(f"{random.gauss(0.0, 1.0):.6f}" for _ in range(24)) + "\n")
EOF
for task in power portfolio synthetic; do
  "$bin" solve --task "$task" --samples "$work/samples.csv" --upstream "$work/upstream.csv" > "$out/solve_$task.txt"
done

# The gradient experiment, small.
"$bin" experiment gradcos --part both --preset smoke --seed 1 --threads 1 --quiet --epochs 1 \
  --max-batches 2 --ks 2,5 --is-draws 3 --linear-steps 50 --linear-T 50 --linear-pairs 200 \
  --contexts 5 --elbo-draws 20 --out "$work/gradcos" --cache-dir "$work/cache" > /dev/null
for f in "$work"/gradcos/*.csv; do cp "$f" "$out/gradcos_$(basename "$f")"; done

# Tables from the committed runs.
"$bin" table results/runs --out "$work/table1" > /dev/null
cp "$work/table1.csv" "$work/table1.md" "$out/"
echo "behaviour_snapshot.sh: wrote $out"
