"""Pictures of attractors (matplotlib, no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .integrate.solve import integrate
from .system import System


def attractor_points(system: System, n: int = 4000) -> np.ndarray:
    """A trajectory on the attractor: n points over about 50 periods after a transient of 20."""
    period = system.invariants.scalar("period") or system.timescale
    sol = integrate(system, t_end=50 * period, dt_out=50 * period / (n - 1), transient=20 * period,
                    rtol=1e-8, atol=1e-8)
    return sol.y


def plot_attractor(system: System, ax, points: np.ndarray | None = None) -> None:
    """Draw the first two or three coordinates of the attractor on a matplotlib axis (3-D if it is one)."""
    y = attractor_points(system) if points is None else points
    if y.shape[1] == 1:
        lag = max(1, len(y) // 50)
        ax.plot(y[:-lag, 0], y[lag:, 0], lw=0.4)
        ax.set_xlabel(f"{system.state_names[0]}(t)")
        ax.set_ylabel(f"{system.state_names[0]}(t+lag)")
    elif getattr(ax, "name", "") == "3d" and y.shape[1] >= 3:
        ax.plot(y[:, 0], y[:, 1], y[:, 2], lw=0.3)
        ax.set_axis_off()
    else:
        ax.plot(y[:, 0], y[:, 1], lw=0.3)
        ax.set_xlabel(system.state_names[0])
        ax.set_ylabel(system.state_names[1])
    ax.set_title(system.name, fontsize=9)


def plot_attractors(systems: Sequence[System], path: str | Path, columns: int = 4) -> Path:
    """Save a grid of attractor pictures to `path` (PNG) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(len(systems) / columns)
    fig = plt.figure(figsize=(3 * columns, 3 * rows))
    for i, s in enumerate(systems):
        ax = fig.add_subplot(rows, columns, i + 1, projection="3d" if s.dim >= 3 else None)
        plot_attractor(s, ax)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
