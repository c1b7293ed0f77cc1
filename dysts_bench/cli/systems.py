"""`dysts-bench systems list|show|check|lock|generate`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..checks.systems import check_system
from ..parallel import add_parallel_options
from ..specs.registry import read_lock, versions, write_lock
from ..system import get_system, list_systems

# Each command imports what it runs, when it runs: a command loads no other command's code (a cold
# `dysts-bench systems list` imports no dataset, forecasting or site module).


def register(sub: argparse._SubParsersAction) -> None:
    """Add `systems` and its sub-commands."""
    parser = sub.add_parser("systems", help="list, show and check the systems of the registry",
                            description="Browse the registry and check system specs.")
    verbs = parser.add_subparsers(dest="systems_command", metavar="ACTION", required=True)

    p = verbs.add_parser("list", help="list the systems (latest versions)",
                         description="List every system with its version, dimension and flags.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_list)

    p = verbs.add_parser("show", help="show one system's spec and invariants",
                         description="Show a system's equations, parameters, initial condition, "
                                     "references and invariants.")
    p.add_argument("name", help="system name, optionally with a version: Lorenz or Lorenz@1")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_show)

    p = verbs.add_parser(
        "check", help="conformance check of system specs",
        description="Validate, compile and integrate each system; print one line per problem with "
                    "its fix. Exits non-zero if any check fails. With no argument, checks the whole "
                    "registry.")
    p.add_argument("targets", nargs="*", metavar="NAME|PATH",
                   help="registry names (Lorenz, Lorenz@1) or paths to YAML files")
    p.add_argument("--quick", action="store_true",
                   help="skip the long integration (bounded trajectory, Jacobian)")
    p.set_defaults(func=_check)

    p = verbs.add_parser(
        "lock", help="record the hashes of new spec files in systems/registry.lock",
        description="Add every spec file not yet in systems/registry.lock (a new system or a new "
                    "version) to the lock. Released files keep their recorded hash, so an edit of one "
                    "still fails `systems check`.")
    p.set_defaults(func=_lock)

    p = verbs.add_parser(
        "generate", help="generate new chaotic systems from the registry's, kept by a chaos filter",
        description="Draw candidates from the registry's autonomous chaotic ODEs (parameter perturbations, each "
                    "parameter scaled by 1 + scale*N(0,1), and skew products, a driver coupled additively into a "
                    "response) and keep those that pass the chaos "
                    "filter: bounded, not a fixed point, 0-1 test K >= 0.5 and no line spectrum, largest "
                    "Lyapunov exponent clearly positive. Each kept system is written as OUT/<Name>/1.yaml (a "
                    "spec `systems check` accepts, with its provenance) and locked in OUT/registry.lock; every "
                    "draw's outcome goes to OUT/generate.jsonl. The same seed gives the same systems, serially or on "
                    "a Dask cluster; a killed run resumes where it stopped when run again.")
    p.add_argument("--n", type=int, required=True, help="how many systems to accept")
    p.add_argument("--seed", type=int, required=True, help="seed of every draw")
    p.add_argument("--out", type=Path, required=True, help="folder to write the systems to")
    p.add_argument("--scale", type=float, default=0.1, help="relative size of the parameter perturbations (0.1)")
    p.add_argument("--strength", type=float, default=0.5,
                   help="skew products: the coupling's speed relative to the response's own (0.5)")
    p.add_argument("--max-draws", type=int, help="give up after this many candidates (default 50 * n)")
    p.add_argument("--no-invariants", action="store_true",
                   help="skip each accepted system's invariants sidecar (seconds per system)")
    p.add_argument("--exclude-parents", metavar="SYSTEMS", default="",
                   help="comma-separated systems or @SUBSET (e.g. @core) no candidate may derive from: those a "
                        "corpus made here will be evaluated on zero-shot")
    add_parallel_options(p, "candidates")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> int:
    from ..data.subsets import system_names
    from ..generator.systems import generate_systems, leaks

    excluded = system_names(args.exclude_parents)
    summary = generate_systems(args.n, args.seed, args.out, scale=args.scale, strength=args.strength,
                               max_draws=args.max_draws, invariants=not args.no_invariants, workers=args.workers,
                               scheduler=args.scheduler, progress=not args.quiet, exclude_parents=excluded)
    print(f"{len(summary.accepted)} systems accepted of {summary.draws} drawn, in {args.out}")
    print("rejected: " + ", ".join(f"{k} {v}" for k, v in summary.rejected.items()))
    if excluded:
        leaked = leaks(args.out, excluded)
        print(f"derived from the {len(excluded)} excluded systems: {len(leaked)}"
              + (f" ({', '.join(leaked)})" if leaked else ""))
        if leaked:
            return 1
    return 0 if len(summary.accepted) >= args.n else 1


def _summary(name: str) -> dict:
    s = get_system(name)
    return {"name": s.name, "version": s.version, "dim": s.dim, "versions": list(versions()[name]),
            "non_autonomous": s.non_autonomous, "hamiltonian": s.hamiltonian,
            "delay": bool(s.delay_lags), "non_smooth": s.non_smooth,
            "lyapunov_max": s.invariants.scalar("lyapunov_max")}


def _list(args: argparse.Namespace) -> int:
    rows = [_summary(n) for n in list_systems()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'name':<28}{'ver':>4}{'dim':>5}  flags")
    for r in rows:
        flags = [f for f in ("non_autonomous", "hamiltonian", "delay", "non_smooth") if r[f]]
        print(f"{r['name']:<28}{r['version']:>4}{r['dim']:>5}  {' '.join(flags)}")
    print(f"{len(rows)} systems")
    return 0


def _show(args: argparse.Namespace) -> int:
    s = get_system(args.name)
    info = {**s.spec.model_dump(exclude_none=True), "path": str(s.path), "dim": s.dim,
            "non_smooth": s.non_smooth, "invariants": s.invariants.to_dict()}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{s.name}@{s.version}  ({s.path})\n{s.description}\n")
    print("equations:")
    for name, expr in s.spec.auxiliary.items():
        print(f"  {name} = {expr}")
    for name, expr in s.spec.equations.items():
        print(f"  d{name}/dt = {expr}")
    print("parameters: " + ", ".join(f"{k}={v:g}" for k, v in s.params.items()))
    print("initial condition: " + ", ".join(f"{n}={v:g}" for n, v in zip(s.state_names, s.initial_condition,
                                                                          strict=True)))
    print(f"dt: {s.dt:g}   period: {s.period if s.period is not None else '-'}")
    for ref in s.spec.references:
        print(f"reference: {ref.citation}" + (f"  doi:{ref.doi}" if ref.doi else ""))
    for key, entry in s.invariants.quantities().items():
        print(f"{key}: {_with_error(entry.value, entry.stderr)}")
    return 0


def _with_error(value, stderr) -> str:
    """A value (or list of values) with its standard error, to 4 significant digits."""
    if isinstance(value, list):
        errors = stderr if isinstance(stderr, list) else [None] * len(value)
        return "[" + ", ".join(_with_error(v, e) for v, e in zip(value, errors, strict=False)) + "]"
    if not isinstance(value, int | float):
        return str(value)
    return f"{value:.4g}" + (f" ± {stderr:.2g}" if isinstance(stderr, int | float) and stderr else "")


def _lock(args: argparse.Namespace) -> int:
    before = read_lock()
    after = write_lock()
    for key in sorted(set(after) - set(before)):
        print(f"locked {key}")
    print(f"{len(after)} spec files locked")
    return 0


def _check(args: argparse.Namespace) -> int:
    targets = args.targets or list_systems()
    failed = 0
    for target in targets:
        problems = check_system(target, long_run=not args.quick)
        if problems:
            failed += 1
            for p in problems:
                print(p)
        elif len(targets) <= 20:
            print(f"ok  {target}")
    print(f"{len(targets) - failed} of {len(targets)} specs pass" + (f", {failed} fail" if failed else ""),
          file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
