"""Whether a ranking is real, and how skill relates to chaos: the statistics of the site's analysis page.

Per board (forecasters on the same systems), from each forecaster's per-system median VPT:
- the 95% percentile-bootstrap interval of its median VPT and of its rank, resampling the board's systems
  (`N_BOOTSTRAP` resamples, seed 0; a system where a forecaster has no successful forecast counts 0 τ,
  so that failing never helps the rank);
- pairwise win rates: on how many of the systems both were scored on the row forecaster's median VPT is
  higher than the column's (ties count half): a difference that wins 55% of systems is noise, not a ranking;
- skill against chaos: Spearman's ρ between the per-system VPT (in Lyapunov times, and in time units: VPT·τ)
  and each invariant of the registry's sidecars, with a bootstrap interval (Gilpin 2021 correlates skill
  with the degree of chaos; Gilpin 2023 finds long-horizon skill decorrelated from λ_max).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .boards import Board
from .compare import N_BOOTSTRAP
from .tables import Cell, Header, Row, Table, number_cell, text_cell

INVARIANTS = {
    "lyapunov_max": "λ_max",
    "kaplan_yorke_dimension": "Kaplan–Yorke dimension",
    "correlation_dimension": "correlation dimension",
    "permutation_entropy": "permutation entropy",
    "statistical_complexity": "statistical complexity",
}


@dataclass(frozen=True)
class Scores:
    """The per-system median VPT of each forecaster of a board: (forecasters, systems), NaN where unscored."""

    names: list[str]
    hrefs: list[str]
    systems: list[str]
    vpt: np.ndarray
    lyapunov_time: np.ndarray   # per system, NaN where unknown

    @classmethod
    def of(cls, board: Board) -> Scores:
        """The board's entries and systems as a matrix (a system without a successful forecast: 0 τ)."""
        systems = sorted(board.systems)
        vpt = np.full((len(board.entries), len(systems)), np.nan)
        tau = np.full(len(systems), np.nan)
        for i, e in enumerate(board.entries):
            for j, name in enumerate(systems):
                s = e.results.systems.get(name)
                if s is None:
                    continue
                value = s.metrics.get("vpt")
                vpt[i, j] = 0.0 if value is None and s.n_failed else value if value is not None else np.nan
                if s.lyapunov_time:
                    tau[j] = s.lyapunov_time
        return cls([e.results.label for e in board.entries], [e.href for e in board.entries],
                   systems, vpt, tau)


def _ranks(medians: np.ndarray) -> np.ndarray:
    """Rank 1 for the highest median (ties share the average rank); NaN sorts last."""
    return stats.rankdata(-np.nan_to_num(medians, nan=-np.inf), method="average")


def rank_intervals(scores: Scores, seed: int = 0) -> list[dict[str, float]]:
    """Per forecaster: median VPT and rank with their 95% bootstrap intervals over systems."""
    n = len(scores.systems)
    draws = np.random.default_rng(seed).integers(0, n, size=(N_BOOTSTRAP, n))
    with np.errstate(all="ignore"):
        medians = np.nanmedian(scores.vpt[:, draws], axis=2)   # (forecasters, resamples)
    ranks = np.apply_along_axis(_ranks, 0, medians)
    with np.errstate(all="ignore"):
        point = np.nanmedian(scores.vpt, axis=1)
    out = []
    for i in range(len(scores.names)):
        low, high = np.nanquantile(medians[i], [0.025, 0.975]) if np.isfinite(medians[i]).any() else (np.nan,) * 2
        out.append({"median": float(point[i]), "median_low": float(low), "median_high": float(high),
                    "rank": float(_ranks(point)[i]), "rank_low": float(np.quantile(ranks[i], 0.025)),
                    "rank_high": float(np.quantile(ranks[i], 0.975))})
    return out


def win_rates(scores: Scores) -> np.ndarray:
    """W[i, j]: the share of systems scored for both where i's median VPT beats j's (ties half); NaN if none."""
    a, b = scores.vpt[:, None, :], scores.vpt[None, :, :]
    both = np.isfinite(a) & np.isfinite(b)
    wins = np.where(both, (a > b) + 0.5 * (a == b), 0.0).sum(axis=2)
    with np.errstate(all="ignore"):
        return np.where(both.sum(axis=2) > 0, wins / both.sum(axis=2), np.nan)


def spearman(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[float, float, float, int] | None:
    """Spearman's ρ of the finite pairs, with its 95% bootstrap interval and the number of pairs."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = float(stats.spearmanr(x, y).statistic)
    draws = np.random.default_rng(seed).integers(0, len(x), size=(N_BOOTSTRAP, len(x)))
    rx, ry = stats.rankdata(x[draws], axis=1), stats.rankdata(y[draws], axis=1)
    rx, ry = rx - rx.mean(axis=1, keepdims=True), ry - ry.mean(axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        boot = (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    low, high = np.nanquantile(boot, [0.025, 0.975])
    return rho, float(low), float(high), len(x)


def _interval(low: float, high: float, digits: int) -> str:
    return "—" if not (np.isfinite(low) and np.isfinite(high)) else f"{low:.{digits}f} – {high:.{digits}f}"


def rank_table(scores: Scores, index: int, href: Callable[[str], str]) -> Table:
    """Median VPT and rank with their bootstrap intervals."""
    headers = [Header("Forecaster", numeric=False), Header("Median VPT ↑", "τ; failed systems as 0", better="higher"),
               Header("95% interval", "bootstrap over systems", numeric=False),
               Header("Rank", "by median VPT", better="lower"), Header("Rank, 95% interval", numeric=False)]
    table = Table(f"ranks-{index}", headers)
    for name, link, r in zip(scores.names, scores.hrefs, rank_intervals(scores), strict=True):
        cells = [text_cell(name, href(link)), number_cell(r["median"], 2, "τ"),
                 text_cell(_interval(r["median_low"], r["median_high"], 2)), number_cell(r["rank"], 1),
                 text_cell(_interval(r["rank_low"], r["rank_high"], 1))]
        table.rows.append(Row(name, cells))
    return table


def win_table(scores: Scores, index: int) -> Table:
    """The pairwise win-rate matrix (row beats column on this share of the systems both were scored on)."""
    rates = win_rates(scores)
    headers = [Header("Row beats column", numeric=False)] + [Header(n) for n in scores.names]
    table = Table(f"wins-{index}", headers,
                  caption="Share of systems on which the row's median VPT is higher than the column's (ties "
                          "count half). Near 0.5: the two are not distinguished by these systems.")
    for i, name in enumerate(scores.names):
        cells = [text_cell(name)] + [Cell("·") if i == j else number_cell(rates[i, j], 2)
                                     for j in range(len(scores.names))]
        table.rows.append(Row(name, cells))
    return table


def skill_table(scores: Scores, invariants: Mapping[str, Mapping[str, float | None]], index: int) -> Table:
    """Spearman's ρ of each forecaster's per-system VPT (in τ and in time units) against each invariant."""
    headers = [Header("Forecaster", numeric=False), Header("VPT in", numeric=False)]
    headers += [Header(f"ρ with {label}", "95% interval", numeric=False) for label in INVARIANTS.values()]
    table = Table(f"skill-{index}", headers,
                  caption="Spearman's ρ over the board's systems (bootstrap 95% interval; n pairs); "
                          "— where fewer than four systems have both numbers.")
    for i, name in enumerate(scores.names):
        for unit, values in (("τ", scores.vpt[i]), ("time units", scores.vpt[i] * scores.lyapunov_time)):
            cells = [text_cell(name), text_cell(unit)]
            for key in INVARIANTS:
                x = np.array([invariants.get(s, {}).get(key) or np.nan for s in scores.systems], dtype=float)
                result = spearman(x, values)
                cells.append(Cell("—") if result is None else
                             Cell(f"{result[0]:+.2f} ({result[1]:+.2f} – {result[2]:+.2f}; n {result[3]})",
                                  sort=result[0]))
            table.rows.append(Row(name, cells))
    return table


def strip_data(scores: Scores) -> Sequence[tuple[str, np.ndarray]]:
    """(forecaster, its per-system VPTs) for the distribution figure."""
    return [(n, v[np.isfinite(v)]) for n, v in zip(scores.names, scores.vpt, strict=True)]
