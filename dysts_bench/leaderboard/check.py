"""Checks of a submitted results file: schema, a known dataset, and summaries that follow from the records.

The known datasets are the released configs' committed manifests (`data/manifests/<config>.json`).
A results file names its dataset by `dataset.manifest_hash`: the SHA-256 of the manifest JSON file's
bytes (`manifest_file_hash`). The manifest's `identity_hash` (recomputed from its entries: the arrays
and the metadata they are read by, whatever the JSON layout) is accepted as well; a stored
`content_hash` field is never trusted.

The summaries are recomputed by `summarize_records`: per system, the median over its successful
forecasts (status `ok`, metric not null) of each metric; overall, the median and the mean over systems
of those per-system medians, and the number of systems without any successful forecast.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..data.manifest import MANIFEST_DIR, identity_hash
from ..errors import DystsBenchError
from ..evaluate.recovery import field_of, recovery
from ..evaluate.results import HEADLINE_METRICS, PROTOCOL, Results, load_results
from ..evaluate.summary import summarize_records
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


def manifest_file_hash(path: str | Path) -> str:
    """The manifest hash a results file records: SHA-256 of the manifest JSON file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


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
    released = _manifest_systems(dataset.path)
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
def _manifest_systems(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text())["systems"]


def floor_problems(results: Results, data: str | Path) -> list[str]:
    """The file's truth-vs-truth floors against those recomputed from the archive at `data`."""
    from ..evaluate.scoring import Job, read_system, truth_floors

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
            + _summary_problems(results) + _recovery_problems(results))


def check_file(path: str | Path, *, manifests: str | Path = MANIFEST_DIR,
               data: str | Path | None = None) -> tuple[Results, list[str]]:
    """Load a results file (ResultsError if it breaks the schema) and list its inconsistencies.

    With `data` (the archive it was scored on), the truth-vs-truth floors are recomputed from it too.
    """
    results = load_results(path)
    problems = results_problems(results, known=known_manifests(manifests))
    if data is not None:
        problems += floor_problems(results, data)
    return results, problems
