"""`dysts-bench demo`: the main job end to end on a small configuration."""

from __future__ import annotations

import argparse
import time

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add `demo`."""
    p = sub.add_parser(
        "demo", help="run the main job end to end on a small configuration",
        description="Generate the `demo` dataset, score the baselines and the quick configurations of the "
                    "learned forecasters on it, build the leaderboard site and print the page to open. "
                    "A rerun keeps what was already done.")
    p.add_argument("--out", default="out/demo", help="folder for the demo's outputs (default: out/demo)")
    p.add_argument("--serve", action="store_true", help="serve the site on localhost until Ctrl-C")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (default: 8000)")
    p.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from ..demo import run_demo

    start = time.perf_counter()
    index = run_demo(args.out)
    print(f"demo finished in {time.perf_counter() - start:.0f} s")
    print(f"leaderboard: {index.resolve()}")
    if args.serve:
        from ..leaderboard.serve import make_server

        server = make_server(index.parent, args.port)
        print(f"serving at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.server_close()
    return 0
