"""The three SAA programs of diffdfl's layers written for cvxpylayers (CVXPY, solved by SCS through
diffcp, differentiated by its own cone-program derivative): the independent formulation that
tests/python/test_cvxpylayers.py checks diffdfl against and bench_python.py times it against.

Each builder returns a ``CvxpyLayer`` mapping samples ``[B, M, n]`` to decisions ``[B, n]``.
"""

from __future__ import annotations

import numpy as np


def _imports():
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer
    return cp, CvxpyLayer


def power(n: int, M: int, gamma_under: float = 50.0, gamma_over: float = 0.5, ramp: float = 0.4):
    """(1/M) sum_m [gu (y_m - z)+ + go (z - y_m)+ + |z - y_m|^2 / 2], |z_{h+1} - z_h| <= ramp."""
    cp, CvxpyLayer = _imports()
    Y, z = cp.Parameter((M, n)), cp.Variable(n)
    Z = np.ones((M, 1)) @ cp.reshape(z, (1, n), order="C")
    cost = gamma_under * cp.sum(cp.pos(Y - Z)) + gamma_over * cp.sum(cp.pos(Z - Y)) + 0.5 * cp.sum_squares(Z - Y)
    problem = cp.Problem(cp.Minimize(cost / M), [cp.abs(z[1:] - z[:-1]) <= ramp])
    return CvxpyLayer(problem, parameters=[Y], variables=[z])


def portfolio(n: int, M: int, alpha: float):
    """(1/M) sum_m [alpha (y_m^T z)^2 / 2 - y_m^T z] over the simplex."""
    cp, CvxpyLayer = _imports()
    Y, z = cp.Parameter((M, n)), cp.Variable(n)
    cost = 0.5 * alpha * cp.sum_squares(Y @ z) - cp.sum(Y @ z)
    problem = cp.Problem(cp.Minimize(cost / M), [cp.sum(z) == 1, z >= 0, z <= 1])
    return CvxpyLayer(problem, parameters=[Y], variables=[z])


def allocation(n: int, M: int, capacity: float):
    """(1/M) sum_m exp(-y_m^T z) over 0 <= z <= capacity."""
    cp, CvxpyLayer = _imports()
    Y, z = cp.Parameter((M, n)), cp.Variable(n)
    problem = cp.Problem(cp.Minimize(cp.sum(cp.exp(-(Y @ z))) / M), [z >= 0, z <= capacity])
    return CvxpyLayer(problem, parameters=[Y], variables=[z])
