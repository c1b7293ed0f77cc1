"""The table of benchmarks (name -> function giving a Record) and the loop that runs them."""

from __future__ import annotations

import logging
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DystsBenchError
from . import (
    compilation,
    dataset,
    forecasters,
    generation,
    generator,
    harness,
    limit,
    lyapunov,
    memory,
    peers,
    scaling,
)
from .record import ERROR, NotAvailable, Record, not_available

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What every benchmark sees: the mode, a scratch folder, and measurements shared within one run."""

    quick: bool
    workdir: Path
    progress: bool = True
    _memo: dict[Any, Any] = field(default_factory=dict)

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """compute() once per run for `key` (e.g. the sample timings that several records use)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: `run(ctx)` returns its Record (or raises NotAvailable)."""

    name: str
    title: str
    run: Callable[[Context], Record]


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in [
    Benchmark("generation-dop853", "Generation vs scipy DOP853 at equal accuracy, warm", generation.versus_dop853),
    Benchmark("generation-radau", "Generation vs dysts's setting (scipy Radau, rtol=atol=1e-12), warm",
              generation.versus_radau),
    Benchmark("generation-cold", "Generation vs dysts's setting, cold (import and compile included)",
              generation.cold),
    Benchmark("limit-c", "Kernel steps/s vs the same RK4 in C (Lorenz)", limit.versus_c),
    Benchmark("peers-single", peers.CASES["peers-single"].title, peers.single),
    Benchmark("peers-ensemble", peers.CASES["peers-ensemble"].title, peers.ensemble),
    Benchmark("peers-nonsmooth", peers.CASES["peers-nonsmooth"].title, peers.nonsmooth),
    Benchmark("compile", "Compile the whole registry: cold (empty caches) vs warm (cached)", compilation.registry),
    Benchmark("lyapunov", "Lorenz Lyapunov spectrum converged within 1%", lyapunov.lorenz_spectrum),
    Benchmark("generator", "System generator: accepted systems per CPU-hour", generator.systems_per_hour),
    Benchmark("dataset-dysts2021", "Generate dysts2021 fine (train + test) for the registry, warm",
              dataset.dysts2021_fine),
    Benchmark("scaling", "Dataset generation: serial vs 2 Dask workers", scaling.two_workers),
    Benchmark("harness", "Harness overhead per forecast (a forecaster that costs nothing)", harness.overhead),
    Benchmark("memory", "Peak resident memory generating the largest config", memory.peak_generation),
    *(Benchmark(f"train-{name}", f"{title}: training time per system, forecast speed", forecasters.training(name))
      for name, title in forecasters.MODELS.items()),
]}


def select(names: Sequence[str] | None) -> list[Benchmark]:
    """The benchmarks named (all if None), in table order; unknown names raise with the list of known ones."""
    if not names:
        return list(BENCHMARKS.values())
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise DystsBenchError(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    return [b for b in BENCHMARKS.values() if b.name in names]


def run_benchmark(bench: Benchmark, ctx: Context) -> Record:
    """Run one benchmark; a missing dependency gives a 'not available' record and a failure an 'error' one."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    start = time.perf_counter()
    try:
        record = bench.run(ctx)
    except NotAvailable as exc:
        record = not_available(bench.name, bench.title, str(exc))
    except ImportError as exc:
        record = not_available(bench.name, bench.title, f"cannot import {exc.name or exc}")
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        log.exception("benchmark %s failed", bench.name)
        record = Record(name=bench.name, title=bench.title, status=ERROR,
                        notes=[f"{type(exc).__name__}: {exc}"], details={"traceback": traceback.format_exc()})
    record.seconds = time.perf_counter() - start
    record.details["load_average_before"] = load  # other work on a shared machine skews absolute times
    return record


def run_suite(names: Sequence[str] | None = None, *, quick: bool = False, progress: bool = True) -> list[Record]:
    """Run the selected benchmarks in one process (so references are measured beside ours) and return records."""
    from tqdm.auto import tqdm

    chosen = select(names)
    records = []
    with tempfile.TemporaryDirectory(prefix="dysts-bench-bench-") as tmp:
        ctx = Context(quick=quick, workdir=Path(tmp), progress=progress)
        bar = tqdm(chosen, desc="bench", unit="benchmark", disable=not progress)
        for bench in bar:
            bar.set_postfix_str(bench.name)
            records.append(run_benchmark(bench, ctx))
    return records
