"""Checks of a submitted results file: schema, a known dataset, and summaries that follow from the records.

The known datasets are the released configs' committed manifests (`data/manifests/<config>.json`).
A results file names its dataset by `dataset.manifest_hash`: the SHA-256 of the manifest JSON file's
bytes (`manifest_file_hash`). The manifest's `identity_hash` (recomputed from its entries: the arrays
and the metadata they are read by, whatever the JSON layout) is accepted as well; a stored
`content_hash` field is never trusted.

Each system's trace (what its page draws, evaluate/traces.py) must have the shapes `evaluate` writes and
point at successful records; with the archive (`--data`), the kept forecast's record is rescored from it.

The summaries are recomputed by `summarize_records`: per system, the median over its successful
forecasts (status `ok`, metric not null) of each metric; overall, the median and the mean over systems
of those per-system medians, and the number of systems without any successful forecast.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.manifest import MANIFEST_DIR, identity_hash, manifest_file_hash
from ..errors import DystsBenchError
from ..evaluate.metrics import VALID_TIMES
from ..evaluate.recovery import field_of, recovery
from ..evaluate.results import HEADLINE_METRICS, PROTOCOL, Packed, Results, Trace, load_results
from ..evaluate.scoring import Job, read_system, truth_floors, window_metrics
from ..evaluate.summary import summarize_records
from ..evaluate.traces import MAX_ERROR_POINTS, MAX_LONG_POINTS, stride_for
from ..system import get_system, list_systems

# The fix for any summary that does not follow from the records.
REGENERATE = "write the file with `dysts-bench evaluate` rather than editing it"
# Summaries are written from the same floats; anything beyond rounding is an inconsistency.
REL_TOL = 1e-9
ABS_TOL = 1e-12


@dataclass(frozen=True)
class KnownDataset:
    """A committed manifest: which config it belongs to, and where it is."""

    config: str
    config_hash: str
    path: Path


def known_manifests(directory: str | Path = MANIFEST_DIR) -> dict[str, KnownDataset]:
    """Accepted manifest hash -> the dataset it identifies, over the manifests committed in `directory`."""
    known: dict[str, KnownDataset] = {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            manifest = json.loads(path.read_text())
            dataset = KnownDataset(str(manifest["config_name"]), str(manifest["config_hash"]), path)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a manifest; `dysts-bench data verify` reports on those
        known[manifest_file_hash(path)] = dataset
        try:
            known[identity_hash(manifest)] = dataset
        except (KeyError, TypeError, AttributeError):
            continue  # no system entries to identify the data by
    return known


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _compare(where: str, given: Mapping[str, float | None], expected: Mapping[str, float | None],
             required: Iterable[str] = (), source: str = "the records") -> list[str]:
    """Differences between a file's metric values and the recomputed ones, one message each."""
    problems = [f"{where} lacks {m!r} (recomputed: {expected[m]!r}): add it"
                for m in required if m in expected and m not in given]
    for m, value in given.items():
        if m not in expected:
            if value is not None:
                problems.append(f"{where}.{m} = {value!r}, but no successful record has {m!r}: remove it or "
                                "add the records")
        elif not _same(value, expected[m]):
            problems.append(f"{where}.{m} = {value!r}, but {source} give {expected[m]!r}: {REGENERATE}")
    return problems


def _dataset_problems(results: Results, known: Mapping[str, KnownDataset]) -> list[str]:
    ds = results.dataset
    dataset = known.get(ds.manifest_hash)
    if dataset is None:
        released = sorted({k.config for k in known.values()})
        offer = f"the released ones are {', '.join(released)}" if released else "none is committed yet"
        return [f"dataset.manifest_hash {ds.manifest_hash[:16]}… is not the hash of a committed manifest in "
                f"data/manifests/ ({offer}): evaluate on a released dataset (`dysts-bench data download` or "
                "`db.data.load(NAME)`) so that results are comparable"]
    problems = []
    if ds.config != dataset.config:
        problems.append(f"dataset.config is {ds.config!r} but the manifest hash is that of {dataset.config!r} "
                        f"({dataset.path.name}): correct dataset.config")
    if ds.config_hash != dataset.config_hash:
        problems.append(f"dataset.config_hash {ds.config_hash[:16]}… differs from the manifest's "
                        f"{dataset.config_hash[:16]}…: the file was made with another config")
    return problems + _released_system_problems(results, dataset)


def _released_system_problems(results: Results, dataset: KnownDataset) -> list[str]:
    """Each system summary's version, Lyapunov time and floors against what the released dataset fixes."""
    released = manifest_systems(dataset.path)
    problems = []
    for name, summary in sorted(results.systems.items()):
        where = f"systems.{name}"
        entry = released.get(name)
        if entry is None or entry.get("status") != "ok":
            problems.append(f"{where}: the released {dataset.config!r} dataset has no arrays for {name!r}: "
                            f"{REGENERATE}")
            continue
        if summary.version != entry.get("version"):
            problems.append(f"{where}.version = {summary.version!r}, but the released dataset has version "
                            f"{entry.get('version')!r}: {REGENERATE}")
        expected = (entry.get("timescale") or {}).get("lyapunov_time")
        if not _same(summary.lyapunov_time, expected):
            problems.append(f"{where}.lyapunov_time = {summary.lyapunov_time!r}, but the released dataset has "
                            f"{expected!r}: {REGENERATE}")
        for metric, floor in summary.floors.items():
            if floor is not None and not (math.isfinite(floor) and floor >= 0):
                problems.append(f"{where}.floors.{metric} = {floor!r}: a divergence is finite and >= 0; "
                                f"{REGENERATE}")
    return problems


@functools.lru_cache(maxsize=8)
def manifest_systems(path: Path) -> dict[str, dict]:
    """The `systems` entries of a committed manifest file (read once per build or check)."""
    return json.loads(path.read_text())["systems"]


def floor_problems(results: Results, data: str | Path) -> list[str]:
    """The file's truth-vs-truth floors against those recomputed from the archive at `data`."""
    ds, problems = results.dataset, []
    long_term = ds.long_term or {}
    for name, summary in sorted(results.systems.items()):
        job = Job(str(data), name, ds.splits.get("fit", "train"), ds.splits.get("test", "test"), ds.context,
                  ds.horizon, long_length=long_term.get("length"), long_discard=long_term.get("discard", 0))
        expected = truth_floors(read_system(job), job)
        problems += _compare(f"systems.{name}.floors", summary.floors, expected, source="the archive's truths")
    return problems


def _record_problems(results: Results) -> list[str]:
    problems = []
    keys = Counter((r.system, r.ic) for r in results.records)
    problems += [f"records: {n} records for system {s!r} initial condition {ic}; keep one"
                 for (s, ic), n in sorted(keys.items()) if n > 1]
    registry = set(list_systems())
    for name in sorted({r.system for r in results.records} - registry):
        close = difflib.get_close_matches(name, sorted(registry), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"records: system {name!r} is not in the registry{hint}")
    if results.mode == "zero-shot":
        leaked = sorted(set(results.train_systems) & {r.system for r in results.records})
        if leaked:
            problems.append(f"train_systems: a zero-shot forecaster was scored on systems it was trained on: "
                            f"{', '.join(leaked)}; score it on held-out systems or use mode per-system")
        derived = sorted(set(results.train_data.parents if results.train_data else ()) &
                         {r.system for r in results.records})
        if derived:
            problems.append(f"train_data.parents: a zero-shot forecaster was scored on systems its training corpus "
                            f"derives from: {', '.join(derived)}; generate the corpus with them excluded")
    elif results.train_data is not None:
        problems.append("train_data: only a zero-shot result is fitted on another archive; remove it or use mode "
                        "zero-shot")
    return problems


def _summary_problems(results: Results) -> list[str]:
    totals, summary = summarize_records(results.records)
    problems = []
    for name in sorted(set(totals) - set(results.systems)):
        problems.append(f"systems: no summary for {name!r}, which has records: add it")
    for name in sorted(set(results.systems) - set(totals)):
        problems.append(f"systems.{name}: a summary without any record: remove it or add the records")
    for name in sorted(set(totals) & set(results.systems)):
        given, expected = results.systems[name], totals[name]
        where = f"systems.{name}"
        if given.system != name:
            problems.append(f"{where}.system is {given.system!r}: it must repeat the key {name!r}")
        for count in ("n_ok", "n_failed"):
            if getattr(given, count) != getattr(expected, count):
                problems.append(f"{where}.{count} = {getattr(given, count)}, but the records give "
                                f"{getattr(expected, count)}: {REGENERATE}")
        problems += _compare(f"{where}.metrics", given.metrics, expected.metrics)
        if sorted(given.censored) != sorted(expected.censored):
            problems.append(f"{where}.censored = {given.censored!r}, but the records give {expected.censored!r}: "
                            f"{REGENERATE}")
    s = results.summary
    for count in ("n_systems", "failed_systems"):
        if getattr(s, count) != getattr(summary, count):
            problems.append(f"summary.{count} = {getattr(s, count)}, but the records give {getattr(summary, count)}: "
                            f"{REGENERATE}")
    problems += _compare("summary.median", s.median, summary.median, HEADLINE_METRICS)
    problems += _compare("summary.mean", s.mean, summary.mean, HEADLINE_METRICS)
    return problems


def _recovery_problems(results: Results) -> list[str]:
    """Each record's equation-recovery score against the one recomputed from its equations and the spec."""
    problems, recomputed = [], {}
    for r in results.records:
        if r.recovery is None or r.recovery.status not in ("ok", "not_polynomial"):
            continue
        where = f"records[{r.system!r}, ic {r.ic}].recovery"
        if r.equations is None:
            problems.append(f"{where}: a recovery score without the identified equations: {REGENERATE}")
            continue
        key = (r.system, json.dumps([t.model_dump() for t in r.equations]))
        if key not in recomputed:
            summary = results.systems.get(r.system)
            try:
                system = get_system(r.system, summary.version if summary else None)
            except DystsBenchError:
                continue  # not a registry system (version): _record_problems says so
            if any(t.equation >= system.dim or len(t.exponents) != system.dim for t in r.equations):
                recomputed[key] = None
            else:
                recomputed[key] = recovery(system, field_of(r.equations, system.dim))
        expected = recomputed[key]
        if expected is None:
            problems.append(f"{where}: its equations do not fit the {r.system} system's dimension: {REGENERATE}")
            continue
        given = r.recovery.model_dump()
        if given["status"] != expected["status"]:
            problems.append(f"{where}.status = {given['status']!r}, but the equations give "
                            f"{expected['status']!r}: {REGENERATE}")
            continue
        numbers = {k: v for k, v in expected.items() if k not in ("status", "message")}
        problems += _compare(where, {k: given[k] for k in numbers}, numbers, source="the equations")
    return problems


def _trace_problems(results: Results) -> list[str]:
    """Each system's trace against the shapes `evaluate` writes and the records it points at."""
    problems = []
    ds = results.dataset
    long_points = (ds.long_term["length"] - ds.long_term["discard"]) if ds.long_term else None
    for name, summary in sorted(results.systems.items()):
        trace, where = summary.trace, f"systems.{name}.trace"
        if trace is None:
            continue
        dim = _dimension(name, summary.version)
        if dim is None:
            continue  # not a registry system (version): _record_problems says so
        records = {r.ic: r for r in results.records if r.system == name}
        stride = stride_for(ds.horizon, MAX_ERROR_POINTS)
        problems += _packed_problems(f"{where}.error", trace.error, (3, -(-ds.horizon // stride)),
                                     trace.error_stride == stride, summary.n_ok > 0)
        if trace.error is not None and not _quartiles_ordered(trace.error.array()):
            problems.append(f"{where}.error: its rows must be the 25th, 50th and 75th percentiles, non-negative "
                            f"and in order: {REGENERATE}")
        problems += _pointer_problems(f"{where}.ic", trace.ic, trace.forecast, records, "status")
        problems += _packed_problems(f"{where}.forecast", trace.forecast, (ds.horizon, dim))
        if long_points is not None:
            long_stride = stride_for(long_points, MAX_LONG_POINTS)
            problems += _pointer_problems(f"{where}.long_ic", trace.long_ic, trace.long_run, records, "long_status")
            problems += _packed_problems(f"{where}.long_run", trace.long_run, (-(-long_points // long_stride), dim),
                                         trace.long_stride == long_stride)
        elif trace.long_run is not None:
            problems.append(f"{where}.long_run: the dataset has no long free runs: {REGENERATE}")
    return problems


@functools.lru_cache(maxsize=1024)
def _dimension(name: str, version: int | None) -> int | None:
    """A registry system's state dimension (None if not in the registry); once per build, not per file."""
    try:
        return get_system(name, version).dim
    except DystsBenchError:
        return None


def _packed_problems(where: str, packed: Packed | None, shape: tuple[int, int], stride_ok: bool = True,
                     required: bool = False) -> list[str]:
    if packed is None:
        return [f"{where} is missing although the system has successful forecasts: {REGENERATE}"] if required else []
    if tuple(packed.shape) != shape or not stride_ok:
        return [f"{where} has shape {packed.shape} (its stride included), not the {list(shape)} that evaluate "
                f"writes: {REGENERATE}"]
    return []


def _quartiles_ordered(q: np.ndarray) -> bool:
    return bool(np.all(q >= 0) and np.all(q[0] <= q[1]) and np.all(q[1] <= q[2]))


def _pointer_problems(where: str, ic: int | None, packed: Packed | None, records: Mapping[int, object],
                      status: str) -> list[str]:
    """The initial condition a kept forecast or long run names must be a record whose `status` is ok."""
    if (ic is None) != (packed is None):
        return [f"{where}: an initial condition and its array come together: {REGENERATE}"]
    if ic is not None and getattr(records.get(ic), status, None) != "ok":
        return [f"{where} = {ic} is not a successful record ({status} ok) of the system: {REGENERATE}"]
    return []


# The metrics rescored from a kept forecast: those continuous in it (ranks, ties and nearest neighbours move
# with the float32 rounding of a forecast; a valid time may move by the one step a rounding can flip).
RESCORED = ("vpt", "vpt_smape30", "smape", "mse", "mae", "rmse", "nrmse")


def trace_forecast_problems(results: Results, data: str | Path) -> list[str]:
    """Each kept forecast rescored against the archive's truth at `data`: its record must say the same."""
    ds, problems = results.dataset, []
    records = {(r.system, r.ic): r for r in results.records}
    for name, summary in sorted(results.systems.items()):
        trace = summary.trace or Trace()
        record = records.get((name, trace.ic))
        if trace.forecast is None or record is None:
            continue
        job = Job(str(data), name, ds.splits.get("fit", "train"), ds.splits.get("test", "test"), ds.context,
                  ds.horizon)
        sd = read_system(job)
        series = sd.test[trace.ic]
        context, truth = series[: ds.context], series[ds.context: ds.context + ds.horizon]
        forecast = trace.forecast.array()
        if forecast.shape != truth.shape:
            continue  # _trace_problems says so
        inputs = {"dt": sd.dt, "sigma": sd.sigma}
        expected = window_metrics(truth, forecast, context, inputs, sd.lyapunov_max)
        low, high = (window_metrics(truth, bound, context, inputs, sd.lyapunov_max)
                     for bound in _rounding_bounds(truth, forecast))
        step = sd.dt * (sd.lyapunov_max or 0.0)
        for metric in RESCORED:
            value, want = record.metrics.get(metric), expected.get(metric)
            if value is None or want is None or not math.isfinite(want):
                continue
            if metric in VALID_TIMES:
                off = abs(value - want) > step + 1e-9
            else:
                slack = 1e-4 * abs(want) + 1e-6
                off = not (min(low[metric], want) - slack <= value <= max(high[metric], want) + slack)
            if off:
                problems.append(f"records[{name!r}, ic {trace.ic}].metrics.{metric} = {value:.6g}, but its kept "
                                f"forecast scores {want:.6g} against the archive: {REGENERATE}")
    return problems


def _rounding_bounds(truth: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kept forecast moved, element by element, toward and away from the truth by its float32 rounding.

    The error metrics grow with each |error|, so the two bound what the unrounded forecast scored: a
    relative tolerance alone fails where a forecast's values are large beside its error (a phase that grows).
    """
    rounding = np.abs(forecast) * float(np.finfo(np.float32).eps)  # twice the half-ulp: a safe bound
    error = forecast - truth
    toward = np.minimum(rounding, np.abs(error))
    return forecast - np.sign(error) * toward, forecast + np.sign(error) * rounding


def _protocol_problems(results: Results) -> list[str]:
    if results.protocol == PROTOCOL:
        return []
    command = results.environment.command or "dysts-bench evaluate FORECASTER --data ARCHIVE --out FILE"
    return [f"protocol {results.protocol}: the leaderboard takes protocol {PROTOCOL} only (long-term statistics "
            f"on long free runs, out-of-box mass counted, censored VPT; docs/protocol.md); re-make the file "
            f"with `{command}` on the current release"]


def results_problems(results: Results, *, known: Mapping[str, KnownDataset] | None = None) -> list[str]:
    """Every inconsistency of a (schema-valid) results file, one message each naming the field; [] if none."""
    known = known_manifests() if known is None else known
    return (_protocol_problems(results) + _dataset_problems(results, known) + _record_problems(results)
            + _summary_problems(results) + _recovery_problems(results) + _trace_problems(results))


def check_file(path: str | Path, *, manifests: str | Path = MANIFEST_DIR,
               data: str | Path | None = None) -> tuple[Results, list[str]]:
    """Load a results file (ResultsError if it breaks the schema) and list its inconsistencies.

    With `data` (the archive it was scored on), the truth-vs-truth floors are recomputed from it too, and
    each kept forecast is rescored.
    """
    results = load_results(path)
    problems = results_problems(results, known=known_manifests(manifests))
    if data is not None:
        problems += floor_problems(results, data) + trace_forecast_problems(results, data)
    return results, problems
