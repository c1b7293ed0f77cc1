"""One table of every results file on a set of systems (e.g. the core subset): the comparison the docs print,
re-made from the committed results by `dysts-bench leaderboard table`, never typed in by hand.

Beside each median VPT: its 95% percentile-bootstrap interval over systems (2,000 resamples of the
systems, seed 0), so that two models whose intervals overlap widely are not read as ranked, and the
median with every failed forecast counted as 0 τ."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.subsets import system_names
from ..evaluate.results import LONG_TERM, Record, Results, load_results
from ..evaluate.summary import summarize_records
from .columns import format_number

METRICS = ("vpt", "d_stsp", "d_h")


@dataclass(frozen=True)
class Row:
    """One results file summarized over the systems it shares with the requested set."""

    forecaster: str
    mode: str
    file: str
    covered: int                       # requested systems the file has records for
    medians: dict[str, float | None]   # median over the covered systems of each system's median
    vpt_failed_zero: float | None      # the same median VPT with every failed forecast counted as 0 τ
    vpt_interval: tuple[float, float] | None   # 95% bootstrap interval (over systems) of the median VPT
    fit_seconds: float | None          # median over systems of the fit time (zero-shot: its one fit)
    failed: int                        # forecasts (system, initial condition) not ok
    trained_on: int | None = None      # zero-shot: how many systems it was fitted on (a corpus's, or the list's)
    name: str = ""                     # the forecaster's own name (`forecaster` is its label, with any corpus)
    corpus: str | None = None          # zero-shot on a generated corpus: its config


def compare(paths: Sequence[Path], systems: Sequence[str] | None = None) -> tuple[list[Row], dict[str, float | None]]:
    """Rows of the files over `systems`, best median VPT first, and the median truth-vs-truth floors of the
    long-term statistics over the same systems. With `systems` None: the files that cover the most systems,
    over those (a file scored on fewer belongs in a table of its subset)."""
    loaded = [(path, load_results(path)) for path in paths]
    if systems is None and loaded:
        most = max(len(r.systems) for _, r in loaded)
        loaded = [(p, r) for p, r in loaded if len(r.systems) == most]
    rows, widest = [], None
    for path, results in loaded:
        wanted = set(results.systems) if systems is None else set(systems) & set(results.systems)
        if not wanted:
            continue
        records = [r for r in results.records if r.system in wanted]
        _, summary = summarize_records(records)
        fits = {r.system: r.fit_seconds for r in records if r.fit_seconds is not None}
        rows.append(Row(results.label, results.mode, path.name, len(wanted),
                        {m: summary.median.get(m) for m in METRICS}, _vpt_failed_zero(records),
                        bootstrap_median([results.systems[n].metrics.get("vpt") for n in sorted(wanted)]),
                        statistics.median(fits.values()) if fits else results.fit_seconds,
                        sum(r.status != "ok" for r in records), _trained_on(results), results.forecaster.name,
                        results.train_data.config if results.train_data else None))
        if widest is None or len(wanted) > len(widest[1]):
            widest = (results, wanted)
    rows.sort(key=lambda r: (r.medians["vpt"] is None, -(r.medians["vpt"] or 0.0), r.forecaster))
    return rows, {} if widest is None else _floors(*widest)


N_BOOTSTRAP = 2000


def bootstrap_median(values: Sequence[float | None], seed: int = 0) -> tuple[float, float] | None:
    """The 95% percentile-bootstrap interval of the median of per-system values, resampling systems."""
    present = np.array([v for v in values if v is not None], dtype=float)
    if len(present) < 2:
        return None
    draws = np.random.default_rng(seed).choice(present, size=(N_BOOTSTRAP, len(present)), replace=True)
    low, high = np.quantile(np.median(draws, axis=1), [0.025, 0.975])
    return float(low), float(high)


def _trained_on(results: Results) -> int | None:
    """How many systems a zero-shot forecaster was fitted on (None for a per-system one)."""
    if results.mode != "zero-shot":
        return None
    return results.train_data.systems if results.train_data else len(results.train_systems)


def scaling_markdown(rows: Sequence[Row]) -> str:
    """The zero-shot rows by the number of systems they were fitted on, as a markdown table."""
    lines = ["| forecaster | fitted on (systems) | systems scored | median VPT (τ) | 95% interval | D_stsp | D_H |",
             "|" + " --- |" * 7]
    for r in sorted((r for r in rows if r.trained_on), key=lambda r: (r.forecaster, r.trained_on)):
        lines.append(f"| `{r.forecaster}` | {r.trained_on:,} | {r.covered} | {_number(r.medians['vpt'], 2)} | "
                     f"{_interval(r)} | {_number(r.medians['d_stsp'], 2)} | {_number(r.medians['d_h'], 3)} |")
    return "\n".join(lines)


def _vpt_failed_zero(records: Sequence[Record]) -> float | None:
    """The median over systems of each system's median VPT, a forecast that failed counting as 0 τ.

    The leaderboard's medians are over successful forecasts, so a model that fails where it is hard can
    look better than one that always answers; this view does not reward failing."""
    by_system: dict[str, list[float]] = {}
    for r in records:
        value = r.metrics.get("vpt") if r.status == "ok" else 0.0
        if value is not None:
            by_system.setdefault(r.system, []).append(value)
    return statistics.median(statistics.median(v) for v in by_system.values()) if by_system else None


def _floors(results: Results, systems: set[str]) -> dict[str, float | None]:
    """The median truth-vs-truth floors over `systems` (the dataset's: every file on it has the same)."""
    values = {m: [f for s in systems if (f := results.systems[s].floors.get(m)) is not None] for m in LONG_TERM}
    return {m: statistics.median(v) if v else None for m, v in values.items()}


def markdown(rows: Sequence[Row], floors: dict[str, float | None], n_systems: int | None) -> str:
    """The rows as a markdown table, with the floors in a last line."""
    of = f" of {n_systems}" if n_systems else ""
    lines = ["| forecaster | mode | systems | median VPT (τ, ε = 0.5) | 95% interval | VPT, failed as 0 τ | D_stsp "
             "| D_H | fit per system (median) | failed forecasts |", "|" + " --- |" * 10]
    for r in rows:
        vpt, stsp, dh = (_number(r.medians[m], d) for m, d in zip(METRICS, (2, 2, 3), strict=True))
        fit = "—" if r.fit_seconds is None else "< 0.1 s" if r.fit_seconds < 0.1 else f"{r.fit_seconds:.1f} s"
        fit += " (one fit)" if r.mode == "zero-shot" and r.fit_seconds is not None else ""
        zero = _number(r.vpt_failed_zero, 2)
        lines.append(f"| `{r.forecaster}` | {r.mode} | {r.covered}{of} | {vpt} | {_interval(r)} | {zero} | {stsp} "
                     f"| {dh} | {fit} | {r.failed} |")
    if floors:
        lines.append(f"| truth vs truth (floor) | | | | | | {_number(floors.get('d_stsp'), 2)} | "
                     f"{_number(floors.get('d_h'), 3)} | | |")
    return "\n".join(lines)


def _interval(row: Row) -> str:
    return "—" if row.vpt_interval is None else "–".join(_number(v, 2) for v in row.vpt_interval)


def _number(value: float | None, digits: int) -> str:
    return "—" if value is None else format_number(value, digits)


# A table in a markdown file that `dysts-bench leaderboard table --update FILE` re-makes from the results:
# <!-- leaderboard table [--systems A,B|@core] -->, the table, then <!-- end leaderboard table -->.
_BLOCK = re.compile(r"(<!-- leaderboard table(?: --systems (?P<systems>\S+))? -->\n)(?P<body>.*?)"
                    r"(\n<!-- end leaderboard table -->)", re.S)


def refresh_tables(text: str, paths: Sequence[Path]) -> str:
    """The markdown `text` with every marked table re-made from the results files `paths`."""
    def table(match: re.Match) -> str:
        systems = system_names(match["systems"]) if match["systems"] else None
        rows, floors = compare(paths, systems)
        return match[1] + markdown(rows, floors, len(systems) if systems else None) + match[4]

    return _BLOCK.sub(table, text)
