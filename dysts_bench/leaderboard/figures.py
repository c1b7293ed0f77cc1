"""The leaderboard's figures (matplotlib, no display): equations, attractors, complexity-entropy plane, VPTs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..invariants.ordinal import entropy_complexity_of
from ..plots import plot_attractor
from ..system import System

ACCENT = "#2563eb"
HIGHLIGHT = "#dc2626"
MUTED = "#94a3b8"
# Fixed ids and no dates inside the files: the same inputs give the same bytes, so rebuilds diff cleanly.
_STYLE = {
    "svg.hashsalt": "dysts-bench",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e2e8f0",
    "grid.linewidth": 0.6,
    "axes.edgecolor": "#64748b",
}
# Systems are named beside their points when there are this few.
LABELLED_POINTS = 30
_METADATA = {".svg": {"Date": None}, ".png": {"Software": None}}


def _save(fig: Figure, path: Path, **options) -> Path:
    """Write a figure to `path` (format from its suffix) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata=_METADATA.get(path.suffix), **options)
    return path


def equations_figure(lines: Sequence[str], path: Path) -> Path:
    """Typeset math-text lines (one equation each) into an SVG."""
    # Fractions need more room than a plain line.
    heights = [0.9 if "frac" in line else 0.45 for line in lines]
    total = sum(heights)
    with rc_context({**_STYLE, "mathtext.fontset": "cm"}):
        fig = Figure(figsize=(8, total))
        y = 1.0
        for line, h in zip(lines, heights, strict=True):
            y -= h / total
            fig.text(0.0, y + 0.5 * h / total, f"${line}$", fontsize=17, va="center", color="#0f172a")
        return _save(fig, path, bbox_inches="tight", pad_inches=0.05, transparent=True)


def attractor_figure(system: System, path: Path) -> Path:
    """A picture of the system's attractor (3-D for three or more coordinates) as PNG."""
    with rc_context({**_STYLE, "axes.grid": False}):
        fig = Figure(figsize=(4.2, 4.2))
        three_d = system.dim >= 3
        ax = fig.add_subplot(projection="3d" if three_d else None)
        plot_attractor(system, ax)
        ax.set_title("")
        if three_d:
            ax.set_box_aspect(None, zoom=1.25)  # the default leaves a wide empty margin around the curve
        for line in ax.get_lines():
            line.set(color=ACCENT, alpha=0.8, linewidth=0.5)
        fig.subplots_adjust(*((0, 0, 1, 1) if three_d else (0.14, 0.12, 0.97, 0.97)))
        return _save(fig, path, dpi=120)


def complexity_entropy_bounds(order: int) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest statistical complexity C possible at each permutation entropy H: (2, n) arrays.

    The bounds of Martin, Plastino & Rosso (2006): the lowest from one large probability and the rest
    equal, the highest from some patterns never occurring and one smaller probability.
    """
    n = math.factorial(order)
    low = []
    for p in np.linspace(1.0 / n, 1.0, 80):
        probs = np.full(n, (1 - p) / (n - 1))
        probs[0] = p
        low.append(entropy_complexity_of(probs))
    high = []
    for zeros in range(n - 1):
        free = n - zeros
        for p in np.linspace(0.0, 1.0 / free, 8):
            probs = np.zeros(n)
            probs[0] = p
            probs[1:free] = (1 - p) / (free - 1)
            high.append(entropy_complexity_of(probs))
    low_arr, high_arr = np.array(low).T, np.array(high).T
    return low_arr[:, np.argsort(low_arr[0])], high_arr[:, np.argsort(high_arr[0])]


def complexity_entropy_figure(points: Mapping[str, tuple[float, float]], path: Path, *, order: int = 5,
                              highlight: str | None = None) -> Path:
    """The complexity-entropy plane: every system's (H, C), the bounds, and one system picked out."""
    low, high = complexity_entropy_bounds(order)
    with rc_context(_STYLE):
        fig = Figure(figsize=(5.6, 3.9))
        ax = fig.add_subplot()
        ax.plot(*low, color=MUTED, lw=0.8)
        ax.plot(*high, color=MUTED, lw=0.8)
        others = [v for k, v in points.items() if k != highlight]
        if others:
            h, c = np.array(others).T
            ax.scatter(h, c, s=14, color=ACCENT, alpha=0.6, linewidths=0, label="registry systems")
        if highlight in points:
            h, c = points[highlight]
            ax.scatter([h], [c], s=90, marker="*", color=HIGHLIGHT, zorder=3, label=highlight)
            ax.annotate(highlight, (h, c), xytext=(6, 6), textcoords="offset points", color=HIGHLIGHT)
        ax.set_xlim(0, 1.02)
        top = max([float(high[1].max()), *(c for _, c in points.values())])
        ax.set_ylim(0, 1.08 * top)
        ax.set_xlabel(f"normalized permutation entropy H (order {order}, delay 1)")
        ax.set_ylabel("statistical complexity C")
        if points:
            ax.legend(loc="upper left", frameon=False)
        fig.tight_layout()
        return _save(fig, path)


def vpt_lyapunov_figure(rows: Iterable[tuple[str, float | None, float | None]], path: Path, *,
                        epsilon: float) -> Path:
    """Median VPT per system against its largest Lyapunov exponent (log axis); rows are (name, λ_max, VPT)."""
    kept = [(n, lam, vpt) for n, lam, vpt in rows if lam is not None and vpt is not None and lam > 0]
    with rc_context(_STYLE):
        fig = Figure(figsize=(5.2, 3.5))
        ax = fig.add_subplot()
        if kept:
            lam, vpt = [k[1] for k in kept], [k[2] for k in kept]
            ax.scatter(lam, vpt, s=24, color=ACCENT, alpha=0.75, linewidths=0)
            ax.set_xscale("log")
            ax.set_xlim(min(lam) / 1.8, max(lam) * 1.8)
            ax.set_ylim(0, 1.15 * max(vpt) or 1.0)
            if len(kept) <= LABELLED_POINTS:
                for name, x, y in kept:
                    ax.annotate(name, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7,
                                color="#334155")
        else:
            ax.text(0.5, 0.5, "no system with both numbers", ha="center", transform=ax.transAxes)
        ax.set_xlabel(r"largest Lyapunov exponent $\lambda_{\max}$ (1 / time unit)")
        ax.set_ylabel(f"median VPT (τ, ε = {epsilon:g})")
        fig.tight_layout()
        return _save(fig, path)


def vpt_histogram_figure(values: Sequence[float], path: Path, *, epsilon: float) -> Path:
    """The distribution of VPT over every forecast (system and initial condition)."""
    data = np.array([v for v in values if v is not None], dtype=float)
    with rc_context(_STYLE):
        fig = Figure(figsize=(5.2, 3.5))
        ax = fig.add_subplot()
        if data.size:
            bins = min(40, max(8, 2 * int(np.sqrt(data.size))))
            ax.hist(data, bins=bins, range=(0.0, max(float(data.max()), 1e-9) * 1.02), color=ACCENT, alpha=0.85,
                    edgecolor="white", linewidth=0.5)
            median = float(np.median(data))
            ax.axvline(median, color=HIGHLIGHT, lw=1.2, label=f"median {median:.2f} τ")
            ax.legend(frameon=False)
        else:
            ax.text(0.5, 0.5, "no successful forecast", ha="center", transform=ax.transAxes)
        ax.set_xlabel(f"VPT (Lyapunov times τ, ε = {epsilon:g})")
        ax.set_ylabel("forecasts (system × IC)")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        return _save(fig, path)


def vpt_strip_figure(rows: Sequence[tuple[str, np.ndarray]], path: Path, *, epsilon: float) -> Path:
    """Each forecaster's per-system median VPTs: a box (quartiles) with the systems as points."""
    with rc_context(_STYLE):
        fig = Figure(figsize=(6.4, 0.9 + 0.42 * max(len(rows), 1)))
        ax = fig.add_subplot()
        for i, (_, values) in enumerate(rows):
            if values.size:
                ax.boxplot([values], positions=[i], orientation="horizontal", widths=0.55, showfliers=False,
                           medianprops={"color": HIGHLIGHT}, boxprops={"color": "#475569"})
                jitter = np.random.default_rng(i).uniform(-0.18, 0.18, values.size)  # seeded: same bytes each build
                ax.scatter(values, i + jitter, s=9, color=ACCENT, alpha=0.55, linewidths=0, zorder=3)
        ax.set_yticks(range(len(rows)), [name for name, _ in rows])
        ax.invert_yaxis()
        ax.set_xlabel(f"median VPT per system (Lyapunov times τ, ε = {epsilon:g})")
        fig.tight_layout()
        return _save(fig, path)


def plane_vpt_figure(points: Mapping[str, tuple[float, float]], vpt: Mapping[str, float], path: Path, *,
                     order: int, title: str) -> Path:
    """The complexity-entropy plane with each scored system coloured by a forecaster's median VPT."""
    low, high = complexity_entropy_bounds(order)
    kept = [(points[s], v) for s, v in vpt.items() if s in points and np.isfinite(v)]
    with rc_context(_STYLE):
        fig = Figure(figsize=(4.6, 3.4))
        ax = fig.add_subplot()
        ax.plot(*low, color=MUTED, lw=0.8)
        ax.plot(*high, color=MUTED, lw=0.8)
        if kept:
            (h, c), v = np.array([k[0] for k in kept]).T, np.array([k[1] for k in kept])
            dots = ax.scatter(h, c, c=v, s=22, cmap="viridis", vmin=0.0, vmax=max(float(v.max()), 1e-9),
                              linewidths=0)
            fig.colorbar(dots, ax=ax, label="median VPT (τ)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.08 * float(high[1].max()))
        ax.set_xlabel(f"permutation entropy H (order {order})")
        ax.set_ylabel("statistical complexity C")
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        return _save(fig, path)
