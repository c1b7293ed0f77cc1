"""Runge–Kutta building blocks shared by every compiled stepper: the ODE and delay kernel
(`integrate/kernels.py`), the tangent-space kernel of the Lyapunov spectrum (`invariants/tangent_kernel.py`)
and the fixed-step pair stepper of delay equations (`invariants/delay.py`).

A step is accepted when its error norm is at most 1, and `step_factor` says how the step size changes
(Hairer, Nørsett & Wanner, Solving ODEs I, II.4); the stage sums and the error norm themselves are written
out from each tableau (`integrate/sums.py`, made by `integrate/unrolled.py`). All are compiled with numba's
"numpy" error model (a zero divisor gives inf or NaN, which the callers turn into a status) and cached on
disk; each kernel that calls them is compiled with them inlined by LLVM.
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
def step_factor(err, exponent, after_rejection):
    """The factor on the step size after a step with error norm err (rejected unless err ≤ 1).

    exponent is -1 / (error order + 1); right after a rejection an accepted step does not grow.
    """
    if not (err <= 1.0):  # also a NaN error
        return MIN_FACTOR if not math.isfinite(err) else max(MIN_FACTOR, SAFETY * err**exponent)
    factor = MAX_FACTOR if err == 0.0 else min(MAX_FACTOR, SAFETY * err**exponent)
    return min(1.0, factor) if after_rejection else factor
