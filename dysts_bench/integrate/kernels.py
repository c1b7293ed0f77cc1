"""The one compiled Runge-Kutta stepper: any tableau, any system (its RHS is a first-class function).

The tableau's sums are the functions written out from it (`integrate/sums.py`), chosen by the method's index.

Compiled once with an explicit signature (on its first call) and cached on disk, so a new system costs only the
compilation of its small right-hand side. Delay equations use the same stepper: with lags, each
accepted step is kept with its stages, and delayed states are read from that dense history
(the method of steps; the step never exceeds the shortest lag, so history is always known).
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
from numba import types

from ..compile.lazy import jit_on_first_call
from ..compile.modules import RHS_TYPE
from ..compile.runtime import address
from .blocks import EPS, MAX_STEPS, NONFINITE, STEP_SIZE_UNDERFLOW, SUCCESS, all_finite, step_factor
from .sums import error_norm, interpolate, new_point, stage

# Right-hand sides as first-class functions are the design (one kernel for every system); numba warns at
# each compilation that the feature is experimental.
warnings.filterwarnings("ignore", message="First-class function type feature is experimental")

# Every function is compiled with numba's "numpy" error model: a zero divisor gives inf or nan (IEEE), which
# ends the run with status NONFINITE or STEP_SIZE_UNDERFLOW, where the default ("python") raises
# ZeroDivisionError and aborts the whole call, batch and all.
_f8, _i8, _b1 = types.float64, types.int64, types.boolean
SOLVE_SIGNATURE = types.void(
    RHS_TYPE, _f8[::1], _f8[:, ::1], _f8, _f8[::1],  # rhs, params, y0 (batch, dim), t0, output times
    _f8[::1],                                        # lags (empty for ODEs)
    _f8, _b1, _f8, _f8, _i8,                         # first step (0: choose), fixed step?, rtol, atol, max steps
    _i8, _f8[::1], _i8, _b1, _i8,                    # method (index in sums.METHODS), nodes c, stages, fsal,
                                                     # error order
    _f8[:, :, ::1], _i8[::1], _i8[::1],              # out (batch, n, dim), status (batch), rhs evaluations (batch)
)


@numba.njit(cache=True, error_model="numpy")
def _history_at(tq, t0, y0, hist_t, hist_h, hist_y, hist_K, count, method, out, at):
    """The state at time tq, from the constant history (tq <= t0) or a stored step, into out[at : at + dim]."""
    if tq <= t0 or count == 0:
        out[at: at + y0.shape[0]] = y0
        return
    lo = 0
    hi = count - 1
    while lo < hi:  # last stored step starting at or before tq
        mid = (lo + hi + 1) // 2
        if hist_t[mid] <= tq:
            lo = mid
        else:
            hi = mid - 1
    theta = min(1.0, (tq - hist_t[lo]) / hist_h[lo])
    interpolate(method, hist_y[lo], hist_h[lo], hist_K[lo], theta, out, at)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _with_history(x, t, lags, xin, t0, y0, hist_t, hist_h, hist_y, hist_K, count, method):
    """The address of xin = [x, then the state at t - lag for each lag] (delay equations' RHS input)."""
    dim = x.shape[0]
    xin[:dim] = x
    for k in range(lags.shape[0]):
        _history_at(t - lags[k], t0, y0, hist_t, hist_h, hist_y, hist_K, count, method, xin, dim * (k + 1))
    return address(xin, 0)


@numba.njit(cache=True, error_model="numpy")
def _initial_step(y, f0, f1, h0, rtol, atol, order, span):
    """Hairer's starting step from f at y (f0) and at y + h0 f0 (f1)."""
    dim = y.shape[0]
    d1 = 0.0
    d2 = 0.0
    for d in range(dim):
        scale = atol + abs(y[d]) * rtol
        d1 += (f0[d] / scale) ** 2
        d2 += ((f1[d] - f0[d]) / scale) ** 2
    d1 = math.sqrt(d1 / dim)
    d2 = math.sqrt(d2 / dim) / h0
    flat = d1 <= 1e-15 and d2 <= 1e-15
    h1 = max(1e-6, h0 * 1e-3) if flat else (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1, span)


@numba.njit(cache=True, error_model="numpy")
def _probe_step(y, f0, rtol, atol, span):
    dim = y.shape[0]
    d0 = 0.0
    d1 = 0.0
    for d in range(dim):
        scale = atol + abs(y[d]) * rtol
        d0 += (y[d] / scale) ** 2
        d1 += (f0[d] / scale) ** 2
    d0 = math.sqrt(d0 / dim)
    d1 = math.sqrt(d1 / dim)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    return min(h0, span)  # the probe step h0 of Hairer's algorithm


@numba.njit(cache=True, error_model="numpy")
def _solve_one(rhs, p, y0, t0, t_out, delays, h_first, fixed, rtol, atol, max_steps,
               method, c, stages, fsal, error_order, out):
    dim = y0.shape[0]
    n_all = c.shape[0]
    n_out = t_out.shape[0]
    # `delays` is None for ODEs (the lags otherwise): numba then compiles a second version with every
    # `delays is None` branch pruned, so the ODE loop never reassigns the history buffers (which made
    # numba count references on every step and cost a third of it).
    n_lags = 0 if delays is None else delays.shape[0]
    K = np.zeros((n_all, dim))
    flat_out = out.reshape(-1)  # dense output writes at an offset: a row view per point costs reference counts
    y = y0.copy()
    ynew = np.empty(dim)
    tmp = np.empty(dim)
    xin = np.empty(dim * (1 + n_lags))
    max_h = np.inf if delays is None else delays.min()
    max_lag = 0.0 if delays is None else delays.max()
    capacity = 0 if delays is None else 16
    hist_t = np.empty(capacity)
    hist_h = np.empty(capacity)
    hist_y = np.empty((capacity, dim))
    hist_K = np.empty((capacity, n_all, dim))
    count = 0
    nfev = 0
    pp = address(p, 0)
    k_out = 0
    while k_out < n_out and t_out[k_out] <= t0:
        out[k_out, :] = y0
        k_out += 1
    if k_out == n_out:
        return SUCCESS, nfev
    t = t0
    t_end = t_out[n_out - 1]
    if delays is None:
        rhs(address(y, 0), t, pp, address(K, 0))
    else:
        delayed = _with_history(y, t, delays, xin, t0, y0, hist_t, hist_h, hist_y, hist_K, count, method)
        rhs(delayed, t, pp, address(K, 0))
    nfev += 1
    if not (all_finite(y) and all_finite(K[0])):
        out[k_out:, :] = np.nan
        return NONFINITE, nfev
    adaptive = not fixed  # `integrate` fixes the step of a method without an error estimate (RK4)
    if h_first > 0.0:
        h = h_first
    else:
        h0 = min(_probe_step(y, K[0], rtol, atol, t_end - t), max_h)
        for d in range(dim):  # Hairer's probe point y + h0 f(y)
            tmp[d] = y[d] + h0 * K[0, d]
        if delays is None:
            rhs(address(tmp, 0), t + h0, pp, address(K, dim))
        else:
            delayed = _with_history(tmp, t + h0, delays, xin, t0, y0,
                                    hist_t, hist_h, hist_y, hist_K, count, method)
            rhs(delayed, t + h0, pp, address(K, dim))
        nfev += 1
        h = _initial_step(y, K[0], K[1], h0, rtol, atol, error_order + 1, t_end - t)
    exponent = -1.0 / (error_order + 1)
    first_extra = stages + 1 if fsal else stages
    steps = 0
    status = SUCCESS
    rejected = False
    while k_out < n_out:
        if steps >= max_steps:
            status = MAX_STEPS
            break
        h = min(h, max_h)
        last = h >= t_end - t
        if last:
            h = t_end - t
        if h <= 10.0 * EPS * max(abs(t), 1.0):
            status = STEP_SIZE_UNDERFLOW
            break
        for i in range(1, stages):
            stage(method, i, y, h, K, tmp)
            ts = t + c[i] * h
            # Each evaluation spells out both cases: a helper taking the history's arrays, even inlined,
            # costs 12% of an RK4 step on Lorenz in reference counting.
            if delays is None:
                rhs(address(tmp, 0), ts, pp, address(K, i * dim))
            else:
                delayed = _with_history(tmp, ts, delays, xin, t0, y0,
                                        hist_t, hist_h, hist_y, hist_K, count, method)
                rhs(delayed, ts, pp, address(K, i * dim))
        new_point(method, y, h, K, ynew)
        nfev += stages - 1
        if fsal:
            if delays is None:
                rhs(address(ynew, 0), t + h, pp, address(K, stages * dim))
            else:
                delayed = _with_history(ynew, t + h, delays, xin, t0, y0,
                                        hist_t, hist_h, hist_y, hist_K, count, method)
                rhs(delayed, t + h, pp, address(K, stages * dim))
            nfev += 1
        factor = 1.0
        if adaptive:
            err = error_norm(method, K, h, y, ynew, rtol, atol)
            factor = step_factor(err, exponent, rejected)
            rejected = not (err <= 1.0)
            if rejected:
                h *= factor
                continue
        steps += 1
        if not all_finite(ynew):
            status = NONFINITE
            break
        t_new = t_end if last else t + h
        have_extra = False
        if delays is not None or (k_out < n_out and t_out[k_out] < t_new):
            # Dense output is needed: for an output point inside this step, or for the delay history.
            for i in range(first_extra, n_all):
                stage(method, i, y, h, K, tmp)
                ts = t + c[i] * h
                if delays is None:
                    rhs(address(tmp, 0), ts, pp, address(K, i * dim))
                else:
                    delayed = _with_history(tmp, ts, delays, xin, t0, y0,
                                            hist_t, hist_h, hist_y, hist_K, count, method)
                    rhs(delayed, ts, pp, address(K, i * dim))
            nfev += n_all - first_extra
            have_extra = True
        while k_out < n_out and t_out[k_out] <= t_new:
            if t_out[k_out] == t_new or not have_extra:
                out[k_out, :] = ynew
            else:
                interpolate(method, y, h, K, (t_out[k_out] - t) / h, flat_out, k_out * dim)
            k_out += 1
        if delays is not None:
            if count == capacity:
                # Drop steps older than the longest lag; grow only if the rest still fills the buffer.
                keep = 0
                while keep < count and hist_t[keep] + hist_h[keep] < t - max_lag:
                    keep += 1
                if keep < capacity // 2:
                    capacity *= 2
                new_t = np.empty(capacity)
                new_h = np.empty(capacity)
                new_y = np.empty((capacity, dim))
                new_K = np.empty((capacity, n_all, dim))
                new_t[: count - keep] = hist_t[keep:count]
                new_h[: count - keep] = hist_h[keep:count]
                new_y[: count - keep] = hist_y[keep:count]
                new_K[: count - keep] = hist_K[keep:count]
                hist_t, hist_h, hist_y, hist_K = new_t, new_h, new_y, new_K
                count -= keep
            hist_t[count] = t
            hist_h[count] = h
            hist_y[count] = y
            hist_K[count] = K
            count += 1
        t = t_new
        for d in range(dim):
            y[d] = ynew[d]
        if fsal:
            for d in range(dim):
                K[0, d] = K[stages, d]
        elif k_out < n_out:
            if delays is None:
                rhs(address(y, 0), t, pp, address(K, 0))
            else:
                delayed = _with_history(y, t, delays, xin, t0, y0,
                                        hist_t, hist_h, hist_y, hist_K, count, method)
                rhs(delayed, t, pp, address(K, 0))
            nfev += 1
        if adaptive:
            h *= factor
    if k_out < n_out:
        out[k_out:, :] = np.nan
    return status, nfev


@jit_on_first_call(SOLVE_SIGNATURE, cache=True, error_model="numpy", nogil=True)
def solve(rhs, p, y0, t0, t_out, lags, h_first, fixed, rtol, atol, max_steps,
          method, c, stages, fsal, error_order, out, status, nfev):
    """Integrate each row of y0 and write the states at t_out into out; statuses and RHS counts too.

    It releases the GIL, so that threads can integrate parts of a batch side by side (`integrate` does).
    """
    tableau = (method, c, stages, fsal, error_order)
    for i in range(y0.shape[0]):
        if lags.shape[0] == 0:  # two calls, so that the ODE version is compiled with `delays` None
            status[i], nfev[i] = _solve_one(rhs, p, y0[i], t0, t_out, None, h_first, fixed, rtol, atol, max_steps,
                                            *tableau, out[i])
        else:
            status[i], nfev[i] = _solve_one(rhs, p, y0[i], t0, t_out, lags, h_first, fixed, rtol, atol, max_steps,
                                            *tableau, out[i])
