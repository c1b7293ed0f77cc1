"""Forecast metrics: the table `METRICS` (name -> Metric), vectorized over arrays of shape (..., time, dim).

Conventions:
- `y_true` and `y_pred` have shape (..., T, D); a 1-D array is one coordinate. Leading axes are a batch
  (e.g. initial conditions) and a metric returns an array of the batch shape (a float for one forecast).
- The short-term metrics of Gilpin (2023, "Model scale versus domain knowledge in statistical
  forecasting of chaotic systems") are computed per coordinate over time, then averaged over coordinates
  (darts.metrics' default `component_reduction`). Percentages are on a 0-100 scale, sMAPE on 0-200.
- Ratios: 0/0 is 0 (a perfect forecast of a zero quantity), x/0 is inf. Undefined values (a correlation
  with a constant series) are NaN; a NaN in a forecast makes its metrics NaN (VPTs treat it as an error
  above every threshold).
- VPT and `vpt_smape30` are in Lyapunov times τ = 1/λ_max. As in the code of Zhang & Gilpin (2025,
  "Zero-shot forecasting of chaotic systems", `vpt_smape`), the value is the 0-based index k of the first
  forecast step above the threshold, times dt·λ_max: the forecast was valid for its first k steps. When
  the threshold is never crossed they return the horizon's length n·dt·λ_max, a lower bound that no
  crossing gives (a crossing at the last step gives (n − 1)·dt·λ_max): the harness records it as censored.
- D_stsp and D_H (Hess et al. 2023) and their truth-vs-truth floor live in `long_term`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma
from scipy.stats import kendalltau, rankdata

from ..compile.lazy import jit_on_first_call
from .arrays import MetricError, as_pair, batched, coordinate_mean, scalar_or_array
from .long_term import d_h, d_stsp, independent_truths, truth_floor
from .results import LONG_TERM

__all__ = ["LONG_TERM", "METRICS", "Metric", "MetricError", "compute_metrics", "independent_truths", "truth_floor"]

VPT_EPSILON = 0.5          # DESIGN.md: the normalized-error threshold of the headline VPT
SMAPE_THRESHOLD = 30.0     # `vpt_smape30`: running-mean sMAPE (0-200 scale) threshold


@dataclass(frozen=True)
class Metric:
    """A metric of the table: its function, the extra inputs it needs, and its direction."""

    name: str
    fn: Callable[..., Any]
    needs: tuple[str, ...] = ()    # keyword inputs beyond (y_true, y_pred), e.g. ("dt", "lyapunov_max")
    higher_is_better: bool = False
    unit: str = ""

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray, **kwargs: Any) -> Any:
        """The metric's value(s) for these arrays."""
        return self.fn(y_true, y_pred, **kwargs)


# ---------------------------------------------------------------------------------------------- helpers

def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(num, den)
    return np.where(den == 0, np.where(num == 0, 0.0, np.inf), out)


def _rms(e: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(e**2, axis=-2))


def _correlation(t: np.ndarray, p: np.ndarray) -> Any:
    tc, pc = t - t.mean(axis=-2, keepdims=True), p - p.mean(axis=-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.sum(tc * pc, axis=-2) / np.sqrt(np.sum(tc**2, axis=-2) * np.sum(pc**2, axis=-2))
    return coordinate_mean(np.clip(r, -1.0, 1.0))


def _positive(value: float, name: str) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise MetricError(f"{name} must be a positive number, got {value}")
    return float(value)


# ------------------------------------------------------------------------------ short-term (Gilpin 2023)

def mse(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Mean squared error."""
    t, p = as_pair(y_true, y_pred)
    return scalar_or_array(np.mean((t - p) ** 2, axis=(-2, -1)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Mean absolute error."""
    t, p = as_pair(y_true, y_pred)
    return scalar_or_array(np.mean(np.abs(t - p), axis=(-2, -1)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Root mean squared error per coordinate, averaged over coordinates."""
    t, p = as_pair(y_true, y_pred)
    return coordinate_mean(_rms(t - p))


def nrmse(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """RMSE divided by the standard deviation of the true series over the window, per coordinate."""
    t, p = as_pair(y_true, y_pred)
    return coordinate_mean(_ratio(_rms(t - p), np.std(t, axis=-2)))


def marre(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Mean absolute ranged relative error: 100·mean|e| / (max − min of the true series)."""
    t, p = as_pair(y_true, y_pred)
    return coordinate_mean(100.0 * _ratio(np.mean(np.abs(t - p), axis=-2), np.ptp(t, axis=-2)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Coefficient of determination R² = 1 − SS_res / SS_tot."""
    t, p = as_pair(y_true, y_pred)
    ss_tot = np.sum((t - t.mean(axis=-2, keepdims=True)) ** 2, axis=-2)
    return coordinate_mean(1.0 - _ratio(np.sum((t - p) ** 2, axis=-2), ss_tot))


def rmsle(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Root mean squared log error, log(1 + y), after shifting both series by their common negative minimum.

    On non-negative data this is darts' rmsle; chaotic coordinates often change sign, so (as Gilpin's
    dysts.metrics does) the values are shifted to start at zero, here by one shift for both series so
    that an offset forecast is still penalized.
    """
    t, p = as_pair(y_true, y_pred)
    shift = np.minimum(0.0, np.minimum(t.min(axis=-2), p.min(axis=-2)))[..., None, :]
    return coordinate_mean(_rms(np.log1p(p - shift) - np.log1p(t - shift)))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Symmetric mean absolute percentage error, 0-200: 200·|e| / (|y| + |ŷ|)."""
    t, p = as_pair(y_true, y_pred)
    return scalar_or_array(np.mean(_smape_terms(t, p), axis=(-2, -1)))


def _smape_terms(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    return 200.0 * _ratio(np.abs(t - p), np.abs(t) + np.abs(p))


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Mean absolute percentage error: 100·|e| / |y| (inf where y is 0 and the forecast is not)."""
    t, p = as_pair(y_true, y_pred)
    return scalar_or_array(np.mean(100.0 * _ratio(np.abs(t - p), np.abs(t)), axis=(-2, -1)))


def wape(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Weighted absolute percentage error: 100·Σ|e| / Σ|y| per coordinate."""
    t, p = as_pair(y_true, y_pred)
    return coordinate_mean(100.0 * _ratio(np.sum(np.abs(t - p), axis=-2), np.sum(np.abs(t), axis=-2)))


def pearson(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Pearson correlation per coordinate over time (NaN for a constant series)."""
    return _correlation(*as_pair(y_true, y_pred))


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Spearman rank correlation per coordinate (ties get average ranks)."""
    t, p = as_pair(y_true, y_pred)
    return _correlation(rankdata(t, axis=-2), rankdata(p, axis=-2))


def kendall(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Kendall's tau-b per coordinate (the variant scipy.stats.kendalltau computes by default)."""
    t, p = as_pair(y_true, y_pred)
    t, p = np.moveaxis(t, -2, -1), np.moveaxis(p, -2, -1)      # (..., D, T)
    tau = np.empty(t.shape[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a constant series: tau is NaN, as below
        for index in np.ndindex(tau.shape):  # scipy's O(T log T) per series; pairwise signs cost O(T²)
            tau[index] = kendalltau(t[index], p[index]).statistic
    return coordinate_mean(np.clip(tau, -1.0, 1.0))


def coefficient_of_variation(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """100·RMSE / mean of the true series, per coordinate (darts' coefficient_of_variation)."""
    t, p = as_pair(y_true, y_pred)
    return coordinate_mean(100.0 * _ratio(_rms(t - p), np.mean(t, axis=-2)))


def mutual_information(y_true: np.ndarray, y_pred: np.ndarray, *, k: int = 3) -> Any:
    """Mutual information (nats) between true and forecast values, per coordinate.

    The Kraskov-Stögbauer-Grassberger estimator (Phys. Rev. E 69, 066138, 2004, algorithm 1) with k = 3
    neighbours on series scaled to unit variance, as scikit-learn's mutual_info_regression (which Gilpin's
    dysts.metrics calls) computes it, without its random jitter; negative estimates are clipped to 0.
    """
    t, p = as_pair(y_true, y_pred)

    def per_series(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean([_ksg(a[:, i], b[:, i], k) for i in range(a.shape[1])]))

    return batched(per_series, t, p)


def _ksg(x: np.ndarray, y: np.ndarray, k: int) -> float:
    n = x.size
    if n <= k or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    x, y = x / (np.std(x) or 1.0), y / (np.std(y) or 1.0)
    joint = np.column_stack([x, y])
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    radius = np.nextafter(dist[:, -1], 0)     # strictly closer than the k-th neighbour in the joint space
    n_x, n_y = _count_within(x, radius), _count_within(y, radius)
    mi = digamma(n) + digamma(k) - np.mean(digamma(n_x + 1)) - np.mean(digamma(n_y + 1))
    return max(0.0, float(mi))


def _count_within(v: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """For each point, how many other points lie within `radius` of it (1-D)."""
    # |v_j - v_i| <= r must be evaluated as a distance: comparing v_j with v_i + r rounds at the boundary.
    points = v[:, None]
    return cKDTree(points).query_ball_point(points, radius, p=np.inf, return_length=True) - 1


def mase(y_true: np.ndarray, y_pred: np.ndarray, *, context: np.ndarray, m: int = 1) -> Any:
    """Mean absolute scaled error: MAE over the MAE of the lag-m naive forecast within the context."""
    t, p = as_pair(y_true, y_pred)
    c = np.asarray(context, dtype=float)
    c = c[:, None] if c.ndim == 1 else c
    if c.ndim != t.ndim or c.shape[:-2] != t.shape[:-2] or c.shape[-1] != t.shape[-1] or c.shape[-2] <= m:
        raise MetricError(f"mase: context must have shape (..., n_ctx > {m}, dim) matching {t.shape}, "
                          f"got {c.shape}")
    scale = np.mean(np.abs(c[..., m:, :] - c[..., :-m, :]), axis=-2)
    return coordinate_mean(_ratio(np.mean(np.abs(t - p), axis=-2), scale))


def ope(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Overall percentage error: 100·|Σy − Σŷ| / |Σy| per coordinate (darts' ope)."""
    t, p = as_pair(y_true, y_pred)
    st, sp = np.sum(t, axis=-2), np.sum(p, axis=-2)
    return coordinate_mean(100.0 * _ratio(np.abs(st - sp), np.abs(st)))


def dtw(y_true: np.ndarray, y_pred: np.ndarray) -> Any:
    """Mean absolute error between the two series aligned by dynamic time warping (darts' dtw_metric).

    The alignment is the full (unwindowed) DTW path of the L1 distance between states; the value is the
    path's total cost over (path length × dim), i.e. the MAE of the warped series averaged over coordinates.
    """
    t, p = as_pair(y_true, y_pred)

    def per_series(a: np.ndarray, b: np.ndarray) -> float:
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return math.nan
        return _dtw_mean_abs(np.ascontiguousarray(a), np.ascontiguousarray(b))

    return batched(per_series, t, p)


@jit_on_first_call("float64(float64[:, ::1], float64[:, ::1])", cache=True)
def _dtw_mean_abs(a, b):  # pragma: no cover - compiled
    n, m, d = a.shape[0], b.shape[0], a.shape[1]
    prev = np.full(m + 1, np.inf)
    cur = np.full(m + 1, np.inf)
    prev[0] = 0.0
    # Backtracking step into each cell: 0 diagonal, 1 from (i-1, j), 2 from (i, j-1); darts prefers them
    # in this order on ties, which fixes the path length.
    step = np.empty((n + 1, m + 1), dtype=np.uint8)
    for i in range(1, n + 1):
        cur[0] = np.inf
        for j in range(1, m + 1):
            c = 0.0
            for k in range(d):
                c += abs(a[i - 1, k] - b[j - 1, k])
            best, move = prev[j - 1], 0
            if prev[j] < best:
                best, move = prev[j], 1
            if cur[j - 1] < best:
                best, move = cur[j - 1], 2
            cur[j] = c + best
            step[i, j] = move
        prev, cur = cur, prev
    total = prev[m]
    i, j, length = n, m, 0
    while i > 0 or j > 0:
        length += 1
        move = step[i, j]
        if move == 0:
            i -= 1
            j -= 1
        elif move == 1:
            i -= 1
        else:
            j -= 1
    return total / (length * d)


# --------------------------------------------------------------------------------- valid prediction time

def normalized_error(y_true: np.ndarray, y_pred: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The error ‖ŷ(t) − y(t)‖ / sqrt(Σσ_i²) at each step, shape (..., time): what VPT thresholds.

    `sigma` holds the standard deviation of each coordinate over the system's reference trajectory.
    """
    t, p = as_pair(y_true, y_pred)
    sigma = np.asarray(sigma, dtype=float)
    if sigma.shape not in ((), (t.shape[-1],)) or not np.all(sigma >= 0) or not np.any(sigma > 0):
        raise MetricError(f"vpt: sigma must be the {t.shape[-1]} non-negative per-coordinate standard "
                          f"deviations of the reference trajectory, got {sigma}")
    scale = math.sqrt(float(np.sum(np.broadcast_to(sigma, t.shape[-1:]) ** 2)))
    return np.linalg.norm(p - t, axis=-1) / scale


def vpt(y_true: np.ndarray, y_pred: np.ndarray, *, dt: float, lyapunov_max: float, sigma: np.ndarray,
        epsilon: float = VPT_EPSILON) -> Any:
    """Valid prediction time in Lyapunov times: first time the normalized error exceeds ε (0.5)."""
    return _first_exceedance(normalized_error(y_true, y_pred, sigma), epsilon, dt, lyapunov_max)


def vpt_smape30(y_true: np.ndarray, y_pred: np.ndarray, *, dt: float, lyapunov_max: float,
                threshold: float = SMAPE_THRESHOLD) -> Any:
    """Lyapunov times until the running mean of the per-step sMAPE (0-200) first exceeds 30.

    Equals `vpt_smape(x, xhat, threshold=30)` of Zhang & Gilpin (2025) times dt·λ_max: their cumulative
    sMAPE of x[:i + 1] pools time and coordinates with equal weights, as the running mean here does.
    """
    t, p = as_pair(y_true, y_pred)
    per_step = np.mean(_smape_terms(t, p), axis=-1)
    running = np.cumsum(per_step, axis=-1) / np.arange(1, per_step.shape[-1] + 1)
    return _first_exceedance(running, threshold, dt, lyapunov_max)


def _first_exceedance(values: np.ndarray, threshold: float, dt: float, lyapunov_max: float) -> Any:
    """index·dt·λ of the first value above threshold (NaN counts as above); the horizon n·dt·λ if none."""
    dt, lam = _positive(dt, "dt"), _positive(lyapunov_max, "lyapunov_max")
    above = ~(values <= threshold)
    steps = np.where(above.any(axis=-1), above.argmax(axis=-1), values.shape[-1])
    return scalar_or_array(steps * dt * lam)


# ------------------------------------------------------------------------------------------------ table

def _table(*metrics: Metric) -> dict[str, Metric]:
    return {m.name: m for m in metrics}


METRICS: dict[str, Metric] = _table(
    Metric("mse", mse),
    Metric("mae", mae),
    Metric("rmse", rmse),
    Metric("nrmse", nrmse),
    Metric("marre", marre, unit="%"),
    Metric("r2", r2, higher_is_better=True),
    Metric("rmsle", rmsle),
    Metric("smape", smape, unit="% (0-200)"),
    Metric("mape", mape, unit="%"),
    Metric("wape", wape, unit="%"),
    Metric("spearman", spearman, higher_is_better=True),
    Metric("pearson", pearson, higher_is_better=True),
    Metric("kendall", kendall, higher_is_better=True),
    Metric("coefficient_of_variation", coefficient_of_variation, unit="%"),
    Metric("mutual_information", mutual_information, higher_is_better=True, unit="nats"),
    Metric("mase", mase, needs=("context",)),
    Metric("ope", ope, unit="%"),
    Metric("dtw", dtw),
    Metric("vpt", vpt, needs=("dt", "lyapunov_max", "sigma"), higher_is_better=True,
           unit="Lyapunov times (ε = 0.5)"),
    Metric("vpt_smape30", vpt_smape30, needs=("dt", "lyapunov_max"), higher_is_better=True,
           unit="Lyapunov times (running sMAPE > 30, 0-200 scale)"),
    Metric("d_stsp", d_stsp, unit="nats"),
    Metric("d_h", d_h),
)
SHORT_TERM = ("mse", "mae", "rmse", "nrmse", "marre", "r2", "rmsle", "smape", "mape", "wape", "spearman",
              "pearson", "kendall", "coefficient_of_variation", "mutual_information", "mase", "ope", "dtw")
# The harness scores LONG_TERM on long free runs under their own names, and on the forecast window under
# these: there they saturate (docs/protocol.md), so they are reported but never headline.
WINDOW_NAMES = {"d_stsp": "d_stsp_window", "d_h": "d_h_window"}
VALID_TIMES = ("vpt", "vpt_smape30")     # censored at the horizon when never invalid


def compute_metrics(y_true: np.ndarray, y_pred: np.ndarray, names: list[str] | tuple[str, ...] | None = None,
                    **inputs: Any) -> dict[str, Any]:
    """The named metrics (all by default) of one forecast or a batch; `inputs` supplies what they need.

    Inputs: `context` (mase), `dt`, `lyapunov_max` and `sigma` (vpt, vpt_smape30).
    """
    chosen = list(METRICS) if names is None else list(names)
    unknown = [n for n in chosen if n not in METRICS]
    if unknown:
        raise MetricError(f"unknown metric(s) {unknown}; the metrics are {list(METRICS)}")
    results = {}
    for name in chosen:
        metric = METRICS[name]
        missing = [k for k in metric.needs if k not in inputs]
        if missing:
            raise MetricError(f"metric {name!r} needs {', '.join(missing)}=...; pass it or leave "
                              f"{name!r} out of names")
        results[name] = metric(y_true, y_pred, **{k: inputs[k] for k in metric.needs})
    return results
