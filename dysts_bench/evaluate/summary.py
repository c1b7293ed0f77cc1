"""Summaries of forecast records: per system, the median over successful forecasts; overall, over systems.

Per system, each metric's median over its successful forecasts (status `ok`, metric not null; for the
long-term statistics, long runs with `long_status` ok); overall,
the median and the mean over systems of those per-system medians, and the number of systems without
any successful forecast. `evaluate` writes them and `leaderboard check` recomputes them the same way.

A valid prediction time still valid at the end of the horizon is censored (a lower bound). A system's
median of such a metric is censored when at least half of its successful forecasts are: the median is
then the horizon or lies between an uncensored value and it, and is shown as "≥".
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .results import LONG_TERM, Record, Summary


@dataclass
class SystemTotals:
    """What a system's summary must say, recomputed from its records."""

    n_ok: int = 0
    n_failed: int = 0
    metrics: dict[str, float | None] = field(default_factory=dict)
    censored: list[str] = field(default_factory=list)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return math.fsum(present) / len(present) if present else None


def summarize_records(records: Iterable[Record]) -> tuple[dict[str, SystemTotals], Summary]:
    """Per-system counts and medians over successful forecasts, and the summary over systems."""
    by_system: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_system[r.system].append(r)
    totals: dict[str, SystemTotals] = {}
    for name, recs in sorted(by_system.items()):
        ok = [r for r in recs if r.status == "ok"]
        censored = sorted(m for m in {c for r in ok for c in r.censored}
                          if 2 * sum(m in r.censored for r in ok) >= len(ok))
        medians = {m: _median(r.metrics.get(m) for r in ok if m not in LONG_TERM)
                   for m in sorted({m for r in ok for m in r.metrics} - set(LONG_TERM))}
        long_ok = [r for r in recs if r.long_status == "ok"]
        medians.update({m: _median(r.metrics.get(m) for r in long_ok) for m in LONG_TERM
                        if any(m in r.metrics for r in recs)})
        totals[name] = SystemTotals(len(ok), len(recs) - len(ok), dict(sorted(medians.items())), censored)
    metrics = sorted({m for t in totals.values() for m in t.metrics})
    summary = Summary(
        n_systems=len(totals),
        failed_systems=sum(1 for t in totals.values() if t.n_ok == 0),
        median={m: _median(t.metrics.get(m) for t in totals.values()) for m in metrics},
        mean={m: _mean(t.metrics.get(m) for t in totals.values()) for m in metrics},
    )
    return totals, summary
