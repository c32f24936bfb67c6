"""Agreement with cvxpylayers (an independent formulation, solver and derivative) on small random
instances: decisions and reparameterization gradients, to solver tolerance. SCS runs at 1e-10;
what is left is SCS's accuracy (the diffdfl solutions are exact or converged to 1e-10). Measured
with these seeds: decisions within 2e-12 (power) to 6e-10, gradients within 1.1e-6 (power) and
6e-8 (allocation); the tolerances leave a margin of 9x or more."""

import pathlib
import sys
import warnings

import pytest
import torch

import diffdfl

pytest.importorskip("cvxpylayers", reason="cvxpylayers is not installed (scripts/setup.sh installs it "
                    "into .venv: pip install cvxpylayers cvxpy diffcp)")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import cvxpy_programs  # noqa: E402

SCS = {"eps_abs": 1e-10, "eps_rel": 1e-10, "max_iters": 200000}

CASES = {
    "power": (lambda: diffdfl.PowerLayer(6, gradient="exact"), lambda: cvxpy_programs.power(6, 4),
              lambda: torch.rand(3, 4, 6, dtype=torch.float64) * 2 + 1, 1e-8, 1e-5),
    "portfolio": (lambda: diffdfl.PortfolioLayer(5, alpha=2.0, kkt_ridge=0.0),
                  lambda: cvxpy_programs.portfolio(5, 6, 2.0),
                  lambda: torch.randn(3, 6, 5, dtype=torch.float64) * 0.3 + 0.1, 1e-8, 1e-6),
    "allocation": (lambda: diffdfl.AllocationLayer(3, capacity=2.0), lambda: cvxpy_programs.allocation(3, 5, 2.0),
                   lambda: torch.randn(3, 5, 3, dtype=torch.float64) * 0.8 + 0.3, 1e-8, 1e-6),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_cvxpylayers(name):
    make_ours, make_theirs, make_samples, z_tol, grad_tol = CASES[name]
    ours, theirs = make_ours(), make_theirs()
    y = make_samples()
    u = torch.randn(y.shape[0], y.shape[2], dtype=torch.float64)
    grads = []
    for solve in (ours, lambda s: theirs(s, solver_args=SCS)[0]):
        s = y.clone().requires_grad_(True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z = solve(s)
            (z * u).sum().backward()
        grads.append((z.detach(), s.grad))
    (z_ours, g_ours), (z_theirs, g_theirs) = grads
    assert ours.last_solution.all_ok
    torch.testing.assert_close(z_ours, z_theirs, atol=z_tol, rtol=0)
    torch.testing.assert_close(g_ours, g_theirs, atol=grad_tol, rtol=0)
