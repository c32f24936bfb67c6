"""Differentiable decision layers: samples ``[B, M, n]`` -> SAA decisions ``[B, n]`` (float64).

Each layer solves, for every context ``b``, the sample-average program

    z*_b = argmin_z (1/M) sum_m f(y_bm, z)   s.t.  G z <= h,  A z = b

with diffdfl's C++ solvers, and differentiates it through the KKT conditions (the
reparameterization path: ``layer(samples)`` is an autograd function of ``samples``). The
derivative is exact except where an option says otherwise: the power layer's "reference" and
"smoothed" gradient modes, the portfolio layer's ``kkt_ridge`` > 0. For the score-function
path, :meth:`DecisionLayer.sf_weights` turns an upstream ``dL/dz`` into per-sample weights
``[B, M]`` (see :mod:`diffdfl.estimators`).

Example::

    layer = diffdfl.PowerLayer(gradient="exact")
    samples = model.sample(x, 25)                # [B, M, 24], with a graph
    z = layer(samples)                           # [B, 24] float64
    layer.cost(y_true, z).mean().backward()      # gradients reach the samples
    print(layer.last_solution.status)            # ['solved', ...]
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from . import _C

Solution = _C.Solution
"""A batch of solutions: ``z``, ``ineq_duals``, ``eq_duals``, ``slacks``, ``objective``,
``iterations`` (tensors), ``status`` (one string per instance), ``ok`` ([B] bool), ``brief()``."""

CostFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_DEVICES = ("cpu", "cuda")


def _check_number(name: str, value: Any, integer: bool = False) -> None:
    """TypeError naming ``name`` unless ``value`` is a real (or integer) number; diffdfl.Error
    naming it for NaN or infinity (the ranges are the library's to check)."""
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        kind = "an int" if integer else "a number"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if not math.isfinite(value):
        raise _C.Error(f"{name} must be finite, got {value}")


def _check_tensor(name: str, t: Any, dims: Tuple[int, ...]) -> None:
    """Named errors for what the C++ layer cannot report well: the type, the dtype, the device,
    the number of dimensions and the sizes (-1 = any size >= 1; 0 sizes are an empty batch)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64, got {t.dtype}")
    if t.device.type not in _DEVICES:
        raise _C.Error(f"{name} is on device '{t.device}'; diffdfl's layers take CPU or CUDA tensors")
    shape = "[" + ", ".join("*" if d < 0 else str(d) for d in dims) + "]"
    if t.dim() != len(dims):
        raise _C.Error(f"{name} must be {shape}, got {list(t.shape)}")
    if t.numel() == 0:
        raise _C.Error(f"{name} is empty ({list(t.shape)}); a batch needs B >= 1 and M >= 1")
    for got, want in zip(t.shape, dims):
        if want >= 0 and got != want:
            raise _C.Error(f"{name} must be {shape}, got {list(t.shape)}")


def _solver_section(tol: float, inaccurate_tol: float, max_iter: int) -> Dict[str, Any]:
    _check_number("tol", tol)
    _check_number("inaccurate_tol", inaccurate_tol)
    _check_number("max_iter", max_iter, integer=True)
    return {"tol": float(tol), "inaccurate_tol": float(inaccurate_tol), "max_iter": int(max_iter)}


class DecisionLayer(torch.nn.Module):
    """A differentiable stochastic program (base of the concrete layers; not built directly).

    ``forward(samples)`` returns the decisions; its backward is the KKT derivative (exact, or for
    the power program the configured gradient mode). The solution of the last forward, with one
    status per instance, is kept in :attr:`last_solution`.
    """

    def __init__(self, core: _C.DecisionLayer) -> None:
        super().__init__()
        self._core = core
        self.last_solution: Optional[Solution] = None

    @property
    def n_y(self) -> int:
        """Dimension of a sample y."""
        return self._core.n_y

    @property
    def n_z(self) -> int:
        """Dimension of a decision z."""
        return self._core.n_z

    @property
    def pooled(self) -> bool:
        """True when all B*M samples of a batch form one program whose decision every row shares."""
        return self._core.pooled

    def extra_repr(self) -> str:
        return f"program={self._core.name}, n_y={self.n_y}, n_z={self.n_z}, pooled={self.pooled}"

    def _check_samples(self, samples: Any) -> None:
        _check_tensor("samples", samples, (-1, -1, self.n_y))

    def forward(self, samples: torch.Tensor) -> torch.Tensor:
        """Decisions ``[B, n_z]`` (float64) for samples ``[B, M, n_y]``, differentiable w.r.t. the
        samples. Raises :class:`diffdfl.Error` (a ValueError) for a bad shape, an empty batch,
        NaN/Inf samples or an unsupported device, TypeError for a non-float dtype. A numerically
        failed instance is not an error: see ``self.last_solution.status``; its gradient is zero."""
        z, _ = self.decide(samples)
        return z

    def decide(self, samples: torch.Tensor) -> Tuple[torch.Tensor, Solution]:
        """Like ``forward``, and also returns the :class:`Solution` (statuses, duals, objective)."""
        self._check_samples(samples)
        z, solution = self._core.decide(samples)
        self.last_solution = solution
        return z, solution

    def solve(self, samples: torch.Tensor) -> Solution:
        """Solves without recording a graph (the score-function path)."""
        self._check_samples(samples)
        return self._core.solve(samples)

    def sf_weights(self, samples: torch.Tensor, solution: Solution, dl_dz: torch.Tensor) -> torch.Tensor:
        """Score-function weights ``w_bm = -a_b^T grad_z f(y_bm, z_b)`` ``[B, M]`` (float64,
        detached) for ``solution = self.solve(samples)`` and an upstream ``dl_dz`` ``[B, n_z]``,
        where ``a_b`` is the KKT adjoint of ``dl_dz``. Weights of failed instances are zero.
        :func:`diffdfl.sf_surrogate` turns them into a loss for a generative model."""
        self._check_samples(samples)
        if not isinstance(solution, Solution):
            raise TypeError(f"solution must be a diffdfl.Solution, got {type(solution).__name__}")
        if len(solution) != samples.shape[0]:
            raise _C.Error(f"solution holds {len(solution)} instances but samples has B = {samples.shape[0]}")
        _check_tensor("dl_dz", dl_dz, (samples.shape[0], self.n_z))
        return self._core.sf_weights(samples, solution, dl_dz)

    def cost(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The program's per-sample cost f(y, z), differentiable in both: y ``[B, n_y]`` with z
        ``[B, n_z]`` gives ``[B]`` (a realised cost); y ``[B, M, n_y]`` gives ``[B, M]``."""
        if y.dim() == 2 and z.dim() == 2:
            return self.cost(y.unsqueeze(1), z).squeeze(1)
        _check_tensor("y", y, (-1, -1, self.n_y))
        _check_tensor("z", z, (y.shape[0], self.n_z))
        zz = z.to(torch.float64).unsqueeze(1).expand(-1, y.shape[1], -1)
        return self._core.cost(y.to(torch.float64), zz)

    def stats(self) -> Dict[str, int]:
        """Counters since construction or :meth:`reset_stats`: solves, solve_failures,
        adjoint_failures."""
        return self._core.stats()

    def reset_stats(self) -> None:
        """Zeroes the counters of :meth:`stats`."""
        self._core.reset_stats()


def _task_layer(task: str, source: str, n: int, program: Dict[str, Any], solver: Dict[str, Any]) -> _C.DecisionLayer:
    _check_number("n", n, integer=True)
    config = {"program": program, "solver": solver}
    return _C.task_layer(task, int(n), json.dumps(config), source)


class PowerLayer(DecisionLayer):
    """Power generation scheduling (Donti et al. 2017): per hour h,
    ``f(y, z) = gamma_under (y_h - z_h)+ + gamma_over (z_h - y_h)+ + (z_h - y_h)^2 / 2`` with ramp
    constraints ``|z_{h+1} - z_h| <= ramp``. Solved exactly by dynamic programming.

    Args:
        n: hours (decision and sample dimension), >= 2.
        gamma_under, gamma_over: costs of unmet load and of excess generation (>= 0).
        ramp: the ramp limit (> 0).
        gradient: ``"reference"`` (the paper's a.e. gradient, H = I), ``"exact"`` (the true
            derivative of the SAA solution map) or ``"smoothed"`` (kernel-smoothed curvature);
            docs/decision-layer.md, "Gradient semantics".
        pooled: one program over all B*M samples of a batch.
        tol, inaccurate_tol, max_iter: solver options (unused by the exact DP, checked anyway).
    """

    def __init__(self, n: int = 24, *, gamma_under: float = 50.0, gamma_over: float = 0.5,
                 ramp: float = 0.4, gradient: str = "reference", pooled: bool = False,
                 tol: float = 1e-10, inaccurate_tol: float = 1e-6, max_iter: int = 100) -> None:
        for name, v in (("gamma_under", gamma_under), ("gamma_over", gamma_over), ("ramp", ramp)):
            _check_number(name, v)
        if not isinstance(gradient, str):
            raise TypeError(f"gradient must be a str, got {type(gradient).__name__}")
        program = {"gamma_under": float(gamma_under), "gamma_over": float(gamma_over),
                   "ramp": float(ramp), "gradient": gradient, "pooled": bool(pooled)}
        super().__init__(_task_layer("power", "PowerLayer", n, program,
                                     _solver_section(tol, inaccurate_tol, max_iter)))


class PortfolioLayer(DecisionLayer):
    """Stock portfolio with quadratic utility over the capped simplex:
    ``f(y, z) = alpha (y^T z)^2 / 2 - y^T z``, ``sum z = 1``, ``0 <= z <= 1``.

    Args:
        n: assets (>= 2).
        alpha: risk aversion (>= 0; the paper's 1e-6 makes the problem nearly linear).
        kkt_ridge: ridge added to the KKT matrix for the adjoint (the reference's 1e-6); 0 gives
            the exact derivative.
        pooled, tol, inaccurate_tol, max_iter: as for :class:`PowerLayer` (interior point here).
    """

    def __init__(self, n: int = 50, *, alpha: float = 1e-6, kkt_ridge: float = 1e-6,
                 pooled: bool = False, tol: float = 1e-10, inaccurate_tol: float = 1e-6,
                 max_iter: int = 100) -> None:
        _check_number("alpha", alpha)
        _check_number("kkt_ridge", kkt_ridge)
        program = {"alpha": float(alpha), "kkt_ridge": float(kkt_ridge), "pooled": bool(pooled)}
        super().__init__(_task_layer("portfolio", "PortfolioLayer", n, program,
                                     _solver_section(tol, inaccurate_tol, max_iter)))


class AllocationLayer(DecisionLayer):
    """Product allocation with exponential utility: ``f(y, z) = exp(-y^T z)``,
    ``0 <= z <= capacity``.

    Args:
        n: products (>= 1).
        capacity: the upper bound of every decision (> 0).
        pooled: one program over all B*M samples (the reference's synthetic task does this).
        tol, inaccurate_tol, max_iter: interior-point options.
    """

    def __init__(self, n: int = 10, *, capacity: float = 2.0, pooled: bool = False,
                 tol: float = 1e-10, inaccurate_tol: float = 1e-6, max_iter: int = 100) -> None:
        _check_number("capacity", capacity)
        program = {"capacity": float(capacity), "pooled": bool(pooled)}
        super().__init__(_task_layer("synthetic", "AllocationLayer", n, program,
                                     _solver_section(tol, inaccurate_tol, max_iter)))


def _constraint(name: str, t: Any, dim: int) -> torch.Tensor:
    """A constraint matrix or vector as a float64 CPU tensor, checked for its number of dimensions."""
    if not isinstance(t, torch.Tensor):
        t = torch.as_tensor(t, dtype=torch.float64)
    if t.dim() != dim:
        raise _C.Error(f"{name} must have {dim} dimension(s), got {list(t.shape)}")
    return t.detach().to("cpu", torch.float64).contiguous()


class CostProgramLayer(DecisionLayer):
    """A user-defined program: the cost is a Python callable written with torch operations,
    constraints are linear; diffdfl solves it (interior point) and differentiates it (KKT), taking
    every derivative of the cost from autograd (as ``opt::CostFunctionProgram`` in C++).

    Args:
        cost: ``cost(y, z) -> [B, M]`` with y ``[B, M, n_y]`` and z ``[B, M, n_z]`` (float64; z is
            the context's decision repeated over its samples). Must be convex in z and twice
            differentiable almost everywhere; it is called several times per solve.
        n_y, n_z: dimensions of a sample and of a decision.
        G, h: inequalities ``G z <= h`` (``[m, n_z]`` and ``[m]``); None for none.
        A, b: equalities ``A z = b`` (``[p, n_z]`` and ``[p]``); None for none.
        name: the program's name in messages.
        pooled, tol, inaccurate_tol, max_iter: as for the built-in layers.

    Example (a newsvendor with a squared shortfall; its SAA solution is the 0.8-expectile)::

        layer = CostProgramLayer(lambda y, z: (4 * torch.relu(y - z) ** 2
                                               + torch.relu(z - y) ** 2).sum(-1),
                                 n_y=1, n_z=1, G=-torch.eye(1), h=torch.zeros(1))
    """

    def __init__(self, cost: CostFn, n_y: int, n_z: int, *, G: Optional[torch.Tensor] = None,
                 h: Optional[torch.Tensor] = None, A: Optional[torch.Tensor] = None,
                 b: Optional[torch.Tensor] = None, name: str = "user", pooled: bool = False,
                 tol: float = 1e-10, inaccurate_tol: float = 1e-6, max_iter: int = 100) -> None:
        if not callable(cost):
            raise TypeError(f"cost must be callable, got {type(cost).__name__}")
        _check_number("n_y", n_y, integer=True)
        _check_number("n_z", n_z, integer=True)
        if (G is None) != (h is None):
            raise _C.Error("G and h go together: give both or neither")
        if (A is None) != (b is None):
            raise _C.Error("A and b go together: give both or neither")
        G_ = torch.zeros(0, max(int(n_z), 0), dtype=torch.float64) if G is None else _constraint("G", G, 2)
        h_ = torch.zeros(0, dtype=torch.float64) if h is None else _constraint("h", h, 1)
        A_ = None if A is None else _constraint("A", A, 2)
        b_ = None if b is None else _constraint("b", b, 1)
        solver = _solver_section(tol, inaccurate_tol, max_iter)
        super().__init__(_C.cost_layer(name, int(n_y), int(n_z), G_, h_, A_, b_, cost, solver["tol"],
                                       solver["inaccurate_tol"], solver["max_iter"], bool(pooled)))


def expectile(samples: torch.Tensor, tau: float, iters: int = 100) -> torch.Tensor:
    """The tau-expectile of each row of ``samples`` ``[B, M]`` -> ``[B]`` (float64) by bisection:
    the e with ``tau * mean((y - e)+) = (1 - tau) * mean((e - y)+)``. It is the SAA solution of the
    newsvendor with squared costs ``tau (y - z)+^2 + (1 - tau) (z - y)+^2`` (a known answer for
    tests and examples)."""
    if not 0.0 < tau < 1.0 or math.isnan(tau):
        raise _C.Error(f"tau must be in (0, 1), got {tau}")
    y = samples.to(torch.float64)
    lo, hi = y.min(dim=1).values, y.max(dim=1).values
    for _ in range(iters):
        mid = (lo + hi) / 2
        excess = tau * torch.relu(y - mid[:, None]).mean(1) - (1 - tau) * torch.relu(mid[:, None] - y).mean(1)
        lo = torch.where(excess > 0, mid, lo)
        hi = torch.where(excess > 0, hi, mid)
    return (lo + hi) / 2
