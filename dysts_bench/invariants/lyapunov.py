"""Lyapunov exponents: Benettin's QR method with standard errors from block averages, run to a tolerance."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..compile.functions import JUMP_FUNCTIONS
from ..errors import DystsBenchError, IntegrationError
from ..integrate import sums
from ..integrate.solve import Status, integrate
from ..integrate.tableaus import TABLEAUS
from . import tangent_kernel
from .convergence import ALIGN_BLOCKS, ENDPOINT_LOG, LyapunovError, LyapunovResult, converge
from .delay import delay_lyapunov_max

if TYPE_CHECKING:
    from ..system import System


_WORK_BUDGET = 6e6  # state components times steps: a few seconds on one core
SEPARATE_D0, SEPARATE_TOL = 1e-6, 1e-10   # separate trajectories: relative distance, integration tolerance
SEPARATE_METHOD = "dop853"                 # and their integrator
# Chaos must be more than a positive number: λ1 above max(3 standard errors, CHAOS_PER_PERIOD / period),
# i.e. an e-folding within 20 periods. Slower growth is "marginal": it cannot be told from a long
# quasi-periodic or transient drift within any run we can afford, and a forecast horizon in Lyapunov
# times would span hundreds of periods.
CHAOS_PER_PERIOD = 0.05


METHODS = {
    "variational": "Benettin QR on the variational equation",
    "nearby": "Benettin QR on nearby trajectories renormalized every step (finite differences)",
    "separate": "nearby trajectories integrated each on its own steps, renormalized by QR every half period",
    "delay": "two nearby trajectories in the discretized history space, renormalized",
}


def chaos_class(lam: float, stderr: float, time: float, period: float) -> tuple[str, str]:
    """'chaotic', 'marginal' or 'not_chaotic' for a largest exponent lam ± stderr averaged over time, and why."""
    zero = 3 * stderr + ENDPOINT_LOG / time
    floor = CHAOS_PER_PERIOD / period
    if lam <= zero:
        return "not_chaotic", (f"λ1 = {lam:.3g} is within its zero tolerance {zero:.3g} (3 standard errors + "
                               f"{ENDPOINT_LOG:g} / averaging time)")
    if lam <= floor:
        return "marginal", (f"λ1 = {lam:.3g} is positive beyond its errors ({zero:.3g}) but below "
                            f"{CHAOS_PER_PERIOD:g} per period ({floor:.3g} for the period {period:.4g}): one "
                            f"e-folding takes {1 / (lam * period):.0f} periods")
    return "chaotic", (f"λ1 = {lam:.3g} exceeds its zero tolerance {zero:.3g} and {CHAOS_PER_PERIOD:g} per "
                       f"period ({floor:.3g})")


def lyapunov_spectrum(
    system: System,
    *,
    k: int | None = None,
    method: str = "auto",
    rtol: float = 1e-2,
    atol: float | None = None,
    transient: float | None = None,
    block_time: float | None = None,
    min_blocks: int = 64,
    max_time: float | None = None,
    max_steps: int | None = None,
    integrator: str = "dop853",
    tol: float = 1e-7,
    h: float | None = None,
    d0: float | None = None,
    y0: np.ndarray | None = None,
    seed: int = 0,
    period: float | None = None,
    trace: bool = True,
) -> LyapunovResult:
    """The k largest Lyapunov exponents (all by default), run until each standard error is small enough.

    The run stops once the standard error of exponent i is at most max(rtol * max(|λ_i|, |λ_1|), atol)
    (atol defaults to 1e-4 per period), or at `max_time` (default 20,000 periods) or `max_steps`
    (default: 6e6 / (dim * (k + 1)), a budget of work rather than of steps; 1.5e6 / dim for delay
    equations, whose grid step `h` defaults to a hundredth of the period).
    `method`: "variational" (QR on the variational equation), "nearby" (finite differences of nearby
    trajectories sharing the steps, for non-smooth but continuous vector fields), "separate" (nearby
    trajectories each integrated on its own, so that each resolves its own jumps: for discontinuous
    vector fields; slower), "delay" (largest exponent of a delay equation), or "auto" to choose from
    the system. Times default to multiples of the system's period: a state
    transient of 100 periods, blocks of 2 periods, the first 10 periods discarded while the tangent
    vectors align; `period` overrides the spec's hint. `tol` is the integrator's rtol = atol; `h` fixes
    its step instead. `d0` is the relative separation of nearby trajectories (1e-8 for "nearby" and
    "delay", SEPARATE_D0 for "separate"). `trace=False` leaves the time average of tr J out (NaN) and
    never compiles the system's Jacobian ("auto" then takes "nearby" where it would take "variational"): what
    a generated system's chaos filter needs.
    """
    period = float(period or system.timescale)
    method = _choose_method(system, method, trace)
    transient = 100 * period if transient is None else float(transient)
    block_time = 2 * period if block_time is None else float(block_time)
    max_time = 20_000 * period if max_time is None else float(max_time)
    atol = 1e-4 / period if atol is None else float(atol)
    if method == "delay":
        return delay_lyapunov_max(system, rtol=rtol, atol=atol, transient=transient, block_time=block_time,
                                  min_blocks=min_blocks, max_time=max_time, max_steps=max_steps, h=h,
                                  d0=1e-8 if d0 is None else d0, y0=y0, seed=seed, period=period)
    k = system.dim if k is None else int(k)
    if not 1 <= k <= system.dim:
        raise DystsBenchError(f"{system.name}: k must be between 1 and dim={system.dim}, got {k}")
    max_steps = int(_WORK_BUDGET / (system.dim * (k + 1))) if max_steps is None else int(max_steps)
    if integrator not in TABLEAUS:
        raise IntegrationError(f"unknown integrator {integrator!r}; choose one of {sorted(TABLEAUS)}")
    tableau = TABLEAUS[integrator]
    if h is None and not tableau.adaptive:
        raise IntegrationError(f"integrator {integrator!r} has a fixed step: pass h=")
    settings = {"k": k, "rtol": rtol, "atol": atol, "transient": transient, "block_time": block_time,
                "discarded_blocks": ALIGN_BLOCKS, "min_blocks": min_blocks, "max_time": max_time,
                "max_steps": max_steps, "integrator": integrator, "tol": tol, "h": h, "seed": seed,
                "period_used": period}
    x0 = _settled_state(system, y0, transient, tol)
    scale = max(1.0, float(np.sqrt(np.mean(x0**2))))
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((system.dim, k)))
    if method == "separate":
        # Each trajectory resolves its own switching, so their separation must dwarf the integration error.
        d0 = (SEPARATE_D0 if d0 is None else d0) * scale
        settings.update(d0=d0, tol=SEPARATE_TOL, renormalize_every=block_time / 4)
        sep = _SeparateRun(system, x0, basis, d0, transient, block_time / 4)
        return converge(sep, system.name, method, settings, rtol=rtol, atol=atol, block_time=block_time,
                        min_blocks=min_blocks, max_time=max_time, max_steps=max_steps)
    d0 = (1e-8 if d0 is None else d0) * scale
    if method == "nearby":
        settings["d0"] = d0
    if not trace and method == "variational":
        raise DystsBenchError(f"{system.name}: the variational method needs the Jacobian; trace=False takes "
                              "method='nearby'")
    y = np.concatenate([x0, basis.ravel(), [0.0]])
    jacobian = system.jacobian_function if trace else tangent_kernel.zero_jacobian.dispatcher()
    run = _Run(system, jacobian, tableau, y, k, method, d0, tol, h, transient)
    result = converge(run, system.name, method, settings, rtol=rtol, atol=atol, block_time=block_time,
                      min_blocks=min_blocks, max_time=max_time, max_steps=max_steps)
    return result if trace else dataclasses.replace(result, trace_mean=math.nan, trace_stderr=math.nan)


def _choose_method(system: System, method: str, trace: bool) -> str:
    if method == "auto":
        if system.delay_lags:
            return "delay"
        if system.program.functions & JUMP_FUNCTIONS:
            return "separate"
        return "nearby" if system.non_smooth or not trace else "variational"
    if method not in METHODS:
        raise DystsBenchError(f"unknown Lyapunov method {method!r}; choose 'auto' or one of {sorted(METHODS)}")
    if (method == "delay") != bool(system.delay_lags):
        raise DystsBenchError(f"{system.name}: method {method!r} does not apply; use method='auto'")
    return method


def _settled_state(system: System, y0: np.ndarray | None, transient: float, tol: float) -> np.ndarray:
    """The state after the transient, where the tangent integration starts."""
    sol = integrate(system, y0, t_end=0.0, dt_out=1.0, transient=transient, rtol=tol, atol=tol)
    if not sol.ok:
        raise LyapunovError(f"{system.name}: the transient of {transient:g} time units failed "
                            f"({sol.status.name}); check the system with `dysts-bench systems check`")
    return sol.y[-1].copy()


class _Run:
    """The state of one tangent integration, advanced block by block through the compiled kernel."""

    def __init__(self, system: System, jacobian: Any, tableau: Any, y: np.ndarray, k: int, method: str,
                 d0: float, tol: float, h: float | None, t: float):
        self.system, self.jacobian, self.tableau, self.y, self.k = system, jacobian, tableau, y, k
        self.mode = tangent_kernel.VARIATIONAL if method == "variational" else tangent_kernel.NEARBY_TRAJECTORIES
        self.d0, self.tol, self.h = d0, tol, h
        # A small first step; the controller grows it by up to tenfold a step.
        self.clock = np.array([t, 1e-4 * system.timescale])
        self.status = Status.SUCCESS
        self.steps = 0
        self.n_rhs_evals = 0

    @property
    def t(self) -> float:
        return float(self.clock[0])

    def advance(self, n_blocks: int, block_time: float, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Integrate n_blocks blocks; returns the completed blocks' log-growth sums and trace integrals."""
        tab, dim = self.tableau, self.system.dim
        ends = self.t + block_time * np.arange(1, n_blocks + 1)
        logs = np.zeros((n_blocks, self.k))
        traces = np.zeros(n_blocks)
        info = np.zeros(4, dtype=np.int64)
        n_control = dim + dim * self.k
        tangent_kernel.advance(
            self.system.rhs_function, self.jacobian, self.system.param_array,
            self.y, self.k, self.clock, self.mode, self.d0, n_control, float(self.h or 0.0),
            self.tol, self.tol, int(max(max_steps, 0)), sums.METHODS.index(tab.name), tab.c, tab.error_stages,
            tab.adaptive, max(tab.error_order, 1), ends, logs, traces, info,
        )
        self.status = Status(int(info[0]))
        self.steps += int(info[2])
        self.n_rhs_evals += int(info[3])
        done = int(info[1])
        if not math.isfinite(self.t):
            self.status = Status.NONFINITE
        return logs[:done], traces[:done]


class _SeparateRun:
    """A trajectory and k nearby ones, each integrated on its own adaptive steps, renormalized by QR."""

    def __init__(self, system: System, x0: np.ndarray, basis: np.ndarray, d0: float, t: float,
                 interval: float):
        self.system, self.x, self.basis, self.d0, self.interval = system, x0, basis, d0, interval
        self.clock = t
        self.status = Status.SUCCESS
        self.steps = 0

    @property
    def t(self) -> float:
        return self.clock

    def advance(self, n_blocks: int, block_time: float, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Integrate n_blocks blocks; returns their log-growth sums and NaN traces (not computed here)."""
        per_block = max(1, round(block_time / self.interval))
        logs = []
        for _ in range(n_blocks):
            block = np.zeros(self.basis.shape[1])
            for _ in range(per_block):
                if self.steps >= max_steps:
                    self.status = Status.MAX_STEPS
                    return np.array(logs).reshape(-1, block.size), np.full(len(logs), np.nan)
                starts = np.vstack([self.x, self.x + self.d0 * self.basis.T])
                sol = integrate(self.system, starts, t_end=block_time / per_block, dt_out=block_time / per_block,
                                t0=self.clock, method=SEPARATE_METHOD, rtol=SEPARATE_TOL, atol=SEPARATE_TOL,
                                max_steps=max(1, max_steps - self.steps))
                # The RHS evaluations of an accepted step, shared by the trajectories: a step count.
                self.steps += sol.n_rhs_evals // (TABLEAUS[SEPARATE_METHOD].stages * starts.shape[0])
                if not sol.ok:
                    self.status = sol.status
                    return np.array(logs).reshape(-1, block.size), np.full(len(logs), np.nan)
                ends = sol.y[:, -1]
                q, r = np.linalg.qr((ends[1:] - ends[0]).T / self.d0)
                diag = np.abs(np.diag(r))
                block += np.log(diag)
                self.basis = q * np.sign(np.diag(r))
                self.x = ends[0]
                self.clock += block_time / per_block
            logs.append(block)
        return np.array(logs), np.full(n_blocks, np.nan)
