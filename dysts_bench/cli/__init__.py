"""The `dysts-bench` command line: one module per verb group, each adding its sub-commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib import import_module

from ..errors import DystsBenchError

# Verb groups in the order `--help` lists them; each module has `register(subparsers)`.
COMMANDS = ["systems", "invariants", "data", "evaluate", "leaderboard", "bench", "demo"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb registered."""
    parser = argparse.ArgumentParser(
        prog="dysts-bench",
        description="A benchmark for forecasting chaotic systems: registry, solver, dataset, harness, "
                    "leaderboard. Run `dysts-bench VERB --help` for each verb.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="VERB", required=True)
    for name in COMMANDS:
        try:
            module = import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("dysts_bench").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except (DystsBenchError, OSError) as exc:
        if args.debug:
            raise
        print(f"error: {os_error_message(exc) if isinstance(exc, OSError) else exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error: the path, what went wrong, and what to check."""
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    what = exc.strerror or str(exc)
    hint = "check that the path exists, is writable and has room (run with --debug for the traceback)"
    return f"{where}: {what}; {hint}" if where else f"{what}; {hint}"
