"""Reports from the sidecars: the table of invariants, the comparison with dysts, the complexity-entropy plane."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from ..specs.invariants import Invariants, Spectrum
from ..system import get_system, list_systems
from .ordinal import complexity_entropy_bounds

# The dysts catalogue's own invariants (scripts/make_reference_rhs.py), shipped with the package.
DYSTS_METADATA = Path(__file__).resolve().parents[1] / "_data" / "reference" / "dysts_metadata.json"
DISAGREEMENT = 0.2      # relative difference of the largest exponent that the comparison lists

COLUMNS = [  # (sidecar key, column name)
    ("lyapunov_max", "lyapunov_max"), ("lyapunov_time", "lyapunov_time"),
    ("kaplan_yorke_dimension", "kaplan_yorke"), ("correlation_dimension", "correlation_dimension"),
    ("period", "period"), ("permutation_entropy", "permutation_entropy"),
    ("statistical_complexity", "statistical_complexity"),
]


def load_sidecars(names: list[str] | None = None) -> dict[str, Invariants]:
    """name -> invariants for every system that has them."""
    out = {}
    for name in names or list_systems():
        inv = get_system(name).invariants
        if inv.computed:
            out[name] = inv
    return out


def _stderr(inv: Invariants, key: str) -> float | None:
    entry = getattr(inv, key)
    return entry.stderr if entry is not None else None


def table_rows(sidecars: dict[str, Invariants]) -> list[dict[str, Any]]:
    """One flat row per system: each invariant with its standard error, the method and any errors."""
    rows = []
    for name, inv in sorted(sidecars.items()):
        row: dict[str, Any] = {"system": name, "version": inv.version, "chaotic": inv.chaotic, "chaos": inv.chaos}
        for key, column in COLUMNS:
            row[column] = inv.scalar(key)
            row[f"{column}_stderr"] = _stderr(inv, key)
        spectrum = inv.lyapunov_spectrum
        row["lyapunov_spectrum"] = " ".join(f"{v:.5g}" for v in (spectrum.value if spectrum else None) or [])
        row["lyapunov_method"] = spectrum.method if spectrum else None
        row["recommended_dt"] = inv.scalar("ideal_sampling")
        ratios = (inv.ideal_sampling.pattern_time_ratio if inv.ideal_sampling else None) or {}
        row["dataset_pattern_ratio"] = ratios.get("dataset")
        row["spec_period"] = inv.period.spec_period if inv.period else None
        row["period_note"] = (inv.period.note if inv.period else None) or ""
        row["errors"] = "; ".join(f"{k}: {v}" for k, v in inv.errors.items())
        rows.append(row)
    return rows


def _cell(value: Any, stderr: Any = None) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" + (f" ± {stderr:.2g}" if stderr is not None else "")
    return str(value)


def write_table(sidecars: dict[str, Invariants], out_dir: Path) -> list[Path]:
    """reports/invariants.csv and reports/invariants.md."""
    rows = table_rows(sidecars)
    csv_path = out_dir / "invariants.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["system"])
        writer.writeheader()
        writer.writerows(rows)
    md = ["# Invariants of the registry", "",
          "Computed by `dysts-bench invariants --all --write`; values ± one standard error. λ_max: largest "
          "Lyapunov exponent; τ = 1/λ_max (– where no chaos was found); D_KY: Kaplan–Yorke dimension; D_2: "
          "correlation dimension; H, C: permutation entropy and statistical complexity (order 5, delay 1, at "
          "PECCARY's recommended sampling). Chaos: chaotic when λ_max exceeds 3 standard errors (plus an O(1/T) "
          "end term) and 0.05 per period; marginal when only the first holds. Spec period: the spec's hint "
          "(dysts's value), marked * where it differs from the measured period by more than 1.5× (the sidecar's "
          "`period.note` says why).", "",
          "| system | chaos | λ_max | τ | D_KY | D_2 | period | spec period | H | C | method | errors |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [_cell(r[c], r[f"{c}_stderr"]) for _, c in COLUMNS]
        spec = _cell(r["spec_period"]) + (" *" if r["period_note"] else "")
        cells.insert([c for _, c in COLUMNS].index("period") + 1, spec)
        md.append(f"| {r['system']} | {(r['chaos'] or '–').replace('_', ' ')} | " + " | ".join(cells)
                  + f" | {r['lyapunov_method'] or '–'} | {r['errors'] or ''} |")
    md_path = out_dir / "invariants.md"
    md_path.write_text("\n".join(md) + "\n")
    return [csv_path, md_path]


def diagnose(name: str, inv: Invariants, dysts: dict[str, Any]) -> str:
    """Why our largest exponent and dysts's differ, from what the two computations show."""
    ours, se = inv.scalar("lyapunov_max"), _stderr(inv, "lyapunov_max") or 0.0
    stored = dysts.get("dysts_maximum_lyapunov_estimated")
    spectrum0 = (dysts.get("dysts_lyapunov_spectrum_estimated") or [None])[0]
    reasons = []
    if inv.chaotic is False:
        tolerance = (inv.lyapunov_max and inv.lyapunov_max.zero_tolerance) or 3 * se
        kind = "a stable fixed point" if ours < -tolerance else "a limit cycle or torus (λ_max ≈ 0)"
        reasons.append(f"not chaotic at these parameters and initial condition: ours {ours:.3g} ± {se:.1g} "
                       f"means {kind}; dysts's positive value is an artefact of its short finite-time fit")
    if stored and spectrum0 and abs(stored - spectrum0) > 0.5 * max(abs(stored), abs(spectrum0)):
        reasons.append(f"dysts's own two estimates disagree ({stored:.3g} vs spectrum[0] {spectrum0:.3g})")
    spectrum = inv.lyapunov_spectrum or Spectrum()
    settings = spectrum.settings
    method = spectrum.method
    if method == "nearby":
        reasons.append("non-smooth (continuous, piecewise smooth) vector field: ours from nearby "
                       "trajectories renormalized every step")
    if method == "separate":
        reasons.append("discontinuous vector field: ours from nearby trajectories each integrated on its "
                       "own steps (a variational equation misses the jumps)")
    if method == "delay":
        reasons.append("delay equation: ours from two trajectories in the discretized history space; "
                       "dysts's embedding-based estimate is not a property of the flow")
    halves = settings.get("halves")
    if settings.get("stationary") is False and halves:
        reasons.append(f"our run is not stationary (first half {halves[0]:.3g}, second half {halves[1]:.3g}): "
                       "intermittency or a long chaotic transient, which short runs such as dysts's sample "
                       "differently")
    if settings.get("stop") not in (None, "SUCCESS", "MAX_STEPS"):
        reasons.append("our integration stopped early: treat ours as provisional")
    if ours is not None and spectrum0 and abs(spectrum0 - ours) <= DISAGREEMENT * abs(ours):
        reasons.append(f"ours agrees with dysts's spectrum[0] ({spectrum0:.3g}); its maximum_lyapunov_estimated "
                       "is the outlier")
    if not reasons and ours is not None:
        total, trace = spectrum.sum, spectrum.jacobian_trace_mean
        check = (f"; our spectrum sums to the mean Jacobian trace within {abs(total - trace):.1e}"
                 if total is not None and trace is not None else "")
        reasons.append(f"ours is {abs(ours - (stored or 0)) / max(se, 1e-300):.0f} standard errors from dysts's "
                       f"over {settings.get('averaging_time', float('nan')):.3g} time units"
                       f"{check}: dysts's estimator (a short finite-time fit) is biased")
    return "; ".join(reasons)


def write_comparison(sidecars: dict[str, Invariants], out_dir: Path,
                     metadata: Path = DYSTS_METADATA) -> Path:
    """reports/dysts_comparison.md: every system whose largest exponent differs from dysts's by > 20%."""
    path = out_dir / "dysts_comparison.md"
    if not metadata.exists():
        path.write_text(f"# Comparison with dysts\n\n{metadata} is missing: nothing to compare.\n")
        return path
    meta = json.loads(metadata.read_text())
    lines = ["# Our largest Lyapunov exponents against dysts's stored estimates", "",
             f"Listed: systems where |ours − dysts| / |ours| > {DISAGREEMENT:.0%} (dysts's "
             "`maximum_lyapunov_estimated`; its `lyapunov_spectrum_estimated[0]` shown too). Ours ± one "
             "standard error, from `systems/<Name>/<version>.invariants.json`.", "",
             "| system | ours | dysts max | dysts spectrum[0] | ratio dysts/ours | diagnosis |",
             "| --- | --- | --- | --- | --- | --- |"]
    listed = compared = 0
    for name, inv in sorted(sidecars.items()):
        ours, dysts = inv.scalar("lyapunov_max"), meta.get(name)
        stored = (dysts or {}).get("dysts_maximum_lyapunov_estimated")
        if ours is None or stored is None:
            continue
        compared += 1
        if abs(ours - stored) <= DISAGREEMENT * abs(ours):
            continue
        listed += 1
        spectrum0 = (dysts.get("dysts_lyapunov_spectrum_estimated") or [None])[0]
        ratio = stored / ours if ours != 0 else math.inf
        lines.append(f"| {name} | {_cell(ours, _stderr(inv, 'lyapunov_max'))} | {stored:.4g} | "
                     f"{_cell(spectrum0)} | {ratio:.3g} | {diagnose(name, inv, dysts)} |")
    lines[2:2] = [f"{listed} of {compared} compared systems differ by more than {DISAGREEMENT:.0%}.", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def plot_complexity_entropy(sidecars: dict[str, Invariants], path: Path) -> Path:
    """All systems on the complexity-entropy plane, with its bounds for order 5."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6.5), dpi=120)
    lower, upper = complexity_entropy_bounds(5)
    ax.plot(*lower, color="0.6", lw=1)
    ax.plot(*upper, color="0.6", lw=1)
    for chaotic, color, label in ((True, "tab:red", "chaotic"), (False, "tab:blue", "not chaotic"),
                                  (None, "0.4", "λ_max unavailable")):
        pts = [(inv.scalar("permutation_entropy"), inv.scalar("statistical_complexity"), name)
               for name, inv in sidecars.items() if inv.chaotic is chaotic]
        pts = [p for p in pts if p[0] is not None and p[1] is not None]
        if not pts:
            continue
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=18, color=color, label=label, zorder=3)
        for h, c, name in pts:
            ax.annotate(name, (h, c), fontsize=5, alpha=0.7, xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("normalized permutation entropy H (order 5, delay 1)")
    ax.set_ylabel("Jensen–Shannon statistical complexity C")
    ax.set_title("Systems of the registry on the complexity–entropy plane (PECCARY's recommended sampling)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, None)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_reports(out_dir: str | Path = "reports", names: list[str] | None = None) -> list[Path]:
    """Write every report from the sidecars into out_dir; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sidecars = load_sidecars(names)
    paths = write_table(sidecars, out)
    paths.append(write_comparison(sidecars, out))
    paths.append(plot_complexity_entropy(sidecars, out / "complexity_entropy.png"))
    return paths
