"""The score-function estimator for a generative model of your own, formed as diffdfl's trainer
forms it (src/diffdfl/dfl/estimators.h):

    L = sum_b ok_b cost(y_b, z*_b) / max(1, sum_b ok_b)      realised cost over usable instances
    w_bm = -a_b^T grad_z f(yhat_bm, z*_b)                       per-sample weights (KKT adjoint a_b)
    S = s * sum_bm w_bm log p(yhat_bm | x_b)                    the surrogate; s = 1/M, or 1/(B M) pooled

so that ``S.backward()`` accumulates the score-function estimate of ``grad_theta E[L]``. The samples
are drawn without a graph; ``log p`` is whatever per-sample log-likelihood surrogate the model has
(a diffusion model's negative denoising loss, an exact Gaussian log-density, ...).

Example::

    with torch.no_grad():
        samples = model.sample(x, M)                              # [B, M, n]
    sw = diffdfl.score_weights(layer, samples, lambda z: layer.cost(y, z))
    loss = diffdfl.sf_surrogate(sw.weights, model.log_likelihood(x, samples), pooled=layer.pooled)
    loss.backward()
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from . import _C
from .layers import DecisionLayer, Solution


@dataclass
class ScoreWeights:
    """The result of :func:`score_weights`."""

    weights: torch.Tensor
    """[B, M] float64, detached."""
    solution: Solution
    """The solve of the samples (statuses per instance)."""
    cost: float
    """The realised cost L (mean over usable instances; NaN when none is usable)."""


def sf_scale(B: int, M: int, pooled: bool = False) -> float:
    """The surrogate's scale: 1/M per context (each context's estimator averages its M samples),
    1/(B*M) for a pooled program (one program over the whole batch)."""
    if B < 1 or M < 1:
        raise _C.Error(f"B and M must be >= 1, got B = {B}, M = {M}")
    return 1.0 / (B * M if pooled else M)


def sf_surrogate(weights: torch.Tensor, log_likelihood: torch.Tensor, pooled: bool = False) -> torch.Tensor:
    """The score-function surrogate ``s * sum_bm w_bm * log_likelihood_bm`` (a scalar whose
    gradient is the estimator; its value means nothing). ``weights`` ``[B, M]`` (detached here)
    from :meth:`DecisionLayer.sf_weights` or :func:`score_weights`; ``log_likelihood`` ``[B, M]``
    differentiable w.r.t. the model's parameters, evaluated at the same detached samples."""
    if not isinstance(weights, torch.Tensor) or not isinstance(log_likelihood, torch.Tensor):
        raise TypeError("weights and log_likelihood must be torch.Tensors")
    if weights.dim() != 2 or weights.numel() == 0:
        raise _C.Error(f"weights must be [B, M] with B, M >= 1, got {list(weights.shape)}")
    if log_likelihood.shape != weights.shape:
        raise _C.Error(f"log_likelihood must have the weights' shape {list(weights.shape)}, "
                       f"got {list(log_likelihood.shape)}")
    B, M = weights.shape
    w = weights.detach().to(device=log_likelihood.device, dtype=log_likelihood.dtype)
    return sf_scale(B, M, pooled) * (w * log_likelihood).sum()


def score_weights(layer: DecisionLayer, samples: torch.Tensor,
                  realised_cost: Callable[[torch.Tensor], torch.Tensor]) -> ScoreWeights:
    """Solves ``samples`` ``[B, M, n_y]``, takes ``dL/dz`` of the realised cost
    ``realised_cost(z) -> [B]`` (a differentiable function of the decisions, e.g.
    ``lambda z: layer.cost(y_true, z)``) averaged over the usable instances, and returns the
    per-sample weights as the trainer forms them."""
    solution = layer.solve(samples)
    z = solution.z.detach().requires_grad_(True)
    with torch.enable_grad():
        per_instance = realised_cost(z)
        if not isinstance(per_instance, torch.Tensor) or per_instance.shape != (z.shape[0],):
            raise _C.Error(f"realised_cost must return a [B] = [{z.shape[0]}] tensor")
        ok = solution.ok.to(per_instance.device)
        n_ok = int(ok.sum())
        loss = torch.where(ok, per_instance, torch.zeros_like(per_instance)).sum() / max(1, n_ok)
        (dl_dz,) = torch.autograd.grad(loss, z, allow_unused=True)
    if dl_dz is None:
        dl_dz = torch.zeros_like(z)
    weights = layer.sf_weights(samples, solution, dl_dz)
    return ScoreWeights(weights, solution, float(loss) if n_ok else float("nan"))
