"""The sortable tables of the site, as plain data one template macro renders: headers, rows, cells."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from ..evaluate.results import Results, SystemSummary
from .columns import Column, format_number

Better = Literal["higher", "lower", ""]
LAMBDA_MAX = Markup("λ<sub>max</sub>")


@dataclass(frozen=True)
class Header:
    """A column heading: its label, a second line (threshold, unit), and which way its numbers are better."""

    label: str        # may be markupsafe.Markup (subscripts)
    sub: str = ""
    numeric: bool = True
    better: Better = ""
    title: str = ""


@dataclass(frozen=True)
class Cell:
    """One cell: the text shown, its unit, the value it sorts by (None sorts last), an optional link."""

    text: str
    unit: str = ""
    sort: float | str | None = None
    href: str = ""
    title: str = ""
    mark: str = ""     # a short warning shown after the text (its reason in `title`)


@dataclass(frozen=True)
class Row:
    """A table row; `name` is what the filter box matches."""

    name: str
    cells: list[Cell]


@dataclass
class Table:
    """A sortable table with an optional name filter."""

    id: str
    headers: list[Header]
    rows: list[Row] = field(default_factory=list)
    filter_label: str = ""
    caption: str = ""


def text_cell(text: str, href: str = "", title: str = "") -> Cell:
    """A cell of text, sorting by its lower-case text."""
    return Cell(text, sort=text.lower(), href=href, title=title)


def number_cell(value: float | None, digits: int, unit: str = "", title: str = "") -> Cell:
    """A numeric cell with its unit; a dash (sorted last) when undefined."""
    if value is None or not math.isfinite(value):
        return Cell("—", title=title or "not available")
    return Cell(format_number(value, digits), unit=unit, sort=value, title=title)


def metric_cell(column: Column, value: float | None, floor: float | None = None, censored: bool = False) -> Cell:
    """A metric's cell; metrics with a truth-vs-truth floor show it in the tooltip, censored ones as "≥"."""
    title = f"truth-vs-truth floor {format_number(floor, column.digits)}" if floor is not None else ""
    cell = number_cell(value, column.digits, column.unit, title)
    if censored and value is not None and math.isfinite(value):
        return Cell(f"≥ {cell.text}", unit=cell.unit, sort=cell.sort,
                    title="still valid at the end of the horizon: a lower bound")
    return cell


def metric_header(column: Column, stat: str = "median", floor: float | None = None) -> Header:
    """The heading of a metric column: label, statistic, and its threshold, scale or floor."""
    better = "higher" if column.higher_is_better else "lower"
    note = f"floor {format_number(floor, column.digits)}" if floor is not None else column.note
    return Header(column.html + (" ↑" if column.higher_is_better else " ↓"), f"{stat}, {note}", better=better,
                  title=f"{column.label} ({column.note}): {better} is better")


def lyapunov_max(summary: SystemSummary, fallback: Callable[[str], float | None]) -> float | None:
    """λ_max of a system as scored (1/τ from the results), else the registry's."""
    if summary.lyapunov_time:
        return 1.0 / summary.lyapunov_time
    return fallback(summary.system)


def per_system_table(results: Results, columns: Sequence[Column], system_href: Callable[[str], str],
                     lyap: Callable[[str], float | None]) -> Table:
    """One forecaster's results per system: λ_max, how many forecasts succeeded, and each metric's median."""
    headers = [Header("System", numeric=False), Header(LAMBDA_MAX, "1 / time unit"),
               Header("ok / ICs", "successful forecasts", better="higher")]
    headers += [metric_header(c) for c in columns]
    table = Table("per-system", headers, filter_label="Filter systems")
    for name, s in sorted(results.systems.items()):
        n = s.n_ok + s.n_failed
        cells = [text_cell(name, system_href(name)), number_cell(lyapunov_max(s, lyap), 3),
                 Cell(f"{s.n_ok} / {n}", sort=s.n_ok / n if n else None)]
        cells += [metric_cell(c, s.metrics.get(c.key), s.floors.get(c.key), c.key in s.censored) for c in columns]
        table.rows.append(Row(name, cells))
    return table
