"""What a system page's forecast figures draw: each results file's trace of the system (evaluate/traces.py),
its time step in Lyapunov times, and the truth.

The truth comes from the archive the results were scored on (`leaderboard build --data ARCHIVE`, matched by
the manifest hash the results record), never from a results file; without it the figures show the
forecasts alone. Time steps and coordinate scales come from the committed manifest of the dataset.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.config import load_config
from ..data.errors import ChecksumError
from ..data.load import open_archive
from ..data.manifest import array_sha256, dataset_hash
from ..errors import DystsBenchError
from ..evaluate.results import DatasetInfo, Trace
from .boards import Board
from .check import KnownDataset, manifest_systems

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shown:
    """One forecaster's trace of a system."""

    name: str
    href: str
    trace: Trace
    vpt: float | None          # the VPT of the kept forecast's record


@dataclass
class SystemForecasts:
    """The forecast figures' inputs for one system on one dataset."""

    config: str
    step: float | None                       # one sampling step, in Lyapunov times
    mean: np.ndarray | None                  # per coordinate, over the test split (for scaled panels)
    std: np.ndarray | None
    shown: list[Shown] = field(default_factory=list)
    truth: dict[int, np.ndarray] = field(default_factory=dict)        # ic -> true future (horizon, dim)
    long_truth: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)   # (ic, stride) -> thinned

    def key(self) -> str:
        """What the figures depend on, for their cache names."""
        import hashlib

        text = "|".join([self.config, repr(self.step), *(s.name + s.trace.model_dump_json() for s in self.shown),
                         *(f"{k}" for k in sorted(self.truth)), *(f"{k}" for k in sorted(self.long_truth))])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class Truths:
    """The archives given to the build, found by the manifest hash results files record."""

    def __init__(self, archives: Sequence[str | Path] = ()):
        self.by_hash: dict[str, tuple[str, dict]] = {}
        for path in archives:
            archive = open_archive(path)
            self.by_hash[dataset_hash(archive.manifest)] = (str(archive.location), archive.manifest)

    def read(self, dataset: DatasetInfo, system: str, sf: SystemForecasts) -> None:
        """Fill in the true futures and long continuations that the shown traces need."""
        if dataset.manifest_hash not in self.by_hash or not sf.shown:
            return
        location, manifest = self.by_hash[dataset.manifest_hash]
        test = dataset.splits.get("test", "test")
        try:
            # zarr directly, not xarray: a page needs two arrays, and xarray's open of a group costs a second.
            future = _verified(location, manifest, system, test)
            long = _verified(location, manifest, system, f"{test}_long") if dataset.long_term else None
        except (DystsBenchError, KeyError) as exc:
            log.warning("%s: truth not read from %s: %s", system, location, exc)
            return
        start = dataset.context + (dataset.long_term or {}).get("discard", 0)
        for s in sf.shown:
            t = s.trace
            if t.ic is not None and t.ic < len(future):
                sf.truth[t.ic] = future[t.ic, dataset.context: dataset.context + dataset.horizon]
            if t.long_ic is not None and long is not None and t.long_ic < len(long):
                sf.long_truth[(t.long_ic, t.long_stride)] = long[t.long_ic, start::t.long_stride]


@functools.lru_cache(maxsize=4)
def _root(location: str) -> Any:
    import zarr

    return zarr.open_group(location, mode="r")   # a third of a second each time: once per archive


def _verified(location: str, manifest: dict, system: str, split: str) -> np.ndarray:
    """One array of an archive, checked against its checksum in the manifest (ChecksumError if it differs)."""
    values = np.asarray(_root(location)[system][split][...], dtype=np.float64)
    if array_sha256(values) != manifest["systems"][system]["arrays"][split]["sha256"]:
        raise ChecksumError(f"{system}/{split} differs from its checksum in the manifest: download or generate "
                            f"the archive again (`dysts-bench data verify {location}`)")
    return values


def system_forecasts(system: str, boards: Sequence[Board], known: dict[str, KnownDataset],
                     truths: Truths) -> list[SystemForecasts]:
    """Per dataset, the traces of `system` in the boards' results files, with their truth where an archive was given."""
    out: dict[str, SystemForecasts] = {}
    for board in boards:
        ds = board.dataset
        for entry in board.own_entries:
            summary = entry.results.systems.get(system)
            if summary is None or summary.trace is None or entry.problems:
                continue  # a file that fails the check draws nothing
            if ds.manifest_hash not in out:
                out[ds.manifest_hash] = _empty(ds, system, known.get(ds.manifest_hash))
            trace = summary.trace
            record = next((r for r in entry.results.records if r.system == system and r.ic == trace.ic), None)
            vpt = record.metrics.get("vpt") if record is not None else None
            out[ds.manifest_hash].shown.append(Shown(entry.results.label, entry.href, trace, vpt))
    for h, sf in out.items():
        dataset = next(b.dataset for b in boards if b.dataset.manifest_hash == h)
        sf.shown.sort(key=lambda s: (s.vpt is None, -(s.vpt or 0.0), s.name.lower()))
        truths.read(dataset, system, sf)
    return list(out.values())


def _empty(dataset: DatasetInfo, system: str, known: KnownDataset | None) -> SystemForecasts:
    """No traces yet, with the step and scales of `system` in the dataset's committed manifest."""
    entry = manifest_systems(known.path).get(system, {}) if known else {}
    scale = entry.get("timescale") or {}
    step = mean = std = None
    try:
        ppu = load_config(dataset.config).points_per_unit(dataset.splits.get("test", "test"))
        if scale.get("value") and scale.get("lyapunov_time"):
            step = scale["value"] / ppu / scale["lyapunov_time"]
    except (DystsBenchError, KeyError):
        pass  # not a released config: no time axis in Lyapunov times
    stats = (entry.get("arrays") or {}).get(dataset.splits.get("test", "test"), {})
    if stats.get("mean") and stats.get("std"):
        mean, std = np.asarray(stats["mean"], dtype=float), np.asarray(stats["std"], dtype=float)
    return SystemForecasts(dataset.config, step, mean, std)
