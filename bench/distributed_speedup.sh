#!/usr/bin/env bash
# Data-parallel speed-up on this host (docs/distributed.md, "Measured here"): one DFL epoch of the
# power task at the cpu preset, from the same pretrained model (a shared cache, primed first), as
#   1 process × 1 thread, 1 process × 2 threads, 2 processes × 1 thread (--nproc 2),
# interleaved over repeats so that the machine's noise hits all three alike. Prints per run the
# epoch's wall seconds (training and its hold/test evaluation, from curve.csv), the training part
# alone (epoch seconds minus the initial evaluation's, which is the same work) and, for 2 ranks,
# rank 0's mean time per step in the gradient collectives; then the medians and the speed-ups.
#
# --pretrain-epochs E shortens the (untimed) pretraining that primes the cache; the timed DFL
# epoch does the same work whatever the pretrained model's quality.
#
#   bench/distributed_speedup.sh [--methods "dfl-diffusion-sf dfl-diffusion-rp"] [--repeats 2]
#                                [--epochs 1] [--pretrain-epochs E] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
methods="dfl-diffusion-sf dfl-diffusion-rp"
repeats=2
epochs=1
out=$(mktemp -d /tmp/diffdfl-speedup.XXXXXX)
pretrain=()
while [ $# -gt 0 ]; do
  case "$1" in
    --methods) methods="$2"; shift ;;
    --repeats) repeats="$2"; shift ;;
    --epochs) epochs="$2"; shift ;;
    --pretrain-epochs) pretrain=(--set "pretrain.epochs=$2"); shift ;;
    --out) out="$2"; shift ;;
    *) echo "distributed_speedup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bin=${DIFFDFL:-build/diffdfl}
cache="$out/cache"
mkdir -p "$out"
run() {  # method label nproc threads
  local dir="$out/$1-$2"
  rm -rf "$dir"
  local extra=()
  [ "$3" -gt 1 ] && extra=(--nproc "$3")
  "$bin" train --task power --method "$1" --preset cpu --seed 1 --threads "$4" --quiet \
    --set "train.epochs=$epochs" --set train.patience=0 --cache-dir "$cache" --out "$dir" \
    "${pretrain[@]}" "${extra[@]}" >"$dir.json"
  python3 - "$dir" "$1" "$2" <<'PY'
import csv, json, sys
d, method, label = sys.argv[1:]
rows = list(csv.DictReader(open(d + "/curve.csv")))
init = float(rows[0]["seconds"])
epoch = sum(float(r["seconds"]) for r in rows[1:]) / (len(rows) - 1)
m = json.load(open(d + "/metrics.json"))
comm = m.get("comm_seconds_per_step")
print(f"{method} {label} epoch_s={epoch:.2f} train_s={epoch - init:.2f} "
      f"comm_per_step_s={'-' if comm is None else f'{comm:.4f}'} test_cost={m['test_cost']:.4f}")
PY
}
for m in $methods; do  # prime the pretrained-model cache (not timed)
  "$bin" train --task power --method "$m" --preset cpu --seed 1 --threads 1 --quiet \
    --set train.epochs=1 --cache-dir "$cache" --out "$out/prime-$m" "${pretrain[@]}" >/dev/null
done
for r in $(seq "$repeats"); do
  for m in $methods; do
    run "$m" 1p1t 1 1
    run "$m" 1p2t 1 2
    run "$m" 2p1t 2 1
  done
done | tee "$out/runs.txt"
python3 - "$out/runs.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=") for x in f[2:])
    runs.setdefault((f[0], f[1]), []).append(kv)
med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
for method in sorted({m for m, _ in runs}):
    a, b, c = (runs[(method, l)] for l in ("1p1t", "1p2t", "2p1t"))
    print(f"{method}: median epoch s  1p1t {med(a,'epoch_s'):.2f}  1p2t {med(b,'epoch_s'):.2f}  "
          f"2p1t {med(c,'epoch_s'):.2f};  speed-up of 2 ranks over 1p1t "
          f"{med(a,'epoch_s')/med(c,'epoch_s'):.2f}x, over 1p2t {med(b,'epoch_s')/med(c,'epoch_s'):.2f}x; "
          f"comm per step {med(c,'comm_per_step_s'):.4f} s")
PY
