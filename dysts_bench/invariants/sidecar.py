"""All invariants of one system, and their JSON sidecar `systems/<Name>/<version>.invariants.json`.

Every quantity is stored as {"value", "stderr", "method", "settings"}; the file also records the spec
hash it was computed from, the package version and the date. A quantity that could not be computed
gets {"value": null, "error": ...} instead, so one failure never loses the rest.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DystsBenchError, IntegrationError
from ..files import write_atomic
from ..specs.invariants import Invariants
from ..version import __version__
from .convergence import ENDPOINT_LOG, LyapunovResult
from .dimensions import correlation_dimension, kaplan_yorke_estimate
from .estimate import Estimate, batch_stderr, jsonable
from .lyapunov import chaos_class, lyapunov_spectrum
from .ordinal import entropy_complexity_of, ordinal_distribution
from .period import dominant_period, relative_power
from .sampling import natural_time, pattern_time_ratio, recommended_dt, sampling_verdict
from .trajectory import attractor_coordinates, attractor_samples, bounded_part, delay_embedding

if TYPE_CHECKING:
    from ..system import System

log = logging.getLogger(__name__)

ORDER, DELAY = 5, 1            # ordinal patterns: Bandt-Pompe order and delay
DIMENSION_POINTS = 6000        # points for the correlation sum
DIMENSION_PER_PERIOD = 5       # their sampling, per period; the Theiler window is one period
SPECTRUM_PER_PERIOD = 40       # sampling of the series for the power spectrum and natural time
SPECTRUM_SAMPLES = 2**14
ORDINAL_SAMPLES = 20_000       # samples at the recommended interval for permutation entropy
DATASET_POINTS_PER_TAU = 30    # the datasets' sampling, to check against the ideal one
GOLDEN = (1 + math.sqrt(5)) / 2
DELAY_EMBEDDING = 7            # delay equations: embedding dimension, with lag / 3 between coordinates

MAX_SCALE_RATIO = 10          # the natural time may lengthen the spec's period up to this factor
LYAPUNOV_DEFAULTS = {"rtol": 5e-3}   # the work budget of lyapunov_spectrum bounds the cost
PERIOD_AGREEMENT = 1.5         # a measured period further than this factor from the spec's gets a note
# Non-smooth systems: the separation of the nearby trajectories changes λ1 by more than its block
# standard error (the jumps are resolved differently), so λ1 is re-estimated at these separations.
D0_SPREAD = (1e-7, 1e-6, 1e-5)

QUANTITIES = ("lyapunov_spectrum", "lyapunov_max", "lyapunov_time", "kaplan_yorke_dimension",
              "correlation_dimension", "period", "permutation_entropy", "statistical_complexity",
              "ideal_sampling")


def compute_invariants(system: System, *, seed: int = 0, lyapunov_options: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
    """Every invariant of the system with its provenance, as the JSON-ready dict of the sidecar."""
    started = time.perf_counter()
    lyapunov_options = {**LYAPUNOV_DEFAULTS, **(lyapunov_options or {})}
    out: dict[str, Any] = {
        "system": system.name, "version": system.version, "spec_hash": system.spec_hash,
        "package_version": __version__,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "settings": {"seed": seed, "ordinal_order": ORDER, "ordinal_delay": DELAY,
                     "lyapunov": lyapunov_options},
    }
    errors: dict[str, str] = {}

    def attempt(keys: tuple[str, ...], compute: Callable[[], dict[str, Any]]) -> None:
        try:
            out.update(compute())
        except Exception as exc:  # one failure must not lose the other invariants
            message = f"{type(exc).__name__}: {exc}"
            log.warning("%s: %s failed: %s", system.name, "/".join(keys), message)
            for key in keys:
                out[key] = {"value": None, "stderr": None, "error": message}
                errors[key] = message

    hint = system.timescale
    timescales: dict[str, Any] = {}
    attempt(("period",), lambda: {"period": _period_entry(system, hint, timescales)})
    # Some spec periods are far too short: the measured natural time sets the Lyapunov run's durations
    # and the sampling of the correlation sum.
    scale = min(max(hint, timescales.get("natural_time", hint)), MAX_SCALE_RATIO * hint)
    out["settings"]["time_scale"] = scale
    spectrum: list[LyapunovResult] = []
    measured = out["period"].get("value") or hint
    attempt(("lyapunov_spectrum", "lyapunov_max", "lyapunov_time", "kaplan_yorke_dimension"),
            lambda: _lyapunov_entries(system, spectrum, seed, {"period": scale, **lyapunov_options}, measured))
    attempt(("correlation_dimension",), lambda: {"correlation_dimension": _correlation_entry(system, scale)})
    attempt(("ideal_sampling", "permutation_entropy", "statistical_complexity"),
            lambda: _ordinal_entries(system, timescales, spectrum))
    lam = out["lyapunov_max"]
    out["chaotic"] = lam.get("chaotic")
    out["chaos"] = lam.get("chaos")
    out["errors"] = errors
    out["compute_seconds"] = round(time.perf_counter() - started, 2)
    return jsonable(out)


def _lyapunov_entries(system: System, keep: list[LyapunovResult], seed: int,
                      options: dict[str, Any], period: float) -> dict[str, Any]:
    result = lyapunov_spectrum(system, seed=seed, **options)
    keep.append(result)
    settings = {**result.settings, "averaging_time": result.time, "converged": result.converged,
                "n_steps": result.n_steps}
    lam, se = result.maximum, float(result.stderr[0])
    entries: dict[str, Any] = {
        "lyapunov_spectrum": {
            **Estimate(result.exponents, result.stderr, result.method, settings).to_dict(),
            "sum": float(result.exponents.sum()), "jacobian_trace_mean": result.trace_mean,
            "jacobian_trace_stderr": result.trace_stderr,
        },
        "lyapunov_max": Estimate(lam, se, result.method, {"from": "lyapunov_spectrum"}).to_dict(),
    }
    notes = []
    if system.non_smooth and result.method != "delay":
        spread = _d0_spread(system, seed, options, result)
        se = math.hypot(se, (max(spread["lyapunov_max"]) - min(spread["lyapunov_max"])) / 2)
        entries["lyapunov_max"].update(stderr=se, d0_spread=spread)
        notes.append("non-smooth vector field: the standard error includes half the spread of λ1 over the "
                     "separations d0 of the nearby trajectories")
    if not result.settings["stationary"]:
        notes.append("the two halves of the run disagree ({:.4g} and {:.4g}): intermittent switching or a long "
                     "chaotic transient; the standard error understates the uncertainty"
                     .format(*result.settings["halves"]))
    stop = result.settings.get("stop")
    if stop not in ("SUCCESS", "MAX_STEPS"):
        note = (f"the integration stopped early ({stop}) after {result.time:.4g} time units; the exponents "
                "come from the blocks before it")
        entries["lyapunov_spectrum"]["note"] = note
        notes.append(note)
    if notes:
        entries["lyapunov_max"]["note"] = "; ".join(notes)
    chaos, reason = chaos_class(lam, se, result.time, period)
    entries["lyapunov_max"].update(zero_tolerance=3 * se + ENDPOINT_LOG / result.time,
                                   chaos=chaos, chaos_reason=reason, chaotic=chaos == "chaotic")
    if chaos == "chaotic":
        entries["lyapunov_time"] = Estimate(1 / lam, se / lam**2, "1 / lyapunov_max").to_dict()
    else:
        entries["lyapunov_time"] = {"value": None, "stderr": None, "method": "1 / lyapunov_max",
                                    "note": f"{chaos.replace('_', ' ')}: {reason}; no Lyapunov time"}
    if result.method == "delay":
        entries["kaplan_yorke_dimension"] = {"value": None, "stderr": None, "method": "Kaplan-Yorke formula",
                                             "note": "needs the full spectrum; only the largest exponent "
                                                     "of this delay equation is computed"}
    else:
        entries["kaplan_yorke_dimension"] = kaplan_yorke_estimate(result).to_dict()
    return entries


def _d0_spread(system: System, seed: int, options: dict[str, Any], main: LyapunovResult) -> dict[str, Any]:
    """λ1 at each separation of D0_SPREAD beside the main estimate's, each on half the main run's work."""
    d0s, values, errors = [main.settings.get("d0")], [main.maximum], [float(main.stderr[0])]
    failed = {}
    for d0 in D0_SPREAD:
        try:
            run = lyapunov_spectrum(system, seed=seed, d0=d0, max_steps=max(main.n_steps // 2, 1000),
                                    **options)
        except (DystsBenchError, ArithmeticError) as exc:  # the kernel may fail at one separation only
            failed[str(d0)] = f"{type(exc).__name__}: {exc}"
            continue
        d0s.append(run.settings.get("d0"))
        values.append(run.maximum)
        errors.append(float(run.stderr[0]))
    return {"d0": d0s, "lyapunov_max": values, "stderr": errors, "failed": failed,
            "note": "absolute separations (relative ones times the state's root mean square, at least 1); the "
                    "first is the main estimate's"}


def _correlation_entry(system: System, period: float) -> dict[str, Any]:
    # An irrational number of samples per period keeps a periodic orbit from being sampled at a few points.
    dt = period / (DIMENSION_PER_PERIOD + 1 / GOLDEN**2)
    if system.delay_lags:
        lag = max(system.delay_lags.values()) / 3
        fine = min(dt, lag / 4)
        step = max(1, round(lag / fine))
        stride = max(1, round(dt / fine))
        n = (DIMENSION_POINTS - 1) * stride + (DELAY_EMBEDDING - 1) * step + 1
        x = attractor_samples(system, fine, n)[:, 0]
        points = delay_embedding(x, DELAY_EMBEDDING, step)[::stride][:DIMENSION_POINTS]
        extra = {"embedding_dimension": DELAY_EMBEDDING, "embedding_lag": step * fine}
    else:
        points, changes = attractor_coordinates(system, attractor_samples(system, dt, DIMENSION_POINTS))
        extra = {"coordinates_changed": changes}
    est = correlation_dimension(points, theiler=DIMENSION_PER_PERIOD)
    return Estimate(est.value, est.stderr, est.method,
                    {**est.settings, "sample_interval": dt, **extra}).to_dict()


def _period_entry(system: System, period: float, timescales: dict[str, Any]) -> dict[str, Any]:
    dt = period / SPECTRUM_PER_PERIOD
    y, dropped = bounded_part(attractor_samples(system, dt, SPECTRUM_SAMPLES))
    excluded = {"excluded_coordinates": [system.state_names[i] for i in dropped]}
    try:
        est = dominant_period(y, dt)
    except DystsBenchError as exc:
        if system.period is None:
            raise
        entry = {"value": system.period, "stderr": None, "method": "the spec's period (fallback)",
                 "spec_period": system.period,
                 "settings": excluded, "note": f"no spectral period: {exc}"}
    else:
        entry = Estimate(est.value, est.stderr, est.method, {**est.settings, **excluded}).to_dict()
        if system.period is not None:
            power = relative_power(y, dt, system.period, est.settings["segment"])
            note = period_note(est.value, system.period, power)
            entry.update({"spec_period": system.period, **({"note": note} if note else {})})
    naturals = [natural_time(y[:, i], dt) for i in range(y.shape[1])]
    finite = [v for v in naturals if math.isfinite(v)]
    if not finite:
        raise DystsBenchError(f"{system.name}: no coordinate crosses its mean: no natural time scale")
    timescales["natural_time"] = float(np.median(finite))
    timescales["natural_times"] = naturals
    return entry


def period_note(measured: float, spec: float, spec_power: float) -> str | None:
    """Why the spectral period differs from the spec's by more than PERIOD_AGREEMENT (None if it does not)."""
    ratio = spec / measured
    if 1 / PERIOD_AGREEMENT <= ratio <= PERIOD_AGREEMENT:
        return None
    power = f"the spectrum at the spec's period has {spec_power:.2g} of the peak's power"
    n = round(ratio if ratio > 1 else 1 / ratio)
    if ratio > 1 and abs(ratio - n) <= 0.15:
        return (f"the highest spectral peak is harmonic {n} of the spec's period ({spec:.4g} = {ratio:.3g} x "
                f"this): a faster oscillation within the spec's cycle, such as a rotation within each lobe; "
                f"{power}")
    if ratio < 1 and abs(1 / ratio - n) <= 0.15:
        return (f"the highest spectral peak is at {n} times the spec's period ({spec:.4g}): a slow modulation "
                f"or period-{n} cycle that the spec's value does not count; {power}")
    return (f"the spec's period ({spec:.4g}, dysts's value) is {ratio:.3g} x the highest spectral peak, not a "
            f"whole multiple of it: it does not mark the spectrum's dominant oscillation; {power}")


def _ordinal_entries(system: System, timescales: dict[str, Any], spectrum: list[LyapunovResult]
                     ) -> dict[str, Any]:
    if "natural_time" not in timescales:
        raise DystsBenchError(f"{system.name}: the natural time is missing (the period computation failed)")
    t_nat = timescales["natural_time"]
    dt = recommended_dt(t_nat, ORDER, DELAY)
    try:
        samples = attractor_samples(system, dt, ORDINAL_SAMPLES)
    except IntegrationError:  # a slow system whose natural time spans many steps: a shorter series
        samples = attractor_samples(system, dt, ORDINAL_SAMPLES // 4)
    y, _ = bounded_part(samples)
    n_groups = 8
    length = y.shape[0] // n_groups
    # The system's pattern distribution pools its coordinates (averaging (H, C) pairs instead could
    # leave the plane's bounds); groups of the series give the standard error.
    per_coord = np.array([ordinal_distribution(y[:, i], ORDER, DELAY) for i in range(y.shape[1])])
    h, c = entropy_complexity_of(per_coord.mean(axis=0))
    groups = np.array([entropy_complexity_of(np.mean([ordinal_distribution(y[g * length: (g + 1) * length, i],
                                                                             ORDER, DELAY)
                                                        for i in range(y.shape[1])], axis=0))
                       for g in range(n_groups)])
    stderr = batch_stderr(groups, min_batches=n_groups)
    per_hc = np.array([entropy_complexity_of(p) for p in per_coord])
    settings = {"order": ORDER, "delay": DELAY, "sample_interval": dt, "n_samples": y.shape[0],
                "per_coordinate_entropy": per_hc[:, 0], "per_coordinate_complexity": per_hc[:, 1],
                "pooled_over": "the ordinal patterns of all coordinates (drifting ones excluded)"}
    method_h = "Bandt-Pompe permutation entropy (normalized), at PECCARY's recommended sampling"
    method_c = "Jensen-Shannon statistical complexity (Rosso et al. 2007), at PECCARY's recommended sampling"
    ratios: dict[str, Any] = {"spec_dt": pattern_time_ratio(system.dt, t_nat, ORDER, DELAY)}
    if spectrum and spectrum[0].chaotic:
        dataset_dt = 1 / spectrum[0].maximum / DATASET_POINTS_PER_TAU
        ratios["dataset"] = pattern_time_ratio(dataset_dt, t_nat, ORDER, DELAY)
        ratios["dataset_dt"] = dataset_dt
        ratios["dataset_verdict"] = sampling_verdict(ratios["dataset"])
    return {
        "permutation_entropy": Estimate(h, stderr[0], method_h, settings).to_dict(),
        "statistical_complexity": Estimate(c, stderr[1], method_c, settings).to_dict(),
        "ideal_sampling": {
            "value": dt, "stderr": None,
            "method": "PECCARY: pattern time (order - 1) * delay * dt = 0.4 natural time",
            "natural_time": t_nat, "natural_times": timescales.get("natural_times"),
            "recommended_dt": dt, "pattern_time_ratio": ratios,
            "settings": {"order": ORDER, "delay": DELAY, "ideal_ratio": [0.3, 0.5],
                         "natural_time_method": "median over coordinates of the mean period of crossings "
                                                "of the mean"},
        },
    }


def sidecar_path(system: System) -> Path:
    """The sidecar file of a registry system."""
    path = system.sidecar_path
    if path is None:
        raise DystsBenchError(f"{system.name}: a system built in memory has no sidecar file")
    return path


def write_sidecar(system: System, invariants: dict[str, Any]) -> Path:
    """Write the invariants next to the system's spec (checked to be a valid record first); returns the path."""
    path = sidecar_path(system)
    data = jsonable(invariants)
    Invariants.parse(data, str(path), f"dysts-bench invariants {system.name}@{system.version} --write")
    return write_atomic(path, json.dumps(data, indent=1) + "\n")


def read_sidecar(system: System) -> Invariants:
    """The stored invariants of a system (none if not computed), checked against its spec hash, read afresh."""
    return system.read_invariants()
