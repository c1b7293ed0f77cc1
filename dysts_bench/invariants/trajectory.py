"""Trajectories on the attractor for the invariants that are computed from samples."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import IntegrationError
from ..integrate.solve import integrate

if TYPE_CHECKING:
    from ..system import System

TRANSIENT_PERIODS = 100
MAX_STEPS = 1_000_000   # per attempt: ten times what a typical sample set needs
DRIFT_R2 = 0.99   # a coordinate this well fitted by a straight line in time is a clock or a drift


def attractor_samples(system: System, dt: float, n: int, *, transient: float | None = None,
                      tol: float = 1e-8) -> np.ndarray:
    """n states (n, dim) every dt after a transient (default 100 periods) from the initial condition.

    If the integration fails, it is tried once more with a tighter tolerance (an orbit may escape
    through integration error).
    """
    period = system.timescale
    transient = TRANSIENT_PERIODS * period if transient is None else transient
    statuses = []
    for attempt in (tol, tol * 1e-3):
        sol = integrate(system, t_end=(n - 1) * dt, dt_out=dt, transient=transient, rtol=attempt, atol=attempt,
                        max_steps=MAX_STEPS)
        if sol.ok:
            return sol.y[:n]
        statuses.append(f"{sol.status.name} at tol {attempt:g}")
    raise IntegrationError(f"{system.name}: integrating {n} samples every {dt:g} failed "
                           f"({'; '.join(statuses)}); check it with `dysts-bench systems check {system.name}`")


def drifting_coordinates(y: np.ndarray) -> list[int]:
    """Indices of coordinates that grow along a line (clock or phase variables), not on the attractor."""
    t = np.arange(y.shape[0], dtype=float)
    drifting = []
    for i in range(y.shape[1]):
        col = y[:, i]
        if col.std() == 0:
            continue
        r = np.corrcoef(t, col)[0, 1]
        if r * r > DRIFT_R2:
            drifting.append(i)
    return drifting


def phase_period(system: System, states: np.ndarray, i: int) -> float | None:
    """The period in coordinate i of the vector field (a forcing phase), among 2π and the parameters.

    Candidates are 2π, each positive parameter p, 2π p and 2π / p; the smallest one that leaves the
    vector field unchanged at the given states is returned, or None.
    """
    values = [v for v in system.params.values() if v > 0]
    candidates = sorted({2 * math.pi, *values, *(2 * math.pi * v for v in values),
                         *(2 * math.pi / v for v in values)})
    for period in candidates:
        shifted = states.copy()
        shifted[:, i] += period
        if all(np.allclose(system.rhs(a, 0.0), system.rhs(b, 0.0), rtol=1e-9, atol=1e-12)
               for a, b in zip(states, shifted, strict=True)):
            return period
    return None


def attractor_coordinates(system: System, y: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
    """The states as points on the attractor: a periodic phase becomes a circle, other drifts are dropped.

    A phase coordinate of period P becomes (r cos 2πx/P, r sin 2πx/P) with r the typical spread of the
    other coordinates. Returns the points and, per changed coordinate, what was done with it.
    """
    drifting = drifting_coordinates(y)
    keep = [i for i in range(y.shape[1]) if i not in drifting]
    columns = [y[:, keep]]
    radius = float(np.sqrt(np.mean(y[:, keep].var(axis=0)))) if keep else 1.0
    changes: dict[str, str] = {}
    probe = y[:: max(1, y.shape[0] // 5)][:5]
    for i in drifting:
        name = system.state_names[i]
        period = phase_period(system, probe, i)
        if period is None:
            changes[name] = "dropped (drifts without a period)"
            continue
        angle = 2 * math.pi * y[:, i] / period
        columns.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
        changes[name] = f"phase of period {period:.6g}, embedded as a circle"
    return np.column_stack(columns), changes


def bounded_part(y: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """y without its drifting coordinates, and the indices dropped."""
    dropped = drifting_coordinates(y)
    keep = [i for i in range(y.shape[1]) if i not in dropped]
    return y[:, keep], dropped


def delay_embedding(x: np.ndarray, dim: int, lag: int) -> np.ndarray:
    """Rows (x_t, x_{t-lag}, ..., x_{t-(dim-1) lag}) of a scalar series x."""
    n = x.size - (dim - 1) * lag
    if n <= 0:
        raise IntegrationError(f"a series of {x.size} samples is too short to embed in {dim} dimensions "
                               f"with lag {lag}")
    return np.column_stack([x[(dim - 1 - j) * lag: (dim - 1 - j) * lag + n] for j in range(dim)])
