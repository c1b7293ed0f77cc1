"""Integrator peers side by side: ours against scipy, numbalsoda and diffrax, each tuned to our accuracy.

Three cases (issue #20): one long trajectory (Lorenz, and the 6-D LorenzCoupled and HyperRossler), an ensemble
of starts on the attractor (Lorenz, batched), and a non-smooth flow (MultiChua). Every integrator's accuracy
is its largest error over the first half Lyapunov time (the window where errors have not yet grown by chaos)
against our DOP853 at 1e-13, from each of 32 starts at least, and the median of these (one start's error moved
threefold between neighbouring tolerances, which decided the single case's ratio); ours runs at the datasets'
tolerance 1e-10, and each peer at the loosest tolerance of its ladder, eight rungs a decade, that is at least
as accurate (a rung is worth 1.33x in tolerance, 4% of an eighth-order method's steps). Then ours and the peer
are timed alternately, best of a few warm runs (CPU seconds; wall-clock seconds for the ensemble, which ours
integrates on every core as numbalsoda does under `prange` and diffrax under `vmap`), and the ratio is the
peer's time over ours (> 1: ours is faster). A peer that is not installed (`pip install -e .[bench]`) is
reported as skipped, and a case with a skipped peer is not judged: it never passes for want of a competitor.

The peers' right-hand sides are our compiled one: scipy calls it from Python, numbalsoda through a numba
cfunc around it (Hairer's DOP853 and LSODA in C++), diffrax gets the same equations from sympy as JAX.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..integrate.solve import integrate, output_times
from ..system import get_system
from .record import CPU_NOTE, Figure, Record, timed
from .sample import relative_error, scipy_field

if TYPE_CHECKING:
    from ..system import System
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

log = logging.getLogger(__name__)

OUR_TOL = 1e-10
REFERENCE_TOL = 1e-13
WALL_NOTE = ("times are wall-clock seconds: ours integrates a batch on every core (numba's threads), and so do "
             "numbalsoda under prange and diffrax under vmap; CPU seconds would charge them for each core")
MAX_REPEATS = 25  # timings of a fast case (see `_alternate`)
TIME_BUDGET = 3.0  # seconds of alternating calls that decide how many timings a case gets (at most MAX_REPEATS)
MAX_STEPS = 10_000_000  # a peer's step budget: numbalsoda stops at 10,000 steps by default
LADDER = tuple(float(f"{10.0 ** (-6 - k / 8):.3g}") for k in range(57))  # 1e-6 .. 1e-13, eight rungs a decade
ACCURACY_STARTS = 32  # the accuracy is the median error over at least this many starts (`_window_error`)
Solve = Callable[[], np.ndarray]  # a warm call: the states on the grid, (n, dim) or (batch, n, dim)


@dataclass(frozen=True)
class Case:
    """What is integrated: systems, the recorded span, output spacing and how many starts."""

    name: str
    title: str
    systems: tuple[str, ...]
    t_end: float
    dt_out: float
    starts: int = 1
    goal: float = 1.0           # the least ratio (peer / ours) against every peer
    wall: bool = False          # timed by the wall clock: ours and some peers use every core on a batch
    quick_t_end: float = 100.0
    quick_starts: int = 1


@dataclass(frozen=True)
class Peer:
    """An integrator to compare with: its name, what it needs installed, and how it solves a case."""

    name: str
    requires: str               # the importable module (the `bench` extra installs it)
    make: Callable[[System, np.ndarray, np.ndarray, float], Solve]   # (system, y0s, times, tol)
    ensemble: bool = True       # whether it runs the ensemble case (scipy's Python loop would take minutes)
    single: bool = True         # whether it runs the one-trajectory cases (a parallel loop is the serial one there)


@dataclass
class Timing:
    """One integrator on one system: its tolerance, error over the accuracy window, best time."""

    tol: float
    error: float
    seconds: float = math.nan
    matched: bool = True


def _scipy(method: str) -> Callable[[System, np.ndarray, np.ndarray, float], Solve]:
    def make(system: System, y0s: np.ndarray, times: np.ndarray, tol: float) -> Solve:
        from scipy.integrate import solve_ivp

        fun = scipy_field(system)

        def call() -> np.ndarray:
            solutions = [solve_ivp(fun, (times[0], times[-1]), y0, method=method, rtol=tol, atol=tol, t_eval=times)
                         for y0 in y0s]
            if not all(sol.success for sol in solutions):
                raise RuntimeError(f"scipy {method} failed: {next(s.message for s in solutions if not s.success)}")
            return np.stack([sol.y.T for sol in solutions])
        return call
    return make


def _numbalsoda(method: str, parallel: bool = False) -> Callable[[System, np.ndarray, np.ndarray, float], Solve]:
    compiled: dict[str, Callable] = {}  # per system: compiled once, whatever the tolerance and grid

    def make(system: System, y0s: np.ndarray, times: np.ndarray, tol: float) -> Solve:
        if system.name not in compiled:
            compiled[system.name] = _numbalsoda_loop(system, method, parallel)
        run, params = compiled[system.name], system.param_array

        def call() -> np.ndarray:
            out, ok = run(y0s, times, params, tol)
            if not ok.all():
                raise RuntimeError(f"numbalsoda {method} stopped early on {int((~ok).sum())} of {len(ok)} starts")
            return out
        return call
    return make


def _numbalsoda_loop(system: System, method: str, parallel: bool) -> Callable:
    """A jitted loop over the starts (`prange` if parallel) calling numbalsoda's `method` on a cfunc around our RHS."""
    import numba
    import numbalsoda

    rhs_ptr = system.rhs_function

    @numba.cfunc(numbalsoda.lsoda_sig)
    def field(t, u, du, p):  # numbalsoda's argument order, around our pointer-taking RHS
        rhs_ptr(u, t, p, du)

    solver = getattr(numbalsoda, method)
    address = field.address

    @numba.njit(parallel=parallel)
    def run(y0s, times, params, tol):
        out = np.empty((y0s.shape[0], times.shape[0], y0s.shape[1]))
        ok = np.empty(y0s.shape[0], dtype=np.bool_)
        for i in numba.prange(y0s.shape[0]):
            usol, ok[i] = solver(address, y0s[i], times, params, rtol=tol, atol=tol, mxstep=MAX_STEPS)
            out[i] = usol
        return out, ok

    return run


def _diffrax(solver_name: str) -> Callable[[System, np.ndarray, np.ndarray, float], Solve]:
    compiled: dict[tuple[str, int], Callable] = {}  # per system and grid: the tolerance is traced

    def make(system: System, y0s: np.ndarray, times: np.ndarray, tol: float) -> Solve:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        key = (system.name, len(times))
        if key not in compiled:
            compiled[key] = _diffrax_solver(system, solver_name, times)
        batched, starts = compiled[key], jnp.asarray(y0s)
        return lambda: np.asarray(batched(starts, tol).block_until_ready())
    return make


def _diffrax_solver(system: System, solver_name: str, times: np.ndarray) -> Callable:
    """A jitted, vmapped diffrax solve of the system on the grid `times`, taking (starts, tolerance)."""
    import diffrax
    import jax
    import jax.numpy as jnp

    field = _jax_field(system)
    term = diffrax.ODETerm(lambda t, y, p: field(t, y, p))
    solver = getattr(diffrax, solver_name)()
    ts, params = jnp.asarray(times), jnp.asarray(system.param_array)

    def one(y0: jax.Array, tol: jax.Array) -> jax.Array:
        controller = diffrax.PIDController(rtol=tol, atol=tol)
        return diffrax.diffeqsolve(term, solver, times[0], times[-1], None, y0, params,
                                   saveat=diffrax.SaveAt(ts=ts), max_steps=None, stepsize_controller=controller).ys

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def _jax_field(system: System) -> Callable:
    """The system's vector field as a JAX function f(t, y, p), from its equations through sympy."""
    import sympy as sp  # a heavy import, needed only for this peer

    from ..compile import symbolic  # imports sympy

    program = system.program
    symbols = {n: sp.Symbol(n, real=True) for n in (*program.states, *program.params, "t")}
    rows = symbolic.program_equations(program, symbols, system.name)
    states = [symbols[s] for s in program.states]
    params = [symbols[p] for p in program.params]
    f = sp.lambdify((symbols["t"], states, params), rows, modules="jax")

    def field(t: Any, y: Any, p: Any) -> Any:
        import jax.numpy as jnp

        return jnp.stack([jnp.asarray(v, dtype=jnp.float64) * jnp.ones(()) for v in f(t, y, p)])
    return field


PEERS = (
    Peer("numbalsoda DOP853", "numbalsoda", _numbalsoda("dop853")),
    Peer("numbalsoda DOP853 prange", "numbalsoda", _numbalsoda("dop853", parallel=True), single=False),
    Peer("numbalsoda LSODA", "numbalsoda", _numbalsoda("lsoda")),
    Peer("diffrax Tsit5", "diffrax", _diffrax("Tsit5")),
    Peer("diffrax Dopri8", "diffrax", _diffrax("Dopri8")),
    Peer("scipy DOP853", "scipy", _scipy("DOP853"), ensemble=False),
)

CASES = {c.name: c for c in (
    Case("peers-single", "One long trajectory vs integrator peers (Lorenz, LorenzCoupled, HyperRossler)",
         ("Lorenz", "LorenzCoupled", "HyperRossler"), t_end=1000.0, dt_out=0.01, goal=1.2),
    Case("peers-ensemble", "An ensemble of 1,000 starts vs integrator peers (Lorenz, batched)", ("Lorenz",),
         t_end=20.0, dt_out=0.01, starts=1000, quick_t_end=20.0, quick_starts=100, wall=True),
    Case("peers-nonsmooth", "A non-smooth flow vs integrator peers (MultiChua)", ("MultiChua",),
         t_end=1000.0, dt_out=0.01),
)}


def missing(peer: Peer) -> str | None:
    """Why the peer cannot run here (its module is not installed), or None."""
    import importlib.util

    return None if importlib.util.find_spec(peer.requires) else f"{peer.requires} is not installed"


def run_case(ctx: Context, case: Case) -> Record:
    """The case's record: ours and every available peer on each of its systems, at equal accuracy."""
    t_end = case.quick_t_end if ctx.quick else case.t_end
    n_starts = case.quick_starts if ctx.quick else case.starts
    repeats = 2 if ctx.quick else 3
    peers = [p for p in PEERS if (p.single if n_starts == 1 else p.ensemble)]
    skipped = {p.name: why for p in peers if (why := missing(p))}
    rows, ratios = [], {}
    for name in case.systems:
        system = get_system(name)
        starts = _starts(system, max(n_starts, ACCURACY_STARTS))  # accuracy from all, timing from the first
        y0s = starts[:n_starts]
        times = output_times(t_end, case.dt_out)
        window = times[:_window(system, times)]
        reference = _ours(system, starts, window, REFERENCE_TOL)()
        ours_solve = _ours(system, y0s, times, OUR_TOL)
        ours = Timing(OUR_TOL, _window_error(_ours(system, starts, window, OUR_TOL)(), reference))
        for peer in peers:
            if peer.name in skipped:
                continue
            try:
                tuned = _tune(peer, system, starts, window, reference, ours.error)
                theirs_solve = peer.make(system, y0s, times, tuned.tol)
                ours.seconds, tuned.seconds = _alternate(ours_solve, theirs_solve, repeats, case.wall)
            except Exception as exc:  # a peer that fails on a system is reported, the others still run
                log.warning("%s on %s failed: %s", peer.name, name, exc)
                skipped[f"{peer.name} on {name}"] = f"failed: {type(exc).__name__}: {exc}"
                continue
            ratio = tuned.seconds / ours.seconds
            ratios[(name, peer.name)] = ratio
            rows.append({"system": name, "peer": peer.name, "peer_tol": tuned.tol, "peer_error": tuned.error,
                         "peer_s": tuned.seconds, "our_tol": OUR_TOL, "our_error": ours.error,
                         "our_s": ours.seconds, "ratio": ratio, "accuracy_matched": tuned.matched})
    return _record(ctx, case, rows, ratios, skipped, t_end, n_starts)


def _record(ctx: Context, case: Case, rows: list[dict], ratios: dict, skipped: dict[str, str], t_end: float,
            n_starts: int) -> Record:
    clock = WALL_NOTE if case.wall else CPU_NOTE
    notes = [clock, f"{', '.join(case.systems)}: t = {t_end:g} recorded every {case.dt_out:g}, "
             f"{n_starts} start(s) on the attractor (accuracy from {max(n_starts, ACCURACY_STARTS)}); best of "
             f"{2 if ctx.quick else 3} warm runs (up to {MAX_REPEATS}, about {TIME_BUDGET:g} s worth, for fast ones), "
             "ours and the peer alternately",
             "accuracy: the median over starts of the largest relative error over the first half Lyapunov time "
             f"against our DOP853 at {REFERENCE_TOL:g}; ours at rtol=atol={OUR_TOL:g}, each peer at the loosest "
             f"tolerance of {LADDER[0]:g}..{LADDER[-1]:g} (eight a decade) at least as accurate"]
    notes += [f"{row['peer']} on {row['system']}: {row['ratio']:.2f}x (ours {row['our_s']:.3g} s, error "
              f"{row['our_error']:.1e}; theirs {row['peer_s']:.3g} s at tol {row['peer_tol']:.3g}, error "
              f"{row['peer_error']:.1e}{'' if row['accuracy_matched'] else ', not matched even at its tightest'})"
              for row in rows]
    notes += [f"skipped: {name}: {why}" for name, why in skipped.items()]
    if not ratios:
        return Record(name=case.name, title=case.title, status="not available", notes=notes,
                      details={"rows": rows, "skipped": skipped})
    (system, fastest), ratio = min(ratios.items(), key=lambda item: item[1])
    row = next(r for r in rows if r["system"] == system and r["peer"] == fastest)
    return Record(
        name=case.name, title=case.title,
        ours=Figure(row["our_s"], "s", f"our DOP853 on {system}, rtol=atol={OUR_TOL:g}"),
        reference=Figure(row["peer_s"], "s", f"{fastest} on {system} (the closest peer), matched accuracy"),
        ratio=ratio, ratio_label="x faster than the closest peer",
        goal=f">= {case.goal:g}x faster than every peer",
        passed=None if skipped else ratio >= case.goal, notes=notes,
        details={"rows": rows, "skipped": skipped},
    )


def _starts(system: System, n: int) -> np.ndarray:
    """n states on the attractor (after a transient), 0.37 time units apart along one trajectory."""
    period = system.timescale
    sol = integrate(system, t_end=0.37 * max(n - 1, 1), dt_out=0.37, transient=20 * period, rtol=1e-10, atol=1e-10)
    return np.ascontiguousarray(sol.y[:n])


def _window(system: System, times: np.ndarray) -> int:
    """Output points within the first half Lyapunov time (at least 10)."""
    tau = system.invariants.scalar("lyapunov_time") or system.timescale
    return max(10, int(np.searchsorted(times, 0.5 * tau, side="right")))


def _ours(system: System, y0s: np.ndarray, times: np.ndarray, tol: float) -> Solve:
    def call() -> np.ndarray:
        sol = integrate(system, y0s, t_end=times[-1] - times[0], dt_out=times[1] - times[0], rtol=tol, atol=tol,
                        max_steps=MAX_STEPS)
        if not sol.ok:
            raise RuntimeError(f"our DOP853 stopped early on {system.name} ({sol.status.name})")
        return sol.y
    return call


def _window_error(y: np.ndarray, reference: np.ndarray) -> float:
    """The median over starts of each start's `relative_error` against the reference window, (starts, n, dim).

    The median, not the largest: one start's error moves threefold between neighbouring tolerances, and the
    largest of 32 picks such moves up (the tolerance it asks of a peer then jumps by rungs); the median is
    monotone in the tolerance to a few per cent.
    """
    y = np.asarray(y).reshape(reference.shape)
    return float(np.median([relative_error(one, ref) for one, ref in zip(y, reference, strict=True)]))


def _tune(peer: Peer, system: System, y0s: np.ndarray, times: np.ndarray, reference: np.ndarray,
          target: float) -> Timing:
    """The peer's loosest tolerance at least as accurate as `target` on the window (else its tightest)."""
    last = Timing(LADDER[-1], math.inf, matched=False)
    for tol in LADDER:
        error = _window_error(peer.make(system, y0s, times, tol)(), reference)
        if error <= target:
            return Timing(tol, error)
        last = Timing(tol, error, matched=False)
    return last


def _alternate(ours: Solve, theirs: Solve, repeats: int, wall: bool) -> tuple[float, float]:
    """Best seconds (CPU, or wall if `wall`) of ours and theirs, timed alternately after one warm-up call each.

    Calls are timed as often as about TIME_BUDGET seconds allow (at least `repeats`, at most MAX_REPEATS): on a
    shared machine a best of three moved by a third between runs (the ensemble's by half).
    """
    clock = time.perf_counter if wall else time.process_time
    warm = timed(ours, clock)[1] + timed(theirs, clock)[1]
    best = [math.inf, math.inf]
    for _ in range(max(repeats, min(MAX_REPEATS, int(TIME_BUDGET / max(warm, 1e-3))))):
        for i, call in enumerate((ours, theirs)):
            best[i] = min(best[i], timed(call, clock)[1])
    return best[0], best[1]


def single(ctx: Context) -> Record:
    """One long trajectory (Lorenz and two 6-D flows) against every peer."""
    return run_case(ctx, CASES["peers-single"])


def ensemble(ctx: Context) -> Record:
    """An ensemble of starts on Lorenz's attractor, batched, against every peer that batches."""
    return run_case(ctx, CASES["peers-ensemble"])


def nonsmooth(ctx: Context) -> Record:
    """The piecewise-linear MultiChua against every peer."""
    return run_case(ctx, CASES["peers-nonsmooth"])
