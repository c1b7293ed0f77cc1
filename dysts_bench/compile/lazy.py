"""Compiling the package's numba kernels on their first call instead of at import.

A kernel with an explicit signature compiles (or loads from numba's disk cache) where it is decorated:
with an empty cache that made `import dysts_bench` take 30 s, and a `systems list` pay for a solver it
never runs. `jit_on_first_call` keeps the signature and the options and defers the compilation.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any


def jit_on_first_call(signature: Any, **options: Any) -> Callable[[Callable], Callable]:
    """Like `numba.njit(signature, **options)`, compiled when the function is first called from Python.

    The compiled dispatcher is `fn.dispatcher()` (for callers that need it, e.g. to warm a cache).
    """
    def decorate(fn: Callable) -> Callable:
        lock = threading.Lock()

        @functools.cache
        def compiled() -> Any:
            import numba

            return numba.njit(signature, **options)(fn)

        def dispatcher() -> Any:
            with lock:  # once: threads calling together (a batch in `integrate`) wait for one compilation
                return compiled()

        dispatcher.cache_info = compiled.cache_info

        @functools.wraps(fn)
        def call(*args: Any) -> Any:
            return dispatcher()(*args)

        call.dispatcher = dispatcher
        return call

    return decorate
