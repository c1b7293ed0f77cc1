"""`integrate`: the public entry to the solvers, returning a Solution with a status instead of raising."""

from __future__ import annotations

import enum
import functools
import itertools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numba
import numpy as np

from ..errors import IntegrationError
from . import blocks, kernels
from .sums import METHODS
from .tableaus import TABLEAUS


class VectorField(Protocol):
    """What `integrate` needs of a system: a registry `System`, or e.g. a learned `PolynomialField`."""

    name: str
    dim: int
    rhs_function: Any            # the jitted rhs(x, t, p, out) over pointers (compile/modules.py)
    param_array: np.ndarray
    delay_lags: dict[str, float]
    initial_condition: np.ndarray


class Status(enum.IntEnum):
    """How an integration ended."""

    SUCCESS = blocks.SUCCESS
    MAX_STEPS = blocks.MAX_STEPS
    STEP_SIZE_UNDERFLOW = blocks.STEP_SIZE_UNDERFLOW
    NONFINITE = blocks.NONFINITE


@dataclass(frozen=True)
class Solution:
    """States on the output grid; rows after a failure are NaN and `status` says why."""

    t: np.ndarray            # (n,)
    y: np.ndarray            # (n, dim), or (batch, n, dim) for a batch of initial conditions
    statuses: tuple[Status, ...]   # one per initial condition
    n_rhs_evals: int

    @property
    def status(self) -> Status:
        """SUCCESS if every initial condition succeeded, else the first failure."""
        return next((s for s in self.statuses if s != Status.SUCCESS), Status.SUCCESS)

    @property
    def ok(self) -> bool:
        """Whether every trajectory reached the end."""
        return self.status == Status.SUCCESS


def output_times(t_end: float, dt_out: float, start: float = 0.0) -> np.ndarray:
    """The output grid start, start + dt_out, ..., start + t_end (exact multiples of dt_out)."""
    if not (dt_out > 0 and math.isfinite(dt_out)):
        raise IntegrationError(f"dt_out must be a positive number, got {dt_out}")
    if not (t_end >= 0 and math.isfinite(t_end)):
        raise IntegrationError(f"t_end must be a non-negative number, got {t_end}")
    n = math.floor(t_end / dt_out * (1 + 1e-12)) + 1
    return start + dt_out * np.arange(n)


def integrate(
    system: VectorField,
    y0: np.ndarray | None = None,
    *,
    t_end: float,
    dt_out: float,
    method: str = "dop853",
    rtol: float = 1e-10,
    atol: float = 1e-10,
    transient: float = 0.0,
    t0: float = 0.0,
    h: float | None = None,
    max_steps: int = 10_000_000,
) -> Solution:
    """Integrate from y0 (the system's initial condition if None; a (batch, dim) array for a batch).

    The output grid is t0 + transient + k * dt_out for k = 0 .. t_end / dt_out: `t_end` is the length
    of the recorded window after the transient. Adaptive methods pick their own steps and reach the
    grid by dense output; `h` fixes the step instead (required by "rk4"), rounded down so that it
    divides dt_out. Delay equations start from a constant history equal to y0; their step never
    exceeds the shortest lag.
    """
    if method not in TABLEAUS:
        raise IntegrationError(f"unknown method {method!r}; choose one of {sorted(TABLEAUS)}")
    tableau = TABLEAUS[method]
    fixed = h is not None or not tableau.adaptive
    if fixed:
        if h is None:
            raise IntegrationError(f"method {method!r} has a fixed step: pass h=, e.g. h={dt_out / 10:g}")
        if not h > 0:
            raise IntegrationError(f"the step h must be positive, got {h}")
        h = dt_out / math.ceil(dt_out / h * (1 - 1e-12))
    if not (rtol > 0 and atol > 0):
        raise IntegrationError(f"rtol and atol must be positive, got rtol={rtol}, atol={atol}")
    single, y0_batch = _initial_states(system, y0)
    t_out = output_times(t_end, dt_out, t0 + transient)
    out = np.empty((y0_batch.shape[0], t_out.size, system.dim))
    status = np.zeros(y0_batch.shape[0], dtype=np.int64)
    nfev = np.zeros(y0_batch.shape[0], dtype=np.int64)
    lags = np.array(list(system.delay_lags.values()), dtype=float)
    method_arrays = (METHODS.index(method), tableau.c, tableau.stages, tableau.fsal, tableau.error_order)

    def rows(lo: int, hi: int) -> None:
        kernels.solve(system.rhs_function, system.param_array, y0_batch[lo:hi], float(t0), t_out, lags,
                      float(h or 0.0), fixed, float(rtol), float(atol), int(max_steps), *method_arrays,
                      out[lo:hi], status[lo:hi], nfev[lo:hi])

    _on_threads(rows, y0_batch.shape[0])
    return Solution(
        t=t_out,
        y=out[0] if single else out,
        statuses=tuple(Status(int(s)) for s in status),
        n_rhs_evals=int(nfev.sum()),
    )


def _on_threads(rows: Callable[[int, int], None], n: int) -> None:
    """rows(lo, hi) over 0..n in contiguous blocks, one per thread, the first on the calling thread.

    The kernel releases the GIL and integrates each row alone, so the bits do not depend on the threads.
    Their number is numba's (NUMBA_NUM_THREADS: the cores, or 1 in our Dask workers), at most one per row.
    """
    threads = max(1, min(n, numba.config.NUMBA_NUM_THREADS))
    bounds = np.linspace(0, n, threads + 1).astype(int)
    others = [_pool().submit(rows, lo, hi) for lo, hi in itertools.pairwise(bounds[1:])]
    rows(bounds[0], bounds[1])  # (a first compilation happens once: `jit_on_first_call` holds a lock)
    for future in others:
        future.result()


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(thread_name_prefix="dysts-bench-integrate")


def _initial_states(system: VectorField, y0: np.ndarray | None) -> tuple[bool, np.ndarray]:
    """(whether a single state was given, the states as a C-contiguous (batch, dim) float array)."""
    arr = system.initial_condition if y0 is None else np.asarray(y0, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[-1] != system.dim:
        raise IntegrationError(
            f"{system.name}: y0 must have shape ({system.dim},) or (batch, {system.dim}), got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise IntegrationError(f"{system.name}: y0 holds non-finite values")
    # A copy: the kernel's signature takes writable arrays, and a caller's read-only view must work too.
    return arr.ndim == 1, np.array(arr.reshape(-1, system.dim), dtype=float, order="C")
