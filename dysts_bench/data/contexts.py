"""The test contexts of an archive as a zarr store of their own, to forecast with any tool outside the harness
(`dysts-bench data contexts`); `dysts-bench evaluate --predictions` scores what is written back into it.

Layout: one group per system, holding
- `context` (ic, n_context, dim): the first n_context points of each test trajectory, as the harness gives
  them to a forecaster;
- attributes `system`, `version`, `dt`, `horizon` (points to forecast from each context), `long_length`
  and `n_long` (the long free runs of protocol 2: `long_length` points from each of the first `n_long`
  contexts; 0 if the split has none) and `state_names`.
The user adds, with zarr, xarray or numpy, an array `forecast` (ic, horizon, dim) to each group and, for
the long-term statistics, `long_forecast` (n_long, long_length, dim). The root's attributes name the
archive (`manifest_hash`, `config`) and repeat these instructions (`how`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import DataError
from .load import open_archive
from .manifest import dataset_hash

HOW = ("Add to each system's group an array `forecast` of shape (ic, horizon, dim) (the forecast of each context, "
       "in order) and, for D_stsp and D_H, `long_forecast` of shape (n_long, long_length, dim) from the first "
       "n_long contexts; then run "
       "`dysts-bench evaluate --predictions THIS.zarr --data ARCHIVE --name NAME --out R.json`.")


def write_contexts(data: str | Path, out: str | Path, *, systems: Sequence[str] | None = None,
                   split: str = "test", overwrite: bool = False) -> Path:
    """Write the `split` contexts of every system (or of `systems`) of the archive `data` to the zarr store `out`."""
    import zarr

    archive = open_archive(data)
    attrs = archive.config["splits"].get(split) or {}
    if not attrs.get("context") or not attrs.get("horizon"):
        raise DataError(f"{data}: split {split!r} has no context/horizon window; choose a split that has one")
    names = list(systems) if systems else list(archive.systems)
    missing = [n for n in names if n not in archive.systems]
    if missing:
        raise DataError(f"{data} holds no system(s) {missing}; it holds: {', '.join(archive.systems)}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise DataError(f"{out} exists; pass --overwrite to replace it (forecasts written into it are lost)")
    long_term = attrs.get("long_term") or {}
    root = zarr.open_group(str(out), mode="w")
    root.attrs.update({"format": "dysts-bench-contexts/1", "config": archive.manifest["config_name"],
                       "manifest_hash": dataset_hash(archive.manifest), "split": split, "how": HOW})
    for name in names:
        ds = archive.dataset(name, split)
        context = np.asarray(ds[split].values[:, : attrs["context"]], dtype=np.float64)
        group = root.create_group(name)
        group.create_array("context", data=context)
        group.attrs.update({"system": name, "version": ds.attrs.get("version"), "dt": float(ds.attrs["dt"]),
                            "horizon": int(attrs["horizon"]), "long_length": int(long_term.get("length", 0)),
                            "n_long": min(int(long_term.get("n_ic", 0)), len(context)),
                            "state_names": list(ds.attrs.get("state_names", []))})
    return out
