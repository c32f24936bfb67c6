"""diffdfl: differentiable stochastic decision layers and the Diffusion-DFL estimators, from C++.

Layers (``torch.nn.Module``; samples ``[B, M, n]`` -> decisions ``[B, n]``, KKT backward):
:class:`PowerLayer`, :class:`PortfolioLayer`, :class:`AllocationLayer`, and
:class:`CostProgramLayer` for a program whose cost you write with torch operations.
Score function for your own generative model: :func:`score_weights`, :func:`sf_surrogate`.
Runs: :func:`train`, :func:`sample`, :func:`evaluate`. Errors: :class:`Error` (a ValueError)
and its subclasses :class:`ConfigError`, :class:`DataError`, :class:`IoError`.

See docs/python.md.
"""

import torch  # noqa: F401  (loads LibTorch before the extension)

from ._C import ConfigError, DataError, Error, IoError, __version__
from .estimators import ScoreWeights, score_weights, sf_scale, sf_surrogate
from .layers import (AllocationLayer, CostProgramLayer, DecisionLayer, PortfolioLayer, PowerLayer,
                     Solution, expectile)
from .runs import evaluate, sample, train

__all__ = [
    "AllocationLayer", "ConfigError", "CostProgramLayer", "DataError", "DecisionLayer", "Error",
    "IoError", "PortfolioLayer", "PowerLayer", "ScoreWeights", "Solution", "__version__", "evaluate",
    "expectile", "sample", "score_weights", "sf_scale", "sf_surrogate", "train",
]
