"""Times, in one run and on one thread, what one training step does (a batch solve plus one
backward through the layer) three ways on the same batches:

  * diffdfl's Python layers (diffdfl.PowerLayer, diffdfl.PortfolioLayer);
  * the C++ layer, through build/bench/bench_opt (Google Benchmark; the same batch shapes, drawn from
    LibTorch's CPU generator with the same seeds as bench_opt.cpp);
  * cvxpylayers (CVXPY + SCS through diffcp, its default tolerances, one job), on the very samples
    the Python layer gets.

The Python and C++ timings alternate over several rounds; each figure is a median.

Usage: OMP_NUM_THREADS=1 .venv/bin/python bench/bench_python.py [--rounds 3] [--bench-opt PATH]
Results: bench/README.md ("Python").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time
import warnings
from typing import Callable, Dict, List

import torch

import diffdfl

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def power_samples(B: int, M: int) -> torch.Tensor:
    """bench_opt.cpp's power_samples: a daily profile, a per-context level and per-sample noise."""
    gen = torch.Generator().manual_seed(1)
    f64 = torch.float64
    profile = 1.6 + 0.5 * torch.sin(torch.arange(24, dtype=f64) * (2 * math.pi / 24))
    level = 0.2 * torch.randn(B, 1, 1, generator=gen, dtype=f64)
    return profile + level + 0.15 * torch.randn(B, M, 24, generator=gen, dtype=f64)


def portfolio_samples(B: int, M: int, n: int) -> torch.Tensor:
    """bench_opt.cpp's portfolio returns."""
    gen = torch.Generator().manual_seed(4)
    return 0.0005 + 0.01 * torch.randn(B, M, n, generator=gen, dtype=torch.float64)


def upstream(B: int, n: int) -> torch.Tensor:
    return torch.randn(B, n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def time_step(step: Callable[[], None], min_seconds: float, min_reps: int = 3) -> float:
    """Median seconds of one call of `step` over at least `min_reps` calls and `min_seconds`."""
    times: List[float] = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def layer_step(layer: torch.nn.Module, y: torch.Tensor, u: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        yg = y.clone().requires_grad_(True)
        (layer(yg) * u).sum().backward()
    return step


def cxx_times(bench_opt: pathlib.Path, filt: str) -> Dict[str, float]:
    """Median real time (seconds) of each benchmark matched by `filt`, from one bench_opt run."""
    out = subprocess.run([str(bench_opt), f"--benchmark_filter={filt}", "--benchmark_format=json",
                          "--benchmark_min_time=1", "--benchmark_repetitions=3"],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    runs = json.loads(out.stdout)["benchmarks"]
    unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    return {r["run_name"]: r["real_time"] * unit[r["time_unit"]]
            for r in runs if r.get("aggregate_name") == "median"}


def main() -> None:
    parser = argparse.ArgumentParser(description="diffdfl's Python layers vs C++ vs cvxpylayers")
    parser.add_argument("--rounds", type=int, default=3, help="alternating Python / C++ rounds")
    parser.add_argument("--bench-opt", default=str(ROOT / "build" / "bench" / "bench_opt"))
    parser.add_argument("--cvxpy-reps", type=int, default=2, help="timed cvxpylayers calls per problem")
    args = parser.parse_args()
    torch.set_num_threads(1)

    cases = {
        "power": (diffdfl.PowerLayer(24), power_samples(64, 25), "BM_PowerLayer/0/real_time"),
        "portfolio": (diffdfl.PortfolioLayer(50), portfolio_samples(128, 10, 50), "BM_PortfolioLayer/50/real_time"),
    }
    py: Dict[str, List[float]] = {k: [] for k in cases}
    cxx: Dict[str, List[float]] = {k: [] for k in cases}
    bench_opt = pathlib.Path(args.bench_opt)
    for _ in range(args.rounds):
        for name, (layer, y, _) in cases.items():
            py[name].append(time_step(layer_step(layer, y, upstream(y.shape[0], y.shape[2])), 2.0))
        if bench_opt.exists():
            measured = cxx_times(bench_opt, "^BM_PowerLayer/0/|^BM_PortfolioLayer/50/")
            for name, (_, _, key) in cases.items():
                cxx[name].append(measured[key])

    rows = []
    for name, (layer, y, _) in cases.items():
        p = statistics.median(py[name])
        row = {"problem": name, "batch": f"B = {y.shape[0]}, M = {y.shape[1]}, n = {y.shape[2]}",
               "python_ms": 1e3 * p}
        if cxx[name]:
            c = statistics.median(cxx[name])
            row.update(cxx_ms=1e3 * c, python_overhead_pct=100 * (p - c) / c)
        rows.append(row)

    try:
        import cvxpylayers  # noqa: F401
        have_cvxpylayers = True
    except ImportError:
        have_cvxpylayers = False
        print("cvxpylayers is not installed: its columns are 'not run' (scripts/setup.sh installs it)")
    if have_cvxpylayers:
        import cvxpy_programs
        builders = {"power": lambda y: cvxpy_programs.power(24, y.shape[1]),
                    "portfolio": lambda y: cvxpy_programs.portfolio(50, y.shape[1], 1e-6)}
        single_job = {"n_jobs_forward": 1, "n_jobs_backward": 1}
        for row, (name, (layer, y, _)) in zip(rows, cases.items()):
            theirs = builders[name](y)
            u = upstream(y.shape[0], y.shape[2])

            def step() -> None:
                yg = y.clone().requires_grad_(True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    (theirs(yg, solver_args=single_job)[0] * u).sum().backward()

            t = time_step(step, 0.0, args.cvxpy_reps)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                z_theirs = theirs(y, solver_args=single_job)[0]
            row.update(cvxpylayers_ms=1e3 * t, faster_than_cvxpylayers=t / (row["python_ms"] / 1e3),
                       max_abs_z_difference=float((layer(y) - z_theirs).abs().max()))

    print(json.dumps(rows, indent=2))
    print("\n| problem | batch | Python layer | C++ (bench_opt) | Python overhead | cvxpylayers | faster than cvxpylayers | max abs z difference |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cell = lambda k, fmt: fmt.format(r[k]) if k in r else "not run"  # noqa: E731
        print(f"| {r['problem']} | {r['batch']} | {r['python_ms']:.1f} ms | {cell('cxx_ms', '{:.1f} ms')} | "
              f"{cell('python_overhead_pct', '{:+.1f} %')} | {cell('cvxpylayers_ms', '{:,.0f} ms')} | "
              f"{cell('faster_than_cvxpylayers', '{:,.0f}x')} | {cell('max_abs_z_difference', '{:.1e}')} |")


if __name__ == "__main__":
    main()
