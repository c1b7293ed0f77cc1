"""What the site says about a registry system: its invariants as rows, and the index of all systems."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape
from sympy.printing.conventions import split_super_sub

from ..specs.invariants import Invariants
from ..system import System
from .columns import format_significant, format_uncertain
from .tables import LAMBDA_MAX, Header, Row, Table, number_cell, text_cell

# Invariant key in the sidecar -> (label, unit), in the order the system page lists them.
INVARIANTS: dict[str, tuple[str | Markup, str]] = {
    "lyapunov_max": (Markup("largest Lyapunov exponent λ<sub>max</sub>"), "1 / time unit"),
    "lyapunov_spectrum": ("Lyapunov spectrum", "1 / time unit"),
    "kaplan_yorke_dimension": ("Kaplan–Yorke dimension", ""),
    "correlation_dimension": ("correlation dimension", ""),
    "period": ("dominant period", "time units"),
    "permutation_entropy": ("permutation entropy H", "normalized, 0–1"),
    "statistical_complexity": ("statistical complexity C", "Jensen–Shannon"),
}
DEFAULT_ORDER = 5


@dataclass(frozen=True)
class InvariantRow:
    """One invariant as shown: label, value with its uncertainty, unit, and how it was computed."""

    label: str | Markup
    value: str
    unit: str
    method: str
    note: str


def _value_text(value: Any, stderr: Any) -> str:
    if isinstance(value, list):
        errors = stderr if isinstance(stderr, list) and len(stderr) == len(value) else [None] * len(value)
        return ", ".join(_value_text(v, e) for v, e in zip(value, errors, strict=True))
    if isinstance(value, int | float):
        return format_uncertain(float(value), float(stderr) if isinstance(stderr, int | float) else None)
    return "—" if value is None else str(value)


def invariant_rows(invariants: Invariants) -> list[InvariantRow]:
    """The known invariants in order ("not computed" where missing), then any other estimates."""
    estimates = invariants.quantities()
    keys = list(INVARIANTS) + sorted(k for k in estimates if k not in INVARIANTS)
    rows = []
    for key in keys:
        label, unit = INVARIANTS.get(key, (key.replace("_", " "), ""))
        entry = estimates.get(key)
        if entry is None:
            rows.append(InvariantRow(label, "not computed", "", "", ""))
            continue
        rows.append(InvariantRow(label, _value_text(entry.value, entry.stderr), unit, entry.method or "",
                                 entry.note or ""))
    return rows


def invariants_about(invariants: Invariants) -> dict[str, str]:
    """The sidecar's scalar facts that are not estimates (spec hash, package version, date ...)."""
    return {k: str(v) for k, v in invariants.to_dict().items()
            if isinstance(v, str | int | float) and not isinstance(v, bool)}


def complexity_point(invariants: Invariants) -> tuple[float, float] | None:
    """(H, C) on the complexity-entropy plane, or None if either is missing."""
    h, c = invariants.scalar("permutation_entropy"), invariants.scalar("statistical_complexity")
    return None if h is None or c is None else (h, c)


def ordinal_order(systems: Sequence[System]) -> int:
    """The pattern order the registry's permutation entropies were computed with."""
    for s in systems:
        entry = s.invariants.permutation_entropy
        order = entry.settings.get("order") if entry else None
        if isinstance(order, int):
            return order
    return DEFAULT_ORDER


def flags(system: System) -> list[str]:
    """Short labels of what kind of system it is."""
    named = {"non-autonomous": system.non_autonomous, "Hamiltonian": system.hamiltonian,
             "delay": bool(system.delay_lags), "non-smooth": system.non_smooth}
    return [label for label, on in named.items() if on]


def systems_index_table(systems: Sequence[System], href: Callable[[str], str]) -> Table:
    """Every registry system with its dimension, invariants and kind; linked where a page exists."""
    headers = [Header("System", numeric=False), Header("dim", "state variables"),
               Header(LAMBDA_MAX, "1 / time unit"), Header(Markup("D<sub>KY</sub>"), "Kaplan–Yorke"),
               Header("H", "perm. entropy"), Header("C", "complexity"), Header("Kind", numeric=False)]
    table = Table("systems", headers, filter_label="Filter systems")
    for s in systems:
        inv = s.invariants.scalar
        kind = ", ".join(flags(s)) or "autonomous ODE"
        table.rows.append(Row(s.name, [
            text_cell(s.name, href(s.name), title=s.description),
            number_cell(s.dim, 0),
            number_cell(inv("lyapunov_max"), 3),
            number_cell(inv("kaplan_yorke_dimension"), 2),
            number_cell(inv("permutation_entropy"), 3),
            number_cell(inv("statistical_complexity"), 3),
            text_cell(kind),
        ]))
    return table


def symbol_html(name: str) -> Markup:
    """A variable name as HTML: Greek letters as symbols, trailing digits and `_x` as subscripts."""
    base, sups, subs = split_super_sub(name)
    try:
        letter = unicodedata.lookup(f"GREEK {'CAPITAL' if base[0].isupper() else 'SMALL'} LETTER {base.upper()}")
        head = escape(letter)
    except KeyError:
        head = Markup("<i>{}</i>").format(base)
    return head + Markup("").join(Markup("<sub>{}</sub>").format(s) for s in subs) + \
        Markup("").join(Markup("<sup>{}</sup>").format(s) for s in sups)


def parameter_text(value: float) -> str:
    """A parameter value as written in the spec (up to 6 significant digits)."""
    return format_significant(value, 6)
