"""Compile: the whole registry's right-hand sides in a fresh process, with empty caches and with warm ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .generation import cold_and_warm_runs
from .isolated import ChildRun
from .record import CPU_NOTE, Figure, Record

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.


def registry(ctx: Context) -> Record:
    """Seconds to import and compile (cold) or load (warm) every system's RHS, each in a new process."""
    from ..system import list_systems

    cold, warm = cold_and_warm_runs(ctx)
    n = len(list_systems())
    cold_s, measured = _registry_seconds(cold, n)
    warm_s, _ = _registry_seconds(warm, n)
    kernel = cold.result["kernel"]
    per_system = np.mean([v["compile"] for v in cold.result["systems"].values()])
    first_cold, first_warm = _first_trajectory(cold), _first_trajectory(warm)
    how = "measured" if measured else f"extrapolated from {len(cold.result['systems'])} systems"
    return Record(
        name="compile", title="Compile the whole registry: cold (empty caches) vs warm (cached)",
        ours=Figure(warm_s, "s", f"warm: import + load {n} cached RHS ({how})"),
        reference=Figure(cold_s, "s", f"cold: import + compile the kernel and {n} RHS ({how})"),
        ratio=cold_s / warm_s, ratio_label="x faster from the cache", goal="none (recorded)",
        notes=[CPU_NOTE + "; each in its own child process",
               f"cold: importing the package {cold.result['import']:.2f} s (it compiles nothing), the solver "
               f"kernel {kernel:.1f} s on first use, {per_system:.2f} s per RHS on average; spec parsing "
               "included in both",
               f"time to the first trajectory in a fresh process: {first_cold:.1f} s with empty caches, "
               f"{first_warm:.2f} s with warm ones (scripts/setup.sh warms them); diffrax needs about 5 s "
               "to its first result (issue #20's measurement)",
               "Jacobians are not included: they compile on first use (invariants only)"],
        details={"cold_import_s": cold.result["import"], "warm_import_s": warm.result["import"],
                 "cold_kernel_s": kernel, "warm_kernel_s": warm.result["kernel"],
                 "cold_first_trajectory_s": first_cold, "warm_first_trajectory_s": first_warm,
                 "cold_child_wall_s": cold.wall, "warm_child_wall_s": warm.wall, "n_systems": n,
                 "measured": measured},
    )


def _registry_seconds(run: ChildRun, n: int) -> tuple[float, bool]:
    """Import, the solver kernel, and load and compile of n systems (the child's own systems' sum, or n x
    their mean)."""
    fixed = run.result["import"] + run.result["kernel"]
    per_system = [v["load"] + v["compile"] for v in run.result["systems"].values()]
    if len(per_system) >= n:
        return fixed + sum(per_system), True
    return fixed + n * float(np.mean(per_system)), False


def _first_trajectory(run: ChildRun) -> float:
    """CPU seconds from the start of the import to the child's first integrated trajectory."""
    first = next(iter(run.result["systems"].values()))
    return run.result["import"] + run.result["kernel"] + first["load"] + first["compile"] + first["integrate"]
