"""The compiled tangent-space stepper behind the Lyapunov spectrum: Benettin's method with QR.

One Runge-Kutta integration of the augmented state [x, V, ∫tr J] where the k columns of V follow
either the variational equation dV/dt = J(x, t) V (smooth systems) or finite differences of k
nearby trajectories x + d0 v_j (non-smooth systems, where the variational equation misses the jumps
across switching surfaces). After every accepted step V is re-orthonormalized by modified
Gram-Schmidt and log |R_jj| is accumulated; the time is cut into blocks whose sums the driver turns
into exponents with standard errors. Like the integration kernel, it is compiled once with an explicit
signature taking the system's RHS and Jacobian as first-class functions, and cached on disk, with
numba's "numpy" error model as the integration kernel: a zero divisor gives inf or NaN, which ends the
run with a status, where the default raises ZeroDivisionError out of the whole computation.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types

from ..compile.lazy import jit_on_first_call
from ..compile.modules import JAC_SIGNATURE_TEXT, JAC_TYPE, RHS_TYPE
from ..compile.runtime import address
from ..integrate.blocks import EPS, MAX_STEPS, NONFINITE, STEP_SIZE_UNDERFLOW, SUCCESS, all_finite, step_factor
from ..integrate.sums import error_norm, new_point, stage

VARIATIONAL, NEARBY_TRAJECTORIES = 0, 1

_f8, _i8 = types.float64, types.int64
TANGENT_SIGNATURE = types.void(
    RHS_TYPE, JAC_TYPE, _f8[::1],                   # rhs, jac, params
    _f8[::1], _i8, _f8[::1],                        # y = [x, V row-major (dim, k), ∫tr J], k, clock [t, first step]
    _i8, _f8, _i8,                                  # mode, d0 (nearby trajectories), components under error control
    _f8, _f8, _f8, _i8,                             # fixed step (0: adaptive), rtol, atol, max steps
    _i8, _f8[::1], _i8, types.boolean, _i8,         # method (index in integrate.sums.METHODS), nodes c,
                                                    # stages before the error estimate (Tableau.error_stages:
                                                    # DOPRI5's includes the FSAL one), has one, error order
    _f8[::1],                                       # block end times
    _f8[:, ::1], _f8[::1], _i8[::1],                # out: log-growth sums (blocks, k), trace integrals, info
)


@numba.njit(cache=True, error_model="numpy")
def _derivative(rhs, jac, p, y, t, out, n, k, mode, d0, x, f, xc, fc, J):
    """d/dt of the augmented state: the vector field, the tangent vectors' motion and tr J."""
    for i in range(n):
        x[i] = y[i]
    rhs(address(x, 0), t, address(p, 0), address(f, 0))
    jac(x, t, p, J)
    trace = 0.0
    for i in range(n):
        out[i] = f[i]
        trace += J[i, i]
    out[n + n * k] = trace
    if mode == VARIATIONAL:
        for i in range(n):
            for j in range(k):
                acc = 0.0
                for m in range(n):
                    acc += J[i, m] * y[n + m * k + j]
                out[n + i * k + j] = acc
    else:
        for j in range(k):
            for i in range(n):
                xc[i] = x[i] + d0 * y[n + i * k + j]
            rhs(address(xc, 0), t, address(p, 0), address(fc, 0))
            for i in range(n):
                out[n + i * k + j] = (fc[i] - f[i]) / d0


@numba.njit(cache=True, error_model="numpy")
def _orthonormalize(y, n, k, logs):
    """Modified Gram-Schmidt on the columns of V in place; adds log |R_jj| to logs. False if degenerate."""
    for j in range(k):
        for i in range(j):
            r = 0.0
            for m in range(n):
                r += y[n + m * k + i] * y[n + m * k + j]
            for m in range(n):
                y[n + m * k + j] -= r * y[n + m * k + i]
        norm = 0.0
        for m in range(n):
            norm += y[n + m * k + j] ** 2
        norm = math.sqrt(norm)
        if not (norm > 0.0 and math.isfinite(norm)):
            return False
        for m in range(n):
            y[n + m * k + j] /= norm
        logs[j] += math.log(norm)
    return True


@numba.njit(cache=True, error_model="numpy")
def _close_block(block_logs, block_trace, logs, y, block):
    """Store a finished block's log-growth sums and trace integral, and start the next from zero."""
    m = y.shape[0]
    for j in range(logs.shape[0]):
        block_logs[block, j] = logs[j]
        logs[j] = 0.0
    block_trace[block] = y[m - 1]
    y[m - 1] = 0.0


@jit_on_first_call(JAC_SIGNATURE_TEXT, cache=True)
def zero_jacobian(x, t, p, out):
    """A Jacobian of zeros, for nearby trajectories without tr J: a new system then compiles no Jacobian."""
    out[:, :] = 0.0


@jit_on_first_call(TANGENT_SIGNATURE, cache=True, error_model="numpy")
def advance(rhs, jac, p, y, k, clock, mode, d0, n_control, h_fixed, rtol, atol, max_steps,
            method, c, stages, has_error, error_order, block_ends, block_logs, block_trace, info):
    """Integrate through each block end in turn, filling the blocks' log-growth sums and trace integrals.

    info receives [status, blocks completed, accepted steps, RHS evaluations].
    """
    m = y.shape[0]
    n = (m - 1) // (1 + k)
    K = np.zeros((c.shape[0], m))
    ynew = np.empty(m)
    tmp = np.empty(m)
    x = np.empty(n)
    f = np.empty(n)
    xc = np.empty(n)
    fc = np.empty(n)
    J = np.empty((n, n))
    logs = np.zeros(k)
    t = clock[0]
    h = clock[1]
    adaptive = has_error and h_fixed <= 0.0
    exponent = -1.0 / (error_order + 1)
    evals = 1 if mode == VARIATIONAL else 1 + k
    status = SUCCESS
    steps = 0
    nfev = 0
    block = 0
    n_blocks = block_ends.shape[0]
    y[m - 1] = 0.0
    _derivative(rhs, jac, p, y, t, K[0], n, k, mode, d0, x, f, xc, fc, J)
    nfev += evals
    if not all_finite(K[0]):
        status = NONFINITE
    elif h_fixed > 0.0:
        h = h_fixed
    rejected = False
    while status == SUCCESS and block < n_blocks:
        if steps >= max_steps:
            status = MAX_STEPS
            break
        t_end = block_ends[block]
        tiny = 10.0 * EPS * max(abs(t), 1.0)
        if t_end - t <= tiny:  # a block end within rounding of the last step: it is reached
            t = t_end
            _close_block(block_logs, block_trace, logs, y, block)
            block += 1
            continue
        h_step = h
        if t + h_step >= t_end:
            h_step = t_end - t
        if h_step <= tiny:
            status = STEP_SIZE_UNDERFLOW
            break
        for i in range(1, stages):
            stage(method, i, y, h_step, K, tmp)
            _derivative(rhs, jac, p, tmp, t + c[i] * h_step, K[i], n, k, mode, d0, x, f, xc, fc, J)
        nfev += (stages - 1) * evals
        new_point(method, y, h_step, K, ynew)
        factor = 1.0
        if adaptive:
            err = error_norm(method, K, h_step, y[:n_control], ynew[:n_control], rtol, atol)
            factor = step_factor(err, exponent, rejected)
            rejected = not (err <= 1.0)
            if rejected:
                h = h_step * factor
                continue
            if h_step == h:  # a step cut short by a block end leaves the untested proposal as it was
                h = h_step * factor
        steps += 1
        if not all_finite(ynew) or not _orthonormalize(ynew, n, k, logs):
            status = NONFINITE
            break
        t = t_end if h_step == t_end - t else t + h_step
        y[:] = ynew
        if t == t_end:
            _close_block(block_logs, block_trace, logs, y, block)
            block += 1
        # V changed in the orthonormalization, so the first stage of the next step is recomputed.
        _derivative(rhs, jac, p, y, t, K[0], n, k, mode, d0, x, f, xc, fc, J)
        nfev += evals
    clock[0] = t
    clock[1] = h
    info[0] = status
    info[1] = block
    info[2] = steps
    info[3] = nfev
