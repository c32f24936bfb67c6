#!/usr/bin/env python3
"""Per-seed tables and paired comparisons of the campaign's kept runs, as in docs/results.md:
the run status per task (runs kept, CPU or CUDA, missing), the per-seed test costs of power and
synthetic (with the DFL runs' hold-out cost and best epoch), and paired by-seed differences of test
costs (portfolio: test returns, in basis points per day) with the standard error of the
differences. Standard library only.

    scripts/seed_tables.py [results/runs/cpu]
"""
import json
import math
import os
import statistics as st
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "results/runs/cpu"
SEEDS = range(1, 6)
METHODS = ["two-stage-mlp", "two-stage-gaussian", "two-stage-diffusion", "dfl-mlp",
           "dfl-gaussian-rp", "dfl-gaussian-sf", "dfl-diffusion-rp", "dfl-diffusion-sf", "policy"]


def load(task, method, seed):
    path = f"{ROOT}/{task}/{method}/seed{seed}/metrics.json"
    return json.load(open(path)) if os.path.exists(path) else None


def status():
    print("| task | runs | CPU | CUDA | missing |\n|---|---:|---:|---:|---|")
    for task in ["synthetic", "power", "portfolio"]:
        n = cuda = 0
        missing = []
        for m in METHODS:
            absent = [str(s) for s in SEEDS if not load(task, m, s)]
            for s in SEEDS:
                j = load(task, m, s)
                if j:
                    n += 1
                    cuda += j.get("device") == "cuda"
            if absent:
                missing.append(f"`{m}` seed{'s' if len(absent) > 1 else ''} {', '.join(absent)}")
        print(f"| {task} | {n} of {len(METHODS) * len(SEEDS)} | {n - cuda} | {cuda} | "
              f"{'; '.join(missing) or 'none'} |")


# The headline of each task: (metrics key on test, on hold, display scale, higher is better).
HEADLINE = {"portfolio": ("test_return", "hold_return", 1e4, True)}
COST = ("test_cost", "hold_cost", 1.0, False)


def value(task, j, split="test"):
    test_key, hold_key, scale, _ = HEADLINE.get(task, COST)
    return j[test_key if split == "test" else hold_key] * scale


def cell(task, j, with_epochs):
    if not j:
        return "not run"
    text = f"{value(task, j):.3f}"
    if with_epochs and j.get("epochs_run"):
        text += f" ({value(task, j, 'hold'):.2f}, {j['best_epoch']}/{j['epochs_run']})"
    return text + (" ᶜ" if j.get("device") == "cuda" else "")


def seed_table(task, methods):
    print("| method | " + " | ".join(f"seed {s}" for s in SEEDS) + " | mean ± SE |")
    print("|---|" + "---|" * len(SEEDS) + "---|")
    for m in methods:
        runs = [load(task, m, s) for s in SEEDS]
        costs = [value(task, j) for j in runs if j]
        summary = (f"{st.mean(costs):.3f} ± {st.stdev(costs) / math.sqrt(len(costs)):.3f}"
                   if len(costs) > 1 else "—")
        epochs = m.startswith("dfl") or m == "policy"
        print(f"| `{m}` | " + " | ".join(cell(task, j, epochs) for j in runs)
              + f" | {summary} (n = {len(costs)}) |")


def paired(task, a, b):
    d = [value(task, load(task, a, s)) - value(task, load(task, b, s))
         for s in SEEDS if load(task, a, s) and load(task, b, s)]
    if len(d) < 2:
        return f"- {task}: `{a}` − `{b}`: n = {len(d)}"
    higher = HEADLINE.get(task, COST)[3]
    better = sum(x > 0 for x in d) if higher else sum(x < 0 for x in d)
    return (f"- {task}: `{a}` − `{b}`: {st.mean(d):+.3f} ± {st.stdev(d) / math.sqrt(len(d)):.3f} "
            f"(paired SE), {'higher' if higher else 'lower'} on {better} of {len(d)} seeds")


PAIRS = [("dfl-diffusion-sf", "dfl-gaussian-rp"), ("dfl-diffusion-sf", "dfl-gaussian-sf"),
         ("dfl-diffusion-rp", "dfl-gaussian-rp"), ("dfl-diffusion-rp", "dfl-gaussian-sf"),
         ("dfl-diffusion-sf", "dfl-mlp"), ("dfl-diffusion-rp", "dfl-mlp"),
         ("two-stage-diffusion", "two-stage-gaussian"), ("dfl-diffusion-sf", "dfl-diffusion-rp")]

# Where DFL barely moves the headline, also against the pretrained model each DFL run starts from.
EXTRA_PAIRS = {"portfolio": [("dfl-diffusion-rp", "two-stage-diffusion"),
                             ("dfl-diffusion-sf", "two-stage-diffusion")]}

if __name__ == "__main__":
    print("## Status\n")
    status()
    for task in ["power", "synthetic", "portfolio"]:
        unit = " (test return, basis points per day; higher is better)" if task in HEADLINE else ""
        print(f"\n## {task}: per seed{unit}\n")
        seed_table(task, [m for m in METHODS if m != "two-stage-mlp" and m != "dfl-mlp"]
                   if task == "synthetic" else METHODS if task == "portfolio" else METHODS[1:])
        print(f"\n## {task}: paired by seed\n")
        for a, b in PAIRS + EXTRA_PAIRS.get(task, []):
            print(paired(task, a, b))
