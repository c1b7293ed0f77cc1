"""The benchmark table (terminal and Markdown), the machine it ran on, and the JSON results file."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from ..files import write_atomic
from ..machine import cpu_model
from .record import OK, Record

RESULTS_DIR = Path("benchmarks") / "results"
_PACKAGES = ("numpy", "scipy", "numba", "llvmlite", "dask", "zarr", "xarray")


def machine() -> dict[str, Any]:
    """The machine and software the figures were measured on."""
    mem = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(int(mem.group(1)) / 2**20, 1) if mem else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def machine_line(info: dict[str, Any]) -> str:
    """One line naming the machine, for the table's header and the README."""
    load = ", ".join(f"{v:.1f}" for v in info["load_average"] or [])
    return (f"{info['cpu_model']}, {info['nproc']} cores, {info['memory_gib']} GiB; Python {info['python']}, "
            f"numba {info['packages'].get('numba')}; load average at the end {load or 'unknown'}")


def table(records: list[Record]) -> str:
    """The plain-text table, then each benchmark's notes."""
    rows = [("benchmark", "ours", "reference", "ratio", "goal", "result")]
    rows += [(r.name, _cell(r.ours), _cell(r.reference), _ratio(r), r.goal, _verdict(r)) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in records:
        lines.append("")
        lines.append(f"{r.name}: {r.title} ({r.seconds:.1f} s)")
        for figure, label in ((r.ours, "ours"), (r.reference, "reference")):
            if figure is not None:
                lines.append(f"  {label}: {figure} — {figure.what}")
        lines += [f"  - {note}" for note in r.notes]
    return "\n".join(lines)


def markdown(records: list[Record], info: dict[str, Any], *, quick: bool, results_file: str = "") -> str:
    """A Markdown table of the figures with the machine, for the README."""
    lines = [f"Measured {'with --quick ' if quick else ''}on {machine_line(info)}"
             + (f" (`{results_file}`)" if results_file else "") + ".", "",
             "| benchmark | ours | reference | ratio | goal | result |", "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.title} | {_cell(r.ours)} | {_cell(r.reference)} | {_ratio(r)} | {r.goal} | {_verdict(r)} |"
              for r in records]
    return "\n".join(lines) + "\n"


def write_json(records: list[Record], info: dict[str, Any], out_dir: Path, *, quick: bool) -> Path:
    """Write the results as `<UTC date and time>_<machine>_<quick|full>.json` under out_dir; its path."""
    now = dt.datetime.now(dt.UTC)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{info['cpu_model']} {info['nproc']}cpu".lower()).strip("-")
    path = Path(out_dir) / f"{now:%Y-%m-%dT%H%MZ}_{slug}_{'quick' if quick else 'full'}.json"
    payload = {"created": now.isoformat(timespec="seconds"), "mode": "quick" if quick else "full",
               "machine": info, "benchmarks": [r.to_dict() for r in records]}
    return write_atomic(path, json.dumps(payload, indent=1, default=_jsonable) + "\n")


def _cell(figure: Any) -> str:
    return "—" if figure is None else str(figure)


def _ratio(r: Record) -> str:
    return "—" if r.ratio is None else f"{r.ratio:.3g} {r.ratio_label}".strip()


def _verdict(r: Record) -> str:
    if r.status != OK:
        return r.status
    return {True: "pass", False: "MISS", None: "—"}[r.passed]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
