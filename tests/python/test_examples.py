"""The Python examples run (the diffusion one in its --quick form) and print what they promise."""

import pathlib
import re
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "python" / "examples"


def run(*args: str) -> str:
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True,
                          timeout=300).stdout


def test_newsvendor_example_matches_the_expectile():
    out = run(str(EXAMPLES / "newsvendor.py"))
    assert out.count("status solved") == 3
    for order, expectile in re.findall(r"order ([\d.]+)\s+0.8-expectile ([\d.]+)", out):
        assert abs(float(order) - float(expectile)) < 1e-5


def test_diffusion_example_trains_through_the_power_layer():
    out = run(str(EXAMPLES / "diffusion_power.py"), "--quick")
    costs = re.search(r"two-stage ([\d.]+), after 10 DFL steps ([\d.]+)", out)
    assert costs, out
    assert all(0 < float(c) < 1e3 for c in costs.groups())
