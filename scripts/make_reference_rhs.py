"""Record reference right-hand-side values of the continuous-time systems of ``dysts`` 0.96.

This script is run once, by hand, in a throw-away environment that has the ``dysts`` package; dysts
is *not* a dependency of dysts-bench. From the repository root::

    python3 -m venv /tmp/dysts-env \
        && /tmp/dysts-env/bin/pip install dysts==0.96 \
        && /tmp/dysts-env/bin/python scripts/make_reference_rhs.py

Optional arguments: ``--out-dir DIR`` (default ``tests/fixtures``, for the RHS values),
``--metadata-dir DIR`` (default ``data/reference``, for the metadata the package's reports read),
``--names-file PATH`` (also write
the list of system names, one a line), ``--samples N`` (default 200).

It writes two files that the tests compare our YAML registry against:

``data/reference/dysts_metadata.json``
    For each of the 135 continuous-time systems of dysts's ``chaotic_attractors.json`` (129 ODE flows and
    6 delay equations; the discrete maps are skipped): ``dim`` (the true state dimension: 1 for the
    scalar delay equations, whose ``embedding_dimension`` is only dysts's delay-embedding size),
    ``parameters`` (names and values exactly as stored, list-valued ones as (nested) lists),
    ``param_order`` (the order dysts passes them to its RHS: alphabetical), ``initial_conditions``,
    ``dt``, ``period``, ``nonautonomous``, ``hamiltonian``, ``delay``, ``embedding_dimension``,
    ``unbounded_indices``, ``bifurcation_parameter``, ``citation``, ``dysts_description``,
    ``dysts_class`` / ``dysts_rhs_class`` (the class, and the class whose code defines its RHS, e.g.
    ``Coullet`` reuses ``Arneodo``), ``dysts_state_args`` (the names of the state arguments of its
    ``_rhs`` where it has one), ``rhs_call`` (how the recorded values were computed), ``rhs_inputs``,
    ``samples_redrawn`` (how many draws were rejected for a non-finite RHS), ``source``, and
    ``postprocessing`` (present only where dysts maps the integrated state through a
    ``_postprocessing`` method in ``make_trajectory(postprocess=True)``: the mapping, as text).
    The delay equations also carry ``delay_lag_parameter`` and ``history``.
    Of dysts's stored invariants only ``dysts_maximum_lyapunov_estimated`` and
    ``dysts_lyapunov_spectrum_estimated`` are kept, so that a report can compare against them; they are
    known to be unreliable and are never used as reference values.

``tests/fixtures/dysts_rhs.npz``
    For each system ``<Name>``, 200 sample points and dysts's vector field there, with the default
    parameters:

    * ``<Name>.x`` (200, n): the RHS inputs. For ODE flows n = dim and the row is the state. For the
      delay equations the row is the current state followed by the delayed state, n = 2 * dim, in the
      order dysts's ``_rhs(x, xt, t, *params)`` takes them (``rhs_inputs: ["x", "x_tau"]``).
    * ``<Name>.t`` (200,): the times, uniform in [0, 10].
    * ``<Name>.dx`` (200, dim): the RHS value.

    The values are computed the way dysts computes them while integrating: ``model.rhs(X, t)`` for flows
    (``DynSys.rhs`` calls ``_rhs(*X.T, t, *param_list)``, or the class's own ``rhs``), and
    ``model._rhs(x, x_tau, t, *param_list)`` for delay equations (what ``DynSysDelay.delayed_rhs`` does
    with ``X(t)`` and ``X(t - tau)``). Without numba installed dysts runs these functions as plain
    Python/numpy; the arithmetic is the same.

Sampling. Each system has its own generator, ``numpy.random.default_rng(zlib.crc32(name))``. A point
is ``ic + scale * normal`` with ``scale = max(1, |ic|)`` per coordinate (``ic`` the default initial
condition; for delay equations both the current and the delayed value are drawn around the first
entry of dysts's initial condition, which is the constant history dysts uses), and t ~ U[0, 10]. A
point whose RHS is not finite (outside the domain of a power, log or square root, or an overflow) is
redrawn; after 50 failed draws for one point the draw is restricted to ``ic * exp(0.5 * normal)``
(same signs as ``ic``), and then to ``ic + 0.01 * scale * normal``. The output is deterministic: the
JSON is written with sorted keys and the ``.npz`` archive with fixed timestamps and sorted members.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import re
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")  # dysts warns that numba is absent; numpy warns on overflow

import dysts.flows as dfl  # noqa: E402  (only in the throw-away environment)
from dysts.base import DATAPATH_CONTINUOUS, DynSys, DynSysDelay  # noqa: E402

N_SAMPLES = 200
T_MAX = 10.0
MAX_TRIES = 50
DYSTS_VERSION = "0.96"

# dysts metadata fields that are facts about the system's definition (copied as they are)
FACT_FIELDS = (
    "parameters",
    "initial_conditions",
    "dt",
    "period",
    "nonautonomous",
    "hamiltonian",
    "delay",
    "embedding_dimension",
    "unbounded_indices",
    "bifurcation_parameter",
    "citation",
)


def system_seed(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def rhs_class(cls: type) -> type:
    """The class in the MRO whose own code defines the RHS (rhs or _rhs)."""
    for klass in cls.__mro__:
        if klass in (DynSys, DynSysDelay) or klass.__module__ != dfl.__name__:
            break
        if "_rhs" in vars(klass) or "rhs" in vars(klass):
            return klass
    return cls


def state_args(cls: type) -> list[str] | None:
    """Names of the state arguments of a static ``_rhs`` (those before ``t``), else None."""
    klass = rhs_class(cls)
    if "_rhs" not in vars(klass):
        return None
    params = list(inspect.signature(cls._rhs).parameters)
    if "t" not in params:
        return None
    return params[: params.index("t")]


def describe_postprocessing(cls: type) -> str | None:
    """Text of the state map of a ``_postprocessing`` method, or None when the class has none."""
    fn = None
    for klass in cls.__mro__:
        if "_postprocessing" in vars(klass):
            fn = vars(klass)["_postprocessing"]
            break
    if fn is None:
        return None
    if isinstance(fn, staticmethod):
        fn = fn.__func__
    src = inspect.getsource(fn)
    args = [a for a in inspect.signature(fn).parameters if a != "self"]
    lines = [ln.strip() for ln in src.splitlines() if ln.strip() and not ln.strip().startswith(("@", "def "))]
    lines = [re.sub(r"\s+", " ", re.sub(r"\b(np|self)\.", "", ln)) for ln in lines]
    ret = next(ln[len("return ") :] for ln in lines if ln.startswith("return "))
    assigns = [ln for ln in lines if not ln.startswith("return ")]
    if assigns:
        ret += " with " + ", ".join(assigns)
    return (
        "dysts's make_trajectory(postprocess=True, the default) maps the integrated state "
        f"({', '.join(args)}) -> ({ret}); the RHS recorded here is of the raw, unmapped state"
    )


def make_rhs_fn(model, delay: bool, dim: int):
    """f(xrow, t) -> dx (dim,), exactly as dysts evaluates its vector field."""
    if delay:

        def f(xrow, t):
            x, xt = xrow[:dim], xrow[dim:]
            if dim == 1:  # dysts's history and ddeint values are scalars for scalar equations
                x, xt = x[0], xt[0]
            return model._rhs(x, xt, t, *model.param_list)

    else:

        def f(xrow, t):
            return model.rhs(xrow, t)

    def wrapped(xrow, t):
        with np.errstate(all="ignore"):
            try:
                out = f(np.array(xrow, dtype=float), float(t))
                if isinstance(out, (tuple, list)):
                    out = np.concatenate([np.atleast_1d(np.asarray(v, dtype=float)) for v in out])
                else:
                    out = np.atleast_1d(np.asarray(out, dtype=float)).reshape(-1)
            except (FloatingPointError, ZeroDivisionError, OverflowError, ValueError):
                return None
        if out.shape != (dim,) or not np.all(np.isfinite(out)):
            return None
        return out

    return wrapped


def sample_system(name: str, model, delay: bool, dim: int, ic: np.ndarray, n: int):
    rng = np.random.default_rng(system_seed(name))
    centre = np.concatenate([np.full(dim, ic[0]), np.full(dim, ic[0])]) if delay else ic[:dim]
    scale = np.maximum(1.0, np.abs(centre))
    f = make_rhs_fn(model, delay, dim)
    xs = np.empty((n, centre.size))
    ts = np.empty(n)
    dxs = np.empty((n, dim))
    n_redrawn = 0
    for i in range(n):
        t = rng.uniform(0.0, T_MAX)
        for attempt in range(3 * MAX_TRIES):
            z = rng.standard_normal(centre.size)
            if attempt < MAX_TRIES:
                x = centre + scale * z
            elif attempt < 2 * MAX_TRIES:
                x = centre * np.exp(0.5 * z)
            else:
                x = centre + 0.01 * scale * z
            dx = f(x, t)
            if dx is not None:
                break
            n_redrawn += 1
        else:
            raise RuntimeError(f"{name}: no finite RHS value found near the initial condition")
        xs[i], ts[i], dxs[i] = x, t, dx
    return xs, ts, dxs, n_redrawn


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like numpy.savez_compressed, but byte-for-byte reproducible (fixed timestamps, sorted keys)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parent.parent / "tests" / "fixtures"))
    ap.add_argument("--metadata-dir", default=str(Path(__file__).resolve().parent.parent / "data" / "reference"))
    ap.add_argument("--names-file", default=None)
    ap.add_argument("--samples", type=int, default=N_SAMPLES)
    args = ap.parse_args(argv)

    with open(DATAPATH_CONTINUOUS) as fh:
        raw = json.load(fh)

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta_out: dict[str, dict] = {}
    arrays: dict[str, np.ndarray] = {}
    names = sorted(raw)
    for name in names:
        entry = raw[name]
        cls = getattr(dfl, name)
        delay = bool(entry["delay"])
        assert issubclass(cls, DynSysDelay) == delay, name
        model = cls()
        ic = np.asarray(entry["initial_conditions"], dtype=float)
        sargs = state_args(cls)
        if delay:
            assert sargs is not None and len(sargs) % 2 == 0, name
            dim = len(sargs) // 2
        else:
            dim = ic.size
            assert sargs is None or len(sargs) == dim, name
        xs, ts, dxs, n_redrawn = sample_system(name, model, delay, dim, ic, args.samples)
        arrays[f"{name}.x"], arrays[f"{name}.t"], arrays[f"{name}.dx"] = xs, ts, dxs

        rec: dict = {"dim": dim}
        for key in FACT_FIELDS:
            rec[key] = entry.get(key)
        rec["param_order"] = sorted(entry["parameters"])
        rec["dysts_description"] = entry.get("description")
        rec["dysts_class"] = name
        rec["dysts_rhs_class"] = rhs_class(cls).__name__
        rec["dysts_state_args"] = sargs
        if delay:
            rec["rhs_inputs"] = ["x", "x_tau"]
            rec["rhs_call"] = "model._rhs(x, x_tau, t, *param_list) (as DynSysDelay.delayed_rhs)"
            rec["delay_lag_parameter"] = "tau"
            rec["history"] = "constant, equal to initial_conditions[0] (dysts's make_trajectory default)"
        else:
            rec["rhs_inputs"] = ["x"]
            rec["rhs_call"] = "model.rhs(X, t)"
        post = describe_postprocessing(cls)
        if post is not None:
            rec["postprocessing"] = post
        rec["samples_redrawn"] = n_redrawn
        rec["source"] = f"dysts {DYSTS_VERSION}"

        rec["dysts_maximum_lyapunov_estimated"] = entry.get("maximum_lyapunov_estimated")
        rec["dysts_lyapunov_spectrum_estimated"] = entry.get("lyapunov_spectrum_estimated")
        meta_out[name] = rec

    Path(args.metadata_dir).mkdir(parents=True, exist_ok=True)
    (Path(args.metadata_dir) / "dysts_metadata.json").write_text(
        json.dumps(meta_out, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_npz(out_dir / "dysts_rhs.npz", arrays)
    if args.names_file:
        Path(args.names_file).write_text("\n".join(names) + "\n", encoding="utf-8")
    n_delay = sum(r["delay"] for r in meta_out.values())
    print(f"{len(meta_out)} systems ({len(meta_out) - n_delay} flows, {n_delay} delay) -> {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
