"""One system of a dataset: its time scale, initial conditions on the attractor, and every split.

Initial conditions are drawn on the attractor: the default initial condition is integrated past the
transient, then along `attractor_length` units recorded once per unit, and a seeded Generator picks
distinct points of that record (so any two are at least one unit apart). Each system's seed comes
from the config seed and a CRC-32 of its name, so a system's arrays do not depend on which other
systems, workers or order of work the run had.
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..integrate.solve import Solution, Status, integrate
from ..system import System
from ..version import __version__
from .config import DatasetConfig, Sampling
from .manifest import array_record

if TYPE_CHECKING:
    import xarray as xr

log = logging.getLogger(__name__)


class SystemSkipped(Exception):
    """A system that yields no arrays; `status` and the message go into the manifest."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Timescale:
    """A system's time unit for sampling, and the invariants it came from."""

    unit: float                   # system time per config unit
    source: str                   # "invariants" (the sidecar) or "spec" (the period hint)
    period: float | None
    lyapunov_max: float | None
    lyapunov_time: float | None


@dataclass(frozen=True)
class SystemData:
    """A system's arrays as an xarray Dataset (None if skipped) and its manifest entry."""

    dataset: xr.Dataset | None
    entry: dict[str, Any]


def timescale(system: System, sampling: Sampling) -> Timescale:
    """The period or Lyapunov time of a system; SystemSkipped if it is not known."""
    inv = system.invariants
    lam = inv.scalar("lyapunov_max")
    tau = inv.scalar("lyapunov_time") or (1.0 / lam if lam and lam > 0 else None)
    period, source = inv.scalar("period"), "invariants"
    if system.period is not None and (period is None or sampling.period_source == "spec"):
        period, source = system.period, "spec"
    if sampling.unit == "period":
        if period is None:
            raise SystemSkipped("missing_invariants", f"{system.name}: no period in {system.sidecar_path} "
                                f"nor in the spec; run `dysts-bench invariants {system.name} --write`")
        return Timescale(period, source, period, lam, tau)
    if lam is None:
        raise SystemSkipped("missing_invariants", f"{system.name}: sampling per Lyapunov time needs "
                            f"lyapunov_max in {system.sidecar_path}, which is missing; run "
                            f"`dysts-bench invariants {system.name} --write`")
    if inv.chaos == "marginal":
        reason = (inv.lyapunov_max and inv.lyapunov_max.chaos_reason) or ""
        raise SystemSkipped("marginal_chaos", f"{system.name}: marginally chaotic per {system.sidecar_path} "
                            f"({reason}): its Lyapunov time is too uncertain to sample by")
    if lam <= 0 or tau is None or inv.chaotic is False:
        raise SystemSkipped("not_chaotic", f"{system.name}: not chaotic per {system.sidecar_path} "
                            f"(lyapunov_max = {lam:g}): no Lyapunov time to sample by")
    per_period = sampling.points_per_unit * period / tau if period else math.inf
    if sampling.min_points_per_period and per_period < sampling.min_points_per_period:
        raise SystemSkipped("undersampled", f"{system.name}: {sampling.points_per_unit:g} points per Lyapunov "
                            f"time are {per_period:.2g} points per period ({period:.4g}), fewer than the "
                            f"config's min_points_per_period {sampling.min_points_per_period:g}")
    return Timescale(tau, "invariants", period, lam, tau)


def system_seed(seed: int, name: str) -> np.random.SeedSequence:
    """The seed sequence of one system: the config seed and a CRC-32 of the system's name."""
    return np.random.SeedSequence([seed, zlib.crc32(name.encode())])


def simulate(config: DatasetConfig, system: System) -> SystemData:
    """Every split of one system, with checksums; a failure is reported in the entry, not raised."""
    entry: dict[str, Any] = {"version": system.version, "spec_hash": system.spec_hash}
    parents = (system.spec.provenance or {}).get("parents")
    if parents:  # a generated system: what it derives from, so that a zero-shot evaluation can refuse a leak
        entry["parents"] = sorted({str(p).split("@")[0] for p in parents})
    try:
        scale = timescale(system, config.sampling)
        arrays = _trajectories(config, system, scale)
    except SystemSkipped as skip:
        log.debug("%s", skip)
        return SystemData(None, {"status": skip.status, "message": str(skip), **entry})
    entry = {"status": "ok", **entry, "timescale": {
        "unit": config.sampling.unit, "value": scale.unit, "source": scale.source, "period": scale.period,
        "lyapunov_max": scale.lyapunov_max, "lyapunov_time": scale.lyapunov_time}}
    entry["arrays"] = {name: array_record(values, stats=values.ndim == 3) for name, values in arrays.items()}
    return SystemData(_dataset(config, system, scale, arrays, entry), entry)


def _trajectories(config: DatasetConfig, system: System, scale: Timescale) -> dict[str, np.ndarray]:
    """Arrays by name: `<split>` (ic, time, dim), `time_<split>`, `t0_<split>`, `<split>_clean`, and for a
    split with `long_term` the same of `<split>_long`."""
    ic_rng, noise_rng = (np.random.default_rng(s) for s in system_seed(config.seed, system.name).spawn(2))
    record = _solve(system, config, None, t0=0.0, t_end=config.attractor_length * scale.unit,
                    dt_out=scale.unit, transient=config.transient * scale.unit, what="attractor")
    picks = ic_rng.choice(record.t.size, size=config.n_initial_conditions, replace=False)
    arrays: dict[str, np.ndarray] = {}
    start = 0
    for split, spec in config.splits.items():
        chosen = picks[start:start + spec.n_ic]
        start += spec.n_ic
        dt = scale.unit / config.points_per_unit(split)
        clean = _split_states(system, config, record.y[chosen], record.t[chosen], dt, spec.length, split)
        if config.noise > 0:
            scale_per_dim = clean.reshape(-1, system.dim).std(axis=0)
            arrays[split] = clean + config.noise * scale_per_dim * noise_rng.standard_normal(clean.shape)
            arrays[f"{split}_clean"] = clean
        else:
            arrays[split] = clean
        arrays[f"time_{split}"] = dt * np.arange(spec.length)
        arrays[f"t0_{split}"] = record.t[chosen].copy()
        if spec.long_term is not None:
            # The true continuations of the first contexts, without noise: what a long forecast is compared with.
            long, n, length = f"{split}_long", spec.long_term.n_ic, spec.context + spec.long_term.length
            arrays[long] = _split_states(system, config, record.y[chosen[:n]], record.t[chosen[:n]], dt, length,
                                         long)
            arrays[f"time_{long}"] = dt * np.arange(length)
            arrays[f"t0_{long}"] = record.t[chosen[:n]].copy()
    return arrays


def _split_states(system: System, config: DatasetConfig, y0: np.ndarray, t0: np.ndarray, dt: float,
                  length: int, split: str) -> np.ndarray:
    """(n_ic, length, dim) trajectories from each initial condition, sampled every dt."""
    t_end = (length - 1) * dt
    if not system.non_autonomous:
        return _solve(system, config, y0, t0=0.0, t_end=t_end, dt_out=dt, transient=0.0,
                      what=f"split {split!r}").y
    # A forced system must resume at the time its state was recorded, one initial condition at a time.
    return np.stack([_solve(system, config, y, t0=t, t_end=t_end, dt_out=dt, transient=0.0,
                            what=f"split {split!r}").y for y, t in zip(y0, t0, strict=True)])


def _solve(system: System, config: DatasetConfig, y0: np.ndarray | None, *, t0: float, t_end: float,
           dt_out: float, transient: float, what: str) -> Solution:
    """One integration with the config's solver; SystemSkipped naming the failure if it fails."""
    opts = config.integrator
    sol = integrate(system, y0, t_end=t_end, dt_out=dt_out, method=opts.method, rtol=opts.rtol,
                    atol=opts.atol, h=opts.h, max_steps=opts.max_steps, transient=transient, t0=t0)
    if not sol.ok:
        bad = next(i for i, s in enumerate(sol.statuses) if s != Status.SUCCESS)
        raise SystemSkipped(sol.status.name.lower(), f"{system.name}: integration of the {what} failed "
                            f"({sol.status.name}) from initial condition {bad}")
    return sol


def _dataset(config: DatasetConfig, system: System, scale: Timescale, arrays: dict[str, np.ndarray],
             entry: dict[str, Any]) -> xr.Dataset:
    """The arrays as an xarray Dataset with its attributes (see `store.py` for the layout)."""
    import xarray as xr

    data_vars, coords = {}, {}

    def add(name: str, attrs: dict[str, Any]) -> None:
        dims = (f"ic_{name}", f"time_{name}", "dim")
        for var in (name, f"{name}_clean"):
            if var in arrays:
                data_vars[var] = xr.Variable(dims, arrays[var], attrs=attrs)
        coords[f"time_{name}"] = xr.Variable(dims[1], arrays[f"time_{name}"])
        coords[f"t0_{name}"] = xr.Variable(dims[0], arrays[f"t0_{name}"])

    for split, spec in config.splits.items():
        attrs = {"split": split, "dt": scale.unit / config.points_per_unit(split),
                 "points_per_unit": config.points_per_unit(split), "context": spec.context,
                 "horizon": spec.horizon, "noise": config.noise}
        add(split, attrs)
        if spec.long_term is not None:
            add(f"{split}_long", {**attrs, "split": f"{split}_long", "noise": 0.0,
                                  "horizon": spec.long_term.length, "discard": spec.long_term.discard})
    attrs = {
        "system": system.name, "version": system.version, "spec_hash": system.spec_hash,
        "state_names": list(system.state_names), "dt": scale.unit / config.sampling.points_per_unit,
        "timescale_unit": config.sampling.unit, "timescale_source": scale.source, "period": scale.period,
        "lyapunov_max": scale.lyapunov_max, "lyapunov_time": scale.lyapunov_time,
        "integrator": config.integrator.model_dump(mode="json"), "config_name": config.name,
        "config_hash": config.hash, "package_version": __version__, "manifest_entry": entry,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
