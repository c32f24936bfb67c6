"""Shared fixtures of the Python tests (run by scripts/test.sh; docs/python.md)."""

import os
import pathlib

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """The C++ tool built beside the package ($DIFFDFL_CLI, else build/diffdfl)."""
    path = pathlib.Path(os.environ.get("DIFFDFL_CLI", ROOT / "build" / "diffdfl"))
    if not path.exists():
        pytest.skip(f"the C++ tool {path} is not built (scripts/setup.sh builds it; or set DIFFDFL_CLI)")
    return path
