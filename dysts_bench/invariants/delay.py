"""The largest Lyapunov exponent of a delay equation: two trajectories in the discretized history space.

A delay equation's state is its history over the longest lag. Both trajectories advance on one
uniform grid with an explicit Runge-Kutta tableau (RK4 by default); delayed values between grid
points come from cubic Hermite interpolation of the stored states and derivatives, which matches
RK4's order. Their distance is the Euclidean norm over the grid points of the history; every
`renormalize` steps the second history is pulled back towards the first to distance d0 and
log(d / d0) is accumulated (Farmer 1982's approach for Mackey-Glass). The kernel is compiled once
with an explicit signature taking the RHS as a first-class function, and cached on disk.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
from numba import types

from ..compile.lazy import jit_on_first_call
from ..compile.modules import RHS_TYPE
from ..compile.runtime import address
from ..integrate.blocks import MAX_STEPS, NONFINITE, SUCCESS, all_finite
from ..integrate.solve import Status
from ..integrate.sums import METHODS, new_point, stage
from ..integrate.tableaus import RK4
from .convergence import LyapunovResult, converge

if TYPE_CHECKING:
    from ..system import System

MIN_HISTORY_POINTS = 50

_f8, _i8 = types.float64, types.int64
DELAY_SIGNATURE = types.void(
    RHS_TYPE, _f8[::1], _f8[::1], _f8,              # rhs, params, lags in steps, step h
    _f8[:, :, ::1], _f8[:, :, ::1], _i8[::1],       # states, derivatives (2, ring, dim); [head, steps done]
    _f8[::1], _f8, _i8,                             # clock [t], d0, renormalization interval in steps
    _i8, _f8[::1], _i8,                             # method (index in integrate.sums.METHODS), nodes c, stages
    _i8, _i8, _i8,                                  # steps per block, blocks, max steps
    _f8[::1], _i8[::1],                             # out: log growth per block, info [status, blocks done]
)


@numba.njit(cache=True, error_model="numpy")
def _delayed(states, derivs, q, head, ring, offset, h, out):
    """Hermite interpolation of trajectory q at `offset` steps (<= 0) from the newest grid point."""
    base = math.floor(offset)
    theta = offset - base
    i0 = (head + int(base)) % ring
    i1 = (i0 + 1) % ring
    t2 = theta * theta
    t3 = t2 * theta
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = t3 - 2 * t2 + theta
    h01 = -2 * t3 + 3 * t2
    h11 = t3 - t2
    for d in range(out.shape[0]):
        out[d] = (h00 * states[q, i0, d] + h10 * h * derivs[q, i0, d]
                  + h01 * states[q, i1, d] + h11 * h * derivs[q, i1, d])


@numba.njit(cache=True, error_model="numpy")
def _field(rhs, p, lag_steps, h, states, derivs, q, head, ring, x, c, t, xin, out):
    """The vector field at state x, c steps after the newest grid point, with its delayed states."""
    dim = x.shape[0]
    for d in range(dim):
        xin[d] = x[d]
    for k in range(lag_steps.shape[0]):
        _delayed(states, derivs, q, head, ring, c - lag_steps[k], h, xin[dim * (k + 1): dim * (k + 2)])
    rhs(address(xin, 0), t, address(p, 0), address(out, 0))


@numba.njit(cache=True, error_model="numpy")
def _distance(states, ring, dim):
    acc = 0.0
    for i in range(ring):
        for d in range(dim):
            diff = states[1, i, d] - states[0, i, d]
            acc += diff * diff
    return math.sqrt(acc)


@jit_on_first_call(DELAY_SIGNATURE, cache=True, error_model="numpy")
def advance_pair(rhs, p, lag_steps, h, states, derivs, pointer, clock, d0, renormalize,
                 method, c, stages, block_steps, n_blocks, max_steps, block_logs, info):
    """Advance both trajectories by n_blocks blocks, renormalizing their separation; fills block_logs."""
    ring = states.shape[1]
    dim = states.shape[2]
    n_lags = lag_steps.shape[0]
    K = np.zeros((stages, dim))
    y = np.empty(dim)
    tmp = np.empty(dim)
    xin = np.empty(dim * (1 + n_lags))
    head = pointer[0]
    t = clock[0]
    status = SUCCESS
    done = 0
    steps = 0
    while done < n_blocks and status == SUCCESS:
        logs = 0.0
        for step in range(block_steps):
            if steps >= max_steps:
                status = MAX_STEPS
                break
            new = (head + 1) % ring
            for q in range(2):
                for d in range(dim):
                    y[d] = states[q, head, d]
                    K[0, d] = derivs[q, head, d]
                for i in range(1, stages):
                    stage(method, i, y, h, K, tmp)
                    _field(rhs, p, lag_steps, h, states, derivs, q, head, ring, tmp, c[i], t + c[i] * h, xin, K[i])
                new_point(method, y, h, K, tmp)
                for d in range(dim):
                    states[q, new, d] = tmp[d]
                # The derivative at the new point, for later interpolation; computed before `head` moves
                # so that a lag of exactly one step still reads the stored point.
                _field(rhs, p, lag_steps, h, states, derivs, q, head, ring, tmp, 1.0, t + h, xin, K[0])
                for d in range(dim):
                    derivs[q, new, d] = K[0, d]
            head = new
            t += h
            steps += 1
            if not (all_finite(states[0, head]) and all_finite(states[1, head])):
                status = NONFINITE
                break
            if (step + 1) % renormalize == 0 or step + 1 == block_steps:
                dist = _distance(states, ring, dim)
                if not (dist > 0.0 and math.isfinite(dist)):
                    status = NONFINITE
                    break
                logs += math.log(dist / d0)
                scale = d0 / dist
                for i in range(ring):
                    for d in range(dim):
                        states[1, i, d] = states[0, i, d] + scale * (states[1, i, d] - states[0, i, d])
                        derivs[1, i, d] = derivs[0, i, d] + scale * (derivs[1, i, d] - derivs[0, i, d])
        if status == SUCCESS:
            block_logs[done] = logs
            done += 1
    pointer[0] = head
    pointer[1] += steps
    clock[0] = t
    info[0] = status
    info[1] = done


class _DelayRun:
    """Two trajectories of a delay equation on a grid of step h, advanced block by block."""

    def __init__(self, system: System, h: float, d0: float, renormalize: int, history: np.ndarray,
                 rng: np.random.Generator):
        self.system, self.h, self.d0, self.renormalize = system, h, d0, renormalize
        self.lag_steps = np.array(list(system.delay_lags.values()), dtype=float) / h
        ring = math.ceil(self.lag_steps.max()) + 3
        self.states = np.repeat(history[None, None, :], 2, axis=0).repeat(ring, axis=1).copy()
        self.derivs = np.zeros_like(self.states)
        noise = rng.standard_normal(self.states.shape[1:])
        self.states[1] += d0 * noise / np.linalg.norm(noise)
        self.pointer = np.zeros(2, dtype=np.int64)
        self.clock = np.array([0.0])
        self.status = Status.SUCCESS

    @property
    def t(self) -> float:
        return float(self.clock[0])

    @property
    def steps(self) -> int:
        return int(self.pointer[1])

    def advance(self, n_blocks: int, block_time: float, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Advance n_blocks blocks of block_time (a multiple of h); log growth per block, and NaN traces."""
        block_steps = round(block_time / self.h)
        logs = np.zeros(n_blocks)
        info = np.zeros(2, dtype=np.int64)
        advance_pair(self.system.rhs_function, self.system.param_array, self.lag_steps, self.h, self.states,
                     self.derivs, self.pointer, self.clock, self.d0, self.renormalize, METHODS.index(RK4.name),
                     RK4.c, RK4.stages, block_steps, n_blocks, max(int(max_steps), 0), logs, info)
        self.status = Status(int(info[0]))
        done = int(info[1])
        return logs[:done, None], np.full(done, np.nan)


def delay_lyapunov_max(system: System, *, rtol: float, atol: float, transient: float, block_time: float,
                       min_blocks: int, max_time: float, max_steps: int | None, h: float | None, d0: float,
                       y0: np.ndarray | None, seed: int, period: float, steps_per_period: int = 100
                       ) -> LyapunovResult:
    """The largest Lyapunov exponent of a delay equation, from a constant initial history y0."""
    min_lag = min(system.delay_lags.values())
    # The step divides the shortest lag (a lag of whole steps reads stored points exactly), and the
    # history holds at least MIN_HISTORY_POINTS points.
    h = min_lag / max(MIN_HISTORY_POINTS, math.ceil(min_lag / (h or period / steps_per_period)))
    block_time = h * max(1, round(block_time / h))
    max_steps = int(1.5e6 / system.dim) if max_steps is None else int(max_steps)
    renormalize = max(1, round(min_lag / h))
    history = system.initial_condition if y0 is None else np.asarray(y0, dtype=float)
    run = _DelayRun(system, h, d0, renormalize, history, np.random.default_rng(seed))
    transient_blocks = math.ceil(transient / block_time)
    run.advance(transient_blocks, block_time, max_steps)
    settings: dict[str, Any] = {
        "k": 1, "rtol": rtol, "atol": atol, "transient": transient_blocks * block_time,
        "block_time": block_time, "min_blocks": min_blocks, "max_time": max_time, "max_steps": max_steps,
        "integrator": "rk4 with Hermite interpolation of the history", "h": h, "d0": d0,
        "renormalize_every": renormalize * h, "history_points": run.states.shape[1], "seed": seed,
        "period_used": period,
    }
    return converge(run, system.name, "delay", settings, rtol=rtol, atol=atol, block_time=block_time,
                    min_blocks=min_blocks, max_time=max_time, max_steps=max_steps)
