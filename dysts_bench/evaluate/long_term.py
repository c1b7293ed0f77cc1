"""Long-term statistics of Hess, Monfared, Brenner & Durstewitz (ICML 2023, "Generalized Teacher Forcing
for Learning Chaotic Dynamics"): D_stsp and D_H, and their truth-vs-truth floor.

The definitions and defaults follow their code (github.com/DurstewitzLab/GTF-shPLRNN:
src/measures/stsp_measure.jl, src/measures/pse.jl, settings/defaults.json): 30 bins per dimension,
a Gaussian mixture with σ² = 1.0 from dimension 6 on, spectra smoothed with a Gaussian of σ = 20 bins.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import logsumexp

from ..errors import DystsBenchError
from ..integrate.solve import integrate
from .arrays import MetricError, as_pair, as_series, batched, coordinate_mean

if TYPE_CHECKING:
    from ..system import System

STSP_BINS = 30
STSP_GMM_SCALING = 1.0
STSP_GMM_FROM_DIM = 6      # their `decide_on_measure`: bins below 6 dimensions, GMM from 6 on
SPECTRUM_SMOOTHING = 20.0


def d_stsp(y_true: np.ndarray, y_pred: np.ndarray, *, n_bins: int = STSP_BINS,
           gmm_scaling: float = STSP_GMM_SCALING, seed: int = 0) -> Any:
    """State-space divergence: KL(p_true ‖ p_forecast) of the occupation measures (Hess et al. 2023).

    Below 6 dimensions, histograms with `n_bins` per dimension over the true series' range widened by 0.1σ
    on each side, Laplace-smoothed (α = 1e-5), plus one overflow bin that holds every point outside that
    box. From 6 dimensions on, a Gaussian-mixture estimate (see `_gmm_divergence`). The two series may
    differ in length.

    Deviation from the reference code (documented in docs/protocol.md): it drops forecast points outside
    the box and normalizes by the rest, so a forecast that leaves the attractor with all but one point
    can beat two true trajectories. Here the mass outside counts, so leaving the attractor always costs.
    """
    t, p = as_series(y_true), as_series(y_pred)
    if t.shape[:-2] != p.shape[:-2] or t.shape[-1] != p.shape[-1]:
        raise MetricError(f"d_stsp: shapes {t.shape} and {p.shape} differ in batch or dimension")
    if t.shape[-1] >= STSP_GMM_FROM_DIM:
        rng = np.random.default_rng(seed)
        return batched(lambda a, b: _gmm_divergence(a, b, gmm_scaling, rng), t, p)
    return batched(lambda a, b: _binned_divergence(a, b, n_bins), t, p)


def _binned_divergence(x: np.ndarray, y: np.ndarray, n_bins: int, alpha: float = 1e-5) -> float:
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    sd = np.std(x, axis=0, ddof=1)
    lo, hi = x.min(axis=0) - 0.1 * sd, x.max(axis=0) + 0.1 * sd
    # A constant coordinate still needs a bin of non-zero width.
    width = np.where(hi > lo, (hi - lo) / n_bins, 1.0)
    shape = (n_bins,) * x.shape[1]

    def occupied(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.floor((z - lo) / width)
        inside = np.all((idx >= 0) & (idx < n_bins), axis=1)
        flat = np.ravel_multi_index(idx[inside].astype(np.int64).T, shape)
        # Every point outside the box lands in one overflow bin, numbered after the box's bins.
        flat = np.concatenate([flat, np.full(int(np.count_nonzero(~inside)), n_box)])
        return np.unique(flat, return_counts=True)

    n_box = n_bins ** x.shape[1]
    (bins_x, counts_x), (bins_y, counts_y) = occupied(x), occupied(y)
    n_total = float(n_box + 1)
    union = np.union1d(bins_x, bins_y)
    cx = np.zeros(union.size)
    cy = np.zeros(union.size)
    cx[np.searchsorted(union, bins_x)] = counts_x
    cy[np.searchsorted(union, bins_y)] = counts_y
    # Laplace smoothing as in the reference code, (h + α) / (Σh + α·n_bins^D), over the box and the
    # overflow bin; Σh counts every point, inside the box or not.
    zx, zy = counts_x.sum() + alpha * n_total, counts_y.sum() + alpha * n_total
    px, py = (cx + alpha) / zx, (cy + alpha) / zy
    empty_x, empty_y = alpha / zx, alpha / zy
    kl = np.sum(px * np.log(px / py)) + (n_total - union.size) * empty_x * np.log(empty_x / empty_y)
    return float(kl)


def _gmm_divergence(x: np.ndarray, y: np.ndarray, scaling: float, rng: np.random.Generator,
                    mc_samples: int = 1000, max_t: int = 10_000) -> float:
    """Monte-Carlo KL between Gaussian mixtures centred on the points (Hershey & Olsen 2007), as in Hess
    et al.: one Gaussian of covariance `scaling`·I per point of the first `max_t` points, `mc_samples`
    samples from the true mixture. Both series are first standardized by the true series' mean and std
    (the reference code expects standardized data); log densities are summed in log space rather than
    dropping samples whose density underflows."""
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    mean, sd = x.mean(axis=0), x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    x, y = (x[:max_t] - mean) / sd, (y[:max_t] - mean) / sd
    sigma = math.sqrt(scaling)
    samples = x[rng.integers(0, len(x), mc_samples)] + sigma * rng.standard_normal((mc_samples, x.shape[1]))
    return float(np.mean(_gmm_log_density(samples, x, sigma) - _gmm_log_density(samples, y, sigma)))


def _gmm_log_density(samples: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """log of the mean over centres of N(sample; centre, σ²I), up to a constant common to both mixtures."""
    out = np.empty(len(samples))
    for start in range(0, len(samples), 100):
        s = samples[start:start + 100]
        sq = np.sum(s**2, axis=1)[:, None] + np.sum(centres**2, axis=1)[None, :] - 2.0 * s @ centres.T
        out[start:start + 100] = logsumexp(-0.5 * np.maximum(sq, 0.0) / sigma**2, axis=1)
    return out - math.log(len(centres)) - centres.shape[1] * math.log(sigma)


def d_h(y_true: np.ndarray, y_pred: np.ndarray, *, smoothing: float = SPECTRUM_SMOOTHING) -> Any:
    """Mean over coordinates of the Hellinger distance between smoothed, normalized power spectra.

    Per coordinate (Hess et al. 2023): standardize, |rfft|², Gaussian smoothing of width `smoothing`
    frequency bins (scipy's gaussian_filter1d, as the reference code mimics), clip negatives, normalize to
    sum 1, then H = sqrt(Σ(√p − √q)²)/√2. A constant coordinate has no spectrum: its distance to a
    constant one is 0 and to any other is 1. Both series must have the same length.
    """
    t, p = as_pair(y_true, y_pred)
    st, sp = _spectrum(t, smoothing), _spectrum(p, smoothing)
    h = np.sqrt(np.sum((np.sqrt(st) - np.sqrt(sp)) ** 2, axis=-2)) / math.sqrt(2.0)
    zero_t, zero_p = ~np.any(st > 0, axis=-2), ~np.any(sp > 0, axis=-2)
    h = np.where(zero_t & zero_p, 0.0, np.where(zero_t | zero_p, 1.0, h))
    # A non-finite value is a failed forecast, not a constant one: NaN rather than "maximally distant".
    h = np.where(np.all(np.isfinite(t), axis=-2) & np.all(np.isfinite(p), axis=-2), h, np.nan)
    return coordinate_mean(h)


def _spectrum(x: np.ndarray, smoothing: float) -> np.ndarray:
    # Standardizing only centres the series here: the scale cancels in the normalization below. A constant
    # series is set to exactly zero (its computed mean may differ from its value by a rounding error).
    centred = np.where(np.ptp(x, axis=-2, keepdims=True) == 0, 0.0, x - x.mean(axis=-2, keepdims=True))
    ps = np.abs(np.fft.rfft(centred, axis=-2)) ** 2
    if smoothing > 0:
        ps = np.maximum(gaussian_filter1d(ps, smoothing, axis=-2), 0.0)
    total = np.sum(ps, axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, ps / total, 0.0)


# ------------------------------------------------------------------------------------ truth-vs-truth floor

def independent_truths(system: System, *, n_steps: int, dt: float, transient: float, n_pairs: int = 1,
                       seed: int = 0) -> np.ndarray:
    """2·n_pairs true trajectories (2, n_pairs, n_steps, dim) from independent starts.

    Starts: the system's initial condition moved by seeded random perturbations of relative size 1e-3;
    after `transient` (choose many Lyapunov times) the trajectories are independent samples of the attractor.
    """
    rng = np.random.default_rng(seed)
    ic = system.initial_condition
    y0 = ic + 1e-3 * (1.0 + np.abs(ic)) * rng.standard_normal((2 * n_pairs, system.dim))
    sol = integrate(system, y0, t_end=(n_steps - 1) * dt, dt_out=dt, transient=transient)
    if not sol.ok:
        raise DystsBenchError(f"{system.name}: integrating the reference trajectories failed "
                              f"({sol.status.name}); check the system with `dysts-bench systems check`")
    return sol.y.reshape(2, n_pairs, n_steps, system.dim)


def truth_floor(system: System, *, n_steps: int, dt: float, transient: float, n_pairs: int = 3,
                seed: int = 0) -> dict[str, float]:
    """D_stsp and D_H between independent true trajectories of `n_steps` points (mean over pairs).

    The floor a perfect model of the system reaches on series of this length and sampling; publish it
    beside the forecasters' values.
    """
    a, b = independent_truths(system, n_steps=n_steps, dt=dt, transient=transient, n_pairs=n_pairs,
                              seed=seed)
    return {"d_stsp": float(np.mean(d_stsp(a, b))), "d_h": float(np.mean(d_h(a, b)))}
