"""One way to get a Dask client for the parallel maps (evaluation, the system generator)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


@contextmanager
def dask_client(workers: int | None, scheduler: str | None, env: Mapping[str, str] | None = None) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, or of a local cluster of `workers` single-threaded processes
    (with `env` in their environment); the cluster is closed afterwards, whatever happens."""
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
                                   env=dict(env or {}))
        with Client(scheduler or cluster) as client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()
        chatter.setLevel(level)
