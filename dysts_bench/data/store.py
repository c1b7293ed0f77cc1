"""The archive on disk: a zarr v3 store written through xarray, one group per system.

Layout of `<archive>/`: the root group's attributes hold the config, its hash and (once the run is
complete) the manifest. Each system is a group `<archive>/<System>/` with one variable per split,
`<split>` of dims (`ic_<split>`, `time_<split>`, `dim`), coordinates `time_<split>` (time since the
initial condition) and `t0_<split>` (when each initial condition was reached on the attractor), and
`<split>_clean` beside `<split>` when the config adds observation noise, and `<split>_long` (the clean,
long true continuations of the split's first initial conditions, for long-term statistics) when the
split has `long_term`, with its own `ic_`, `time_` and `t0_` names. Dimension names carry the
split because splits differ in length and sampling; `load(..., split=...)` renames them to
(`ic`, `time`, `dim`). The root holds the consolidated metadata of all groups once the run is
complete, so groups open without listing folders, over HTTP too.

A system is written in full to a staging folder beside the archive (`<archive>.partial/`) and renamed
into place, so a killed run leaves each system complete or absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .config import DatasetConfig
from .errors import DataError
from .manifest import sidecar_path, write_json

if TYPE_CHECKING:
    import xarray as xr

ROOT_META = "zarr.json"
# Chunks of about this many bytes: whole splits for small data, a few initial conditions for large.
CHUNK_BYTES = 4 * 2**20
# Chunk files named c.0.0.0 in the array's folder rather than nested folders c/0/0/0: far fewer
# folders to create, hash, download and delete.
FLAT_CHUNK_KEYS = {"name": "default", "configuration": {"separator": "."}}


def staging_dir(out: str | Path) -> Path:
    """Where systems are written before they are renamed into the archive."""
    return Path(f"{Path(out)}.partial")


def read_root(out: str | Path) -> dict:
    """The root group's attributes of an archive."""
    path = Path(out) / ROOT_META
    try:
        return json.loads(path.read_text()).get("attributes", {})
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable zarr archive root ({exc})") from exc


def _write_root(out: Path, attributes: dict) -> None:
    write_json(out / ROOT_META, {"zarr_format": 3, "node_type": "group", "attributes": attributes}, indent=None)


def prepare(out: str | Path, config: DatasetConfig, *, overwrite: bool = False) -> set[str]:
    """Create the archive for `config`, or resume one of the same config; the systems already complete.

    An existing archive of another config is refused unless `overwrite`; a folder that is not an
    archive is never deleted.
    """
    out = Path(out)
    if out.exists():
        refuse_foreign(out, "--out")
        if not is_archive(out):
            out.rmdir()   # an empty folder
        elif overwrite:
            remove(out)
        elif read_root(out).get("config_hash") != config.hash:
            other = read_root(out).get("config_name", "?")
            raise DataError(f"{out} holds an archive of another config ({other!r}, or the same name with "
                            f"other settings): pass --overwrite to replace it, or choose another --out")
    shutil.rmtree(staging_dir(out), ignore_errors=True)
    if not out.exists():
        # The root appears whole: built in the staging folder, then renamed.
        root = staging_dir(out) / f"root.{uuid.uuid4().hex}"
        root.mkdir(parents=True)
        _write_root(root, {"config_name": config.name, "config_hash": config.hash,
                           "config": config.model_dump(mode="json"), "manifest": None})
        os.rename(root, out)
    return complete_systems(out)


def is_archive(path: str | Path) -> bool:
    """Whether `path` is an archive of ours (a folder with a zarr root), which --overwrite may replace."""
    return (Path(path) / ROOT_META).is_file()


def refuse_foreign(path: str | Path, option: str) -> None:
    """Raise unless `path` is absent, an empty folder or an archive: nothing else is ever deleted.

    `option` names where the path came from (`--out`, `--to`), for the message's fix.
    """
    path = Path(path)
    if path.exists() and not is_archive(path) and not (path.is_dir() and not any(path.iterdir())):
        raise DataError(f"{path} exists and is not a dysts-bench archive (no {ROOT_META}), so it is not replaced: "
                        f"choose another {option} or remove it yourself")


def complete_systems(out: str | Path) -> set[str]:
    """The systems whose groups were committed."""
    return {p.name for p in Path(out).iterdir() if (p / ROOT_META).is_file()}


def remove(out: str | Path) -> None:
    """Delete an archive, its manifest copy and its staging folder."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(staging_dir(out), ignore_errors=True)
    sidecar_path(out).unlink(missing_ok=True)


def commit_system(out: str | Path, name: str, dataset: xr.Dataset) -> None:
    """Write one system's Dataset to the staging folder, then rename it into the archive."""
    from zarr.codecs import BloscCodec
    from zarr.storage import MemoryStore

    out = Path(out)
    compressor = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
    encoding = {name: {"chunk_key_encoding": FLAT_CHUNK_KEYS} for name in dataset.variables}
    for var in dataset.data_vars.values():
        n_ic, length, dim = var.shape
        per_chunk = max(1, min(n_ic, CHUNK_BYTES // (8 * length * dim)))
        encoding[var.name].update(chunks=(per_chunk, length, dim), compressors=(compressor,))
    # xarray writes the zarr store in memory (a third of the cost of zarr's file store, which hops
    # threads for every small file); its files are then written out and renamed into place whole.
    files: dict = {}
    dataset.to_zarr(MemoryStore(files), mode="w-", zarr_format=3, consolidated=False, encoding=encoding)
    staged = staging_dir(out) / f"{name}.{uuid.uuid4().hex}"
    try:
        for key, buffer in files.items():
            path = staged / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(buffer.to_bytes())
        os.rename(staged, out / name)
    except OSError:
        # Committed meanwhile by a retried task: the arrays are the same, keep the first.
        if not (out / name / ROOT_META).is_file():
            raise
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def discard_system(out: str | Path, name: str) -> None:
    """Remove a committed system: renamed out of the archive first, so it is never seen half deleted."""
    trash = staging_dir(out) / f"discard.{name}.{uuid.uuid4().hex}"
    trash.parent.mkdir(parents=True, exist_ok=True)
    os.rename(Path(out) / name, trash)
    shutil.rmtree(trash, ignore_errors=True)


def group_entry(out: str | Path, name: str) -> dict:
    """The manifest entry a committed system group carries in its attributes."""
    return json.loads((Path(out) / name / ROOT_META).read_text())["attributes"]["manifest_entry"]


def file_hashes(out: str | Path) -> dict[str, str]:
    """SHA-256 of every file of the archive but the root metadata, by path relative to the archive."""
    out = Path(out)
    hashes = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel != ROOT_META:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda fh=fh: fh.read(2**20), b""):
                    digest.update(block)
            hashes[rel] = digest.hexdigest()
    return hashes


def finalize(out: str | Path, manifest: dict) -> None:
    """Record the manifest in the root group and beside the archive; drop the staging folder.

    The root also gets the consolidated metadata of every group, so that `xarray.open_zarr(path,
    group=NAME)` opens without listing folders (over HTTP too) and without a warning.
    """
    out = Path(out)
    root = {"zarr_format": 3, "node_type": "group", "attributes": {**read_root(out), "manifest": manifest}}
    root["consolidated_metadata"] = _consolidated(out)
    write_json(out / ROOT_META, root, indent=None)
    write_json(sidecar_path(out), manifest)
    shutil.rmtree(staging_dir(out), ignore_errors=True)


def _consolidated(out: Path) -> dict:
    """zarr v3's inline consolidated metadata of the whole archive: every node's metadata by path.

    Built from the metadata files rather than by `zarr.consolidate_metadata`, which would rewrite
    the root in place; the root is replaced atomically instead.
    """
    nodes = {}
    for meta in sorted(out.rglob(ROOT_META)):
        rel = meta.parent.relative_to(out).as_posix()
        if rel != ".":
            node = json.loads(meta.read_text())
            if node.get("node_type") == "group":
                node["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": {}}
            nodes[rel] = node
    return {"kind": "inline", "must_understand": False, "metadata": nodes}
