"""`generate`: write a config's archive, serially, on a local Dask cluster or on an existing one.

Each system is one task that simulates it and commits its group; only its manifest entry comes back,
so memory holds one system per worker, never the archive. Systems already committed (a resumed run)
are skipped; failed ones are recorded in the manifest and computed again on the next run.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import DystsBenchError
from ..integrate.solve import integrate
from ..parallel import map_unordered
from ..specs.registry import spec_path
from ..system import System, get_system
from . import store
from .config import DatasetConfig, load_config
from .errors import DataError
from .manifest import build_manifest
from .simulate import SystemSkipped, simulate, timescale
from .subsets import system_names

log = logging.getLogger(__name__)

def build_system(config: DatasetConfig, system: System, out: str | Path) -> dict[str, Any]:
    """Simulate one system and commit its group; its manifest entry."""
    data = simulate(config, system)
    if data.dataset is not None:
        store.commit_system(out, system.name, data.dataset)
    return data.entry


def _task(config: dict, out: str, task: tuple[str, str]) -> dict[str, Any]:
    """`build_system` as a Dask task: plain arguments, the system (name, spec path) loaded from its file."""
    return build_system(DatasetConfig.model_validate(config), System.from_file(task[1]), out)


def generate(config: str | Path | DatasetConfig, out: str | Path, *, systems: Sequence[str] | None = None,
             workers: int | None = None, scheduler: str | None = None, overwrite: bool = False,
             progress: bool = True) -> dict[str, Any]:
    """Write (or complete) the archive of a config at `out` and return its manifest.

    `workers` > 1 starts a local Dask cluster of that many processes; `scheduler` (tcp://HOST:PORT)
    uses an existing cluster whose workers see `out` at the same path.
    """
    config = load_config(config)
    if systems:
        config = config.subset(systems=list(systems))
    if workers is not None and scheduler is not None:
        raise DataError("give either workers or scheduler, not both")
    out = Path(out).resolve()
    started = time.perf_counter()
    done = store.prepare(out, config, overwrite=overwrite)
    registry = None if config.generated is None else generated_systems(
        config, out, workers=workers, scheduler=scheduler, progress=progress)
    names = config.system_names(registry)
    specs, entries = _load_systems(names, registry)
    done = {n for n in done if n in specs and not _stale(config, out, specs[n])}
    if done:
        log.info("%s: resuming, %d of %d systems already complete", out, len(done), len(names))
    specs = {n: s for n, s in specs.items() if n not in done}
    if scheduler or (workers or 1) > 1:
        _warm(specs.values())
        tasks = [(name, str(s.path)) for name, s in specs.items()]
        entries.update(_run_dask(config, tasks, out, workers=workers, scheduler=scheduler, progress=progress))
    else:
        results = ((name, build_system(config, s, out)) for name, s in specs.items())
        entries.update(_progress(config, results, len(specs), progress))
    for name in names:
        if name not in entries:
            entries[name] = store.group_entry(out, name)
    manifest = build_manifest(config, entries, store.file_hashes(out))
    store.finalize(out, manifest)
    _report(config, out, entries, time.perf_counter() - started)
    failed = {n: e for n, e in entries.items() if e["status"] != "ok"}
    if len(failed) == len(entries):
        first = next(iter(failed.values()))
        raise DataError(f"{out}: no system could be generated ({first['status']}: {first['message']})")
    return manifest


def generated_folder(out: str | Path) -> Path:
    """Where the generated systems of a config with `systems: generated` go: beside its archive."""
    out = Path(out).resolve()
    return out.with_name(out.name + ".systems")


def generated_systems(config: DatasetConfig, out: Path, *, workers: int | None = None,
                      scheduler: str | None = None, progress: bool = True) -> Path:
    """Generate (or complete) the config's new systems into `generated_folder(out)` and return that folder.

    The recipe's excluded parents are checked again in the written systems' provenance, so a corpus for
    zero-shot evaluation never holds a system derived from an evaluated one.
    """
    from ..generator.systems import generate_systems, leaks  # imports scipy.signal (1.3 s): only recipes need it

    recipe, folder = config.generated, generated_folder(out)
    excluded = system_names(",".join(recipe.exclude_parents))
    # The invariants sidecars (a Lyapunov spectrum each) are computed only where the sampling reads them.
    sidecars = config.sampling.unit == "lyapunov_time" or config.sampling.period_source == "invariants"
    log.info("%s: generating %d systems (seed %d) into %s", config.name, recipe.n, recipe.seed, folder)
    summary = generate_systems(recipe.n, recipe.seed, folder, scale=recipe.scale, strength=recipe.strength,
                               invariants=sidecars, workers=workers, scheduler=scheduler, progress=progress,
                               exclude_parents=excluded)
    if len(summary.accepted) < recipe.n:
        raise DataError(f"{folder}: {len(summary.accepted)} of {recipe.n} systems accepted after {summary.draws} "
                        f"draws; lower `generated.n` in config {config.name!r} or change its seed")
    if found := leaks(folder, excluded):
        raise DataError(f"{folder}: systems derived from excluded parents: {found}; delete the folder and generate "
                        "again")
    return folder


def _load_systems(names: list[str], registry: Path | None = None) -> tuple[dict[str, System], dict[str, dict]]:
    """The systems to build (from `registry`, a folder of generated systems, if given), and manifest entries for
    those whose spec does not load."""
    systems, failed = {}, {}
    for name in names:
        try:
            systems[name] = get_system(name) if registry is None else System.from_file(spec_path(name, root=registry))
        except DystsBenchError as exc:
            failed[name] = {"status": "spec_error", "message": str(exc)}
    return systems, failed


def _stale(config: DatasetConfig, out: Path, system: System) -> bool:
    """Whether a committed group was made from another spec or time scale (then it is set aside)."""
    entry = store.group_entry(out, system.name)
    try:
        unit = timescale(system, config.sampling).unit
    except SystemSkipped:
        unit = None
    if entry["spec_hash"] == system.spec_hash and entry["timescale"]["value"] == unit:
        return False
    log.warning("%s: %s changed since its group was written; generating it again", out, system.name)
    store.discard_system(out, system.name)
    return True


def _report(config: DatasetConfig, out: Path, entries: dict[str, dict], seconds: float) -> None:
    """Log the outcome: failures, and the systems sampled by the spec's period hint for want of a sidecar."""
    hinted = sorted(n for n, e in entries.items() if e.get("timescale", {}).get("source") == "spec")
    if hinted and config.sampling.period_source == "invariants":
        log.info("%d systems have no period in an invariants sidecar and were sampled by their spec's period "
                 "hint: %s", len(hinted), ", ".join(hinted))
    for name, entry in sorted(entries.items()):
        if entry["status"] != "ok":
            log.warning("%s not generated (%s): %s", name, entry["status"], entry["message"])
    log.info("%s: %d of %d systems written in %.1f s", out, sum(e["status"] == "ok" for e in entries.values()),
             len(entries), seconds)


def _progress(config: DatasetConfig, results: Iterator[tuple[str, dict]], total: int,
              progress: bool) -> Iterator[tuple[str, dict]]:
    """Pass the (name, entry) results through a progress bar that names each finished system."""
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=config.name, unit="system", disable=not progress or total == 0) as bar:
        for name, entry in results:
            bar.set_postfix_str(f"{name} {entry['status']}")
            bar.update()
            yield name, entry


def _warm(systems: Iterable[System]) -> None:
    """Compile each right-hand side and the solver in this process, so workers load them from disk."""
    for s in systems:
        integrate(s, t_end=s.dt, dt_out=s.dt)


def _run_dask(config: DatasetConfig, tasks: list[tuple[str, str]], out: Path, *, workers: int | None,
              scheduler: str | None, progress: bool) -> Iterator[tuple[str, dict]]:
    """Run the tasks on Dask, yielding (name, entry) as they finish."""
    run = functools.partial(_task, config.model_dump(), str(out))
    results = map_unordered(run, tasks, workers=workers, scheduler=scheduler,
                            key=lambda task: f"dysts-bench-{config.hash[:12]}-{task[0]}")
    yield from _progress(config, ((name, entry) for (name, _), entry in results), len(tasks), progress)
