"""Ordinal-pattern statistics (Bandt & Pompe 2002; Rosso et al. 2007): permutation entropy and complexity."""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DystsBenchError


def ordinal_distribution(x: np.ndarray, order: int = 5, delay: int = 1) -> np.ndarray:
    """Relative frequencies of the order! ordinal patterns of x, indexed by the patterns' Lehmer codes.

    A pattern is the permutation that sorts (x_t, x_{t+delay}, ..., x_{t+(order-1) delay}); equal
    values keep their order of appearance.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise DystsBenchError(f"ordinal patterns need a 1-D series, got shape {x.shape}")
    if not (2 <= order <= 10 and delay >= 1):
        raise DystsBenchError(f"order must be in 2..10 and delay >= 1, got order={order}, delay={delay}")
    span = (order - 1) * delay + 1
    if x.size < span + 1:
        raise DystsBenchError(f"a series of {x.size} points is too short for order {order}, delay {delay}")
    if not np.all(np.isfinite(x)):
        raise DystsBenchError("the series holds non-finite values")
    windows = sliding_window_view(x, span)[:, ::delay]
    perms = np.argsort(windows, axis=1, kind="stable")
    # The Lehmer code numbers the permutations 0 .. order! - 1, the same way for every series.
    later_smaller = np.triu(perms[:, None, :] < perms[:, :, None], k=1).sum(axis=2)
    weights = np.array([math.factorial(order - 1 - i) for i in range(order)])
    codes = later_smaller @ weights
    return np.bincount(codes, minlength=math.factorial(order)) / codes.size


def _shannon(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def permutation_entropy(x: np.ndarray, order: int = 5, delay: int = 1) -> float:
    """Normalized permutation entropy H in [0, 1]."""
    probs = ordinal_distribution(x, order, delay)
    return _shannon(probs) / math.log(probs.size)


def complexity_entropy(x: np.ndarray, order: int = 5, delay: int = 1) -> tuple[float, float]:
    """(H, C): normalized permutation entropy and Jensen-Shannon statistical complexity."""
    probs = ordinal_distribution(x, order, delay)
    return entropy_complexity_of(probs)


def entropy_complexity_of(probs: np.ndarray) -> tuple[float, float]:
    """(H, C) of an ordinal-pattern distribution: C = Q_J[P, uniform] * H with Q_J normalized to [0, 1]."""
    n = probs.size
    uniform = np.full(n, 1.0 / n)
    entropy = _shannon(probs)
    h = entropy / math.log(n)
    js = _shannon(0.5 * (probs + uniform)) - 0.5 * entropy - 0.5 * math.log(n)
    # The largest Jensen-Shannon divergence from the uniform distribution, reached by a delta distribution.
    js_max = -0.5 * ((n + 1) / n * math.log(n + 1) - 2 * math.log(2 * n) + math.log(n))
    return h, float(js / js_max * h)


def complexity_entropy_bounds(order: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest statistical complexity C possible at each permutation entropy H: (2, n) arrays.

    The bounds of Martin, Plastino & Rosso (2006): the lowest from one large probability and the rest
    equal, the highest from some patterns never occurring and one smaller probability.
    """
    n = math.factorial(order)
    low = []
    for p in np.linspace(1.0 / n, 1.0, 80):
        probs = np.full(n, (1 - p) / (n - 1))
        probs[0] = p
        low.append(entropy_complexity_of(probs))
    high = []
    for zeros in range(n - 1):
        free = n - zeros
        for p in np.linspace(0.0, 1.0 / free, 8):
            probs = np.zeros(n)
            probs[0] = p
            probs[1:free] = (1 - p) / (free - 1)
            high.append(entropy_complexity_of(probs))
    low_arr, high_arr = np.array(low).T, np.array(high).T
    return low_arr[:, np.argsort(low_arr[0])], high_arr[:, np.argsort(high_arr[0])]
