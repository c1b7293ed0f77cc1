"""Measurements in a fresh Python process: cold starts with empty caches, and peak resident memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DystsBenchError

_MARK = "@@dysts-bench-result@@"
# The child times its own import (which compiles the Runge-Kutta kernel when numba's cache is empty).
_COLD_SCRIPT = """\
import time
_start = time.process_time()
import dysts_bench
_imported = time.process_time() - _start
from dysts_bench.integrate.kernels import solve
_start = time.process_time()
solve.dispatcher()
_kernel = time.process_time() - _start
from dysts_bench.bench.isolated import compile_and_integrate, emit

# Each benchmark imports the part it measures when it runs: a part that is missing or broken makes that
# benchmark "not available" instead of stopping the suite, and no benchmark pays for another's imports.
emit({{"import": _imported, "kernel": _kernel,
       "systems": compile_and_integrate({names!r}, {points}, {per_period})}})
"""


@dataclass(frozen=True)
class ChildRun:
    """What a child process reported, its wall and CPU time (interpreter start included) and its peak RSS."""

    result: Any
    wall: float
    cpu: float
    peak_rss_bytes: int


def run_child(script: str, *, env: dict[str, str] | None = None, timeout: float = 3600.0) -> ChildRun:
    """Run `script` in a new interpreter; it must report through `emit` (its last report is the result)."""
    start, children = time.perf_counter(), _children_cpu()
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired as exc:
        raise DystsBenchError(f"a benchmark child process ran past its limit of {timeout:.0f} s; run fewer "
                              "benchmarks (--only) or --quick") from exc
    wall, cpu = time.perf_counter() - start, _children_cpu() - children
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        raise DystsBenchError(f"a benchmark child process failed (exit {done.returncode}): "
                              f"{done.stderr.strip()[-2000:]}")
    report = json.loads(lines[-1][len(_MARK):])
    return ChildRun(result=report["result"], wall=wall, cpu=cpu, peak_rss_bytes=report["peak_rss_bytes"])


def _children_cpu() -> float:
    """CPU seconds of the finished children of this process (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def emit(result: Any) -> None:
    """Report a JSON-able result and this process's peak resident memory to the parent (call it in the child)."""
    sys.stdout.write(f"{_MARK}{json.dumps({'result': result, 'peak_rss_bytes': peak_rss_bytes()})}\n")
    sys.stdout.flush()


def peak_rss_bytes() -> int:
    """This process's peak resident memory (VmHWM; getrusage would count the parent's pages of the fork)."""
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def fresh_cache_env(root: Path) -> dict[str, str]:
    """Environment with empty caches under `root`: generated RHS modules and numba's compiled code."""
    (root / "dysts-bench").mkdir(parents=True, exist_ok=True)
    (root / "numba").mkdir(parents=True, exist_ok=True)
    return {"DYSTS_BENCH_CACHE": str(root / "dysts-bench"), "NUMBA_CACHE_DIR": str(root / "numba")}


def cold_then_warm(names: list[str], points: int, per_period: int, root: Path,
                   attempts: int = 2) -> tuple[ChildRun, ChildRun]:
    """Compile and integrate `names` in a child with empty caches under `root`, then in one reusing them.

    numba's cache is keyed by each source file's modification time, so a package file touched between
    the two runs (by an editor or another process) makes the warm run compile again: then both are redone.
    """
    script = _COLD_SCRIPT.format(names=list(names), points=points, per_period=per_period)
    for attempt in range(attempts):
        before = _source_stamps()
        env = fresh_cache_env(root / f"attempt-{attempt}")
        runs = run_child(script, env=env), run_child(script, env=env)
        if _source_stamps() == before:
            return runs
    raise DystsBenchError(f"dysts_bench's source files changed during each of {attempts} cold/warm measurements "
                          "(numba's cache then recompiles); run the benchmark again when no one edits the tree")


def _source_stamps() -> dict[str, float]:
    """Modification time of every source file of the package."""
    return {str(p): p.stat().st_mtime for p in Path(__file__).resolve().parents[1].rglob("*.py")}


def compile_and_integrate(names: list[str], points: int, per_period: int) -> dict[str, dict[str, Any]]:
    """Per system: CPU seconds to load its spec, compile (or load) its RHS, and integrate `points` points."""
    from ..integrate.solve import integrate
    from ..system import get_system
    from .sample import trajectory_window

    report = {}
    for name in names:
        start = time.process_time()
        system = get_system(name)
        loaded = time.process_time()
        system.rhs_function  # noqa: B018 (compiles it, or loads it from the cache)
        compiled = time.process_time()
        sol = integrate(system, **trajectory_window(system, points, per_period))
        report[name] = {"load": loaded - start, "compile": compiled - loaded,
                        "integrate": time.process_time() - compiled, "ok": sol.ok}
    return report

