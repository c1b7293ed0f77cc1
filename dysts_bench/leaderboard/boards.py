"""The leaderboard's rankings: results files grouped into boards of comparable results, and their tables."""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import DystsBenchError
from ..evaluate.results import Conventions, DatasetInfo, Results, Summary, load_results
from ..evaluate.summary import summarize_records
from .check import KnownDataset, results_problems
from .columns import Column, headline_columns
from .tables import Cell, Header, Row, Table, metric_cell, metric_header, number_cell, text_cell

log = logging.getLogger(__name__)


class SiteError(DystsBenchError):
    """The site cannot be built where asked, or from what was given."""


@dataclass
class Entry:
    """One results file on the site."""

    slug: str
    path: Path
    results: Results
    problems: list[str]
    restricted: Summary | None = None    # its summary over a board's fewer systems, on that board only

    @property
    def href(self) -> str:
        """Its page, relative to the site root."""
        return f"forecasters/{self.slug}.html"

    @property
    def summary(self) -> Summary:
        """The summary over the board's systems."""
        return self.restricted or self.results.summary

    @property
    def systems(self) -> frozenset[str]:
        """The systems it was scored on."""
        return frozenset(self.results.systems)

    def median(self, metric: str) -> float | None:
        """The summary median of a metric."""
        return self.summary.median.get(metric)

    def restricted_to(self, systems: frozenset[str]) -> Entry:
        """The same entry summarized over `systems` only (a subset of its own)."""
        _, summary = summarize_records(r for r in self.results.records if r.system in systems)
        return replace(self, restricted=summary)


@dataclass
class Board:
    """Results that can be ranked together: the same dataset, window and conventions."""

    dataset: DatasetInfo
    conventions: Conventions
    entries: list[Entry] = field(default_factory=list)
    systems: frozenset[str] = frozenset()
    subset: bool = False                 # other boards of the dataset cover more systems

    @property
    def own_entries(self) -> list[Entry]:
        """The entries scored on exactly this board's systems (not restricted from a larger set)."""
        return [e for e in self.entries if e.restricted is None]

    @property
    def columns(self) -> list[Column]:
        """The headline metric columns under these conventions."""
        return headline_columns(self.conventions)

    @property
    def floors(self) -> dict[str, float | None]:
        """The truth-vs-truth floors (median over systems): properties of the data, the same for every entry.

        Per system, the median over the entries that pass the check, so that one forged file cannot move it.
        """
        trusted = [e for e in self.entries if not e.problems]
        out = {}
        for c in self.columns:
            if not c.floor:
                continue
            per_system = {name: [v for e in trusted if (s := e.results.systems.get(name)) is not None
                                 and (v := s.floors.get(c.key)) is not None] for name in self.systems}
            values = [statistics.median(v) for v in per_system.values() if v]
            out[c.key] = float(statistics.median(values)) if values else None
        return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "results"


def _rank_key(entry: Entry) -> tuple:
    vpt = entry.median("vpt")
    return (vpt is None, -(vpt or 0.0), entry.results.label.lower())


def load_entries(results_dir: Path, known: dict[str, KnownDataset]) -> list[Entry]:
    """Every results file of a folder, validated (ResultsError if one breaks the schema), with its problems."""
    if not results_dir.is_dir():
        raise SiteError(f"{results_dir}: no such folder of results files; give --results DIR "
                        "(leaderboard/results in the repository)")
    entries: list[Entry] = []
    slugs: set[str] = set()
    for path in sorted(results_dir.glob("*.json")):
        results = load_results(path)
        slug = base = _slug(path.stem)
        n = 1
        while slug in slugs:
            n += 1
            slug = f"{base}-{n}"
        slugs.add(slug)
        problems = results_problems(results, known=known)
        for p in problems:
            log.warning("%s: %s", path.name, p)
        entries.append(Entry(slug, path, results, problems))
    return entries


def group_boards(entries: Sequence[Entry]) -> list[Board]:
    """Entries grouped by protocol, dataset, window, conventions and systems, each ranked by median VPT.

    Results on fewer systems (a subset, e.g. models too slow to train on all) get a board of their own,
    on which every result covering more systems of the same dataset is summarized over the subset too,
    so that a ranking only ever compares forecasters on the same systems.
    """
    groups: dict[tuple, list[Entry]] = {}
    for e in entries:
        r = e.results
        # Results of different evaluation protocols are never ranked together.
        key = (r.protocol, r.dataset.config, r.dataset.manifest_hash, r.dataset.context, r.dataset.horizon,
               r.conventions.model_dump_json())
        groups.setdefault(key, []).append(e)
    boards = []
    for group in groups.values():
        widest = max(len(e.systems) for e in group)
        for systems in sorted({e.systems for e in group}, key=lambda s: (-len(s), sorted(s))):
            board = Board(group[0].results.dataset, group[0].results.conventions, systems=systems,
                          subset=len(systems) < widest)
            board.entries = [e if e.systems == systems else e.restricted_to(systems)
                             for e in group if e.systems >= systems]
            board.entries.sort(key=_rank_key)
            boards.append(board)
    return sorted(boards, key=lambda b: (b.dataset.config, b.dataset.manifest_hash, -len(b.systems)))


def board_table(board: Board, index: int) -> Table:
    """The main table of one board: forecasters by headline metrics."""
    cols, floors = board.columns, board.floors
    headers = [Header("#", "rank"), Header("Forecaster", numeric=False),
               Header("Mode", numeric=False), metric_header(cols[0]), metric_header(cols[0], "mean")]
    headers += [metric_header(c, floor=floors.get(c.key)) for c in cols[1:]]
    headers.append(Header("Failed ↓", "systems", better="lower",
                          title="systems without any successful forecast: lower is better"))
    table = Table(f"board-{index}", headers, filter_label="Filter forecasters")
    for rank, e in enumerate(board.entries, start=1):
        r = e.results
        mark = "⚠" if e.problems else ""
        name = Cell(r.label, sort=r.label.lower(), href=e.href, mark=mark,
                    title="; ".join(e.problems[:3]) if e.problems else f"version {r.forecaster.version}")
        s = e.summary
        cells = [number_cell(rank, 0), name, text_cell(r.mode),
                 metric_cell(cols[0], s.median.get("vpt")), metric_cell(cols[0], s.mean.get("vpt"))]
        cells += [metric_cell(c, s.median.get(c.key)) for c in cols[1:]]
        cells.append(Cell(f"{s.failed_systems} / {s.n_systems}", sort=s.failed_systems))
        table.rows.append(Row(r.label, cells))
    return table


def system_ranking_table(name: str, boards: Sequence[Board], href: Callable[[str], str]) -> Table:
    """The forecasters scored on one system, ranked by their median VPT on it."""
    scored = [(b, e, e.results.systems[name]) for b in boards for e in b.own_entries if name in e.results.systems]
    scored.sort(key=lambda t: (t[2].metrics.get("vpt") is None, -(t[2].metrics.get("vpt") or 0.0)))
    cols = headline_columns(scored[0][0].conventions if scored else Conventions())
    headers = [Header("#"), Header("Forecaster", numeric=False), Header("Dataset", numeric=False),
               Header("ok / ICs", "successful forecasts", better="higher")]
    headers += [metric_header(c) for c in cols]
    table = Table("ranking", headers)
    for rank, (_, e, s) in enumerate(scored, start=1):
        n = s.n_ok + s.n_failed
        cells = [number_cell(rank, 0), text_cell(e.results.label, href(e.href)),
                 text_cell(e.results.dataset.config), Cell(f"{s.n_ok} / {n}", sort=s.n_ok / n if n else None)]
        cells += [metric_cell(c, s.metrics.get(c.key), s.floors.get(c.key), c.key in s.censored) for c in cols]
        table.rows.append(Row(e.results.label, cells))
    return table
