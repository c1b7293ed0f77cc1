"""The manifest of an archive: SHA-256 of every array's content, the config, and per-system status.

An array's checksum is the SHA-256 of its raw little-endian float64 bytes in C order, so it does not
depend on chunking, compression or the zarr version. The manifest lives in the archive's root
attributes and as `<archive>.manifest.json` beside it; released configs have theirs committed in
`data/manifests/`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_atomic
from ..version import __version__
from .config import DatasetConfig
from .errors import DataError

FORMAT = 1
MANIFEST_DIR = Path(__file__).resolve().parents[1] / "_data" / "manifests"
# A regenerated archive whose bits differ from the reference must still sample the same attractor:
# per coordinate, its mean within MEAN_TOL reference standard deviations and its standard deviation
# within a relative STD_TOL (pooled over the system's splits).
MEAN_TOL = 0.5
STD_TOL = 0.5


def array_sha256(values: np.ndarray) -> str:
    """SHA-256 of the array's raw little-endian float64 content in C order."""
    data = np.ascontiguousarray(values, dtype="<f8")
    return hashlib.sha256(memoryview(data).cast("B")).hexdigest()


def array_record(values: np.ndarray, *, stats: bool) -> dict[str, Any]:
    """Shape and checksum of an array; with `stats`, its mean and std per coordinate (last axis)."""
    record: dict[str, Any] = {"shape": list(values.shape), "dtype": "float64", "sha256": array_sha256(values)}
    if stats:
        flat = values.reshape(-1, values.shape[-1])
        record["mean"] = [float(v) for v in flat.mean(axis=0)]
        record["std"] = [float(v) for v in flat.std(axis=0)]
    return record


def content_hash(systems: dict[str, dict]) -> str:
    """One SHA-256 over every system's status and array checksums: the identity of an archive's data."""
    summary = {name: {"status": e["status"],
                      "arrays": {a: r["sha256"] for a, r in sorted(e.get("arrays", {}).items())}}
               for name, e in sorted(systems.items())}
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


def identity(entry: dict) -> dict:
    """What a system entry fixes about the data: status, spec, time scale and each array's shape and checksum."""
    return {"status": entry["status"], "version": entry.get("version"), "spec_hash": entry.get("spec_hash"),
            "timescale": entry.get("timescale"),
            "arrays": {a: [r["shape"], r["sha256"]] for a, r in sorted(entry.get("arrays", {}).items())}}


def identity_hash(manifest: dict) -> str:
    """One SHA-256 over the config hash and every system's `identity`: arrays and the metadata they are read by."""
    summary = {"config_hash": manifest.get("config_hash"),
               "systems": {name: identity(e) for name, e in sorted(manifest["systems"].items())}}
    return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


def build_manifest(config: DatasetConfig, systems: dict[str, dict], files: dict[str, str]) -> dict[str, Any]:
    """The manifest of an archive of `config` with these system entries and files."""
    systems = dict(sorted(systems.items()))
    return {
        "format": FORMAT,
        "config_name": config.name,
        "config_hash": config.hash,
        "config": config.model_dump(mode="json"),
        "package_version": __version__,
        "content_hash": content_hash(systems),
        "systems": systems,
        "files": dict(sorted(files.items())),
    }


def ok_systems(manifest: dict) -> list[str]:
    """The systems an archive holds (status ok), sorted."""
    return sorted(n for n, e in manifest["systems"].items() if e["status"] == "ok")


def sidecar_path(archive: str | Path) -> Path:
    """The JSON copy of an archive's manifest, beside it: `<archive>.manifest.json`."""
    return Path(f"{Path(archive)}.manifest.json")


def committed_manifest(config_name: str) -> dict | None:
    """The manifest committed for a released config, or None."""
    path = MANIFEST_DIR / f"{config_name}.json"
    return read_json(path) if path.is_file() else None


def read_json(path: str | Path) -> dict:
    """A manifest (or any JSON object) from a file, with a clear error if unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the manifest ({exc})") from exc


def write_json(path: str | Path, data: dict, *, indent: int | None = 1) -> None:
    """Write JSON atomically (a temporary file renamed over the target)."""
    write_atomic(path, json.dumps(data, indent=indent) + "\n")


def differing_arrays(manifest: dict, reference: dict) -> list[tuple[str, str]]:
    """(system, array) pairs whose checksum (or presence) differs between two manifests."""
    diffs = []
    for name in sorted(set(manifest["systems"]) | set(reference["systems"])):
        ours = manifest["systems"].get(name, {}).get("arrays", {})
        theirs = reference["systems"].get(name, {}).get("arrays", {})
        for array in sorted(set(ours) | set(theirs)):
            if ours.get(array, {}).get("sha256") != theirs.get(array, {}).get("sha256"):
                diffs.append((name, array))
    return diffs


def statistics_agree(entry: dict, reference: dict) -> bool:
    """Whether one system's arrays have the reference's mean and std per coordinate within tolerance."""
    ours, theirs = _pooled(entry), _pooled(reference)
    if ours is None or theirs is None or ours[0].shape != theirs[0].shape:
        return False
    (mean, std), (ref_mean, ref_std) = ours, theirs
    scale = np.maximum(ref_std, 1e-12)
    return bool(np.all(np.abs(mean - ref_mean) <= MEAN_TOL * scale)
                and np.all(np.abs(std - ref_std) <= STD_TOL * scale))


def _pooled(entry: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean and std per coordinate over all data arrays of a system entry, weighted by their sizes."""
    records = [r for r in entry.get("arrays", {}).values() if "mean" in r]
    if not records:
        return None
    weights = np.array([np.prod(r["shape"][:-1]) for r in records], dtype=float)
    means = np.array([r["mean"] for r in records])
    second = np.array([np.square(r["std"]) + np.square(r["mean"]) for r in records])
    mean = weights @ means / weights.sum()
    var = weights @ second / weights.sum() - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


def manifest_file_hash(path: str | Path) -> str:
    """The manifest hash a results file records: SHA-256 of the manifest JSON file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dataset_hash(manifest: dict) -> str:
    """The manifest hash a results file records: the committed manifest file's hash when the archive is
    the released dataset of its config, else the `identity_hash` recomputed from the archive's manifest."""
    if not released_differences(manifest):
        return manifest_file_hash(MANIFEST_DIR / f"{manifest['config_name']}.json")
    return identity_hash(manifest)


def released_differences(manifest: dict) -> list[str]:
    """How an archive's manifest differs from the committed manifest of its config (all of it if none is)."""
    committed = committed_manifest(manifest["config_name"])
    if committed is None:
        return [f"{manifest['config_name']!r} is not a released config"]
    if committed["config_hash"] != manifest.get("config_hash"):
        return ["the config differs"]
    ours, theirs = manifest["systems"], committed["systems"]
    return [name for name in sorted(set(ours) | set(theirs))
            if name not in ours or name not in theirs or identity(ours[name]) != identity(theirs[name])]
