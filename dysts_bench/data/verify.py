"""`verify`: recompute every array's checksum and every attribute, and name each one that does not match.

An archive's attributes (dt, the Lyapunov time, state names, each split's window) all follow from its
manifest's config and system entries; `metadata_problems` recomputes them, so a changed `lyapunov_max`
(in a group or in the consolidated copy readers use) is caught without hashing any array.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DystsBenchError
from ..system import get_system
from . import store
from .errors import ChecksumError
from .manifest import array_sha256, ok_systems

if TYPE_CHECKING:
    import xarray as xr


@dataclass(frozen=True)
class Problem:
    """One array (or system) of an archive that differs from its manifest."""

    system: str
    array: str | None
    kind: str            # missing | truncated | corrupted | incomplete
    detail: str

    def __str__(self) -> str:
        where = f"{self.system}/{self.array}" if self.array else self.system or "archive"
        return f"{where}: {self.kind}: {self.detail}"


def verify(path: str | Path, manifest: dict | None = None, *, progress: bool = False) -> list[Problem]:
    """The problems of a local archive against a manifest (its own by default); empty if it matches."""
    import zarr
    from tqdm.auto import tqdm

    path = Path(path)
    if manifest is None:
        manifest = store.read_root(path).get("manifest")
        if manifest is None:
            return [Problem("", None, "incomplete", f"{path} has no manifest: its generation did not finish; "
                            "run the same `dysts-bench data generate` command again to complete it")]
    full = "config" in manifest  # a partial manifest (one system's entry) checks that system's arrays only
    problems = [Problem(p.name, None, "unexpected", "a group the manifest does not list (status ok)")
                for p in sorted(path.iterdir()) if full and (p / store.ROOT_META).is_file()
                and manifest["systems"].get(p.name, {}).get("status") != "ok"]
    for name in tqdm(ok_systems(manifest), desc="verify", unit="system", disable=not progress):
        if not (path / name / store.ROOT_META).is_file():
            problems.append(Problem(name, None, "missing", f"no group {path / name}"))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the consolidated-metadata notice of zarr v3
            group = zarr.open_group(path / name, mode="r", use_consolidated=False)
        for array, record in manifest["systems"][name]["arrays"].items():
            problem = _check_array(group, array, record)
            if problem:
                problems.append(Problem(name, array, *problem))
        if not full:
            continue
        problems += metadata_problems(dict(group.attrs), {a: dict(group[a].attrs) for a in group.array_keys()},
                                      name, manifest)
        try:  # the consolidated copy, which xarray reads
            group = open_system_group(str(path), name, manifest=None)
            problems += metadata_problems(*attributes_of(group), name, manifest)
        except (KeyError, ValueError, OSError) as exc:
            problems.append(Problem(name, None, "corrupted", f"unreadable metadata ({type(exc).__name__}: {exc})"))
    return problems


def attributes_of(ds: xr.Dataset) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A Dataset's own attributes and those of each data variable."""
    return dict(ds.attrs), {str(v): dict(ds[v].attrs) for v in ds.data_vars}


def expected_attributes(name: str, manifest: dict) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The attributes a system's group and its split arrays must have, from the manifest alone."""
    config, entry = manifest["config"], manifest["systems"][name]
    scale = entry["timescale"]
    group = {"system": name, "version": entry["version"], "spec_hash": entry["spec_hash"],
             "dt": scale["value"] / config["sampling"]["points_per_unit"], "timescale_unit": scale["unit"],
             "timescale_source": scale["source"], "period": scale["period"], "lyapunov_max": scale["lyapunov_max"],
             "lyapunov_time": scale["lyapunov_time"], "config_name": manifest["config_name"],
             "config_hash": manifest["config_hash"], "manifest_entry": entry}
    arrays = {}
    for split, spec in config["splits"].items():
        per_unit = spec.get("points_per_unit") or config["sampling"]["points_per_unit"]
        attrs = {"split": split, "dt": scale["value"] / per_unit, "points_per_unit": per_unit,
                 "context": spec.get("context"), "horizon": spec.get("horizon"), "noise": config.get("noise", 0.0)}
        arrays[split] = arrays[f"{split}_clean"] = attrs
        long_term = spec.get("long_term")
        if long_term:
            arrays[f"{split}_long"] = {**attrs, "split": f"{split}_long", "noise": 0.0,
                                       "horizon": long_term["length"], "discard": long_term["discard"]}
    return group, arrays


def metadata_problems(group_attrs: dict[str, Any], array_attrs: dict[str, dict[str, Any]], name: str,
                      manifest: dict) -> list[Problem]:
    """Attributes of one system that differ from what its manifest entry and config fix."""
    expected_group, expected_arrays = expected_attributes(name, manifest)
    problems = [Problem(name, None, "metadata", f"attribute {key!r} is {group_attrs.get(key)!r}, expected {value!r}")
                for key, value in expected_group.items() if not _same(group_attrs.get(key), value)]
    problems += _state_name_problems(group_attrs.get("state_names"), name, manifest["systems"][name])
    for array, attrs in array_attrs.items():
        expected = expected_arrays.get(array)
        if expected is None:
            continue  # time and t0 coordinates carry no attributes of their own
        problems += [Problem(name, array, "metadata", f"attribute {key!r} is {attrs.get(key)!r}, expected {value!r}")
                     for key, value in expected.items() if not _same(attrs.get(key), value)]
    return problems


def open_system_group(location: str, name: str, *, manifest: dict | None) -> xr.Dataset:
    """A system's lazy Dataset; with `manifest`, its attributes are checked against it (ChecksumError)."""
    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the consolidated-metadata notice of zarr v3
        # The group's own metadata, not the root's consolidated copy: that holds every group's, and reading it
        # for each system made opening all groups quadratic (2.8 s per group of a 948-system corpus, 0.03 s so).
        ds = xr.open_zarr(location, group=name, consolidated=False, zarr_format=3)
    if manifest is not None:
        problems = metadata_problems(*attributes_of(ds), name, manifest)
        if problems:
            listed = "; ".join(str(p) for p in problems[:5])
            raise ChecksumError(f"{location}: {listed}: the archive's metadata was changed after it was made; "
                                f"download or generate it again (`dysts-bench data verify {location}` lists all)")
    return ds.assign_coords(dim=list(ds.attrs["state_names"]))


def _state_name_problems(names: Any, system: str, entry: dict) -> list[Problem]:
    """The state names against the registry's spec of the entry's version (when the registry has it)."""
    try:
        spec = get_system(system, version=entry["version"])
    except DystsBenchError:
        return []  # a system outside this registry: nothing to compare with
    if spec.spec_hash != entry["spec_hash"] or names == list(spec.state_names):
        return []
    return [Problem(system, None, "metadata", f"attribute 'state_names' is {names!r}, expected "
                                              f"{list(spec.state_names)!r}")]


def _same(a: Any, b: Any) -> bool:
    """Equal, floats to 12 digits (a JSON round trip keeps them exact; this spares other writers' rounding)."""
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _check_array(group, array: str, record: dict) -> tuple[str, str] | None:
    """(kind, detail) if the array is missing, truncated or corrupted; None if it matches."""
    if array not in group:
        return "missing", "no such array"
    values = group[array]
    if list(values.shape) != record["shape"]:
        return "truncated", f"shape {list(values.shape)}, expected {record['shape']}"
    if values.nchunks_initialized < values.nchunks:
        return "truncated", f"{values.nchunks - values.nchunks_initialized} of {values.nchunks} chunks missing"
    try:
        data = values[...]
    except Exception as exc:  # any decoding failure of a damaged chunk file
        return "corrupted", f"unreadable chunk ({type(exc).__name__}: {exc})"
    digest = array_sha256(data)
    if digest != record["sha256"]:
        return "corrupted", f"SHA-256 {digest[:16]}..., expected {record['sha256'][:16]}..."
    return None


def check(path: str | Path, manifest: dict | None = None) -> None:
    """Raise ChecksumError listing the problems, if any."""
    problems = verify(path, manifest)
    if problems:
        listed = "; ".join(str(p) for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ChecksumError(f"{path} fails verification: {listed}{more}")
