"""`dysts-bench data generate|verify|download`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..parallel import add_parallel_options

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add `data` and its sub-commands."""
    parser = sub.add_parser("data", help="generate, verify and download dataset archives",
                            description="Dataset archives: zarr stores of trajectories with a manifest of "
                                        "checksums.")
    verbs = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = verbs.add_parser(
        "generate", help="generate an archive from a config",
        description="Integrate every system of a config and write a zarr archive with its manifest. "
                    "Deterministic: the same config gives the same checksums serially or on Dask. "
                    "Resumable: run the same command again after an interruption. A config of generated "
                    "systems (`systems: generated`, e.g. pretrain) first generates them into PATH.systems/.")
    p.add_argument("--config", required=True, metavar="NAME|PATH",
                   help="a released config (a name in data/configs: demo, dysts2021, lyapunov, pretrain, ...) or a "
                        "YAML file")
    p.add_argument("--out", required=True, type=Path, metavar="PATH", help="the archive to write (a folder)")
    p.add_argument("--systems", type=_names, metavar="A,B", help="only these systems")
    p.add_argument("--splits", type=_names, metavar="A,B", help="only these splits")
    add_parallel_options(p, "systems", "; its workers must see --out at the same path")
    p.add_argument("--overwrite", action="store_true", help="replace an archive of another config at --out")
    p.add_argument("--write-manifest", action="store_true",
                   help="for a released config: also write its manifest (without the file table) to "
                        "data/manifests/NAME.json, the checksums `load(NAME)` checks against")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_generate)

    p = verbs.add_parser(
        "verify", help="recompute an archive's checksums",
        description="Recompute the SHA-256 of every array and compare with the manifest; name each "
                    "system and array that is missing, truncated or corrupted. Exits 1 if any.")
    p.add_argument("path", type=Path, help="the archive")
    p.add_argument("--manifest", metavar="FILE|NAME",
                   help="check against this manifest (a JSON file or a released config's committed one) "
                        "instead of the archive's own")
    p.set_defaults(func=_verify)

    p = verbs.add_parser(
        "download", help="download a published archive, checksum-verified",
        description="Fetch an archive (the URL of its folder) file by file, each checked against the "
                    "manifest's SHA-256; a corrupted download is refused and leaves nothing behind.")
    p.add_argument("url", help="the archive's URL, e.g. https://host/datasets/lyapunov.zarr")
    p.add_argument("--to", required=True, type=Path, metavar="PATH", help="where to put the archive")
    p.add_argument("--manifest", metavar="FILE|NAME",
                   help="also require the arrays of this manifest (a file or a released config name)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing archive at --to (a folder that is not an archive is refused)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_download)

    p = verbs.add_parser(
        "subset", help="show or re-make a committed subset of systems (core)",
        description="A subset of a released dataset's systems, committed as data/subsets/NAME.yaml. `core`: "
                    "30 systems of `lyapunov` chosen by greedy maximin over rank-scaled invariants (log "
                    "dimension, log λ_max, Kaplan–Yorke dimension, permutation entropy, complexity); use it "
                    "as `dysts-bench evaluate ... --systems @core`.")
    p.add_argument("name", help="the subset (core)")
    p.add_argument("--write", action="store_true", help="core: re-make data/subsets/core.yaml by its rule")
    p.set_defaults(func=_subset)

    p = verbs.add_parser(
        "contexts", help="write the test contexts to forecast with any tool (then evaluate --predictions)",
        description="Write, for every system of the archive, its test contexts `context` (ic, n_context, dim) "
                    "into a zarr group of its own, with the horizon, dt and the long runs' length as attributes. "
                    "Add an array `forecast` (ic, horizon, dim) to each group (and `long_forecast` (n_long, "
                    "long_length, dim) for D_stsp and D_H) with zarr, xarray or numpy, then score them with "
                    "`dysts-bench evaluate --predictions CONTEXTS.zarr --data ARCHIVE --name NAME --out R.json`.")
    p.add_argument("--data", required=True, help="archive path, URL, or released config name (demo, lyapunov)")
    p.add_argument("--out", required=True, type=Path, help="the contexts store to write (a .zarr folder)")
    p.add_argument("--systems", help="comma-separated systems or @NAME for a committed subset; default: all")
    p.add_argument("--split", default="test", help="the split whose contexts to write (default: test)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store (its forecasts are lost)")
    p.set_defaults(func=_contexts)


def _contexts(args: argparse.Namespace) -> int:
    from ..data.contexts import write_contexts
    from ..data.subsets import system_names

    out = write_contexts(args.data, args.out, systems=system_names(args.systems) if args.systems else None,
                         split=args.split, overwrite=args.overwrite)
    print(f"wrote {out}: add a `forecast` array to each system's group, then run\n"
          f"  dysts-bench evaluate --predictions {out} --data {args.data} --name NAME --out results.json")
    return 0


def _subset(args: argparse.Namespace) -> int:
    from ..data.subsets import load_subset, select_core, write_core

    if args.name != "core":
        print("\n".join(load_subset(args.name)))
        return 0
    if args.write:
        print(f"wrote {write_core()}")
        return 0
    chosen, left_out = select_core()
    print(f"core: {len(chosen)} systems, in the order the rule picks them:\n  " + ", ".join(chosen))
    if left_out:
        print(f"left out for a missing invariant: {', '.join(left_out)}")
    return 0


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _manifest(ref: str | None) -> dict | None:
    """A manifest from a JSON file or a released config name."""
    from ..data.errors import DataError
    from ..data.manifest import committed_manifest, read_json

    if ref is None:
        return None
    if Path(ref).is_file():
        return read_json(ref)
    manifest = committed_manifest(ref)
    if manifest is None:
        raise DataError(f"--manifest {ref}: neither a file nor a released config with a committed manifest")
    return manifest


def _generate(args: argparse.Namespace) -> int:
    from ..data.config import load_config, released_configs
    from ..data.errors import DataError
    from ..data.generate import generate
    from ..data.manifest import MANIFEST_DIR, sidecar_path, write_json

    config = load_config(args.config)
    if args.write_manifest and (args.config not in released_configs() or args.systems or args.splits):
        raise DataError(f"--write-manifest is for a whole released config ({', '.join(released_configs())}), "
                        "without --systems or --splits")
    if args.splits:
        config = config.subset(splits=args.splits)
    manifest = generate(config, args.out, systems=args.systems, workers=args.workers, scheduler=args.scheduler,
                        overwrite=args.overwrite, progress=not args.no_progress)
    failed = {n: e for n, e in manifest["systems"].items() if e["status"] != "ok"}
    for name, entry in failed.items():
        print(f"failed  {name}: {entry['status']}: {entry['message']}", file=sys.stderr)
    print(f"{args.out}: {len(manifest['systems']) - len(failed)} systems written, {len(failed)} failed; "
          f"manifest {sidecar_path(args.out)} (content {manifest['content_hash'][:16]})")
    if args.write_manifest:
        path = MANIFEST_DIR / f"{config.name}.json"
        write_json(path, {k: v for k, v in manifest.items() if k != "files"})
        print(f"wrote {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ..data.verify import verify

    problems = verify(args.path, _manifest(args.manifest), progress=sys.stderr.isatty())
    for problem in problems:
        print(problem)
    if problems:
        print(f"{args.path}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.path}: every array matches its checksum")
    return 0


def _download(args: argparse.Namespace) -> int:
    from ..data.download import download

    path = download(args.url, args.to, expected=_manifest(args.manifest), overwrite=args.overwrite,
                    progress=not args.no_progress)
    print(f"{path}: downloaded and verified")
    return 0
