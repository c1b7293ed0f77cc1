"""Runge–Kutta building blocks shared by every compiled stepper: the ODE and delay kernel
(`integrate/kernels.py`), the tangent-space kernel of the Lyapunov spectrum (`invariants/tangent_kernel.py`)
and the fixed-step pair stepper of delay equations (`invariants/delay.py`).

A stage is `combine`d from the ones before it, a step is accepted when its `error_norm` is at most 1,
and `step_factor` says how the step size changes (Hairer, Nørsett & Wanner, Solving ODEs I, II.4). All are
compiled with numba's "numpy" error model (a zero divisor gives inf or NaN, which the callers turn into a
status) and cached on disk; each kernel that calls them is compiled with them inlined by LLVM.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# The statuses every stepper reports (integrate.solve.Status names them).
SUCCESS, MAX_STEPS, STEP_SIZE_UNDERFLOW, NONFINITE = 0, 1, 2, 3

# The step-size controller: a safety factor on the optimal step, and bounds on the change per step.
SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
EPS = float(np.finfo(np.float64).eps)


@numba.njit(cache=True, error_model="numpy", inline="always")
def all_finite(v):
    """Whether every entry of the vector v is finite."""
    for x in v:  # noqa: SIM110 (a generator is slower in numba)
        if not math.isfinite(x):
            return False
    return True


@numba.njit(cache=True, error_model="numpy", inline="always")
def combine(y, h, coeffs, row, K, upto, out):
    """out = y + h * sum_{j < upto} coeffs[row, j] * K[j]."""
    # One component at a time with scalar loops: a slice copy `out[:] = y` or a row view `a[i]` here cost
    # as much as the rest of the step, and so did skipping zero coefficients (a branch per term).
    for d in range(y.shape[0]):
        acc = y[d]
        for j in range(upto):
            acc += h * coeffs[row, j] * K[j, d]
        out[d] = acc


@numba.njit(cache=True, error_model="numpy")
def error_norm(K, e, e2, h, y, ynew, rtol, atol):
    """The scaled RMS norm of a step's local error estimate (≤ 1: accept), from the error weights e (and e2)."""
    dim = y.shape[0]
    s5 = 0.0
    s3 = 0.0
    for d in range(dim):
        scale = atol + rtol * max(abs(y[d]), abs(ynew[d]))
        acc = 0.0
        for k in range(e.shape[0]):
            acc += e[k] * K[k, d]
        s5 += (acc / scale) ** 2
        if e2.shape[0] > 0:
            acc = 0.0
            for k in range(e2.shape[0]):
                acc += e2[k] * K[k, d]
            s3 += (acc / scale) ** 2
    if e2.shape[0] == 0:
        return abs(h) * math.sqrt(s5 / dim)
    if s5 == 0.0 and s3 == 0.0:
        return 0.0
    # DOP853's combination of its fifth- and third-order estimates (Hairer et al.).
    return abs(h) * s5 / math.sqrt((s5 + 0.01 * s3) * dim)


@numba.njit(cache=True, error_model="numpy", inline="always")
def step_factor(err, exponent, after_rejection):
    """The factor on the step size after a step with error norm err (rejected unless err ≤ 1).

    exponent is -1 / (error order + 1); right after a rejection an accepted step does not grow.
    """
    if not (err <= 1.0):  # also a NaN error
        return MIN_FACTOR if not math.isfinite(err) else max(MIN_FACTOR, SAFETY * err**exponent)
    factor = MAX_FACTOR if err == 0.0 else min(MAX_FACTOR, SAFETY * err**exponent)
    return min(1.0, factor) if after_rejection else factor
