"""The limit: RK4 steps per second of our kernel against the same loop written in C, on Lorenz."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .record import CPU_NOTE, Figure, NotAvailable, Record, timed

if TYPE_CHECKING:
    from ..system import System
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

C_SOURCE = Path(__file__).resolve().parents[2] / "benchmarks" / "c" / "rk4_lorenz.c"
C_FLAGS = ["-O3", "-march=native"]
STEP = 1e-3
CHECK_STEPS = 1000  # a short run on which both must agree to rounding, so they compute the same thing


def versus_c(ctx: Context) -> Record:
    """Lorenz RK4 steps per second: ours (through the function pointer) against C built with `cc`."""
    from ..system import get_system

    lorenz = get_system("Lorenz")
    binary = _build(ctx.workdir)
    steps = 1_000_000 if ctx.quick else 5_000_000
    repeats = 3 if ctx.quick else 5
    difference = _agreement(lorenz, binary)
    ours = theirs = pointer = 0.0
    for _ in range(repeats):  # interleaved, so all see the same load on a shared machine
        ours = max(ours, steps / _ours_seconds(lorenz, steps))
        theirs = max(theirs, steps / _c_run(binary, "inline", lorenz, steps)[0])
        pointer = max(pointer, steps / _c_run(binary, "pointer", lorenz, steps)[0])
    ratio = theirs / ours
    return Record(
        name="limit-c", title="Kernel steps/s vs the same RK4 in C (Lorenz)",
        ours=Figure(ours / 1e6, "Msteps/s", f"db.integrate(Lorenz, method='rk4', h={STEP:g}), {steps:,} steps, "
                                            "11 output points"),
        reference=Figure(theirs / 1e6, "Msteps/s", f"{C_SOURCE.name} built with cc {' '.join(C_FLAGS)}, RHS "
                                                   "inlined, dimension a constant"),
        ratio=ratio, ratio_label="x slower than C", goal="within 1.5x of C", passed=ratio <= 1.5,
        notes=[CPU_NOTE + " (the C program times its loop with CLOCK_PROCESS_CPUTIME_ID)",
               f"best of {repeats}, interleaved; ours and C agree to {difference:.1e} (relative) after "
               f"{CHECK_STEPS} steps",
               f"C in our kernel's design (RHS through a function pointer, run-time dimension): "
               f"{pointer / 1e6:.3g} Msteps/s, so the design costs {theirs / pointer:.2g}x and our kernel is "
               f"{pointer / ours:.2g}x slower than C in the same design"],
        details={"steps": steps, "compiler": _compiler_version(), "c_pointer_msteps_per_s": pointer / 1e6},
    )


def _build(workdir: Path) -> Path:
    """Compile the C reference into the scratch folder."""
    cc = shutil.which("cc")
    if cc is None:
        raise NotAvailable("no C compiler: `cc` is not on PATH")
    if not C_SOURCE.exists():
        raise NotAvailable(f"{C_SOURCE} is missing: run the benchmarks from a source checkout")
    binary = workdir / "rk4_lorenz"
    done = subprocess.run([cc, *C_FLAGS, "-o", str(binary), str(C_SOURCE)], capture_output=True, text=True)
    if done.returncode != 0:
        raise NotAvailable(f"cc could not build {C_SOURCE.name}: {done.stderr.strip()[:500]}")
    return binary


def _c_run(binary: Path, mode: str, lorenz: System, steps: int) -> tuple[float, np.ndarray]:
    """(seconds of the C loop as it times itself, final state); mode "inline" or "pointer"."""
    p = lorenz.params
    args = [mode, str(steps), repr(STEP), *(repr(p[k]) for k in ("sigma", "rho", "beta")),
            *(repr(float(v)) for v in lorenz.initial_condition)]
    out = subprocess.run([str(binary), *args], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), np.array([float(v) for v in out[1:]])


def _ours_seconds(lorenz: System, steps: int) -> float:
    from ..integrate.solve import integrate

    t_end = steps * STEP
    return timed(lambda: integrate(lorenz, t_end=t_end, dt_out=t_end / 10, method="rk4", h=STEP))[1]


def _agreement(lorenz: System, binary: Path) -> float:
    """Relative difference of the final states after a short run (also the warm-up call)."""
    from ..integrate.solve import integrate

    t_end = CHECK_STEPS * STEP
    ours = integrate(lorenz, t_end=t_end, dt_out=t_end, method="rk4", h=STEP).y[-1]
    theirs = np.array([_c_run(binary, mode, lorenz, CHECK_STEPS)[1] for mode in ("inline", "pointer")])
    return float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))


def _compiler_version() -> str:
    done = subprocess.run(["cc", "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else "unknown"
