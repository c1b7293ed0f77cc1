"""Lyapunov: the time for Lorenz's spectrum to converge within 1%, checked against the literature."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from .record import CPU_NOTE, Figure, NotAvailable, Record, timed

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

LITERATURE = np.array([0.9056, 0.0, -14.5723])  # Lorenz, sigma=10, rho=28, beta=8/3
GOAL_S = 5.0


def lorenz_spectrum(ctx: Context) -> Record:
    """Seconds of `lyapunov_spectrum(Lorenz, rtol=0.01)` (warm), its exponents and their errors."""
    try:
        from ..invariants import lyapunov_spectrum
    except ImportError as exc:
        raise NotAvailable(f"dysts_bench.invariants.lyapunov_spectrum is not importable ({exc})") from exc
    from ..system import get_system

    lorenz = get_system("Lorenz")
    period = lorenz.timescale
    # A short first call loads the compiled tangent kernel and Jacobian, so the figure is the warm one.
    first = timed(lambda: lyapunov_spectrum(lorenz, transient=period, max_time=10 * period, min_blocks=2))[1]
    wall = time.perf_counter()
    result, seconds = timed(lambda: lyapunov_spectrum(lorenz, rtol=0.01))
    wall = time.perf_counter() - wall
    rel = abs(result.exponents[0] - LITERATURE[0]) / LITERATURE[0]
    exps = ", ".join(f"{e:.4f}±{s:.4f}" for e, s in zip(result.exponents, result.stderr, strict=True))
    return Record(
        name="lyapunov", title="Lorenz Lyapunov spectrum converged within 1%",
        ours=Figure(seconds, "s", "lyapunov_spectrum(Lorenz, rtol=0.01), warm"),
        goal=f"< {GOAL_S:g} s and converged", passed=bool(result.converged and seconds < GOAL_S),
        notes=[f"exponents {exps} (literature {', '.join(f'{v:g}' for v in LITERATURE)}); λ1 off by "
               f"{100 * rel:.2f}%", f"converged: {result.converged}; averaging time {result.time:.0f}, "
               f"{result.n_steps:,} steps, method {result.method}",
               f"{CPU_NOTE}; wall {wall:.2f} s; first call (loads the compiled kernels): {first:.2f} s",
               "reference: none measured (the goal is absolute)"],
        details={"exponents": result.exponents.tolist(), "stderr": result.stderr.tolist(),
                 "literature": LITERATURE.tolist(), "converged": bool(result.converged),
                 "averaging_time": result.time, "n_steps": result.n_steps, "first_call_s": first},
    )
