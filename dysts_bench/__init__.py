"""dysts-bench: a registry, solver, dataset and forecasting benchmark of chaotic systems.

Heavy dependencies (torch, darts, xarray, dask) are imported only by the parts that need them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .errors import (
    DystsBenchError,
    IntegrationError,
    RegistryLockError,
    SpecError,
    UnknownSystemError,
    UnsafeExpressionError,
)
from .integrate.solve import Solution, Status, integrate
from .system import System, get_system, list_systems
from .version import __version__

__all__ = [
    "DystsBenchError",
    "IntegrationError",
    "RegistryLockError",
    "Solution",
    "SpecError",
    "Status",
    "System",
    "UnknownSystemError",
    "UnsafeExpressionError",
    "__version__",
    "get_system",
    "integrate",
    "list_systems",
]

_LAZY = {"invariants", "data", "forecast", "evaluate", "leaderboard", "checks"}


def __getattr__(name: str) -> Any:
    # Submodules with heavier imports load on first use: `db.data.load(...)`.
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dysts_bench' has no attribute {name!r}")
