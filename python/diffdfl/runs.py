"""Runs from Python: the same runs as ``diffdfl train`` / ``diffdfl sample`` / ``diffdfl eval``
(a run directory holding config.json, curve.csv, model.pt and metrics.json; see
src/diffdfl/experiment/run.h).

Folders are found as the CLI finds them: an explicit argument, else ``$DIFFDFL_CONFIG_DIR`` /
``$DIFFDFL_DATA_DIR`` / ``$DIFFDFL_CACHE_DIR``, else the source tree the package was built from
(configs/ and data/), else ``configs``, ``data`` and ``runs/.cache`` under the working directory.

Example::

    metrics = diffdfl.train("power", "dfl-mlp", preset="smoke", seed=1,
                            overrides={"train.epochs": 1}, out_dir="runs/py-power")
    print(metrics["test"]["cost"])
    samples, truth = diffdfl.sample("runs/py-power", n=32)    # [1, 32, 24], [1, 24]
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import torch

from . import _C

Overrides = Union[Mapping[str, Any], Sequence[str], None]


def _folder(explicit: Optional[str], env: str, source_sub: Optional[str], fallback: str) -> str:
    if explicit:
        return os.fspath(explicit)
    if os.environ.get(env):
        return os.environ[env]
    if source_sub is not None:
        built = os.path.join(_C.source_dir, source_sub)
        if os.path.isdir(built):
            return built
    return fallback


def _override_list(overrides: Overrides) -> list:
    """{"train.lr": 5e-6} or ["train.lr=5e-6"] -> ["train.lr=5e-6"] (values as JSON)."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    if isinstance(overrides, str):
        raise TypeError("overrides must be a mapping or a list of 'key=value' strings, not one str")
    return [str(o) for o in overrides]


def train(task: str, method: str, *, preset: str = "cpu", seed: int = 1, overrides: Overrides = None,
          out_dir: Optional[str] = None, config_dir: Optional[str] = None,
          data_dir: Optional[str] = None, cache_dir: Optional[str] = None,
          progress: bool = False) -> Dict[str, Any]:
    """Trains one run (as ``diffdfl train``) and returns its metrics (metrics.json) as a dict.

    Args:
        task: ``synthetic``, ``synthetic-contextual``, ``power``, ``portfolio`` or ``newsvendor``.
        method: e.g. ``dfl-mlp``, ``dfl-diffusion-sf`` (``diffdfl train --help`` lists them).
        preset: a configs/<preset>.json (``smoke``, ``cpu``, ``paper``, ...).
        seed: the run's seed.
        overrides: ``{"train.epochs": 2}`` or ``["train.epochs=2"]`` (as ``--set``).
        out_dir: the run directory (must not exist or be empty); default
            ``runs/<task>/<method>/<preset>-seed<seed>``.
        progress: print the per-epoch progress lines to stderr.

    Raises :class:`diffdfl.ConfigError` for a bad preset, method or override, and
    :class:`diffdfl.DataError` for missing data files.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    out = out_dir or os.path.join("runs", task, method, f"{preset}-seed{seed}")
    text = _C.train(_folder(config_dir, "DIFFDFL_CONFIG_DIR", "configs", "configs"), preset, task, method,
                    seed, _override_list(overrides), os.fspath(out),
                    _folder(data_dir, "DIFFDFL_DATA_DIR", "data", "data"),
                    _folder(cache_dir, "DIFFDFL_CACHE_DIR", None, os.path.join("runs", ".cache")), progress)
    return json.loads(text)


def sample(run_dir: str, n: int = 32, *, split: str = "test", index: int = 0, count: int = 1,
           data_dir: Optional[str] = None, cache_dir: Optional[str] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Draws ``n`` samples of y for ``count`` consecutive contexts of ``split`` from row ``index``
    on, from the run's selected model (as ``diffdfl sample``): returns samples ``[count, n, y_dim]``
    and the contexts' true y ``[count, y_dim]`` (float64). Deterministic per context."""
    return _C.sample(os.fspath(run_dir), split, index, n, count,
                     _folder(data_dir, "DIFFDFL_DATA_DIR", "data", "data"),
                     _folder(cache_dir, "DIFFDFL_CACHE_DIR", None, os.path.join("runs", ".cache")))


def evaluate(run_dir: str, splits: Sequence[str] = ("hold", "test"), samples: int = 0, *,
             data_dir: Optional[str] = None, cache_dir: Optional[str] = None) -> Dict[str, Any]:
    """Re-evaluates a finished run's selected model on ``splits`` (as ``diffdfl eval``);
    ``samples`` > 0 overrides the run's M. Returns the metrics as a dict."""
    return json.loads(_C.evaluate(os.fspath(run_dir), list(splits), samples,
                                  _folder(data_dir, "DIFFDFL_DATA_DIR", "data", "data"),
                                  _folder(cache_dir, "DIFFDFL_CACHE_DIR", None, os.path.join("runs", ".cache"))))
