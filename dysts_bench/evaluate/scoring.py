"""Scoring one system: fit (unless already fitted), forecast every test initial condition, compute metrics.

Every failure of the forecaster is caught and recorded (`error` for an exception, `invalid` for a
wrong shape or non-finite values), so one broken forecast never stops a run. Records go out one at a
time through `emit`, so a worker process can stream them to the harness as they come.

Long-term statistics (protocol 2, docs/protocol.md): where the test split has `long_term`, the
forecaster is asked, from the first contexts, for a long free run (the same `predict(context, n)`),
and D_stsp and D_H compare it with the archive's true continuation (`<split>_long`) after the
discarded lead-in. Their floors compare pairs of those true continuations. A long run that fails has
its own status (`long_status`); the short-term scores of the same initial condition stand.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.errors import ChecksumError
from ..data.load import Archive, open_archive
from ..data.manifest import array_sha256
from ..forecast.protocol import (
    ForecasterError,
    as_context,
    as_series,
    check_prediction,
    clone,
    fitted_params,
    identified_equations,
    tags_of,
)
from ..system import get_system
from .long_term import d_h, d_stsp
from .metrics import LONG_TERM, METRICS, VALID_TIMES, WINDOW_NAMES, compute_metrics
from .recovery import mismatch, recovery, reproduces, terms_of
from .results import MAX_TERMS
from .traces import TraceBuilder

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Job:
    """What to score: one system of an archive, with the window and splits to use."""

    archive: str
    system: str
    fit_split: str
    test_split: str
    context: int
    horizon: int
    max_ics: int | None = None
    refit: bool = True         # per-system mode; False: the forecaster was fitted already (zero-shot)
    long_length: int | None = None   # points of each long free run (the test split's long_term), if any
    long_discard: int = 0            # leading points of a long run left out of its statistics


@dataclass(frozen=True)
class SystemData:
    """The arrays and scales of one system that scoring needs."""

    train: list[np.ndarray]
    test: np.ndarray          # (ic, time, dim)
    long: np.ndarray | None   # (ic, context + long_length, dim): true long continuations, clean
    dt: float
    lyapunov_max: float | None
    sigma: np.ndarray         # per-coordinate std of the training trajectories
    version: int | None


def read_split(archive: Archive, system: str, split: str) -> tuple[np.ndarray, Any]:
    """One split of a system as float64 (ic, time, dim), checked against the archive's manifest, and its Dataset."""
    ds = archive.dataset(system, split)
    array = np.asarray(ds[split].values, dtype=np.float64)
    # The arrays scored on are the ones the manifest names: a changed value never gets a score.
    if array_sha256(array) != archive.manifest["systems"][system]["arrays"].get(split, {}).get("sha256"):
        raise ChecksumError(f"{archive.location}: {system}/{split} differs from its checksum in the archive's "
                            f"manifest; download or generate the archive again "
                            f"(`dysts-bench data verify {archive.location}` lists all)")
    return array, ds


def read_system(job: Job) -> SystemData:
    """Load one system's fit and test splits from the archive."""
    archive = open_archive(job.archive)

    def values(split: str) -> tuple[np.ndarray, Any]:
        return read_split(archive, job.system, split)

    train, _ = values(job.fit_split)
    test_values, test = values(job.test_split)
    long = values(f"{job.test_split}_long")[0] if job.long_length is not None else None
    if job.max_ics is not None:
        test_values = test_values[: job.max_ics]
        long = None if long is None else long[: job.max_ics]
    lam = test.attrs.get("lyapunov_max")
    return SystemData(
        train=list(train),
        test=test_values,
        long=long,
        dt=float(test[job.test_split].attrs.get("dt", test.attrs["dt"])),
        lyapunov_max=float(lam) if lam is not None and lam > 0 else None,
        sigma=train.reshape(-1, train.shape[-1]).std(axis=0),
        version=test.attrs.get("version"),
    )


def truth_floors(data: SystemData, job: Job) -> dict[str, float | None]:
    """D_stsp and D_H between true trajectories of different initial conditions: the best a forecast can do.

    `d_stsp`, `d_h`: between consecutive pairs of the long true continuations (what the long runs are
    compared with); `*_window`: between the true futures of the forecast window.
    """
    futures = data.test[:, job.context: job.context + job.horizon]
    floors = _pair_means(futures, WINDOW_NAMES)
    long = None if data.long is None else data.long[:, job.context + job.long_discard:]
    return {**floors, **_pair_means(long, {m: m for m in LONG_TERM})}


def _pair_means(series: np.ndarray | None, names: dict[str, str]) -> dict[str, float | None]:
    """The mean D_stsp and D_H over consecutive pairs of series, under the given names."""
    if series is None or len(series) < 2:
        return dict.fromkeys(names.values())
    values = {"d_stsp": d_stsp(series[:-1], series[1:]), "d_h": d_h(series[:-1], series[1:])}
    return {names[m]: float(np.mean(values[m])) for m in names}


def score_system(forecaster: Any, job: Job, emit: Emit) -> None:
    """Fit (per-system mode) and forecast each test initial condition, emitting events and records.

    Events: {"event": "data", ...} once the data is read, {"event": "fitted", "seconds": s} after fit,
    then {"event": "record", "record": {...}} per initial condition, {"event": "long", ...} per long run,
    and {"event": "trace", "trace": {...}} with parts of what the system page draws (traces.py).
    """
    data = read_system(job)
    n_long = 0 if data.long is None else len(data.long)
    emit({"event": "data", "n_ics": len(data.test), "n_long": n_long})
    fit_seconds, chosen, identified = None, {}, None  # zero-shot: one fit for all systems, made before
    if job.refit:
        model = clone(forecaster)
        if hasattr(model, "set_system"):
            model.set_system(get_system(job.system, data.version))
        start = time.perf_counter()
        try:
            fitted = model.fit(as_series(data.train), dt=data.dt)
            if fitted is not model:
                raise ForecasterError("fit did not return self")
            chosen = fitted_params(model)
            identified = identified_equations(model, len(data.sigma))
        except BaseException as exc:  # a forecaster's SystemExit or KeyboardInterrupt is its failure too
            message = f"fit failed: {_describe(exc)}"
            for ic in range(len(data.test)):
                emit({"event": "record", "record": _record(job.system, ic, "error", message)})
            for ic in range(n_long):
                emit(long_event(ic, "error", message))
            return
        fit_seconds = time.perf_counter() - start
        forecaster = model
    emit({"event": "fitted", "seconds": fit_seconds})
    inputs = {"dt": data.dt, "sigma": data.sigma}
    equations = _Equations(job, data, identified) if identified is not None else None
    traces = TraceBuilder(data.sigma, job.long_discard)
    for ic, trajectory in enumerate(data.test):
        context = trajectory[: job.context]
        truth = trajectory[job.context: job.context + job.horizon]
        start = time.perf_counter()
        try:
            raw = forecaster.predict(as_context(context), job.horizon)
            seconds = time.perf_counter() - start
            prediction = check_prediction(raw, job.horizon, truth.shape[1])
        except ForecasterError as exc:
            emit({"event": "record", "record": _record(job.system, ic, "invalid", str(exc))})
            continue
        except BaseException as exc:
            emit({"event": "record", "record": _record(job.system, ic, "error", f"predict failed: {_describe(exc)}")})
            continue
        metrics = window_metrics(truth, prediction, context, inputs, data.lyapunov_max)
        record = _record(job.system, ic, "ok", "", metrics, fit_seconds, seconds)
        record["fitted_params"] = chosen
        if equations is not None:
            record.update(equations.entries(context, prediction))
        record["censored"] = censored(metrics, job.horizon * data.dt * (data.lyapunov_max or 0.0))
        emit({"event": "record", "record": record})
        traces.add(ic, truth, prediction)
    if (event := traces.short_event()) is not None:
        emit(event)
    for ic in range(n_long):
        event, run = _long_run(forecaster, job, data, ic)
        emit(event)
        if run is not None and (trace := traces.long_event(ic, run)) is not None:
            emit(trace)


class _Equations:
    """The identified equations of an equation learner and their recovery score, for each ok record.

    The score counts only if the equations reproduce the forecaster's first successful forecast: an
    equation learner cannot claim terms it does not forecast with.
    """

    def __init__(self, job: Job, data: SystemData, field: Any):
        self.field, self.dt, self.sigma = field, data.dt, data.sigma
        self.terms = terms_of(field)
        self.recovery: dict[str, Any] | None = None
        if len(self.terms) > MAX_TERMS:
            self.recovery = {"status": "too_many_terms",
                             "message": f"{len(self.terms)} identified terms, more than {MAX_TERMS} kept"}
            self.terms = None
        else:
            self.score = recovery(get_system(job.system, data.version), field)

    def entries(self, context: np.ndarray, prediction: np.ndarray) -> dict[str, Any]:
        """The record's `equations` and `recovery`."""
        if self.recovery is None:
            matches = reproduces(self.field, context[-1], prediction, self.dt, self.sigma)
            self.recovery = self.score if matches else mismatch(
                "integrating the identified equations from the context's last state does not reproduce the "
                "forecast: they are not what the forecaster forecasts with")
        return {"equations": self.terms, "recovery": self.recovery}


def _long_run(forecaster: Any, job: Job, data: SystemData, ic: int) -> tuple[dict[str, Any], np.ndarray | None]:
    """The long free run from one test context, scored against its true continuation: a `long` event and
    the run (None if it failed)."""
    context = data.test[ic, : job.context]
    truth = data.long[ic, job.context:]
    start = time.perf_counter()
    try:
        raw = forecaster.predict(as_context(context), job.long_length)
        seconds = time.perf_counter() - start
        prediction = check_prediction(raw, job.long_length, truth.shape[1])
    except ForecasterError as exc:
        return long_event(ic, "invalid", f"long run: {exc}"), None
    except BaseException as exc:
        return long_event(ic, "error", f"long run failed: {_describe(exc)}"), None
    kept = slice(job.long_discard, None)
    metrics = {"d_stsp": float(d_stsp(truth[kept], prediction[kept])),
               "d_h": float(d_h(truth[kept], prediction[kept]))}
    return long_event(ic, "ok", "", metrics, seconds), prediction


def long_event(ic: int, status: str, message: str, metrics: dict[str, float] | None = None,
               seconds: float | None = None) -> dict[str, Any]:
    """The event that reports one long run (its metrics join the record of the same initial condition)."""
    return {"event": "long", "ic": ic, "status": status, "message": message,
            "metrics": metrics or dict.fromkeys(LONG_TERM), "seconds": seconds}


def window_metrics(truth: np.ndarray, prediction: np.ndarray, context: np.ndarray, inputs: dict[str, Any],
                   lyapunov_max: float | None) -> dict[str, float | None]:
    """A record's metrics of one forecast over the window (the long-term statistics left to the long runs)."""
    names = [n for n in METRICS if lyapunov_max is not None or "lyapunov_max" not in METRICS[n].needs]
    values = compute_metrics(truth, prediction, names, context=context, lyapunov_max=lyapunov_max, **inputs)
    out: dict[str, float | None] = {WINDOW_NAMES.get(n, n): None for n in METRICS}
    out.update({WINDOW_NAMES.get(k, k): float(v) for k, v in values.items()})
    # On the window the long-term statistics saturate; the long runs fill these in.
    out.update(dict.fromkeys(LONG_TERM))
    return out


def censored(metrics: dict[str, float | None], horizon: float) -> list[str]:
    """The valid prediction times that reached the horizon (in τ) without crossing their threshold."""
    # No crossing gives exactly n·dt·λ; a crossing at the last step gives (n − 1)·dt·λ (see metrics.py).
    return [m for m in VALID_TIMES if (v := metrics.get(m)) is not None and horizon > 0
            and math.isclose(v, horizon, rel_tol=1e-9)]


def _record(system: str, ic: int, status: str, message: str, metrics: dict | None = None,
            fit_seconds: float | None = None, predict_seconds: float | None = None) -> dict[str, Any]:
    return {"system": system, "ic": ic, "status": status, "message": message, "metrics": metrics or {},
            "fit_seconds": fit_seconds, "predict_seconds": predict_seconds}


def _describe(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {where.filename}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{at}"


def per_coordinate(forecaster: Any) -> Any:
    """The forecaster itself if multivariate, else a wrapper that forecasts each coordinate on its own."""
    return forecaster if tags_of(forecaster).multivariate else PerCoordinate(forecaster)


class PerCoordinate:
    """Runs a univariate forecaster once per coordinate (for forecasters tagged multivariate=False)."""

    def __init__(self, forecaster: Any):
        self.forecaster = forecaster
        self.name = getattr(forecaster, "name", type(forecaster).__name__)

    def set_system(self, system: Any) -> None:
        """Pass the system on to the wrapped forecaster if it wants it."""
        if hasattr(self.forecaster, "set_system"):
            self.forecaster.set_system(system)

    def fit(self, series: list[np.ndarray], *, dt: float) -> PerCoordinate:
        """Fit one clone per coordinate."""
        dim = series[0].shape[1]
        self.models_ = [clone(self.forecaster).fit([s[:, [d]] for s in series], dt=dt) for d in range(dim)]
        return self

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """Stack the coordinates' forecasts."""
        return np.hstack([m.predict(as_context(context[:, [d]]), horizon) for d, m in enumerate(self.models_)])

    def get_params(self) -> dict[str, Any]:
        """The wrapped forecaster (so that clone gives a fresh wrapper)."""
        return {"forecaster": self.forecaster}
