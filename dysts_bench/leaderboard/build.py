"""The static leaderboard: results files in, HTML pages, figures, a stylesheet and a small script out."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from tqdm import tqdm

from ..data.manifest import MANIFEST_DIR
from ..errors import DystsBenchError
from ..system import System, get_system, list_systems
from ..version import __version__
from . import analysis, figures
from .boards import Board, Entry, SiteError, board_table, group_boards, load_entries, system_ranking_table
from .check import known_manifests
from .columns import format_number, format_significant
from .dataset_info import dataset_entries
from .equations import equation_lines
from .forecasts import SystemForecasts, Truths, system_forecasts
from .links import doi_url, safe_url
from .recovery import Identified, identified, identified_lines, recovery_summary, recovery_table
from .systems_info import (
    complexity_point,
    flags,
    invariant_rows,
    invariants_about,
    ordinal_order,
    parameter_text,
    symbol_html,
    systems_index_table,
)
from .tables import Table, lyapunov_max, per_system_table

log = logging.getLogger(__name__)

# Written into every built site: a folder with it may be rebuilt in place, any other must be empty.
MARKER = ".dysts-bench-site"
STATIC = Path(__file__).parent / "static"
CE_FIGURE = "figures/complexity-entropy.svg"
PARALLEL_PAGES = 24   # fewer system pages are drawn here: starting worker processes costs seconds
PAGES_PER_TASK = 4


class Site:
    """An output folder: renders pages and figures into it and remembers what this build wrote."""

    def __init__(self, out: Path, **common: Any):
        self.out = out
        self.common = common     # context every page gets (package version, number of results files)
        self.written: set[Path] = set()
        self.env = Environment(loader=PackageLoader("dysts_bench.leaderboard", "templates"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["num"] = format_number
        self.env.filters["sig"] = format_significant
        self.env.filters["short"] = lambda h, n=12: f"{h[:n]}…" if len(h) > n else h
        self.env.filters["safe_url"] = safe_url
        self.env.filters["doi_url"] = doi_url

    def prepare(self) -> None:
        """Create the folder, refusing one that holds anything but an earlier build."""
        if self.out.exists() and any(self.out.iterdir()) and not (self.out / MARKER).exists():
            raise SiteError(f"{self.out}: the folder is not empty and was not built by `dysts-bench leaderboard "
                            "build`; give a new or empty folder with --out")
        self.out.mkdir(parents=True, exist_ok=True)
        self._keep(self.out / MARKER).write_text("built by dysts-bench leaderboard build\n")

    def _keep(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.written.add(path)
        return path

    def page(self, rel: str, template: str, **context: Any) -> None:
        """Render a template to `rel` (links in it are relative to the page's folder)."""
        root = "../" * rel.count("/")
        html = self.env.get_template(template).render(root=root, **self.common, **context)
        self._keep(self.out / rel).write_text(html, encoding="utf-8")

    def figure(self, rel: str, make: Callable[[Path], Any], *, cached: bool = False) -> str | None:
        """Make a figure at `rel` (kept from an earlier build if `cached`); None if it could not be drawn."""
        path = self.out / rel
        if not (cached and path.is_file()):
            try:
                make(self._keep(path))
            except (DystsBenchError, ValueError, ArithmeticError) as exc:
                log.warning("%s: figure not drawn: %s", rel, exc)
                self.written.discard(path)
                path.unlink(missing_ok=True)
                return None
        self.written.add(path)
        return rel

    def copy_static(self) -> None:
        """The stylesheet and the table script."""
        for src in sorted(STATIC.iterdir()):
            if src.is_file():
                shutil.copyfile(src, self._keep(self.out / "static" / src.name))

    def prune(self) -> None:
        """Remove what an earlier build wrote and this one did not (stale pages, figures of old specs)."""
        for path in sorted(self.out.rglob("*"), reverse=True):
            if path.is_file() and path not in self.written:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _attractor_key(system: System) -> str:
    # The picture depends on the spec and on the period it integrates over.
    text = f"{system.spec_hash}:{system.invariants.scalar('period')}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SystemPage:
    """Everything a system's page needs beyond the registry, gathered from the boards (picklable, so that
    pages can be drawn in worker processes)."""

    name: str
    ranking: Table
    recovered: tuple[Identified, ...] = ()
    forecasts: tuple[tuple[SystemForecasts, float], ...] = ()   # per dataset, with its VPT threshold ε


def system_page(site: Site, system: System, job: SystemPage, points: dict, order: int) -> None:
    """A system's page: equations, parameters, invariants, attractor, complexity-entropy plane, ranking,
    and the forecasters' error growth, forecasts and long free runs."""
    name = job.name
    equations = site.figure(f"figures/equations/{name}-{system.spec_hash[:16]}.svg",
                            lambda p: figures.equations_figure(equation_lines(system), p), cached=True)
    attractor = site.figure(f"figures/attractors/{name}-{_attractor_key(system)}.png",
                            lambda p: figures.attractor_figure(system, p), cached=True)
    plane = None
    if name in points:
        plane = site.figure(f"figures/complexity-entropy/{name}.svg",
                            lambda p: figures.complexity_entropy_figure(points, p, order=order, highlight=name))
    spec = system.spec
    kinds = flags(system)
    tags = [t for t in spec.tags if t.lower() not in {k.lower() for k in kinds}]
    site.page(f"systems/{name}.html", "system.html.j2", page="systems", system=system, spec=spec, flags=kinds,
              tags=tags, equations=equations, equation_text=[*(f"{k} = {v}" for k, v in spec.auxiliary.items()),
                                                  *(f"d{k}/dt = {v}" for k, v in spec.equations.items())],
              parameters=[(symbol_html(k), k, parameter_text(v)) for k, v in system.params.items()],
              initial_condition=", ".join(parameter_text(v) for v in spec.initial_condition),
              invariants=invariant_rows(system.invariants), about=invariants_about(system.invariants),
              lyapunov_time=_lyapunov_time(system), attractor=attractor, plane=plane, ranking=job.ranking,
              recovery=[_recovery_view(it, system) for it in job.recovered],
              forecasts=[_forecast_view(site, system, sf, eps) for sf, eps in job.forecasts])


def _forecast_view(site: Site, system: System, sf: SystemForecasts, eps: float) -> dict[str, Any]:
    """The figures of one dataset's forecasts of a system (cached under a key of everything they draw)."""
    stem = f"figures/forecasts/{system.name}-{sf.config}-{sf.key()}"
    names = system.state_names
    return {
        "config": sf.config, "shown": sf.shown, "truth": bool(sf.truth), "long_truth": bool(sf.long_truth),
        "step": sf.step, "dim": system.dim, "epsilon": eps, "panels": figures.PANELS,
        "error": site.figure(f"{stem}-error.svg", lambda p: figures.error_growth_figure(sf, p, epsilon=eps),
                             cached=True),
        "forecast": site.figure(f"{stem}-forecast.png",
                                lambda p: figures.forecast_figure(sf, p, state_names=names), cached=True),
        "long": site.figure(f"{stem}-long.png", lambda p: figures.long_run_figure(sf, p, state_names=names),
                            cached=True),
    }


def system_pages(site: Site, systems: dict[str, System], jobs: Sequence[SystemPage], points: dict, order: int, *,
                 workers: int, progress: bool) -> None:
    """Every system page, in `workers` processes when there are enough pages to pay for their start (a
    worker loads each system from the registry itself)."""
    bar = tqdm(total=len(jobs), desc="system pages", unit="system", disable=not progress)
    if workers <= 1 or len(jobs) < PARALLEL_PAGES:
        for job in jobs:
            system_page(site, systems[job.name], job, points, order)
            bar.update()
        bar.close()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunks = [jobs[i: i + PAGES_PER_TASK] for i in range(0, len(jobs), PAGES_PER_TASK)]
    # spawn, not fork: the parent holds zarr's I/O threads, which a forked child would inherit mid-call.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_pages_in_worker, site.out, site.common, chunk, points, order): len(chunk)
                   for chunk in chunks}
        for future in as_completed(futures):
            site.written |= future.result()
            bar.update(futures[future])
    bar.close()


def _pages_in_worker(out: Path, common: dict[str, Any], jobs: Sequence[SystemPage], points: dict,
                     order: int) -> set[Path]:
    """Worker side of `system_pages`: render the pages and figures; the paths written."""
    site = Site(out, **common)
    for job in jobs:
        system_page(site, get_system(job.name), job, points, order)
    return site.written


def _epsilon(sf: SystemForecasts, boards: Sequence[Board]) -> float:
    return next(b.conventions.vpt_epsilon for b in boards if b.dataset.config == sf.config)


def _recovery_view(it: Identified, system: System) -> dict[str, Any]:
    """What the system page shows of one forecaster's identified equations."""
    r = it.recovery
    scores = ""
    if r.status == "ok":
        scores = (f"{r.n_correct} of {r.n_true} true terms found, {r.n_identified} identified; precision "
                  f"{format_number(r.precision or 0.0, 2)}, recall {format_number(r.recall or 0.0, 2)}, coefficient "
                  f"error {format_number(r.coefficient_error or 0.0, 3)}")
    return {"forecaster": it.forecaster, "href": it.href, "status": r.status, "message": r.message,
            "scores": scores, "lines": identified_lines(it.equations, system.state_names) if it.equations else []}


def _lyapunov_time(system: System) -> str:
    lam = system.invariants.scalar("lyapunov_max")
    return format_number(1.0 / lam, 3) if lam and lam > 0 else ""


def forecaster_page(site: Site, board: Board, entry: Entry, system_href: Callable[[str], str],
                    lyap: Callable[[str], float | None]) -> None:
    """A forecaster's page: its summary, per-system table, VPT against λ_max, VPT histogram, failures."""
    r = entry.results
    eps = r.conventions.vpt_epsilon
    table = per_system_table(r, board.columns, system_href, lyap)
    lam_vpt = [(n, lyapunov_max(s, lyap), s.metrics.get("vpt")) for n, s in r.systems.items()]
    scatter = site.figure(f"figures/forecasters/{entry.slug}-vpt-lyapunov.svg",
                          lambda p: figures.vpt_lyapunov_figure(lam_vpt, p, epsilon=eps))
    vpts = [rec.metrics.get("vpt") for rec in r.records if rec.status == "ok"]
    histogram = site.figure(f"figures/forecasters/{entry.slug}-vpt-histogram.svg",
                            lambda p: figures.vpt_histogram_figure(vpts, p, epsilon=eps))
    failures = [rec for rec in r.records if rec.status != "ok"]
    site.page(entry.href, "forecaster.html.j2", page="leaderboard", entry=entry, r=r, board=board, table=table,
              scatter=scatter, histogram=histogram, failures=failures, params=json.dumps(r.forecaster.params, indent=1))


def board_analysis(site: Site, board: Board, index: int, points: dict, order: int,
                   invariants: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """The analysis page's section for one board: intervals, win rates, skill against chaos, figures."""
    scores = analysis.Scores.of(board)
    eps = board.conventions.vpt_epsilon
    key = f"{index}-{board.dataset.config}-{len(board.systems)}"
    strip = site.figure(f"figures/analysis/{key}-vpt.svg",
                        lambda p: figures.vpt_strip_figure(analysis.strip_data(scores), p, epsilon=eps))
    planes = [(name, site.figure(f"figures/analysis/{key}-plane-{entry.slug}.svg",
                                 lambda p, row=row, name=name: figures.plane_vpt_figure(
                                     points, dict(zip(scores.systems, row, strict=True)), p, order=order, title=name)))
              for name, entry, row in zip(scores.names, board.entries, scores.vpt, strict=True)]
    return {"board": board, "strip": strip, "ranks": analysis.rank_table(scores, index, lambda h: h),
            "wins": analysis.win_table(scores, index), "skill": analysis.skill_table(scores, invariants, index),
            "planes": [(n, src) for n, src in planes if src]}


def load_registry() -> list[System]:
    """Every registry system that loads; one that does not is left out with a warning (`systems check` says why)."""
    systems = []
    for name in list_systems():
        try:
            systems.append(get_system(name))
        except DystsBenchError as exc:
            log.warning("%s: left out of the site: %s", name, exc)
    return systems


def build_site(results_dir: str | Path, out: str | Path, *, all_systems: bool = False,
               manifests: str | Path = MANIFEST_DIR, archives: Sequence[str | Path] = (),
               workers: int | None = None, progress: bool = True) -> Path:
    """Build the leaderboard from a folder of results files into `out`; returns the path of its index page.

    `archives`: the datasets the results were scored on, where the forecast figures read the truth.
    `workers`: processes drawing the system pages (default: one per CPU).
    """
    results_dir, out = Path(results_dir), Path(out)
    known = known_manifests(manifests)
    truths = Truths(archives)
    entries = load_entries(results_dir, known)
    boards = group_boards(entries)
    site = Site(out, version=__version__, n_results=len(entries))
    site.prepare()
    registry = load_registry()
    by_name = {s.name: s for s in registry}
    scored = sorted({name for e in entries for name in e.results.systems})
    unknown = [n for n in scored if n not in by_name]
    if unknown:
        log.warning("no registry page for systems not in the registry: %s", ", ".join(unknown))
    pages = sorted(by_name) if all_systems else [n for n in scored if n in by_name]

    def system_href(name: str, folder: str = "../systems/") -> str:
        return f"{folder}{name}.html" if name in pages else ""

    def registry_lyap(name: str) -> float | None:
        return by_name[name].invariants.scalar("lyapunov_max") if name in by_name else None

    points = {s.name: p for s in registry if (p := complexity_point(s.invariants)) is not None}
    order = ordinal_order(registry)
    plane = site.figure(CE_FIGURE, lambda p: figures.complexity_entropy_figure(points, p, order=order))
    for board in boards:
        for e in board.own_entries:
            forecaster_page(site, board, e, system_href, registry_lyap)
    recovered = [it for b in boards for e in b.own_entries for it in identified(e.results, e.href)]
    jobs = [SystemPage(name, system_ranking_table(name, boards, lambda h: f"../{h}"),
                       tuple(it for it in recovered if it.system == name),
                       tuple((sf, _epsilon(sf, boards)) for sf in system_forecasts(name, boards, known, truths)))
            for name in pages]
    system_pages(site, by_name, jobs, points, order, workers=(os.cpu_count() or 1) if workers is None else workers,
                 progress=progress)
    invariants = {s.name: {k: s.invariants.scalar(k) for k in analysis.INVARIANTS} for s in registry}
    site.page("analysis.html", "analysis.html.j2", page="analysis",
              analyses=[board_analysis(site, b, i, points, order, invariants) for i, b in enumerate(boards)])
    site.page("recovery.html", "recovery.html.j2", page="recovery",
              summary=recovery_summary(recovered, lambda h: h),
              table=recovery_table(recovered, lambda n: system_href(n, "systems/"), lambda h: h))

    site.page("index.html", "index.html.j2", page="leaderboard", boards=boards,
              tables=[board_table(b, i) for i, b in enumerate(boards)])
    site.page("systems/index.html", "systems.html.j2", page="systems", plane=plane, n_points=len(points), order=order,
              table=systems_index_table(registry, lambda n: system_href(n, "")))
    results_by_config = defaultdict(list)
    for e in entries:
        results_by_config[e.results.dataset.config].append(e)
    site.page("dataset.html", "dataset.html.j2", page="dataset", datasets=dataset_entries(manifests), plane=plane,
              n_points=len(points), order=order, results_by_config=results_by_config)
    site.copy_static()
    site.prune()
    return out / "index.html"
