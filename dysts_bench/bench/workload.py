"""The dataset-generation workload of the scaling and memory benchmarks: the largest released config."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .record import NotAvailable
from .sample import SAMPLE

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

QUICK_SYSTEMS = 2


@dataclass(frozen=True)
class Workload:
    """A released config and the systems of it to generate (those it can sample)."""

    config: str
    systems: list[str]
    skipped: list[str]          # systems the config cannot sample yet (e.g. no Lyapunov time in a sidecar)
    values: int                 # float64 values in the archive of these systems
    partial: bool = False       # only some of the config's systems (--quick)

    @property
    def bytes(self) -> int:
        """The archive's arrays held in memory at once (what streaming must avoid)."""
        return 8 * self.values


def generation_workload(ctx: Context) -> Workload:
    """The largest released config (all its systems, or 2 with --quick), shared by the benchmarks of a run."""
    return ctx.shared("workload", lambda: _workload(ctx.quick))


def _workload(quick: bool) -> Workload:
    try:
        from ..data import load_config, released_configs
        from ..data.simulate import SystemSkipped, timescale
    except ImportError as exc:
        raise NotAvailable(f"dataset generation (dysts_bench.data) is not importable ({exc})") from exc
    from ..system import get_system

    # The configs of registry systems: a generated corpus would first have to generate its systems.
    configs = [c for c in map(load_config, released_configs()) if c.generated is None]
    if not configs:
        raise NotAvailable("no released dataset config of registry systems under data/configs")

    config = max(configs, key=lambda c: _values_per_state(c) * len(c.system_names()))
    names = config.system_names()
    if quick:  # the generation sample first, so quick runs are comparable
        names = [n for n in SAMPLE if n in names] + [n for n in names if n not in SAMPLE]
    systems, skipped, values = [], [], 0
    for name in names:
        system = get_system(name)
        try:
            timescale(system, config.sampling)
        except SystemSkipped:
            skipped.append(name)
            continue
        systems.append(name)
        values += system.dim * _values_per_state(config)
        if quick and len(systems) == QUICK_SYSTEMS:
            break
    if not systems:
        raise NotAvailable(f"config {config.name!r} can sample none of its systems yet "
                           "(run `dysts-bench invariants --all --write` first)")
    return Workload(config.name, systems, skipped, values, partial=quick)


def _values_per_state(config: Any) -> int:
    """Values per state variable of one system in an archive of `config`, long free-run truths included."""
    return sum(s.n_ic * s.length + (s.long_term.n_ic * (s.context + s.long_term.length) if s.long_term else 0)
               for s in config.splits.values())


def serial_archive(ctx: Context) -> tuple[Path, float, dict]:
    """(path, seconds, manifest) of the workload generated serially in this process, once per run."""
    return ctx.shared("serial-archive", lambda: _generate_serially(generation_workload(ctx), ctx.workdir))


def _generate_serially(work: Workload, workdir: Path) -> tuple[Path, float, dict]:
    import xarray  # noqa: F401 (imported before timing: the figure is generation's, not import's)
    import zarr  # noqa: F401

    from ..data import generate
    from ..integrate.solve import integrate
    from ..system import get_system

    for name in work.systems:  # compile (or load) every RHS first: the figure is generation alone
        s = get_system(name)
        integrate(s, t_end=s.dt, dt_out=s.dt)
    out = workdir / f"{work.config}-serial.zarr"
    start = time.perf_counter()
    manifest = generate(work.config, out, systems=work.systems, progress=False)
    return out, time.perf_counter() - start, manifest
