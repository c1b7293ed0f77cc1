"""Harness overhead: `evaluate` with a forecaster that costs nothing, per forecast.

`overhead_with(evaluate, data, out, ...)` is the hook: it takes the harness's evaluate function, so the
benchmark measures whatever harness is installed; `overhead` calls it with `dysts_bench.evaluate.harness`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .record import CPU_NOTE, Figure, NotAvailable, Record, timed
from .workload import generation_workload, serial_archive

if TYPE_CHECKING:
    from .suite import Context

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.

QUICK_ICS = 5  # test initial conditions scored per system with --quick


class ZeroForecaster:
    """A forecaster that costs nothing: it repeats the last context point, and clocks its own calls."""

    name = "zero-cost"
    # Class-level, since the harness fits clones of the instance it is given.
    spent: ClassVar[list[float]] = []

    def fit(self, series: list[np.ndarray], *, dt: float) -> ZeroForecaster:
        """Learn nothing."""
        return self

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """The last context point, `horizon` times."""
        out, seconds = timed(lambda: np.repeat(context[-1:], horizon, axis=0))
        ZeroForecaster.spent.append(seconds)
        return out


def overhead(ctx: Context) -> Record:
    """Per-forecast seconds of the harness around ZeroForecaster, on the workload's archive."""
    try:
        from ..evaluate.harness import evaluate
    except ImportError as exc:
        raise NotAvailable(f"the evaluation harness (dysts_bench.evaluate.harness) is not importable ({exc}); "
                           "wire it through dysts_bench.bench.harness.overhead_with(evaluate, data, out)") from exc
    work = generation_workload(ctx)
    archive, _, _ = serial_archive(ctx)
    # A first, one-forecast call pays the imports (xarray's backends, the leaderboard's hashing) once.
    evaluate(ZeroForecaster(), archive, ctx.workdir / "harness-warm-up.json", systems=work.systems[:1], max_ics=1,
             overwrite=True, progress=False)
    record = overhead_with(evaluate, archive, ctx.workdir / "harness-results.json", overwrite=True,
                           progress=False, max_ics=QUICK_ICS if ctx.quick else None)
    record.notes.append(f"archive: {work.config!r}, {len(work.systems)} systems"
                        + (f", first {QUICK_ICS} test initial conditions each" if ctx.quick else "")
                        + "; after a one-forecast warm-up call (imports)")
    return record


def overhead_with(evaluate: Callable[..., Any], data: Any, out: Any, **kwargs: Any) -> Record:
    """Time `evaluate(ZeroForecaster(), data, out, **kwargs)` per forecast, beside the forecaster's own time.

    `evaluate` returns the results (with `.records`, one per forecast) as the harness does.
    """
    ZeroForecaster.spent.clear()
    wall = time.perf_counter()
    results, seconds = timed(lambda: evaluate(ZeroForecaster(), data, out, **kwargs))
    wall = time.perf_counter() - wall
    n = len(results.records)
    if n == 0:
        raise NotAvailable("the harness made no forecast on this archive")
    ok = sum(getattr(r, "status", "ok") == "ok" for r in results.records)
    long_runs = [r for r in results.records if getattr(r, "long_status", None) is not None]
    long_term = getattr(getattr(results, "dataset", None), "long_term", None) or {}
    per_forecast, own = seconds / n, sum(ZeroForecaster.spent) / n
    return Record(
        name="harness", title="Harness overhead per forecast (a forecaster that costs nothing)",
        ours=Figure(per_forecast * 1e3, "ms", f"evaluate(ZeroForecaster) per forecast: read, fit, predict, score "
                                              f"({n} forecasts)"),
        reference=Figure(own * 1e3, "ms", "the forecaster's own predict calls in the same run"),
        ratio=per_forecast / own if own > 0 else None, ratio_label="x the forecaster's cost",
        goal="none (recorded)",
        notes=[CPU_NOTE, f"{ok} of {n} forecasts ok; wall {wall / n * 1e3:.3g} ms per forecast"]
        + ([f"includes {len(long_runs)} long free runs of {long_term.get('length')} points (D_stsp, D_H against "
            "the long truth), charged to the forecasts of their initial conditions"] if long_runs else []),
        details={"n_forecasts": n, "n_long_runs": len(long_runs), "total_cpu_s": seconds, "total_wall_s": wall,
                 "long_seconds": sum(r.long_seconds or 0.0 for r in long_runs)},
    )
