"""Attractor dimensions: Kaplan-Yorke from a Lyapunov spectrum, correlation dimension (Grassberger-Procaccia)."""

from __future__ import annotations

import math

import numpy as np
from numba import types

from ..compile.lazy import jit_on_first_call
from ..errors import DystsBenchError
from .convergence import LyapunovResult
from .estimate import Estimate


def kaplan_yorke_dimension(exponents: np.ndarray) -> float:
    """j + (λ_1 + ... + λ_j) / |λ_{j+1}|, j the largest index with a non-negative partial sum.

    0 if λ_1 < 0; the number of exponents if every partial sum is non-negative.
    """
    lam = np.sort(np.asarray(exponents, dtype=float))[::-1]
    partial = np.cumsum(lam)
    if lam.size == 0 or lam[0] < 0:
        return 0.0
    j = int(np.count_nonzero(partial >= 0))
    if j == lam.size:
        return float(lam.size)
    return float(j + partial[j - 1] / abs(lam[j]))


def kaplan_yorke_estimate(result: LyapunovResult) -> Estimate:
    """The Kaplan-Yorke dimension of a full spectrum with its standard error (delta method).

    Exponents within their zero tolerance count as zero (the flow direction's is exactly zero, and a
    limit cycle has dimension 1 even if its estimate comes out at -4e-4). The exponents' covariance is
    their block covariance rescaled to the reported standard errors.
    """
    lam = np.where(np.abs(result.exponents) <= result.zero_tolerance, 0.0, result.exponents)
    value = kaplan_yorke_dimension(lam)
    grad = np.zeros(lam.size)
    partial = np.cumsum(lam)
    j = int(np.count_nonzero(partial >= 0))
    if 0 < j < lam.size:
        grad[:j] = 1.0 / abs(lam[j])
        grad[j] = partial[j - 1] / lam[j] ** 2
    corr = np.corrcoef(result.blocks, rowvar=False) if result.blocks.shape[0] > 2 else np.eye(lam.size)
    corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
    np.fill_diagonal(corr, 1.0)
    cov = corr * np.outer(result.stderr, result.stderr)
    stderr = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    return Estimate(value=value, stderr=stderr, method="Kaplan-Yorke formula on the Lyapunov spectrum",
                    settings={"spectrum_method": result.method, "zero_tolerance": result.zero_tolerance})


_f8, _i8 = types.float64, types.int64
_SUMS_SIGNATURE = types.void(_f8[:, ::1], _i8[::1], _i8, _f8, _f8, _i8[:, :, ::1], _i8[:, ::1])


@jit_on_first_call(_SUMS_SIGNATURE, cache=True)
def _pair_histogram(points, groups, theiler, log_r0, per_decade, hist, pairs):
    """hist[a, b, i]: pairs of groups (a <= b) whose distance lies in the i-th radius bin."""
    n, dim = points.shape
    top = hist.shape[2] - 1
    max_d2 = 10.0 ** (2 * (log_r0 + (top - 1) / per_decade))
    for i in range(n):
        a = groups[i]
        for j in range(i + theiler + 1, n):
            b = groups[j]
            d2 = 0.0
            for d in range(dim):
                diff = points[i, d] - points[j, d]
                d2 += diff * diff
            lo, hi = (a, b) if a <= b else (b, a)
            pairs[lo, hi] += 1
            if d2 >= max_d2:  # beyond the largest radius: no logarithm needed
                hist[lo, hi, top] += 1
            elif d2 <= 0.0:
                hist[lo, hi, 0] += 1
            else:
                hist[lo, hi, max(math.ceil((0.5 * math.log10(d2) - log_r0) * per_decade), 0)] += 1


def correlation_sums(points: np.ndarray, radii_per_decade: int, log_r0: float, n_radii: int, theiler: int,
                     n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair counts within each radius r_i = 10**(log_r0 + i / per_decade), per pair of point groups.

    Points are grouped by index modulo n_groups; pairs less than or equal to `theiler` samples
    apart are left out, as temporal neighbours. Returns (counts (g, g, n_radii), pairs (g, g)).
    """
    hist = np.zeros((n_groups, n_groups, n_radii + 1), dtype=np.int64)
    pairs = np.zeros((n_groups, n_groups), dtype=np.int64)
    groups = np.arange(points.shape[0], dtype=np.int64) % n_groups
    _pair_histogram(np.ascontiguousarray(points, dtype=float), groups, int(theiler), float(log_r0),
                    float(radii_per_decade), hist, pairs)
    return np.cumsum(hist, axis=2)[:, :, :n_radii], pairs


def _scaling_region(log_r: np.ndarray, log_c: np.ndarray, min_width: int) -> tuple[int, int]:
    """[start, stop) of the widest run of radii whose local slopes are nearly constant.

    The tolerance on the local slopes' spread is 1.5 times the smallest spread of any window of
    `min_width` radii (and at least 2% of the slope), so the region adapts to the data's noise.
    """
    slopes = np.gradient(log_c, log_r)
    n = slopes.size
    if n < min_width:
        raise DystsBenchError(f"only {n} usable radii; a scaling region needs at least {min_width}: the "
                              "dimension may be too high for this many points; use more points")
    spreads = np.array([slopes[i: i + min_width].std() for i in range(n - min_width + 1)])
    best = int(np.argmin(spreads))
    allowed = max(1.5 * spreads[best], 0.02 * abs(slopes[best: best + min_width].mean()))
    region = (best, best + min_width)
    for width in range(min_width + 1, n + 1):
        found = None
        for i in range(n - width + 1):
            s = slopes[i: i + width].std()
            if s <= allowed and (found is None or s < found[1]):
                found = (i, s)
        if found is None:
            break
        region = (found[0], found[0] + width)
    return region


def _slope(log_r: np.ndarray, log_c: np.ndarray) -> float:
    return float(np.polyfit(log_r, log_c, 1)[0])


def correlation_dimension(
    points: np.ndarray,
    *,
    theiler: int = 0,
    n_groups: int = 8,
    per_decade: int = 12,
    min_decades: float = 0.75,
    min_pairs: int = 500,
    max_fraction: float = 0.3,
) -> Estimate:
    """Grassberger-Procaccia correlation dimension of points (n, dim) in time order, with a scaling region.

    Radii are log-spaced; only those with at least `min_pairs` pairs within and at most `max_fraction`
    of all pairs qualify. The scaling region is the widest run of at least `min_decades` decades with
    nearly constant local slope, and the dimension the slope of log C against log r there. Its standard
    error combines a jackknife over `n_groups` interleaved groups of points with the spread of the local
    slopes in the region.
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[0] < 100 or not np.all(np.isfinite(points)):
        raise DystsBenchError(f"correlation_dimension needs at least 100 finite points (n, dim), got "
                              f"shape {points.shape}")
    points = points - points.mean(axis=0)
    scale = float(np.sqrt((points**2).sum(axis=1).mean()))
    if scale == 0:
        raise DystsBenchError("all points coincide: no dimension to estimate")
    points = points / scale
    n = points.shape[0]
    log_r0 = -6.0
    # Radii up to the RMS radius: the correlation sum there is already a large fraction of all pairs.
    n_radii = math.ceil(-log_r0 * per_decade) + 1
    radii = 10.0 ** (log_r0 + np.arange(n_radii) / per_decade)
    counts, pairs = correlation_sums(points, per_decade, log_r0, n_radii, theiler, n_groups)
    total = counts.sum(axis=(0, 1))
    n_pairs = int(pairs.sum())
    usable = (total >= min_pairs) & (total <= max_fraction * n_pairs)
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        raise DystsBenchError(f"no radius has between {min_pairs} pairs and {max_fraction:.0%} of all pairs; "
                              "use more points")
    idx = np.arange(idx[0], idx[-1] + 1)
    log_r = np.log(radii[idx])
    log_c = np.log(total[idx] / n_pairs)
    min_width = max(3, math.ceil(min_decades * per_decade) + 1)
    start, stop = _scaling_region(log_r, log_c, min_width)
    window = slice(start, stop)
    value = _slope(log_r[window], log_c[window])
    leave_out = []
    for g in range(n_groups):
        keep = np.ones(n_groups, dtype=bool)
        keep[g] = False
        c_g = counts[keep][:, keep].sum(axis=(0, 1))[idx][window]
        p_g = pairs[keep][:, keep].sum()
        leave_out.append(_slope(log_r[window], np.log(np.maximum(c_g, 1) / p_g)))
    jack = np.array(leave_out)
    stat = math.sqrt((n_groups - 1) / n_groups * float(((jack - jack.mean()) ** 2).sum()))
    local = np.gradient(log_c, log_r)[window]
    systematic = float(local.std())
    r_lo, r_hi = radii[idx][start] * scale, radii[idx][stop - 1] * scale
    return Estimate(
        value=value, stderr=math.hypot(stat, systematic), method="Grassberger-Procaccia correlation sum",
        settings={"n_points": n, "theiler": theiler, "scaling_region": [r_lo, r_hi],
                  "decades": math.log10(r_hi / r_lo), "stderr_jackknife": stat,
                  "local_slope_spread": systematic, "n_pairs": n_pairs},
    )
