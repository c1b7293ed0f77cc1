"""Generation: our integrator against scipy's Radau (dysts's setting) and DOP853, at equal accuracy.

Each method's accuracy is its error on the timed trajectory, over the first half Lyapunov time, against
a tight reference (scipy's DOP853 at 2.5e-14); our speed is then taken at the loosest tolerance whose
error is at most the reference method's (or at most the floor where both tight references disagree).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .isolated import ChildRun, cold_then_warm
from .record import CPU_NOTE, Figure, Record, best_time, timed
from .sample import (
    PER_PERIOD,
    POINTS,
    QUICK_RADAU,
    SAMPLE,
    registry_flows,
    relative_error,
    scipy_field,
    trajectory_window,
)

if TYPE_CHECKING:
    from ..system import System
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

log = logging.getLogger(__name__)

OUR_TOL = 1e-10          # rtol = atol of the released dataset configs
RADAU_TOL = 1e-12        # dysts.make_trajectory: solve_ivp(method="Radau", rtol=1e-12, atol=1e-12)
REFERENCE_TOL = 2.5e-14  # scipy refuses rtol below 100 machine epsilons
QUICK_COLD = 4           # systems the cold child compiles with --quick (the kernel's compile dominates)
LADDER = (1e-10, 3e-11, 1e-11, 3e-12, 1e-12, 3e-13, 1e-13, 3e-14, 1e-14)  # ours, loosest first


@dataclass
class Run:
    """One timed integration of the sample layout and its relative error over the accuracy window."""

    seconds: float
    error: float
    nfev: int


@dataclass
class SystemRuns:
    """A sample system's timed runs: ours at each tolerance of the ladder, scipy's DOP853, maybe Radau."""

    name: str
    window: float                  # the accuracy window (time units)
    window_basis: str
    floor: float                   # disagreement of the two tight references (our DOP853 and scipy's)
    reference: np.ndarray          # scipy's tight solution on the grid points inside the window
    ours: dict[float, Run] = field(default_factory=dict)
    dop853: Run | None = None
    radau: Run | None = None

    def matched(self, target: float) -> tuple[float, Run, bool]:
        """Our loosest tolerance at least as accurate as `target` (or the floor); False if none is."""
        bound = max(target, self.floor)
        for tol in LADDER:
            if self.ours[tol].error <= bound:
                return tol, self.ours[tol], True
        return LADDER[-1], self.ours[LADDER[-1]], False


def versus_dop853(ctx: Context) -> Record:
    """Our warm generation time on the sample against scipy's DOP853 at our tolerance, at equal accuracy."""
    runs = _sample_runs(ctx)
    ours, theirs, rows, unmatched = _at_equal_accuracy(runs, {name: r.dop853 for name, r in runs.items()})
    same_tol = sum(r.ours[OUR_TOL].seconds for r in runs.values())
    ratio = theirs / ours
    notes = [CPU_NOTE, f"sample of {len(runs)} flows, {POINTS} points at {PER_PERIOD} per period each; best of "
             f"{_repeats(ctx)} warm runs, interleaved",
             f"scipy DOP853 at rtol=atol={OUR_TOL:g} (RHS: our compiled function called from Python); "
             f"at the same tolerance we are {theirs / same_tol:.1f}x faster",
             "accuracy: max relative error over the first half Lyapunov time against scipy DOP853 at "
             f"{REFERENCE_TOL:g}; our tolerance per system is the loosest at least as accurate as scipy's",
             *unmatched]
    return Record(
        name="generation-dop853", title="Generation vs scipy DOP853 at equal accuracy, warm",
        ours=Figure(ours, "s", f"our DOP853 on the {len(runs)}-system sample, matched accuracy"),
        reference=Figure(theirs, "s", f"scipy DOP853 (rtol=atol={OUR_TOL:g}) on the same sample"),
        ratio=ratio, ratio_label="x faster", goal=">= 30x faster", passed=ratio >= 30, notes=notes,
        details={"systems": rows},
    )


def versus_radau(ctx: Context) -> Record:
    """Our warm generation time against dysts's setting (Radau at 1e-12), at equal accuracy, per system."""
    runs = _sample_runs(ctx)
    radau = _radau_runs(ctx, runs)
    ours, theirs, rows, unmatched = _at_equal_accuracy(runs, radau)
    ratio = theirs / ours
    n_flows = len(_flows(ctx))
    per_system = theirs / len(radau)
    notes = [CPU_NOTE, f"Radau timed once on {len(radau)} of the sample ({', '.join(radau)}); registry estimate "
             f"{per_system * n_flows / 60:.1f} min for {n_flows} flows (mean per system x count)",
             "dysts's setting: solve_ivp(method='Radau', rtol=atol=1e-12, t_eval=grid), Jacobian by finite "
             "differences, RHS our compiled function called from Python",
             "our tolerance per system is the loosest at least as accurate as Radau's over the first half "
             "Lyapunov time", *unmatched]
    return Record(
        name="generation-radau", title="Generation vs dysts's setting (scipy Radau, rtol=atol=1e-12), warm",
        ours=Figure(ours, "s", f"our DOP853 on the same {len(radau)}, matched accuracy"),
        reference=Figure(theirs, "s", "scipy Radau at rtol=atol=1e-12 on the same systems"),
        ratio=ratio, ratio_label="x faster", goal=">= 1000x faster", passed=ratio >= 1000, notes=notes,
        details={"systems": rows, "radau_registry_estimate_s": per_system * n_flows, "n_flows": n_flows},
    )


def cold(ctx: Context) -> Record:
    """A fresh process with empty caches making the registry (import and compile included) against Radau."""
    runs = _sample_runs(ctx)
    radau = _radau_runs(ctx, runs)
    flows = _flows(ctx)
    cold_run, warm_run = cold_and_warm_runs(ctx)
    ours, measured = registry_cold_seconds(cold_run, flows)
    warm, _ = registry_cold_seconds(warm_run, flows)
    theirs = sum(r.seconds for r in radau.values()) / len(radau) * len(flows)
    ratio = theirs / ours
    how = ("measured on every flow" if measured else
           f"extrapolated from {len(cold_run.result['systems'])} systems: process start, import and kernel "
           f"compile once, plus {len(flows)} x the mean per-system load + compile + integrate")
    return Record(
        name="generation-cold", title="Generation vs dysts's setting, cold (import and compile included)",
        ours=Figure(ours, "s", f"fresh process, empty caches, {len(flows)} flows x {POINTS} points ({how})"),
        reference=Figure(theirs, "s", f"Radau at 1e-12 for {len(flows)} flows (mean of {len(radau)} "
                                      f"system{'s' * (len(radau) > 1)} x count)"),
        ratio=ratio, ratio_label="x faster", goal=">= 10x faster", passed=ratio >= 10,
        notes=[CPU_NOTE + "; ours: the child process's", f"ours: {how}",
               f"the same fresh process with warm caches: {warm:.1f} s",
               "Radau needs no compilation; its per-system time is the warm one"],
        details={"child_wall_s": cold_run.wall, "child_cpu_s": cold_run.cpu, "import_s": cold_run.result["import"],
                 "measured": measured, "warm_process_s": warm},
    )


def cold_and_warm_runs(ctx: Context) -> tuple[ChildRun, ChildRun]:
    """The two child runs (empty caches, then reused) over the registry, or the sample with --quick."""
    from ..system import list_systems

    names = SAMPLE[:QUICK_COLD] if ctx.quick else list_systems()
    return ctx.shared("cold-warm", lambda: cold_then_warm(names, POINTS, PER_PERIOD, ctx.workdir / "caches"))


def registry_cold_seconds(run: ChildRun, flows: list[str]) -> tuple[float, bool]:
    """Seconds a cold process takes for `flows` (measured if the child did them all, else extrapolated)."""
    systems = run.result["systems"]
    per_system = {n: v["load"] + v["compile"] + v["integrate"] for n, v in systems.items()}
    fixed = run.cpu - sum(per_system.values())  # interpreter start, import, kernel compile
    if set(flows) <= set(systems):
        return fixed + sum(per_system[n] for n in flows), True
    return fixed + len(flows) * float(np.mean(list(per_system.values()))), False


def _at_equal_accuracy(runs: dict[str, SystemRuns], references: dict[str, Run]
                       ) -> tuple[float, float, list[dict[str, Any]], list[str]]:
    """(our seconds at matched accuracy, the reference's seconds, per-system rows, a note if any is unmatched)."""
    ours = theirs = 0.0
    rows, unmatched = [], []
    for name, reference in references.items():
        r = runs[name]
        tol, run, ok = r.matched(reference.error)
        ours += run.seconds
        theirs += reference.seconds
        rows.append(_row(r, tol, run, reference))
        if not ok:
            unmatched.append(name)
    note = [f"accuracy not matched even at {LADDER[-1]:g} (used): {', '.join(unmatched)}"] if unmatched else []
    return ours, theirs, rows, note


def _flows(ctx: Context) -> list[str]:
    return ctx.shared("flows", registry_flows)


def _repeats(ctx: Context) -> int:
    return 2 if ctx.quick else 5


def _row(r: SystemRuns, tol: float, ours: Run, theirs: Run) -> dict[str, Any]:
    return {"system": r.name, "our_tol": tol, "our_s": ours.seconds, "our_error": ours.error,
            "our_nfev": ours.nfev, "reference_s": theirs.seconds, "reference_error": theirs.error,
            "reference_nfev": theirs.nfev, "error_floor": r.floor, "window": r.window,
            "window_basis": r.window_basis}


def _sample_runs(ctx: Context) -> dict[str, SystemRuns]:
    return ctx.shared("sample-runs", lambda: _measure_sample(_repeats(ctx), ctx.progress))


def _radau_runs(ctx: Context, runs: dict[str, SystemRuns]) -> dict[str, Run]:
    names = QUICK_RADAU if ctx.quick else SAMPLE
    return ctx.shared("radau-runs", lambda: _measure_radau(names, runs, ctx.progress))


def _measure_sample(repeats: int, progress: bool) -> dict[str, SystemRuns]:
    """Time ours (every tolerance of the ladder) and scipy's DOP853, interleaved, on each sample system."""
    from tqdm.auto import tqdm

    from ..system import get_system

    out = {}
    for name in tqdm(SAMPLE, desc="sample: ours and scipy DOP853", leave=False, disable=not progress):
        system = get_system(name)
        grid = trajectory_window(system)
        window, basis, reference, floor = _accuracy_reference(system, grid)
        runs = SystemRuns(name, window, basis, floor, reference)
        calls = {tol: _ours(system, grid, tol) for tol in LADDER}
        calls["scipy"] = _scipy(system, grid, "DOP853", OUR_TOL)
        results = {key: call() for key, call in calls.items()}  # the warm-up call; also gives the errors
        seconds = {key: float("inf") for key in calls}
        for _ in range(repeats):
            for key, call in calls.items():
                seconds[key] = min(seconds[key], best_time(call, 1))
        for key, (y, nfev) in results.items():
            run = Run(seconds[key], relative_error(y[: len(reference)], reference), nfev)
            if key == "scipy":
                runs.dop853 = run
            else:
                runs.ours[key] = run
        out[name] = runs
    return out


def _measure_radau(names: list[str], runs: dict[str, SystemRuns], progress: bool) -> dict[str, Run]:
    """Time dysts's setting once per system (it takes seconds) and measure its error."""
    from tqdm.auto import tqdm

    from ..system import get_system

    out = {}
    for name in tqdm(names, desc="Radau at 1e-12", leave=False, disable=not progress):
        system = get_system(name)
        grid = trajectory_window(system)
        (y, nfev), seconds = timed(_scipy(system, grid, "Radau", RADAU_TOL))
        reference = runs[name].reference
        out[name] = Run(seconds, relative_error(y[: len(reference)], reference), nfev)
        log.info("%s: Radau %.1f s, %d RHS calls, error %.2e", name, seconds, nfev, out[name].error)
    return out


def _accuracy_reference(system: System, grid: dict[str, float]) -> tuple[float, str, np.ndarray, float]:
    """(window, its basis, scipy's tight solution on the grid points inside it, the references' floor)."""
    tau = system.invariants.scalar("lyapunov_time")
    if tau is not None:
        window, basis = 0.5 * tau, "half the Lyapunov time (invariants sidecar)"
    else:
        window, basis = 0.5 * system.timescale, "half a period (no Lyapunov time yet)"
    dt_out = grid["dt_out"]
    n = max(2, int(min(window, grid["t_end"]) / dt_out) + 1)
    short = {"t_end": (n - 1) * dt_out, "dt_out": dt_out}
    scipy_ref = _scipy(system, short, "DOP853", REFERENCE_TOL)()[0]
    our_ref = _ours(system, short, REFERENCE_TOL)()[0]
    return window, basis, scipy_ref, relative_error(our_ref, scipy_ref)


def _ours(system: System, grid: dict[str, float], tol: float) -> Any:
    """A call integrating the grid with our DOP853 at rtol = atol = tol; returns (states, RHS calls)."""
    from ..integrate.solve import integrate

    def call() -> tuple[np.ndarray, int]:
        sol = integrate(system, rtol=tol, atol=tol, **grid)
        return sol.y, sol.n_rhs_evals

    return call


def _scipy(system: System, grid: dict[str, float], method: str, tol: float) -> Any:
    """A call integrating the grid with scipy's solve_ivp; returns (states, RHS calls)."""
    from scipy.integrate import solve_ivp

    from ..integrate.solve import output_times

    t_eval = output_times(grid["t_end"], grid["dt_out"])
    fun = scipy_field(system)

    def call() -> tuple[np.ndarray, int]:
        sol = solve_ivp(fun, (0.0, t_eval[-1]), system.initial_condition, method=method, rtol=tol, atol=tol,
                        t_eval=t_eval)
        return sol.y.T, int(sol.nfev)

    return call
