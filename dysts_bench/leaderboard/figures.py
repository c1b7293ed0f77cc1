"""The leaderboard's figures (matplotlib, no display): equations, attractors, complexity-entropy plane, VPTs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..invariants.ordinal import complexity_entropy_bounds
from ..plots import plot_attractor
from ..system import System
from .forecasts import SystemForecasts

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


def zero_shot_scaling_figure(points: Sequence[tuple[str, int, float, tuple[float, float] | None]],
                             references: Mapping[str, float], path: Path, *, systems: str) -> Path:
    """Median VPT of zero-shot forecasters against the number of systems they were fitted on (log axis).

    `points` are (forecaster, systems fitted on, median VPT, its 95% interval or None); `references` are
    per-system forecasters' median VPTs on the same systems, drawn as horizontal lines."""
    with rc_context(_STYLE):
        fig = Figure(figsize=(5.2, 3.5))
        ax = fig.add_subplot()
        colours = colormaps["tab10"]
        for k, name in enumerate(sorted({p[0] for p in points})):
            mine = sorted((n, vpt, ci) for label, n, vpt, ci in points if label == name)
            x = [n for n, _, _ in mine]
            y = [vpt for _, vpt, _ in mine]
            low = [vpt - ci[0] if ci else 0.0 for _, vpt, ci in mine]
            high = [ci[1] - vpt if ci else 0.0 for _, vpt, ci in mine]
            ax.errorbar(x, y, yerr=[low, high], marker="o", ms=5, capsize=3, lw=1.2, color=colours(k), label=name)
        for k, (name, vpt) in enumerate(sorted(references.items())):
            ax.axhline(vpt, color=MUTED, lw=1.0, ls=("--", ":", "-.")[k % 3], label=f"{name} (per system)")
        if points:
            ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("systems fitted on (log scale)")
        ax.set_ylabel(f"median VPT on {systems} (τ)")
        ax.legend(frameon=False, fontsize=8)
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


# ------------------------------------------------------------------------------------ system page forecasts

_TRUTH = "#0f172a"
SHOWN_COORDINATES = 4      # a forecast panel stacks at most this many coordinates (the first ones)
PANELS = 6                 # forecasters drawn one panel each (the longest VPTs); the error growth shows all
_OFFSET = 4.0              # standardized coordinates are stacked this far apart


def _grid(n: int, columns: int, width: float, height: float, *, left: float = 0.55, bottom: float = 0.5
          ) -> tuple[Figure, np.ndarray]:
    """A figure of `n` panels of width × height inches in rows of `columns`, margins in inches (a fixed
    layout: tight_layout would draw every panel's text once more just to measure it)."""
    cols = min(columns, max(n, 1))
    rows = -(-max(n, 1) // cols)
    top, right = 0.3, 0.15
    w, h = cols * width, rows * height
    fig = Figure(figsize=(w, h))
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
                        wspace=(left + right) / (width - left - right), hspace=(bottom + top) / (height - bottom - top))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def _time_axis(n: int, stride: int, step: float | None) -> tuple[np.ndarray, str]:
    """Times of n points `stride` steps apart: in Lyapunov times where the step is known, else in steps."""
    t = np.arange(n) * stride
    if step is None:
        return t.astype(float), "steps after the context"
    return t * step, "time after the context (Lyapunov times τ)"


def error_growth_figure(sf: SystemForecasts, path: Path, *, epsilon: float) -> Path:
    """Each forecaster's median normalized error e(t), shaded between its quartiles, on a log scale with ε."""
    shown = [s for s in sf.shown if s.trace.error is not None]
    colours = colormaps["tab20"].colors
    with rc_context(_STYLE):
        fig = Figure(figsize=(7.2, 3.8))
        ax = fig.add_subplot()
        label = "steps after the context"
        for i, s in enumerate(shown):
            q = np.maximum(s.trace.error.array(), 1e-9)  # an exact forecast's zero error is off a log scale
            t, label = _time_axis(q.shape[1], s.trace.error_stride, sf.step)
            colour = colours[(2 * i) % 20 + (i // 10) % 2]
            ax.fill_between(t, q[0], q[2], color=colour, alpha=0.15, linewidth=0)
            ax.plot(t, q[1], color=colour, lw=1.3, label=s.name)
        ax.axhline(epsilon, color=HIGHLIGHT, lw=1.0, ls="--", label=f"ε = {epsilon:g}")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("normalized error e(t)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=7)
        fig.subplots_adjust(left=0.09, right=0.76, bottom=0.13, top=0.97)
        return _save(fig, path)


def forecast_figure(sf: SystemForecasts, path: Path, *, state_names: Sequence[str]) -> Path:
    """One panel per forecaster: its kept forecast against the truth, coordinate by coordinate, standardized."""
    shown = [s for s in sf.shown if s.trace.forecast is not None][:PANELS]
    dim = shown[0].trace.forecast.shape[1] if shown else 1
    k = min(dim, SHOWN_COORDINATES)
    with rc_context({**_STYLE, "axes.grid": False}):
        fig, axes = _grid(len(shown), 2, 4.4, 0.75 + 0.62 * k)
        mean, std = _scales(sf, shown[0].trace.forecast.array() if shown else np.zeros((1, dim)))
        for ax, s in zip(axes, shown, strict=True):
            forecast = s.trace.forecast.array()
            truth = sf.truth.get(s.trace.ic)
            t, label = _time_axis(len(forecast), 1, sf.step)
            for j in range(k):
                offset = -_OFFSET * j
                if truth is not None:
                    ax.plot(t, (truth[:, j] - mean[j]) / std[j] + offset, color=_TRUTH, lw=0.9)
                ax.plot(t, (forecast[:, j] - mean[j]) / std[j] + offset, color=ACCENT, lw=0.9, alpha=0.9)
            if s.vpt is not None and sf.step is not None:
                ax.axvline(s.vpt, color=HIGHLIGHT, lw=0.9, ls=":")
            ax.set_yticks([-_OFFSET * j for j in range(k)], list(state_names[:k]))
            ax.set_ylim(-_OFFSET * (k - 1) - 3.0, 3.0)
            vpt = f", VPT {s.vpt:.2f} τ" if s.vpt is not None else ""
            ax.set_title(f"{s.name} (initial condition {s.trace.ic}{vpt})", fontsize=8)
            ax.set_xlabel(label, fontsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(5))   # few ticks: their text is most of a panel's drawing
        return _save(fig, path, dpi=100)


def long_run_figure(sf: SystemForecasts, path: Path, *, state_names: Sequence[str]) -> Path:
    """One panel per forecaster: its long free run projected on two coordinates, over the true continuation."""
    shown = [s for s in sf.shown if s.trace.long_run is not None][:PANELS]
    dim = shown[0].trace.long_run.shape[1] if shown else 1
    with rc_context(_STYLE):
        fig, axes = _grid(len(shown), 3, 2.9, 2.75)
        reference = next(iter(sf.long_truth.values()), shown[0].trace.long_run.array() if shown else None)
        (x, y), (xl, yl) = _projection(_scales(sf, reference)[1] if reference is not None else np.ones(dim), dim,
                                       state_names)
        for ax, s in zip(axes, shown, strict=True):
            run = s.trace.long_run.array()
            truth = sf.long_truth.get((s.trace.long_ic, s.trace.long_stride))
            if truth is not None:
                tx, ty = x(truth), y(truth)
                ax.scatter(tx, ty, s=3, color=MUTED, alpha=0.7, linewidths=0)
                pad_x, pad_y = 0.15 * np.ptp(tx) + 1e-12, 0.15 * np.ptp(ty) + 1e-12
                ax.set_xlim(tx.min() - pad_x, tx.max() + pad_x)
                ax.set_ylim(ty.min() - pad_y, ty.max() + pad_y)
            rx, ry = x(run), y(run)
            ax.scatter(rx, ry, s=3, color=ACCENT, alpha=0.8, linewidths=0)
            title = s.name
            if truth is not None:
                (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
                out = float(np.mean((rx < x0) | (rx > x1) | (ry < y0) | (ry > y1)))
                if out > 0:
                    title += f" ({out:.0%} off the panel)"
            ax.set_title(title, fontsize=8)
            ax.set_xlabel(xl, fontsize=7)
            ax.set_ylabel(yl, fontsize=7)
            ax.tick_params(labelsize=6)
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.yaxis.set_major_locator(MaxNLocator(3))
        return _save(fig, path, dpi=100)


def _scales(sf: SystemForecasts, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each coordinate's mean and (non-zero) standard deviation: the test split's from the manifest, else the
    first truth's, else those of `fallback` (a forecast: one scale for every panel of a figure)."""
    if sf.mean is not None and sf.std is not None:
        mean, std = sf.mean, sf.std
    else:
        values = next(iter(sf.truth.values()), fallback)
        mean, std = values.mean(axis=0), values.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def _projection(spread: np.ndarray, dim: int, names: Sequence[str]) -> tuple[tuple, tuple[str, str]]:
    """The plane a long run is drawn on: the two coordinates of largest spread, or x(t) against x(t+1) in 1-D."""
    if dim == 1:
        return (lambda a: a[:-1, 0], lambda a: a[1:, 0]), (f"{names[0]}(t)", f"{names[0]}(t + Δ)")
    a, b = sorted(np.argsort(-np.asarray(spread))[:2])
    return (lambda v: v[:, a], lambda v: v[:, b]), (names[a], names[b])
