"""`dysts-bench leaderboard build|check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..data.manifest import MANIFEST_DIR
from ..evaluate.results import ResultsError

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add `leaderboard` and its sub-commands."""
    parser = sub.add_parser("leaderboard", help="build the static leaderboard site, check results files",
                            description="Build the static leaderboard from results files, and check a results "
                                        "file before submitting it.")
    verbs = parser.add_subparsers(dest="leaderboard_command", metavar="ACTION", required=True)

    p = verbs.add_parser("build", help="build the static site",
                         description="Build the leaderboard (HTML, CSS, a little JavaScript, figures; no network) "
                                     "from a folder of results files.")
    p.add_argument("--results", type=Path, default=Path("leaderboard/results"),
                   help="folder of results files (*.json); default leaderboard/results")
    p.add_argument("--out", type=Path, default=Path("site"), help="output folder; default site")
    p.add_argument("--all-systems", action="store_true",
                   help="a page for every registry system, not only those in the results")
    p.add_argument("--manifests", type=Path, default=MANIFEST_DIR,
                   help="folder of known dataset manifests; default the committed data/manifests")
    p.add_argument("--data", type=Path, metavar="ARCHIVE", action="append", default=[],
                   help="an archive the results were scored on (repeatable): the system pages draw the truth "
                        "from it beside the forecasts; without it they show the forecasts alone")
    p.add_argument("--workers", type=int, metavar="N",
                   help="processes drawing the system pages' figures; default one per CPU")
    p.add_argument("--serve", action="store_true", help="then serve the site on localhost until Ctrl-C")
    p.add_argument("--port", type=int, default=8000, help="port for --serve (0: any free port); default 8000")
    p.set_defaults(func=_build)

    p = verbs.add_parser("check", help="validate results files before submitting them",
                         description="Check results files: the schema, a known dataset manifest hash, and "
                                     "summaries consistent with the per-forecast records. Prints every "
                                     "problem with its fix; exits non-zero if any file fails.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="results files (JSON)")
    p.add_argument("--manifests", type=Path, default=MANIFEST_DIR,
                   help="folder of known dataset manifests; default the committed data/manifests")
    p.add_argument("--data", type=Path, metavar="ARCHIVE",
                   help="the archive the files were scored on: also recompute the truth-vs-truth floors from it "
                        "and rescore each kept forecast against its truth")
    p.set_defaults(func=_check)

    p = verbs.add_parser("table", help="print one comparison table of results files on a set of systems",
                         description="Print a markdown table of results files summarized over the systems "
                                     "given (e.g. @core): median VPT, D_stsp and D_H over systems, fit time and "
                                     "failures, best VPT first, with the truth-vs-truth floors. The tables in "
                                     "docs/forecasters.md are made by it.")
    p.add_argument("--results", type=Path, default=Path("leaderboard/results"),
                   help="folder of results files (*.json), or one file; default leaderboard/results")
    p.add_argument("--systems", help="comma-separated systems or @NAME for a committed subset (e.g. @core); "
                                     "default: each file's own systems")
    p.add_argument("--update", type=Path, metavar="FILE.md",
                   help="instead of printing, re-make every table of FILE.md marked <!-- leaderboard table "
                        "[--systems ...] --> ... <!-- end leaderboard table --> (docs/forecasters.md)")
    p.set_defaults(func=_table)

    p = verbs.add_parser("scaling", help="plot zero-shot forecasters against the number of systems fitted on",
                         description="Summarize every zero-shot results file over the systems given (default "
                                     "@core) and plot its median VPT against the number of systems it was fitted "
                                     "on (a pretraining corpus's, or --train-systems'), beside per-system "
                                     "references; prints the table. The figure in docs/forecasters.md is made "
                                     "by it.")
    p.add_argument("--results", type=Path, default=Path("leaderboard/results"),
                   help="folder of results files (*.json); default leaderboard/results")
    p.add_argument("--systems", default="@core", help="systems to summarize over; default @core")
    p.add_argument("--reference", default="transformer",
                   help="comma-separated per-system forecasters drawn as lines where they cover the same systems; "
                        "default transformer")
    p.add_argument("--out", type=Path, default=Path("docs/figures/zero-shot-scaling.svg"),
                   help="the figure (.svg or .png); default docs/figures/zero-shot-scaling.svg")
    p.set_defaults(func=_scaling)


def _build(args: argparse.Namespace) -> int:
    from ..leaderboard.build import build_site

    index = build_site(args.results, args.out, all_systems=args.all_systems, manifests=args.manifests,
                       archives=args.data, workers=args.workers)
    print(f"built {index}")
    if args.serve:
        from ..leaderboard.serve import make_server

        server = make_server(args.out, args.port)
        host, port = server.server_address[:2]
        print(f"serving {args.out} at http://{host}:{port}/index.html (Ctrl-C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


def _table(args: argparse.Namespace) -> int:
    from ..data.subsets import system_names
    from ..leaderboard.compare import compare, markdown, refresh_tables

    paths = sorted(args.results.glob("*.json")) if args.results.is_dir() else [args.results]
    systems = system_names(args.systems) if args.systems else None
    try:
        if args.update:
            text = args.update.read_text()
            new = refresh_tables(text, paths)
            args.update.write_text(new)
            print(f"{args.update}: {'tables re-made' if new != text else 'tables already current'}")
            return 0
        rows, floors = compare(paths, systems)
    except ResultsError as exc:
        print(printable(f"error: {exc}"), file=sys.stderr)
        return 1
    print(markdown(rows, floors, len(systems) if systems else None))
    return 0


def _scaling(args: argparse.Namespace) -> int:
    from ..data.subsets import system_names
    from ..leaderboard.compare import compare, scaling_markdown
    from ..leaderboard.figures import zero_shot_scaling_figure

    systems = system_names(args.systems)
    try:
        rows, _ = compare(sorted(args.results.glob("*.json")), systems)
    except ResultsError as exc:
        print(printable(f"error: {exc}"), file=sys.stderr)
        return 1
    zero_shot = [r for r in rows if r.trained_on and r.medians["vpt"] is not None]
    if not zero_shot:
        print(f"error: no zero-shot results file in {args.results} covers any of {args.systems}", file=sys.stderr)
        return 1
    # Only a per-system reference scored on every system of the set is drawn: on fewer it is another median.
    wanted = set(args.reference.split(","))
    references = {r.forecaster: r.medians["vpt"] for r in rows if r.mode == "per-system" and r.forecaster in wanted
                  and r.covered == len(systems) and r.medians["vpt"] is not None}
    # One line per forecaster and kind of training data (a generated corpus, or catalogue systems).
    points = [(f"{r.name}, {'generated' if r.corpus else 'catalogue'} systems", r.trained_on, r.medians["vpt"],
               r.vpt_interval) for r in zero_shot]
    scored = f"the {args.systems[1:]} subset" if args.systems.startswith("@") else f"{len(systems)} systems"
    path = zero_shot_scaling_figure(points, references, args.out, systems=scored)
    print(scaling_markdown(zero_shot))
    missing = sorted(wanted - set(references))
    if missing:
        print(f"(no reference line for {', '.join(missing)}: not scored per system on all {len(systems)} systems)")
    print(f"wrote {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ..leaderboard.check import check_file

    failed = 0
    for path in args.files:
        try:
            results, problems = check_file(path, manifests=args.manifests, data=args.data)
        except ResultsError as exc:
            print(printable(f"FAIL {exc}"), file=sys.stderr)
            failed += 1
            continue
        if problems:
            failed += 1
            print(printable(f"FAIL {path}: {len(problems)} problem{'s' if len(problems) > 1 else ''}:"),
                  file=sys.stderr)
            for p in problems:
                print(printable(f"  - {p}"), file=sys.stderr)
        else:
            print(printable(f"ok   {path}: {results.label} on {results.dataset.config}, "
                            f"{results.summary.n_systems} systems, {len(results.records)} forecasts"))
    return 1 if failed else 0


def printable(text: str) -> str:
    """Text with control characters (terminal escape codes from a submitted file) shown as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
