"""`dysts-bench bench`: speed and memory against references measured in the same run; a table and a JSON file."""

from __future__ import annotations

import argparse
from pathlib import Path

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add `bench`."""
    from ..bench.report import RESULTS_DIR

    p = sub.add_parser(
        "bench", help="benchmark speed and memory against references measured side by side",
        description="Run the benchmark suite: each figure beside its reference (scipy, C, serial runs) "
                    "measured in the same run, their ratio and the goal. Prints a table and writes a JSON "
                    "file. A benchmark whose part is not installed yet is reported as not available.")
    p.add_argument("--quick", action="store_true", help="smaller samples, under about 2 minutes")
    p.add_argument("--only", type=_names, metavar="NAME,...", help="run only these benchmarks (see --list)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--out", type=Path, default=RESULTS_DIR, metavar="DIR",
                   help=f"folder for the JSON results (default: {RESULTS_DIR})")
    p.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table as Markdown (for the README)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_bench)


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _bench(args: argparse.Namespace) -> int:
    from ..bench import report
    from ..bench.record import ERROR
    from ..bench.suite import BENCHMARKS, run_suite, select

    if args.list:
        for b in BENCHMARKS.values():
            print(f"{b.name:20s} {b.title}")
        return 0
    select(args.only)  # unknown names fail before anything runs
    records = run_suite(args.only, quick=args.quick, progress=not args.no_progress)
    info = report.machine()
    path = report.write_json(records, info, args.out, quick=args.quick)
    print(f"machine: {report.machine_line(info)}")
    print(report.table(records))
    print(f"\nresults: {path}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.markdown(records, info, quick=args.quick, results_file=str(path)))
        print(f"markdown: {args.markdown}")
    return 1 if any(r.status == ERROR for r in records) else 0
