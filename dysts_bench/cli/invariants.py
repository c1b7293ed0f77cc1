"""`dysts-bench invariants NAME ... | --all [--write] [--workers N | --scheduler ADDR] [--report DIR]`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import DystsBenchError
from ..parallel import add_parallel_options
from ..system import get_system, list_systems

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `invariants` verb."""
    p = sub.add_parser(
        "invariants", help="compute Lyapunov spectrum, dimensions, period and ordinal complexity",
        description="Compute each system's invariants with standard errors and print a table. With "
                    "--write, store them as systems/<Name>/<version>.invariants.json (read by "
                    "System.invariants). A quantity that fails is reported, not fatal.")
    p.add_argument("names", nargs="*", metavar="NAME", help="systems (Lorenz or Lorenz@1)")
    p.add_argument("--all", action="store_true", help="every system of the registry")
    p.add_argument("--write", action="store_true", help="write the sidecar files")
    add_parallel_options(p, "systems")
    p.add_argument("--report", metavar="DIR",
                   help="afterwards, write the tables, the comparison with dysts and the complexity-entropy "
                        "picture from the sidecars into DIR")
    p.add_argument("--json", action="store_true", help="print the invariants as JSON instead of a table")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    names = list_systems() if args.all else args.names
    if not names and not args.report:
        raise DystsBenchError("name at least one system (e.g. `dysts-bench invariants Lorenz`) or pass --all")
    systems = [get_system(n) for n in names]  # unknown names fail before any computing
    results: dict[str, dict[str, Any]] = {}
    targets = [f"{s.name}@{s.version}" for s in systems]
    for name, inv in _compute(targets, args.workers, args.scheduler) if targets else []:
        results[name] = inv
        if args.write and "spec_hash" in inv:
            from ..invariants import write_sidecar

            write_sidecar(get_system(name), inv)
    if args.json:
        print(json.dumps(results, indent=1))
    elif results:
        _print_table(results)
    if args.report:
        from ..invariants.report import write_reports

        for path in write_reports(args.report):
            print(f"wrote {path}")
    failed = {n: inv["errors"] for n, inv in results.items() if inv.get("errors")}
    if failed:
        print(f"\n{len(failed)} system(s) with failed quantities:", file=sys.stderr)
        for name, errors in failed.items():
            for key, message in errors.items():
                print(f"  {name}: {key}: {message}", file=sys.stderr)
    return 0


def _compute(names: list[str], workers: int | None, scheduler: str | None) -> Iterator[tuple[str, dict]]:
    """(name, invariants) for each system as they finish, with a progress bar."""
    from tqdm import tqdm

    from ..invariants.many import compute_many  # compiles the shared kernels here, before workers start

    yield from tqdm(compute_many(names, workers=workers, scheduler=scheduler), total=len(names),
                    desc="invariants", unit="system", file=sys.stderr)


def _fmt(entry: dict[str, Any] | None, digits: int = 4) -> str:
    if not entry or entry.get("value") is None:
        return "-"
    value, stderr = entry["value"], entry.get("stderr")
    return f"{value:.{digits}g}" if stderr is None else f"{value:.{digits}g}±{stderr:.2g}"


def _print_table(results: dict[str, dict[str, Any]]) -> None:
    columns = [("lyapunov_max", "λ_max"), ("lyapunov_time", "τ"), ("kaplan_yorke_dimension", "D_KY"),
               ("correlation_dimension", "D_2"), ("period", "period"), ("permutation_entropy", "H"),
               ("statistical_complexity", "C")]
    header = f"{'system':<26}" + "".join(f"{label:>20}" for _, label in columns) + "  errors"
    print(header)
    for name in sorted(results):
        inv = results[name]
        cells = "".join(f"{_fmt(inv.get(key)):>20}" for key, _ in columns)
        print(f"{name:<26}{cells}  {', '.join(inv.get('errors', {})) or ''}")
