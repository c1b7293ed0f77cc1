"""The invariants of many systems, one at a time here or in parallel on Dask (`dysts-bench invariants`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..parallel import map_unordered
from ..specs.registry import parse_id
from ..system import get_system
from .sidecar import compute_invariants


def compute_many(names: Sequence[str], *, workers: int | None = None,
                 scheduler: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, invariants) of each system ("Name" or "Name@version") as it finishes; a system that fails
    outside the per-quantity guards gets an entry with its error rather than stopping the others."""
    for name, invariants in map_unordered(_compute_one, names, workers=workers, scheduler=scheduler):
        yield parse_id(name)[0], invariants


def _compute_one(name: str) -> dict[str, Any]:
    try:
        return compute_invariants(get_system(name))
    except Exception as exc:  # a worker must report, not crash the whole run
        return {"system": name, "errors": {"system": f"{type(exc).__name__}: {exc}"}}
