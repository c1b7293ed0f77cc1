"""The fixed sample of systems and the trajectory layout the generation benchmarks time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..system import System

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

# Eight common flows: seven autonomous three-dimensional attractors and one forced oscillator (Duffing).
SAMPLE = ["Lorenz", "Rossler", "Thomas", "Aizawa", "Halvorsen", "Chen", "SprottB", "Duffing"]
# Radau takes 10-40 s a system here; --quick times it only on the one that is cheapest for it.
QUICK_RADAU = ["Aizawa"]
POINTS, PER_PERIOD = 1000, 100   # dysts's make_trajectory(1000, pts_per_period=100)


def trajectory_window(system: System, points: int = POINTS, per_period: int = PER_PERIOD) -> dict[str, float]:
    """`t_end` and `dt_out` for `points` points at `per_period` per period (dysts's layout), no transient."""
    period = system.timescale
    dt_out = period / per_period
    return {"t_end": (points - 1) * dt_out, "dt_out": dt_out}


def registry_flows() -> list[str]:
    """The registry's ordinary differential equations (delay equations left out: Radau cannot take them)."""
    from ..system import get_system, list_systems

    return [name for name in list_systems() if not get_system(name).delay_lags]


def relative_error(y: np.ndarray, reference: np.ndarray) -> float:
    """Largest deviation from the reference, relative to the reference's largest component."""
    return float(np.max(np.abs(y - reference)) / np.max(np.abs(reference)))


def scipy_field(system: System) -> Callable[[float, np.ndarray], np.ndarray]:
    """The system's compiled right-hand side as scipy's `solve_ivp` calls it, fun(t, x) -> dx/dt."""
    rhs, params, dim = system.array_rhs_function, system.param_array, system.dim

    def fun(t: float, x: np.ndarray) -> np.ndarray:
        out = np.empty(dim)
        rhs(np.ascontiguousarray(x, dtype=float), float(t), params, out)
        return out

    return fun
