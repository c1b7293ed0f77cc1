"""The parallel map of the package (data generation, evaluation, invariants) and its Dask client.

Workers are single-threaded processes (`WORKER_ENV`): the parallelism is the processes, and numba or BLAS
threads on top would only compete for the same cores.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def add_parallel_options(parser: argparse.ArgumentParser, what: str, scheduler_note: str = "") -> None:
    """The --workers N | --scheduler ADDR pair of a command that maps over `what` (e.g. "systems")."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=_count, metavar="N",
                       help=f"work on {what} in N local Dask worker processes (default: one at a time, here)")
    group.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help=f"work on {what} on a running Dask cluster{scheduler_note}")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


@contextmanager
def dask_client(workers: int | None, scheduler: str | None, env: Mapping[str, str] | None = None) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a local cluster of `workers` single-threaded processes
    (with `env`, by default WORKER_ENV, in their environment); the cluster is closed afterwards, whatever happens."""
    from dask.distributed import Client, LocalCluster

    # The scheduler's and workers' connection chatter (INFO) would bury progress bars, or --quiet.
    chatter = logging.getLogger("distributed")
    level = chatter.level
    chatter.setLevel(logging.WARNING)
    cluster = None
    try:
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   silence_logs=logging.WARNING, dashboard_address=":0",  # any free port
                                   env=dict(WORKER_ENV if env is None else env))
        with Client(scheduler or cluster, timeout="30s") as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()
        chatter.setLevel(level)


def map_unordered(fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None,
                  scheduler: str | None = None, key: Callable[[T], str] | None = None) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) for each item as it finishes: in this process when neither `workers` nor `scheduler`
    is given, else on Dask (`key` names each task there)."""
    items = list(items)
    if not items:
        return
    if workers is None and scheduler is None:
        for item in items:
            yield item, fn(item)
        return
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        futures = {client.submit(fn, item, pure=False, **({"key": key(item)} if key else {})): i
                   for i, item in enumerate(items)}
        for future in as_completed(futures):
            yield items[futures[future]], future.result()
