"""`evaluate`: score a forecaster on an archive, per system or zero-shot, streaming and resumable.

Records of each finished system are appended to `<out>.partial.jsonl` as soon as the system is done;
a rerun of the same command skips those systems. At the end the results file is assembled, validated
by its schema and written atomically, and the partial file is removed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..data.config import released_configs
from ..data.load import open_archive
from ..data.manifest import dataset_hash, released_differences
from ..errors import DystsBenchError
from ..forecast.protocol import ForecasterError, as_series, clone, get_params, name_of, tags_of
from ..machine import cpu_model
from ..parallel import map_unordered
from .predictions import Predictions
from .results import (
    PROTOCOL,
    Conventions,
    DatasetInfo,
    Environment,
    ForecasterInfo,
    Record,
    Results,
    SystemSummary,
    TrainData,
    save_results,
)
from .scoring import Job, per_coordinate, read_split, read_system, score_system, truth_floors
from .summary import summarize_records
from .worker import run_with_timeout

log = logging.getLogger(__name__)


class EvaluationError(DystsBenchError):
    """An evaluation cannot run as asked (bad arguments, another run's partial results)."""


def evaluate(
    forecaster: Any,
    data: str | Path,
    out: str | Path,
    *,
    systems: Sequence[str] | None = None,
    mode: str = "per-system",
    train_systems: Sequence[str] | None = None,
    train_data: str | Path | None = None,
    fit_split: str = "train",
    test_split: str = "test",
    max_ics: int | None = None,
    timeout: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    source: str = "",
    command: str = "",
    progress: bool = True,
) -> Results:
    """Score `forecaster` on the archive at `data` and write the results file `out`.

    mode "per-system": a clone is fitted on each system's `fit_split`, then forecasts each test
    initial condition from its context. mode "zero-shot": one clone is fitted on the `fit_split` of
    `train_systems` and scores every other system; with `train_data`, another archive (a corpus of generated
    systems) gives the systems to fit on, all of them by default, none deriving from a scored one. mode
    "predictions": forecasts made elsewhere, replayed from a contexts store by `predictions.Predictions` (see
    `score_predictions`). `timeout` (seconds per fit or forecast) runs each system in a worker process that is
    stopped when it overruns.
    """
    out = Path(out)
    archive = open_archive(data)
    test_attrs = archive.config["splits"].get(test_split) or {}
    context, horizon = test_attrs.get("context"), test_attrs.get("horizon")
    long_term = test_attrs.get("long_term")
    train_archive = archive if train_data is None else open_archive(train_data)
    # The scored archive's fit split is read too: its spread normalizes the forecast error.
    for role, split, where in (("fit", fit_split, archive), ("fit", fit_split, train_archive),
                               ("test", test_split, archive)):
        if split not in where.splits:
            raise EvaluationError(f"{where.location}: the archive's splits are {where.splits}; choose --{role}-split "
                                  "among them")
    if not context or not horizon:
        raise EvaluationError(f"{data}: split {test_split!r} has no context/horizon window; choose a split "
                              "that has one (the config's `context` and `horizon`)")
    names = _choose_systems(archive.systems, systems, data)
    forecaster = per_coordinate(forecaster)
    if mode not in ("per-system", "zero-shot", "predictions"):
        raise EvaluationError(f"unknown mode {mode!r}; choose per-system, zero-shot or predictions")
    train: list[str] = []
    parents: dict[str, list[str]] = {}   # a training system -> the registry systems it derives from
    if train_data is not None and mode != "zero-shot":
        raise EvaluationError("--train-data is for --mode zero-shot (a model fitted once on another archive)")
    if mode == "zero-shot":
        if not train_systems and train_data is None:
            raise EvaluationError("zero-shot mode needs --train-systems or --train-data (what to fit on)")
        train = _choose_systems(train_archive.systems, train_systems, train_data or data)
        names = [n for n in names if n not in train]
        parents = {n: train_archive.manifest["systems"][n].get("parents", []) for n in train}
        _refuse_derived(parents, names, train_archive.location)
    info = ForecasterInfo(name=name_of(forecaster), version=str(getattr(forecaster, "version", "0")),
                          params=_jsonable(get_params(forecaster)), tags=tags_of(forecaster).as_dict(),
                          source=source)
    differences = released_differences(archive.manifest)
    if differences and archive.manifest["config_name"] in released_configs():
        log.warning("%s is NOT the released %r dataset (differs in: %s): its results carry the archive's own "
                    "content hash, which the leaderboard does not accept; use `dysts-bench data download %s` or "
                    "`dysts-bench data generate --config %s` on this version", data, archive.manifest["config_name"],
                    ", ".join(differences[:5]) + (" ..." if len(differences) > 5 else ""),
                    archive.manifest["config_name"], archive.manifest["config_name"])
    dataset = DatasetInfo(config=archive.manifest["config_name"], config_hash=archive.manifest["config_hash"],
                          manifest_hash=dataset_hash(archive.manifest), path=str(data),
                          splits={"fit": fit_split, "test": test_split}, context=context, horizon=horizon,
                          long_term=long_term)
    train_info = None if train_data is None else TrainData(
        config=train_archive.manifest["config_name"], config_hash=train_archive.manifest["config_hash"],
        manifest_hash=dataset_hash(train_archive.manifest), path=str(train_data), split=fit_split,
        systems=len(train), parents=sorted({p for of in parents.values() for p in of}))
    header = {"forecaster": info.model_dump(), "dataset": dataset.model_dump(), "mode": mode,
              "train_systems": list(train), "max_ics": max_ics,
              **({} if train_info is None else {"train_data": train_info.model_dump()})}
    out.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        done = _resume(out, header, overwrite)
        todo = [n for n in names if n not in done]
        if done:
            log.info("resuming %s: %d systems already scored, %d to go", out, len(done), len(todo))
        jobs = [Job(str(archive.location), n, fit_split, test_split, context, horizon, max_ics,
                    refit=mode != "zero-shot", long_length=long_term and long_term["length"],
                    long_discard=long_term["discard"] if long_term else 0) for n in todo]
        fit_seconds = None
        if mode == "zero-shot" and jobs:
            started = time.perf_counter()
            forecaster = _fit_global(forecaster, train_archive.location, train, fit_split)
            fit_seconds = time.perf_counter() - started
        partial = _partial_path(out)
        with partial.open("a") as fh:
            for outcome in _progress(_run(forecaster, jobs, timeout, workers, scheduler), len(jobs), progress):
                fh.write(json.dumps(outcome) + "\n")
                fh.flush()
                done[outcome["system"]] = outcome
        results = _assemble(info, dataset, mode, train, [done[n] for n in names if n in done], command, train_info,
                            fit_seconds)
        save_results(results, out)
        partial.unlink(missing_ok=True)
    return results


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold `<out>.lock` so that two runs do not both write `out`."""
    import fcntl

    lock = out.with_name(out.name + ".lock")
    with lock.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            raise EvaluationError(f"another evaluation (pid {pid}) is writing {out}; wait for it to finish, "
                                  "or choose another --out") from None
        fh.truncate(0)
        fh.write(str(os.getpid()))
        fh.flush()
        yield  # the file stays: removing it would let a third run lock a new file while this one holds the old


def _refuse_derived(parents: dict[str, list[str]], scored: list[str], location: str) -> None:
    """Raise if a training system derives from a scored one (`parents`: as their manifest entries record)."""
    held = set(scored)
    derived = {n: hit for n, of in parents.items() if (hit := sorted(held.intersection(of)))}
    if derived:
        shown = "; ".join(f"{n} from {', '.join(p)}" for n, p in list(derived.items())[:5])
        raise EvaluationError(f"{location}: {len(derived)} training systems derive from systems "
                              f"scored here ({shown}): a zero-shot score must not have seen them; generate the "
                              "corpus with `exclude_parents` covering the scored systems, or score fewer")


def _choose_systems(available: list[str], wanted: Sequence[str] | None, data: str | Path) -> list[str]:
    if not wanted:
        return list(available)
    missing = [n for n in wanted if n not in available]
    if missing:
        raise EvaluationError(f"{data} holds no system(s) {missing}; it holds: {', '.join(available)}")
    return list(wanted)


def _partial_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial.jsonl")


def _resume(out: Path, header: dict, overwrite: bool) -> dict[str, dict]:
    """Systems already scored by an interrupted run of the same command (empty when starting afresh).

    A partial file of the same run resumes, with or without `overwrite` (which replaces the finished
    results file, so that a killed re-make picks up where it stopped); one of another run is an error,
    or with `overwrite` discarded.
    """
    partial = _partial_path(out)
    if out.exists() and not overwrite:
        raise EvaluationError(f"{out} exists; pass --overwrite to replace it, or choose another --out")
    if partial.exists():
        lines = partial.read_text().splitlines()
        if lines and _parse(lines[0]) == header:
            # A line cut short by a kill is dropped: that system is scored again.
            return {o["system"]: o for o in map(_parse, lines[1:]) if o is not None}
        if not overwrite:
            raise EvaluationError(f"{partial} holds partial results of a different run (another forecaster, "
                                  "dataset or option); pass --overwrite to discard them")
    partial.write_text(json.dumps(header) + "\n")
    return {}


def _parse(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _fit_global(forecaster: Any, location: str, train: list[str], fit_split: str) -> Any:
    """Zero-shot: one clone fitted on the training systems' series (all at the dt of the first)."""
    archive = open_archive(location)
    series, dt = [], None
    for name in train:
        values, ds = read_split(archive, name, fit_split)
        series += list(values)
        dt = dt or float(ds[fit_split].attrs.get("dt", ds.attrs["dt"]))
    log.info("fitting %s on %d series of %d systems", name_of(forecaster), len(series), len(train))
    model = clone(forecaster)
    fitted = model.fit(as_series(series), dt=dt)
    if fitted is not model:
        raise ForecasterError(f"{name_of(forecaster)}.fit did not return self")
    return model


def _run(forecaster: Any, jobs: list[Job], timeout: float | None, workers: int | None,
         scheduler: str | None) -> Iterator[dict]:
    """Outcomes of the jobs, in completion order: in this process, or on a Dask cluster."""
    for _, outcome in map_unordered(lambda job: score_one(forecaster, job, timeout), jobs, workers=workers,
                                    scheduler=scheduler):
        yield outcome


def score_one(forecaster: Any, job: Job, timeout: float | None) -> dict:
    """All records of one system (never raises for a forecaster's failure)."""
    # The harness's own read of the archive: the version, Lyapunov time and floors never pass through
    # the forecaster's process.
    data = read_system(job)
    outcome: dict[str, Any] = {
        "system": job.system, "records": [], "version": data.version,
        "lyapunov_time": None if data.lyapunov_max is None else 1.0 / data.lyapunov_max,
        "floors": truth_floors(data, job)}

    def emit(event: dict) -> None:
        if event["event"] == "record":
            outcome["records"].append(event["record"])
        elif event["event"] == "long":
            # Short records come first, one per initial condition: the long run joins its own.
            record = next(r for r in outcome["records"] if r["ic"] == event["ic"])
            record["metrics"] = {**record["metrics"], **event["metrics"]}
            record.update(long_status=event["status"], long_message=event["message"],
                          long_seconds=event["seconds"])
        elif event["event"] == "trace":
            outcome.setdefault("trace", {}).update(event["trace"])
        elif event["event"] == "failed":
            outcome["records"].append({"system": job.system, "ic": 0, "status": event["status"],
                                       "message": event["message"], "metrics": {}})

    if timeout is None:
        score_system(forecaster, job, emit)
    else:
        run_with_timeout(forecaster, job, emit, timeout)
    return outcome


def _progress(outcomes: Iterator[dict], total: int, enabled: bool) -> Iterator[dict]:
    from tqdm.auto import tqdm

    with tqdm(total=total, unit="system", disable=not enabled or total == 0, desc="evaluate") as bar:
        for outcome in outcomes:
            ok = sum(r["status"] == "ok" for r in outcome["records"])
            bar.set_postfix_str(f"{outcome['system']} {ok}/{len(outcome['records'])} ok")
            bar.update()
            yield outcome


def _assemble(info: ForecasterInfo, dataset: DatasetInfo, mode: str, train: list[str], outcomes: list[dict],
              command: str, train_data: TrainData | None = None, fit_seconds: float | None = None) -> Results:
    records = [Record.model_validate(r) for o in outcomes for r in o["records"]]
    totals, summary = summarize_records(records)
    systems = {
        o["system"]: SystemSummary(
            system=o["system"], version=o["version"], lyapunov_time=o["lyapunov_time"],
            n_ok=totals[o["system"]].n_ok, n_failed=totals[o["system"]].n_failed,
            metrics=totals[o["system"]].metrics, censored=totals[o["system"]].censored, floors=o["floors"],
            trace=o.get("trace"))
        for o in outcomes if o["system"] in totals
    }
    return Results(protocol=PROTOCOL, mode=mode, forecaster=info, dataset=dataset, conventions=Conventions(),
                   environment=environment(command), records=records, systems=systems, summary=summary,
                   train_systems=train, train_data=train_data, fit_seconds=fit_seconds)


def environment(command: str = "") -> Environment:
    """The package versions and machine a result was produced with."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("numpy", "scipy", "numba", "xarray", "zarr", "torch", "darts"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            continue
    return Environment(package_version=__version__, python=sys.version.split()[0],
                       platform=platform.platform(), cpu=cpu_model(), packages=packages,
                       date=datetime.now(UTC).isoformat(timespec="seconds"), command=command)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters as JSON values (anything else by its repr)."""
    return json.loads(json.dumps(params, default=repr))


def score_predictions(predictions: str | Path, data: str | Path, out: str | Path, *, name: str,
                      **options: Any) -> Results:
    """Score the forecasts written into a contexts store (`dysts-bench data contexts`) as `evaluate` scores a
    forecaster: the same metrics and results format, with mode `predictions`."""
    if not Path(predictions).exists():
        raise EvaluationError(f"{predictions}: no such contexts store; write one with `dysts-bench data contexts "
                              f"--data {data} --out {predictions}` and add your forecasts to it")
    return evaluate(Predictions(str(predictions), name), data, out, mode="predictions",
                    source=f"predictions:{predictions}", **options)
