"""Scaling: dataset generation serially against two Dask worker processes (parallel efficiency)."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from .record import Figure, NotAvailable, Record
from .workload import generation_workload, serial_archive

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

WORKERS = 2
WHOLE_CONFIG_LIMIT = 120.0   # seconds: protocol 2's budget for the largest config, long free-run truths included


def two_workers(ctx: Context) -> Record:
    """Wall time of `generate` serially and on 2 local workers; efficiency = T1 / (2 T2), cluster start apart."""
    try:
        from distributed import Client, LocalCluster

        from ..data import generate
        from ..parallel import WORKER_ENV
    except ImportError as exc:
        raise NotAvailable(f"dataset generation on Dask (dysts_bench.data) is not importable ({exc})") from exc

    work = generation_workload(ctx)
    _, serial, serial_manifest = serial_archive(ctx)
    quiet = _Quiet("distributed")  # its INFO lines on the cluster's life cycle would drown the table
    start = time.perf_counter()
    # The same cluster settings as `generate(workers=2)`, started here so that its start-up is timed apart.
    with quiet, LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, env=WORKER_ENV,
                             dashboard_address=":0", silence_logs=logging.WARNING) as cluster, \
            Client(cluster) as client:
        client.run(_warm_worker, work.systems)
        started = time.perf_counter() - start
        start = time.perf_counter()
        parallel_manifest = generate(work.config, ctx.workdir / "scaling-parallel.zarr", systems=work.systems,
                                     scheduler=cluster.scheduler_address, progress=False)
        parallel = time.perf_counter() - start
    efficiency = serial / (WORKERS * parallel)
    same, compared, changed = compare_archives(serial_manifest, parallel_manifest)
    return Record(
        name="scaling", title="Dataset generation: serial vs 2 Dask workers",
        ours=Figure(parallel, "s", f"generate {work.config!r} ({len(work.systems)} systems) on {WORKERS} local "
                                   "Dask worker processes (started and warmed beforehand)"),
        reference=Figure(serial, "s", "the same, serially in this process"),
        ratio=serial / parallel, ratio_label="x faster (speed-up)",
        goal=f"the whole config under {WHOLE_CONFIG_LIMIT:g} s on {WORKERS} workers (long truths included)",
        passed=parallel <= WHOLE_CONFIG_LIMIT if not work.partial else None,
        notes=[f"parallel efficiency {efficiency:.0%} = serial / ({WORKERS} x parallel); counting the cluster's "
               f"start and warm-up ({started:.1f} s) {serial / (WORKERS * (parallel + started)):.0%}",
               f"this machine has {len(os.sched_getaffinity(0))} cores, shared with other work",
               f"identical arrays serially and on Dask: {'yes' if len(same) == len(compared) else 'NO'} "
               f"({len(same)} of {len(compared)} systems)"]
        + ([f"inputs changed between the two runs (sidecar or spec rewritten meanwhile), not compared: "
            f"{', '.join(changed)}"] if changed else [])
        + ([f"{len(work.skipped)} systems skipped (the config cannot sample them yet)"] if work.skipped else []),
        details={"config": work.config, "systems": work.systems, "efficiency": efficiency,
                 "cluster_start_s": started, "identical": len(same) == len(compared),
                 "differing": sorted(set(compared) - set(same)), "inputs_changed": changed, "skipped": work.skipped},
    )


def compare_archives(a: dict, b: dict) -> tuple[list[str], list[str], list[str]]:
    """(systems with identical outcome and arrays, systems compared, systems whose inputs differ) of two manifests.

    Only systems made from the same spec and time scale are compared: another helper may rewrite an
    invariants sidecar between the two runs, which changes the arrays legitimately.
    """
    def inputs(entry: dict) -> tuple:
        return entry.get("spec_hash"), repr(entry.get("timescale"))

    def outcome(entry: dict) -> tuple:
        return entry["status"], sorted((k, r["sha256"]) for k, r in entry.get("arrays", {}).items())

    sa, sb = a["systems"], b["systems"]
    compared = [n for n in sa if n in sb and inputs(sa[n]) == inputs(sb[n])]
    changed = sorted(set(sa) ^ set(sb) | {n for n in sa if n in sb and inputs(sa[n]) != inputs(sb[n])})
    return [n for n in compared if outcome(sa[n]) == outcome(sb[n])], compared, changed


def _warm_worker(systems: list[str]) -> None:
    """In a worker: import the generation code and load each compiled RHS, as a long-lived worker would have."""
    import xarray  # noqa: F401
    import zarr  # noqa: F401

    from ..data import generate  # noqa: F401
    from ..integrate.solve import integrate
    from ..system import get_system

    for name in systems:
        s = get_system(name)
        integrate(s, t_end=s.dt, dt_out=s.dt)


class _Quiet:
    """Raise a logger's level to WARNING inside a `with` block."""

    def __init__(self, name: str):
        self.logger = logging.getLogger(name)
        self.level = self.logger.level

    def __enter__(self) -> None:
        self.logger.setLevel(max(self.level, logging.WARNING))

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)
