"""The system generator: accepted systems per CPU-hour and the acceptance rate (`systems generate`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .record import CPU_NOTE, Figure, Record

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

GOAL_PER_HOUR = 10_000   # the goal: 10,000 validated systems in under an hour on two cores


def systems_per_hour(ctx: Context) -> Record:
    """Accepted systems per CPU-hour of `generate_systems` (one process, without the sidecars' invariants),
    with the rejection counts; the process's start-up (loading the parents) is timed apart, as a run of
    thousands pays it once."""
    from ..compile.modules import cache_dir
    from ..generator.skew import skew_rhs
    from ..generator.systems import generate_systems, parent_pool

    n = 3 if ctx.quick else 60
    # A new seed each run, as a user's new systems: the modules compiled in it are counted (none should be, see
    # the notes) and the seed is recorded.
    seed = time.time_ns() % 2**31
    modules = set(cache_dir().glob("*.py"))
    startup = time.process_time()
    parent_pool()
    skew_rhs.dispatcher()
    startup = time.process_time() - startup
    start, cpu = time.perf_counter(), time.process_time()
    summary = generate_systems(n, seed, ctx.workdir / "generated", invariants=False, progress=False)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    compiled = len(set(cache_dir().glob("*.py")) - modules)
    rate = 3600.0 * len(summary.accepted) / max(cpu, 1e-9)
    return Record(
        name="generator", title="System generator: accepted systems per CPU-hour",
        ours=Figure(rate, "systems/CPU-hour",
                    f"{len(summary.accepted)} accepted of {summary.draws} drawn, seed {seed}"),
        goal=f"≥ {GOAL_PER_HOUR / 2:,.0f} per CPU-hour (10,000 in an hour on two cores)",
        passed=rate >= GOAL_PER_HOUR / 2,
        notes=[f"acceptance rate {len(summary.accepted) / max(summary.draws, 1):.0%}; rejected: "
               + ", ".join(f"{k} {v}" for k, v in summary.rejected.items()),
               f"{CPU_NOTE}; wall {wall:.1f} s, CPU {cpu:.1f} s, {compiled} right-hand-side modules compiled in "
               "it (a skew product runs through its parents' compiled right-hand sides: none should be); "
               f"start-up before it (loading the {len(parent_pool())} parents) {startup:.1f} s of CPU, once per "
               "process",
               "reference: none measured (the goal is absolute)"],
        details={"accepted": len(summary.accepted), "draws": summary.draws, "rejected": summary.rejected,
                 "cpu_seconds": cpu, "wall_seconds": wall, "startup_cpu_seconds": startup,
                 "modules_compiled": compiled, "seed": seed},
    )
