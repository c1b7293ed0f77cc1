"""One benchmark's result: our figure beside the reference measured in the same run, their ratio and the goal."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import DystsBenchError

OK, NOT_AVAILABLE, ERROR = "ok", "not available", "error"


class NotAvailable(DystsBenchError):
    """A benchmark cannot run here: a part it measures is not importable or a tool is missing."""


@dataclass
class Figure:
    """A measured quantity: value, unit, and what exactly was measured."""

    value: float
    unit: str
    what: str

    def __str__(self) -> str:
        return f"{_format(self.value)} {self.unit}"


@dataclass
class Record:
    """A benchmark's outcome; `ratio` is reference / ours for times (speed-up), as `ratio_label` says."""

    name: str
    title: str
    status: str = OK
    ours: Figure | None = None
    reference: Figure | None = None
    ratio: float | None = None
    ratio_label: str = ""
    goal: str = ""
    passed: bool | None = None           # None: no goal, or the goal could not be judged in this run
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0                 # how long the benchmark itself took

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def not_available(name: str, title: str, reason: str) -> Record:
    """The record of a benchmark that cannot run here."""
    return Record(name=name, title=title, status=NOT_AVAILABLE, notes=[f"not available: {reason}"])


# Single-process figures are CPU seconds: on a shared machine, wall time also counts other people's work.
CPU_NOTE = "times are CPU seconds of the process doing the work (wall time on a shared machine counts others' work)"


def timed(fn: Callable[[], Any], clock: Callable[[], float] = time.process_time) -> tuple[Any, float]:
    """(fn(), the seconds it took: by default the CPU seconds this process spent in it)."""
    start = clock()
    result = fn()
    return result, clock() - start


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """The least CPU time of `repeats` calls (the least disturbed by other work on the machine)."""
    return min(timed(fn)[1] for _ in range(max(1, repeats)))


def _format(value: float) -> str:
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"
