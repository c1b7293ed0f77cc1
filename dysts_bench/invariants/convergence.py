"""Lyapunov exponents from a tangent-space run: block averages run until their standard errors meet a
tolerance, and the result with its provenance.

Shared by the ODE estimator (`lyapunov.py`) and the delay-equation estimator (`delay.py`), which each
provide a run that advances block by block (`TangentRun`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..errors import DystsBenchError
from ..integrate.solve import Status
from .estimate import batch_stderr

log = logging.getLogger(__name__)

ENDPOINT_LOG = 5.0  # bound on the bounded end term of a log-growth average (see zero_tolerance)
ALIGN_BLOCKS = 5  # blocks discarded while the tangent vectors align with the growing directions


class LyapunovError(DystsBenchError, RuntimeError):
    """The Lyapunov exponents could not be estimated (the integration failed or never converged)."""


@dataclass(frozen=True)
class LyapunovResult:
    """Lyapunov exponents (descending) with standard errors, and how they were obtained."""

    exponents: np.ndarray          # (k,) descending
    stderr: np.ndarray             # (k,)
    method: str                    # a key of METHODS
    time: float                    # averaging time (after the transients)
    blocks: np.ndarray             # (n_blocks, k) the exponents of each block (same order as `exponents`)
    trace_mean: float              # time average of tr J along the trajectory (NaN where not computed)
    trace_stderr: float
    converged: bool                # whether every standard error reached the tolerance
    n_steps: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def maximum(self) -> float:
        """The largest exponent."""
        return float(self.exponents[0])

    @property
    def zero_tolerance(self) -> np.ndarray:
        """How far from zero each exponent may be and still be zero: 3 standard errors plus the O(1/T) bias.

        A finite average of log growth carries a bounded end term (for the flow direction of a limit
        cycle, log |f(x_T)| / |f(x_0)|) that block averages do not see; ENDPOINT_LOG / T bounds it.
        """
        return 3 * self.stderr + ENDPOINT_LOG / self.time

    @property
    def chaotic(self) -> bool:
        """Whether the largest exponent is positive beyond its zero tolerance (see `chaos_class`)."""
        return bool(self.exponents[0] > self.zero_tolerance[0])


class TangentRun(Protocol):
    """A tangent-space integration advanced block by block (the ODE and the delay kernels)."""

    status: Status
    steps: int

    @property
    def t(self) -> float: ...

    def advance(self, n_blocks: int, block_time: float, max_steps: int) -> tuple[np.ndarray, np.ndarray]: ...


def converge(run: TangentRun, name: str, method: str, settings: dict[str, Any], *, rtol: float, atol: float,
             block_time: float, min_blocks: int, max_time: float, max_steps: int) -> LyapunovResult:
    """Advance `run` in growing chunks of blocks until the exponents' standard errors meet the tolerance."""
    run.advance(ALIGN_BLOCKS, block_time, max_steps)
    if run.status != Status.SUCCESS:
        raise LyapunovError(f"{name}: the integration of the tangent vectors failed while they aligned "
                            f"({run.status.name} at t={run.t:g}, {run.steps} steps); the vector field may "
                            "switch where trajectories slide or chatter")
    logs: list[np.ndarray] = []
    traces: list[np.ndarray] = []
    while True:
        chunk = max(min_blocks - len(logs), len(logs) // 2, 10)
        chunk = min(chunk, max(1, round((max_time - len(logs) * block_time) / block_time)))
        new_logs, new_traces = run.advance(chunk, block_time, max_steps - run.steps)
        logs += list(new_logs)
        traces += list(new_traces)
        if len(logs) < 2:
            hint = ("the step budget ran out: the solver crawls, as on a switching surface where the motion "
                    "slides or chatters" if run.status == Status.MAX_STEPS else "try integrator='rk4' with h=")
            raise LyapunovError(f"{name}: the integration failed before two blocks of {block_time:g} time "
                                f"units ({run.status.name} at t={run.t:g}, {run.steps} steps); {hint}")
        blocks = np.array(logs) / block_time
        exponents = blocks.mean(axis=0)
        stderr = batch_stderr(blocks)
        limit = np.maximum(rtol * np.maximum(np.abs(exponents), abs(exponents.max())), atol)
        converged = len(logs) >= min_blocks and bool(np.all(stderr <= limit))
        log.debug("%s: %d blocks, exponents %s +- %s", name, len(logs), exponents, stderr)
        if converged or run.status != Status.SUCCESS or len(logs) * block_time >= max_time * (1 - 1e-9):
            break
    if run.status != Status.SUCCESS:
        # Spending the work budget is an ordinary end; a solver failure is not.
        log.log(logging.INFO if run.status == Status.MAX_STEPS else logging.WARNING,
                "%s: the integration stopped at t=%g (%s); exponents from %d blocks", name, run.t,
                run.status.name, len(logs))
    order = np.argsort(-exponents, kind="stable")
    trace_blocks = np.array(traces) / block_time
    half = len(logs) // 2
    halves = [float(blocks[:half, order[0]].mean()), float(blocks[half:, order[0]].mean())]
    # Intermittent switching or a long chaotic transient shows as halves far apart.
    half_stderr = math.hypot(*(float(batch_stderr(blocks[sl, order[0]][:, None])[0])
                               for sl in (slice(None, half), slice(half, None))))
    stationary = bool(abs(halves[0] - halves[1]) <= 4 * half_stderr + 4 * ENDPOINT_LOG / (len(logs) * block_time))
    if not stationary:
        log.warning("%s: the largest exponent differs between the halves of the run (%.4g, %.4g)", name, *halves)
    return LyapunovResult(
        exponents=exponents[order], stderr=stderr[order], method=method, time=len(logs) * block_time,
        blocks=blocks[:, order], trace_mean=float(trace_blocks.mean()),
        trace_stderr=float(batch_stderr(trace_blocks[:, None])[0]), converged=converged,
        n_steps=run.steps, settings={**settings, "stop": run.status.name, "halves": halves,
                                     "stationary": stationary},
    )
