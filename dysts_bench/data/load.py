"""`load`: open an archive lazily, local or over HTTP, by path, URL or released config name; `to_darts`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import store
from .config import released_configs
from .errors import DataError
from .manifest import ok_systems
from .release import fetch_release
from .verify import open_system_group

if TYPE_CHECKING:
    import xarray as xr


def is_url(source: str | Path) -> bool:
    """Whether a source names a remote archive (http://, https://, s3://, ...)."""
    return "://" in str(source)


class Archive(Mapping):
    """A read-only mapping of system name -> lazy xarray Dataset; each group opens on first access."""

    def __init__(self, location: str, manifest: dict):
        self.location = location
        self.manifest = manifest
        self._open: dict[str, xr.Dataset] = {}

    @cached_property
    def systems(self) -> list[str]:
        """The systems the archive holds, sorted."""
        return ok_systems(self.manifest)

    @property
    def config(self) -> dict:
        """The config the archive was generated from."""
        return self.manifest["config"]

    @property
    def splits(self) -> list[str]:
        """The names of the splits."""
        return list(self.config["splits"])

    def __getitem__(self, name: str) -> xr.Dataset:
        if name not in self.systems:
            failed = self.manifest["systems"].get(name)
            why = f" ({failed['status']}: {failed['message']})" if failed else ""
            raise KeyError(f"{self.location} holds no system {name!r}{why}")
        if name not in self._open:
            self._open[name] = open_system_group(self.location, name, manifest=self.manifest)
        return self._open[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.systems)

    def __len__(self) -> int:
        return len(self.systems)

    def __repr__(self) -> str:
        return (f"<Archive {self.manifest['config_name']} at {self.location}: {len(self)} systems, "
                f"splits {self.splits}>")

    def dataset(self, system: str, split: str | None = None) -> xr.Dataset:
        """One system's Dataset, or only one split of it with dims (ic, time, dim)."""
        ds = self[system]
        return ds if split is None else select_split(ds, split)


def select_split(ds: xr.Dataset, split: str) -> xr.Dataset:
    """One split of a system's Dataset, its dims renamed to (ic, time, dim) and coordinates to time, t0."""
    if split not in ds.data_vars:
        splits = [v for v in ds.data_vars if not str(v).endswith("_clean")]
        raise DataError(f"system {ds.attrs.get('system')!r} has no split {split!r}; its splits: {splits}")
    names = [v for v in (split, f"{split}_clean") if v in ds.data_vars]
    out = ds[names].rename({f"ic_{split}": "ic", f"time_{split}": "time", f"t0_{split}": "t0"})
    out.attrs["split"] = split
    return out


def open_archive(source: str | Path) -> Archive:
    """An archive from a local path, a URL, or a released config name (see `release.fetch_release`)."""
    if is_url(source):
        return Archive(str(source).rstrip("/"), _remote_manifest(str(source).rstrip("/")))
    path = Path(source)
    if not path.exists() and str(source) in released_configs():
        path = fetch_release(str(source))
    if not (path / store.ROOT_META).is_file():
        raise DataError(f"{source}: not an archive path, URL or released config ({', '.join(released_configs())})")
    manifest = store.read_root(path).get("manifest")
    if manifest is None:
        raise DataError(f"{path} is incomplete (its generation was interrupted): run the same "
                        "`dysts-bench data generate` command again to complete it")
    return Archive(str(path), manifest)


def _remote_manifest(url: str) -> dict:
    import fsspec

    try:
        with fsspec.open(f"{url}/{store.ROOT_META}", "rb") as fh:
            manifest = json.load(fh).get("attributes", {}).get("manifest")
    except (OSError, ValueError) as exc:
        raise DataError(f"{url}: cannot read the archive's root metadata ({exc})") from exc
    if manifest is None:
        raise DataError(f"{url}: the archive has no manifest (an interrupted generation)")
    return manifest


def load(source: str | Path, system: str | None = None, split: str | None = None) -> Any:
    """Lazy data of an archive: a Dataset for one system, else a mapping of system -> Dataset.

    `source` is a local path, a URL (read lazily over HTTP with fsspec) or a released config name
    (a verified local copy, else a download from the configured mirror, else local regeneration).
    With `split`, each Dataset holds that split only, with dims (ic, time, dim).
    """
    archive = open_archive(source)
    if system is not None:
        return archive.dataset(system, split)
    if split is None:
        return archive
    return {name: archive.dataset(name, split) for name in archive}


def to_darts(data: Any, split: str | None = None) -> list:
    """darts TimeSeries of a split, one per initial condition, with the state names as components.

    `data` is a Dataset from `load(..., split=...)`, a system's Dataset with `split`, or a DataArray
    of dims (ic, time, dim).
    """
    import xarray as xr
    from darts import TimeSeries

    system = data.attrs.get("system")
    if isinstance(data, xr.Dataset):
        if split is None:
            split = data.attrs.get("split")
        if split is None:
            raise DataError("to_darts: pass split= for a Dataset holding several splits")
        if "split" not in data.attrs:
            data = select_split(data, split)
        data = data[split]
    if data.dims != ("ic", "time", "dim"):
        raise DataError(f"to_darts: expected dims (ic, time, dim), got {data.dims}; select a split first")
    columns = [str(c) for c in data["dim"].values] if "dim" in data.coords else None
    meta = {k: data.attrs[k] for k in ("split", "dt") if k in data.attrs}
    return [TimeSeries.from_values(data.isel(ic=i).values, columns=columns,
                                   metadata={**meta, "ic": i, "system": system})
            for i in range(data.sizes["ic"])]
