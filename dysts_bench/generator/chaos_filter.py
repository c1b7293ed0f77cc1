"""The chaos filter of generated systems: a candidate is kept only if its trajectory is bounded, moves, is
neither periodic nor quasi-periodic, and has a positive largest Lyapunov exponent by our own estimator.

The tests, in order (the first that fails is the reason recorded):
- `integration`: the trajectory integrates (no blow-up, no step-size underflow) through the transient and
  the recorded window within `MAX_STEPS_PER_PERIOD` steps per period on average (3 times what the stiffest
  parent of the registry needs: a stiffer candidate would cost every dataset as much, and crawling to a
  budget of millions of steps cost more than all other draws together);
- `unbounded`: every |x| ≤ `MAX_ABS` and every z-score |x − mean| / std ≤ `MAX_ZSCORE`;
- `fixed_point`: the recorded window moves: each coordinate's std > `MIN_RELATIVE_STD` × (its mean |x| + 1)
  for at least one coordinate;
- `regular`: Gottwald & Melbourne's 0–1 test (2009, SIAM J. Appl. Dyn. Syst. 8:129, the correlation method)
  on the coordinate of largest variance gives median K < `MIN_K` over `N_FREQUENCIES` random frequencies
  c ∈ (π/5, 4π/5), or the Welch power spectrum is a line spectrum: its strongest `LINE_BINS` share of
  frequency bins holds at least `MAX_LINE_SHARE` of the power (a limit cycle or a torus puts nearly all of
  it in a few lines and their harmonics: Lorenz-63 0.28, chaotic Rössler 0.94, periodic Rössler 0.99);
- `lyapunov`: λ1 ≤ max(3 × its standard error, `CHAOS_PER_PERIOD` / period) (or the estimator failed): the
  registry's own floor for "chaotic" (`invariants.lyapunov.chaos_class`), so that an accepted system's sidecar
  calls it chaotic and a dataset samples it by its Lyapunov time; λ1 estimated
  only until that verdict is clear (the invariants sidecar of an accepted system measures it to 1%), from
  nearby trajectories: the candidate's Jacobian, whose derivation and compilation cost more than the rest of
  the filter, is never built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from ..errors import DystsBenchError
from ..integrate.solve import Status, integrate
from ..invariants.lyapunov import CHAOS_PER_PERIOD, lyapunov_spectrum
from ..system import System

MAX_ABS = 1e6
MAX_ZSCORE = 20.0
MIN_RELATIVE_STD = 1e-6
MIN_K = 0.5
N_FREQUENCIES = 100
LINE_BINS = 0.03
MAX_LINE_SHARE = 0.98
LYAPUNOV_RTOL = 0.25     # λ1's standard error relative to |λ1| at which its estimate stops
LYAPUNOV_TRANSIENT = 5   # periods
POINTS_PER_PERIOD = 25
TRANSIENT_PERIODS = 100
RECORDED_PERIODS = 200
MAX_STEPS_PER_PERIOD = 2_000
REASONS = ("integration", "unbounded", "fixed_point", "regular", "lyapunov")


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate passed, why not, and what was measured on the way."""

    passed: bool
    reason: str = ""                       # one of REASONS when it failed
    message: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    state: tuple[float, ...] = ()          # the last recorded state: a point on the attractor when it passed


def zero_one_k(x: np.ndarray, rng: np.random.Generator, n_frequencies: int = N_FREQUENCIES) -> float:
    """Median K of the 0–1 test for chaos (correlation method): near 1 for chaos, near 0 for regular motion."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    lags = np.arange(1, n // 10 + 1)
    c = rng.uniform(math.pi / 5, 4 * math.pi / 5, n_frequencies)[:, None]
    phase = c * np.arange(1, n + 1)
    # All frequencies at once (rows). The mean square displacement of p at lag k,
    #   M(k) = Σ_{i<n-k} (p[i+k] − p[i])² / (n − k) = (Σ_{i≥k} p[i]² + Σ_{i<n-k} p[i]² − 2 Σ_i p[i] p[i+k]) / (n − k),
    # takes its sums of squares from a cumulative sum and the lagged products from one FFT per row, instead of a
    # pass over the series per lag.
    m = sum(_square_displacement(np.cumsum(x * trig(phase), axis=1), lags) for trig in (np.cos, np.sin))
    # Less its oscillatory part (Gottwald & Melbourne's modified D_c).
    d = m - np.mean(x) ** 2 * (1 - np.cos(lags * c)) / (1 - np.cos(c))
    centred = d - d.mean(axis=1, keepdims=True)
    spread = np.sqrt((centred**2).sum(axis=1))
    lag_centred = lags - lags.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        k = centred @ lag_centred / (spread * np.sqrt(lag_centred @ lag_centred))
    return float(np.median(np.where(spread > 0, k, 0.0)))


def _square_displacement(p: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """Mean of (p[i+k] − p[i])² over i, for each row of p and each lag k (rows, lags)."""
    n = p.shape[1]
    squares = np.concatenate([np.zeros((len(p), 1)), np.cumsum(p**2, axis=1)], axis=1)
    spectrum = np.fft.rfft(p, 2 * n, axis=1)
    lagged = np.fft.irfft(spectrum * spectrum.conj(), 2 * n, axis=1)[:, lags]   # Σ_i p[i] p[i+k]
    tail = squares[:, n:] - squares[:, lags]                                     # Σ_{i≥k} p[i]²
    head = squares[:, n - lags]                                                   # Σ_{i<n-k} p[i]²
    return (tail + head - 2 * lagged) / (n - lags)


def line_share(x: np.ndarray) -> float:
    """The share of the Welch power spectrum's power in its strongest LINE_BINS of frequency bins."""
    _, power = signal.welch(x - np.mean(x), nperseg=min(len(x), 1024))
    power = np.sort(power)[::-1]
    total = float(power.sum())
    return float(power[: max(1, round(LINE_BINS * len(power)))].sum() / total) if total > 0 else 1.0


def chaos_filter(system: System, period: float, seed: int) -> Verdict:
    """Run the tests of the module docstring on `system`, whose dominant time scale is `period`."""
    dt = period / POINTS_PER_PERIOD
    sol = integrate(system, t_end=RECORDED_PERIODS * period, dt_out=dt, transient=TRANSIENT_PERIODS * period,
                    rtol=1e-8, atol=1e-8, max_steps=MAX_STEPS_PER_PERIOD * (TRANSIENT_PERIODS + RECORDED_PERIODS))
    if not sol.ok:
        budget = f" within {MAX_STEPS_PER_PERIOD:,} steps per period (stiff)" if sol.status == Status.MAX_STEPS else ""
        return Verdict(False, "integration", f"the trajectory did not integrate{budget} ({sol.status.name})")
    y = sol.y
    std = y.std(axis=0)
    if np.abs(y).max() > MAX_ABS or np.any(np.abs(y - y.mean(axis=0)) > MAX_ZSCORE * np.where(std > 0, std, np.inf)):
        return Verdict(False, "unbounded", f"|x| reaches {np.abs(y).max():.3g} or a z-score beyond {MAX_ZSCORE:g}")
    if not np.any(std > MIN_RELATIVE_STD * (np.abs(y).mean(axis=0) + 1.0)):
        return Verdict(False, "fixed_point", "the trajectory settles on a fixed point")
    rng = np.random.default_rng(seed)
    main = y[:, int(np.argmax(std))]
    k, lines = zero_one_k(main[:: max(1, len(main) // 2000)], rng), line_share(main)
    measured: dict[str, Any] = {"zero_one_k": k, "line_share": lines}
    if k < MIN_K or lines >= MAX_LINE_SHARE:
        return Verdict(False, "regular", f"0–1 test K = {k:.2f} (need ≥ {MIN_K}), {lines:.3f} of the power in "
                       f"{LINE_BINS:.0%} of the spectrum (need < {MAX_LINE_SHARE})", measured)
    try:
        # Run only until the verdict is clear: a standard error of at most a quarter of |λ1| settles
        # "λ1 > 3 stderr", one of a third of the floor settles "λ1 > CHAOS_PER_PERIOD / period". The start is on
        # the attractor already (the recorded window's end), so the transient only aligns the tangent vector.
        result = lyapunov_spectrum(system, k=1, y0=y[-1], period=period, seed=seed,
                                   transient=LYAPUNOV_TRANSIENT * period, rtol=LYAPUNOV_RTOL,
                                   atol=CHAOS_PER_PERIOD / (3 * period), trace=False)
    except DystsBenchError as exc:
        return Verdict(False, "lyapunov", f"the Lyapunov estimator failed: {exc}", measured)
    lam, err = float(result.exponents[0]), float(result.stderr[0])
    measured.update({"lyapunov_max": lam, "lyapunov_stderr": err})
    if not lam > max(3 * err, CHAOS_PER_PERIOD / period):
        return Verdict(False, "lyapunov", f"λ1 = {lam:.3g} ± {err:.2g} is not clearly positive", measured)
    return Verdict(True, measured=measured, state=tuple(float(v) for v in y[-1]))
