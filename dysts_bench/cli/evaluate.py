"""`dysts-bench evaluate FORECASTER --data PATH --out RESULTS.json`."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import sys
from collections.abc import Iterator
from typing import Any

from ..parallel import add_parallel_options

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add `evaluate`."""
    p = sub.add_parser(
        "evaluate", help="score a forecaster on a dataset archive",
        description="Fit a forecaster and score its forecasts of every test initial condition, in Lyapunov "
                    "times (VPT at eps=0.5) and long-term statistics (D_stsp, D_H). A failing forecast is "
                    "recorded with its status and the run goes on; an interrupted run resumes when the "
                    "same command is run again.")
    p.add_argument("forecaster", nargs="?",
                   help="a registered name (see --list), module:Class, or path/file.py:Class; omit it with "
                        "--predictions")
    p.add_argument("--predictions", metavar="CONTEXTS.zarr",
                   help="score forecasts made elsewhere: a store from `dysts-bench data contexts` with a `forecast` "
                        "array added to each system's group (mode `predictions`; see README)")
    p.add_argument("--name", help="with --predictions: the name the results go under on the leaderboard")
    p.add_argument("--data", required=True, help="archive path, URL, or released config name (demo, lyapunov)")
    p.add_argument("--out", required=True, help="the results file to write (JSON)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="KEY=VALUE",
                   help="a constructor argument of the forecaster (value read as YAML); repeatable")
    p.add_argument("--systems", help="comma-separated systems to score, or @NAME for a committed subset such as "
                                     "@core (data/subsets/); default: all in the archive")
    p.add_argument("--mode", choices=["per-system", "zero-shot"], default="per-system",
                   help="per-system: fit on each system; zero-shot: fit once on --train-systems (or --train-data), "
                        "score the rest")
    p.add_argument("--train-systems", help="zero-shot: comma-separated systems to fit on")
    p.add_argument("--train-data", metavar="ARCHIVE",
                   help="zero-shot: fit on this archive instead (a pretraining corpus, e.g. of `--config pretrain`), "
                        "all its systems unless --train-systems; none may derive from a scored system")
    p.add_argument("--fit-split", default="train", help="split to fit on (default: train)")
    p.add_argument("--test-split", default="test", help="split to forecast (default: test)")
    p.add_argument("--max-ics", type=_positive(int), help="score only the first N test initial conditions per system")
    p.add_argument("--timeout", type=_positive(float),
                   help="seconds allowed per fit or forecast; each system then runs in a worker process that is "
                        "stopped when it overruns (this isolates crashes; it is not a sandbox)")
    add_parallel_options(p, "systems")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing results file (an interrupted run of the same command still resumes; "
                        "partial results of another run are discarded)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (the forecasters' training bars too)")
    p.set_defaults(func=_evaluate)


def _positive(kind: type) -> Any:
    """An argparse type: a number of `kind` above zero."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be positive")
        return value

    return parse


def _split(text: str | None) -> list[str] | None:
    """Comma-separated names, with @NAME expanded to a committed subset's systems (None if not given)."""
    from ..data.subsets import system_names

    return system_names(text) if text else None


def _evaluate(args: argparse.Namespace) -> int:
    with _quiet_forecasters(args.quiet):
        return _run(args)


@contextlib.contextmanager
def _quiet_forecasters(quiet: bool) -> Iterator[None]:
    """--quiet silences the forecasters' own training bars too (forecasters/_learned.py), in worker processes
    as well, which inherit the environment; it is restored afterwards."""
    previous = os.environ.get("DYSTS_BENCH_QUIET")
    if quiet:
        os.environ["DYSTS_BENCH_QUIET"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DYSTS_BENCH_QUIET", None)
        else:
            os.environ["DYSTS_BENCH_QUIET"] = previous


def _run(args: argparse.Namespace) -> int:
    from ..evaluate.harness import evaluate, score_predictions
    from ..forecast.registry import load_forecaster, parse_params

    options = dict(systems=_split(args.systems), test_split=args.test_split, max_ics=args.max_ics,
                   timeout=args.timeout, workers=args.workers, scheduler=args.scheduler, overwrite=args.overwrite,
                   progress=not args.quiet, command="dysts-bench " + shlex.join(sys.argv[1:]))
    if args.predictions:
        if (args.forecaster or not args.name or args.param or args.mode != "per-system" or args.train_systems
                or args.train_data):
            print("error: --predictions scores stored forecasts: give --name NAME, and no FORECASTER, --param, "
                  "--mode, --train-systems or --train-data", file=sys.stderr)
            return 2
        results = score_predictions(args.predictions, args.data, args.out, name=args.name, **options)
    elif not args.forecaster:
        print("error: name a FORECASTER to score (or --predictions CONTEXTS.zarr --name NAME)", file=sys.stderr)
        return 2
    else:
        forecaster = load_forecaster(args.forecaster, **parse_params(args.param))
        results = evaluate(forecaster, args.data, args.out, mode=args.mode, train_systems=_split(args.train_systems),
                           train_data=args.train_data, fit_split=args.fit_split, source=args.forecaster, **options)
    print(summary_table(results))
    print(f"results: {args.out}")
    return 0


def summary_table(results) -> str:
    """A plain-text table of the per-system medians and the overall summary."""
    c = results.conventions
    head = (f"{results.label} on {results.dataset.config} ({results.mode}); VPT: first time the "
            f"normalized error exceeds eps={c.vpt_epsilon}, in {c.vpt_unit}; sMAPE on the {c.smape_scale} scale")
    cols = ["vpt", "vpt_smape30", "d_stsp", "d_h", "smape"]
    lines = [head, f"{'system':<24}{'ok':>6}" + "".join(f"{k:>13}" for k in cols)]

    def fmt(v):
        return f"{v:>13.3g}" if v is not None else f"{'-':>13}"

    for name, s in sorted(results.systems.items()):
        lines.append(f"{name:<24}{s.n_ok:>3}/{s.n_ok + s.n_failed:<2}" + "".join(fmt(s.metrics.get(k)) for k in cols))
    lines.append(f"{'median over systems':<30}" + "".join(fmt(results.summary.median.get(k)) for k in cols))
    lines.append(f"{'mean over systems':<30}" + "".join(fmt(results.summary.mean.get(k)) for k in cols))
    lines.append(f"systems with no successful forecast: {results.summary.failed_systems} of "
                 f"{results.summary.n_systems}")
    return "\n".join(lines)
