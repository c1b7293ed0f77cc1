"""`check_system`: the contributor's conformance suite for a system spec, one problem per line with its fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DystsBenchError
from ..integrate.solve import integrate
from ..specs.registry import check_lock, parse_id, spec_path
from ..system import System

BOUND = 1e8            # a state beyond this is "unbounded"
JACOBIAN_RTOL = 1e-4   # finite differences of step ~1e-6 agree with exact derivatives to about 1e-7


@dataclass(frozen=True)
class Problem:
    """One failed check: where, what, and how to fix it."""

    where: str
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.check}] {self.message}"


def resolve(target: str | Path) -> Path:
    """A spec path from a path or a registry name (Name or Name@version)."""
    p = Path(target)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return spec_path(*parse_id(str(target)))


def check_system(target: str | Path, *, long_run: bool = True) -> list[Problem]:
    """Run every conformance check on a spec (path or registry name); [] means it conforms.

    Never raises for a bad spec: whatever goes wrong is a Problem, so one spec cannot stop the check
    of the others.
    """
    try:
        path = resolve(target)
    except DystsBenchError as exc:
        return [Problem(str(target), "registry", str(exc))]
    where = str(path)
    try:
        return _check_spec(path, where, long_run)
    except Exception as exc:  # the spec is untrusted: a failure of ours is reported, never raised
        return [Problem(where, "internal", f"the checker itself failed ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); report this as a bug in dysts-bench with the spec attached")]


def _check_spec(path: Path, where: str, long_run: bool) -> list[Problem]:
    try:
        system = System.from_file(path)
    except DystsBenchError as exc:
        return [Problem(where, "schema", _local(exc, where))]
    problems: list[Problem] = []
    try:
        check_lock(path)
    except DystsBenchError as exc:
        problems.append(Problem(where, "immutable", _local(exc, where)))
    if not system.spec.references:
        problems.append(Problem(where, "references", "no references; add at least one with its citation "
                                "and DOI under 'references'"))
    problems += _check_sidecar(system, where)
    try:
        dx = system.rhs(system.initial_condition)
    except Exception as exc:  # a compile failure is a finding, not a crash of the checker
        return [*problems, Problem(where, "compile", f"the equations do not compile: {exc}")]
    if not np.all(np.isfinite(dx)):
        bad = ", ".join(f"equations.{n} is {v}" for n, v in zip(system.state_names, dx, strict=True)
                        if not np.isfinite(v))
        problems.append(Problem(where, "finite", f"the vector field at the initial condition is not finite "
                                f"({bad}); check the equations (a division by zero?) and the initial condition"))
        return problems
    if long_run:
        problems += _check_trajectory(system, where)
    return problems


def _check_sidecar(system: System, where: str) -> list[Problem]:
    path = system.sidecar_path
    if path is None or not path.exists():
        return []
    try:
        recorded = system.read_invariants().spec_hash
    except DystsBenchError as exc:  # unreadable, not a sidecar, or of another version of the spec
        return [Problem(str(path), "invariants", str(exc).removeprefix(f"{path}: "))]
    if recorded is None:
        return [Problem(str(path), "invariants", "records no spec_hash (written by hand?); regenerate it with "
                        f"`dysts-bench invariants {system.name}@{system.version} --write`")]
    return []


def _check_trajectory(system: System, where: str) -> list[Problem]:
    period = system.timescale
    t_end = 200 * period
    dt_out = period / 20
    try:
        sol = integrate(system, t_end=t_end, dt_out=dt_out, rtol=1e-8, atol=1e-8, max_steps=2_000_000)
    except DystsBenchError as exc:
        return [Problem(where, "bounded", f"cannot integrate over 200 periods of {period:g} (field "
                        f"'{'period' if system.period else 'dt'}'): {exc}; give a smaller period or dt")]
    if not sol.ok:
        return [Problem(where, "bounded", f"integration over {t_end:g} time units ended with "
                        f"{sol.status.name} at t={sol.t[np.isnan(sol.y).any(axis=1)].min(initial=t_end):g}; "
                        "the trajectory escapes or is stiff: check signs and parameters")]
    y = sol.y
    if np.abs(y).max() > BOUND:
        return [Problem(where, "bounded", f"the trajectory exceeds {BOUND:g} within {t_end:g} time units; "
                        "check signs and parameters")]
    tail = y[len(y) // 2:]
    spread = tail.std(axis=0).max()
    if spread < 1e-6 * (1.0 + np.abs(tail).max()):
        return [Problem(where, "not-fixed-point", f"the trajectory settles to a fixed point within {t_end:g} "
                        "time units; check parameters and initial condition")]
    problems: list[Problem] = []
    if not system.delay_lags:
        problems += _check_jacobian(system, tail[:: max(1, len(tail) // 5)][:5], sol.t[len(y) // 2:], where)
    return problems


def _check_jacobian(system: System, states: np.ndarray, times: np.ndarray, where: str) -> list[Problem]:
    try:
        for x, t in zip(states, times, strict=False):
            exact = system.jacobian(x, t)
            scale = np.abs(exact).max() + 1.0
            # The best of a few steps: steep terms want small steps, large coordinates want large ones.
            approx = min((finite_difference_jacobian(system, x, t, step) for step in (1e-5, 1e-6, 1e-7, 1e-8)),
                         key=lambda fd: np.abs(exact - fd).max())
            err = np.abs(exact - approx).max() / scale
            if err > JACOBIAN_RTOL and not system.non_smooth:
                i, j = np.unravel_index(np.argmax(np.abs(exact - approx)), exact.shape)
                return [Problem(where, "jacobian", f"the compiled Jacobian differs from finite differences "
                                f"by {err:.2e} (entry d{system.state_names[i]}/d{system.state_names[j]}); "
                                "report this as a compiler bug")]
    except DystsBenchError as exc:
        return [Problem(where, "jacobian", _local(exc, where))]
    return []


def _local(exc: Exception, where: str) -> str:
    """An error's message without the file name that the Problem already gives."""
    return str(exc).removeprefix(f"{where}: ")


def finite_difference_jacobian(system: System, x: np.ndarray, t: float = 0.0, step: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian of the compiled vector field, with steps relative to |x|."""
    jac = np.empty((system.dim, system.dim))
    for j in range(system.dim):
        h = step * max(1.0, abs(x[j]))
        e = np.zeros(system.dim)
        e[j] = h
        jac[:, j] = (system.rhs(x + e, t) - system.rhs(x - e, t)) / (2 * h)
    return jac
