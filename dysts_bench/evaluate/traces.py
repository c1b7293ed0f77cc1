"""What the leaderboard's system pages draw, kept with the results (`SystemSummary.trace`).

Per forecaster and system:
- `error`: the 25th, 50th and 75th percentiles, over the system's successful forecasts, of the normalized
  error e(t) that VPT thresholds (`metrics.normalized_error`), every `error_stride`-th step (at most
  75 values), float32 (a good forecast's error starts near 1e-7, below float16's precision); value k is
  at k·stride steps after the context, counted as VPT counts them. Errors above `MAX_ERROR` (a forecast
  far off the attractor) are kept as `MAX_ERROR`.
- `forecast`: the forecast of the first successful initial condition `ic`, every step and coordinate,
  float32: `leaderboard check --data` recomputes that record's metrics from it and the archive's truth.
- `long_run`: the first successful long free run (`long_ic`) after its discarded lead-in, every
  `long_stride`-th point (at most 300), float16 after centring and scaling each coordinate.

Size in the JSON (base64): about (5.3·horizon + 2.7·300)·dim + 1,500 bytes per system, 8.7 KB for a 3-D
system of the `lyapunov` config (horizon 300) and about 0.95 MB for its 106 systems (342 coordinates);
tests/test_traces.py holds it under 1 MB.
The truth is not kept: it is the released data, and the pages read it from the archive.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .metrics import normalized_error
from .results import Packed

MAX_ERROR_POINTS = 75
MAX_LONG_POINTS = 300
MAX_ERROR = 1e4                     # e(t) beyond this is off any chart
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_SPREAD_MAX = 1e150                 # a long run's values must square to a finite variance to be centred


def stride_for(n: int, most: int) -> int:
    """The smallest step that keeps at most `most` of `n` points."""
    return max(1, -(-n // most))


class TraceBuilder:
    """Collects one system's trace while it is scored and hands it out as `trace` events."""

    def __init__(self, sigma: np.ndarray, long_discard: int = 0):
        self.sigma, self.long_discard = sigma, long_discard
        self.errors: list[np.ndarray] = []
        self.kept: tuple[int, np.ndarray] | None = None
        self.long_kept = False

    def add(self, ic: int, truth: np.ndarray, prediction: np.ndarray) -> None:
        """One successful forecast: its error curve, and the forecast itself if it is the first that fits."""
        self.errors.append(np.minimum(normalized_error(truth, prediction, self.sigma), MAX_ERROR))
        if self.kept is None and np.all(np.abs(prediction) < _FLOAT32_MAX):
            self.kept = (ic, prediction)

    def short_event(self) -> dict[str, Any] | None:
        """The error quartiles and the kept forecast (None if no forecast succeeded)."""
        if not self.errors:
            return None
        curves = np.stack(self.errors)
        stride = stride_for(curves.shape[1], MAX_ERROR_POINTS)
        quartiles = np.percentile(curves[:, ::stride], [25, 50, 75], axis=0)
        trace: dict[str, Any] = {"error_stride": stride, "error": Packed.of(quartiles, "float32").model_dump()}
        if self.kept is not None:
            ic, forecast = self.kept
            trace.update(ic=ic, forecast=Packed.of(forecast, "float32").model_dump())
        return {"event": "trace", "trace": trace}

    def long_event(self, ic: int, run: np.ndarray) -> dict[str, Any] | None:
        """The thinned long free run, for the first successful one whose spread is a finite number."""
        kept = run[self.long_discard:]
        if self.long_kept or not np.all(np.abs(kept) < _SPREAD_MAX):
            return None
        self.long_kept = True
        stride = stride_for(len(kept), MAX_LONG_POINTS)
        return {"event": "trace", "trace": {"long_ic": ic, "long_stride": stride,
                                            "long_run": Packed.of(kept[::stride], "float16", centre=True).model_dump()}}
