"""The Python layers give the C++ tool's answers (`diffdfl solve`) on the same samples: decisions,
duals, reparameterization gradients and score-function weights."""

import json
import subprocess

import pytest
import torch

import diffdfl

CASES = {
    # task: (layer, samples [M, n], --set options)
    "power": (lambda: diffdfl.PowerLayer(8, gradient="exact", ramp=0.3),
              lambda: torch.rand(7, 8, dtype=torch.float64) * 3, ["--gradient", "exact", "--set", "program.ramp=0.3"]),
    "portfolio": (lambda: diffdfl.PortfolioLayer(6), lambda: torch.randn(9, 6, dtype=torch.float64) * 0.1, []),
    "synthetic": (lambda: diffdfl.AllocationLayer(5, capacity=1.5),
                  lambda: torch.rand(10, 5, dtype=torch.float64), ["--set", "program.capacity=1.5"]),
}


def write_csv(path, rows):
    path.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n")


@pytest.mark.parametrize("task", sorted(CASES))
def test_same_answers_as_diffdfl_solve(task, cli, tmp_path):
    make_layer, make_samples, flags = CASES[task]
    layer, y = make_layer(), make_samples()
    u = torch.randn(1, y.shape[1], dtype=torch.float64)
    write_csv(tmp_path / "samples.csv", y.tolist())
    write_csv(tmp_path / "u.csv", u.tolist())
    out = subprocess.run([str(cli), "solve", "--task", task, "--samples", str(tmp_path / "samples.csv"),
                          "--upstream", str(tmp_path / "u.csv"), *flags],
                         check=True, capture_output=True, text=True)
    ref = json.loads(out.stdout)

    samples = y.unsqueeze(0).requires_grad_(True)
    z, sol = layer.decide(samples)
    (z * u).sum().backward()
    w = layer.sf_weights(samples.detach(), sol, u)
    assert sol.status == [ref["status"]] == ["solved"]

    def close(a, b):
        torch.testing.assert_close(a, torch.tensor(b, dtype=torch.float64), atol=1e-12, rtol=1e-12)

    close(z[0], ref["z"])
    close(sol.ineq_duals[0], ref["ineq_duals"])
    close(sol.eq_duals[0], ref["eq_duals"])
    close(samples.grad[0], ref["dloss_dsamples"])
    close(w[0], ref["sf_weights"])
