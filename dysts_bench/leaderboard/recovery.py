"""The equation-recovery track: what equation learners identified, against each system's true equations
(scores from evaluate/recovery.py, recomputed by `leaderboard check`), as tables for the site."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..evaluate.results import Record, Recovery, Results, Term
from .columns import format_number
from .tables import Cell, Header, Row, Table, number_cell, text_cell

ABOUT = ("Precision: share of identified terms that are true terms; recall: share of true terms found; "
         "coefficient error ‖ξ̂ − ξ‖₂ / ‖ξ‖₂ over all terms; max term error: largest relative error of a true "
         "term's coefficient (1 for a missed term). Scored where the system's equations are a polynomial in its "
         "states, and only when the identified equations reproduce the forecaster's own forecast.")


@dataclass(frozen=True)
class Identified:
    """One forecaster's identified equations on one system and their recovery score."""

    forecaster: str
    href: str
    system: str
    recovery: Recovery
    equations: list[Term]


def identified(results: Results, href: str) -> list[Identified]:
    """Per system, the recovery of the first successful record that carries one (all of a system's agree)."""
    first: dict[str, Record] = {}
    for r in results.records:
        if r.status == "ok" and r.recovery is not None:
            first.setdefault(r.system, r)
    return [Identified(results.label, href, name, r.recovery, r.equations or [])
            for name, r in sorted(first.items())]


def _score_cells(rec: Recovery) -> list[Cell]:
    return [number_cell(rec.n_true, 0), number_cell(rec.n_identified, 0), number_cell(rec.n_correct, 0),
            number_cell(rec.precision, 2), number_cell(rec.recall, 2), number_cell(rec.coefficient_error, 3),
            number_cell(rec.max_term_error, 3)]


_SCORE_HEADERS = [Header("True terms"), Header("Identified"), Header("Correct", better="higher"),
                  Header("Precision ↑", better="higher"), Header("Recall ↑", better="higher"),
                  Header("Coefficient error ↓", "relative, L2", better="lower"),
                  Header("Max term error ↓", "relative", better="lower")]


def recovery_table(items: Sequence[Identified], system_href: Callable[[str], str], href: Callable[[str], str]) -> Table:
    """Every scored (forecaster, system) pair: terms, precision, recall and coefficient errors."""
    headers = [Header("Forecaster", numeric=False), Header("System", numeric=False), *_SCORE_HEADERS]
    table = Table("recovery", headers, filter_label="Filter systems", caption=ABOUT)
    for it in items:
        if it.recovery.status != "ok":
            continue
        cells = [text_cell(it.forecaster, href(it.href)), text_cell(it.system, system_href(it.system)),
                 *_score_cells(it.recovery)]
        table.rows.append(Row(it.system, cells))
    return table


def recovery_summary(items: Sequence[Identified], href: Callable[[str], str]) -> Table:
    """Per forecaster: systems scored, medians of the scores, and how often the exact set of terms was found."""
    headers = [Header("Forecaster", numeric=False), Header("Systems", "polynomial, scored"),
               Header("Exact terms", "precision = recall = 1", better="higher"),
               Header("Precision ↑", "median", better="higher"), Header("Recall ↑", "median", better="higher"),
               Header("Coefficient error ↓", "median", better="lower"), Header("Not scored", "status")]
    table = Table("recovery-summary", headers)
    for name in sorted({it.forecaster for it in items}):
        mine = [it for it in items if it.forecaster == name]
        scored = [it.recovery for it in mine if it.recovery.status == "ok"]
        exact = sum(r.precision == 1.0 and r.recall == 1.0 for r in scored)
        others = sorted({it.recovery.status for it in mine} - {"ok"})
        cells = [text_cell(name, href(mine[0].href)), number_cell(len(scored), 0), number_cell(exact, 0),
                 number_cell(_median(r.precision for r in scored), 2),
                 number_cell(_median(r.recall for r in scored), 2),
                 number_cell(_median(r.coefficient_error for r in scored), 3),
                 text_cell(", ".join(f"{sum(it.recovery.status == s for it in mine)} {s.replace('_', ' ')}"
                                     for s in others))]
        table.rows.append(Row(name, cells))
    return table


def _median(values) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def identified_lines(equations: Sequence[Term], state_names: Sequence[str]) -> list[str]:
    """The identified equations as text, e.g. "dx/dt = −10.00 x + 10.00 y" (4 significant digits)."""
    lines = []
    for i, state in enumerate(state_names):
        # Lower degrees first, then in the order of the states (x before y): dx/dt = −10 x + 10 y.
        terms = sorted((t for t in equations if t.equation == i),
                       key=lambda t: (sum(t.exponents), [-e for e in t.exponents]))
        text = " ".join(f"{'−' if t.coefficient < 0 else '+'} {_magnitude(abs(t.coefficient))}"
                        f"{_monomial(t, state_names)}" for t in terms)
        text = text[2:] if text.startswith("+ ") else text.replace("− ", "−", 1)
        lines.append(f"d{state}/dt = {text or '0'}")
    return lines


def _magnitude(value: float) -> str:
    return f"{value:.4g}" if 1e-3 <= value < 1e5 else format_number(value, 3)


def _monomial(term: Term, names: Sequence[str]) -> str:
    factors = [n if e == 1 else f"{n}^{e}" for n, e in zip(names, term.exponents, strict=True) if e > 0]
    return (" " + "·".join(factors)) if factors else ""
