"""`download`: fetch a published archive file by file with pooch, each checked against the manifest.

The manifest (from the archive's root metadata) lists every file's SHA-256; each file is checked as
it arrives, then every array's content checksum is recomputed, and only then is the folder renamed
into place: a corrupted or interrupted download leaves nothing at the target.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path, PurePosixPath

from . import store
from .errors import ChecksumError, DataError
from .manifest import differing_arrays, sidecar_path, write_json
from .verify import check


def download(url: str, to: str | Path, *, expected: dict | None = None, overwrite: bool = False,
             progress: bool = True) -> Path:
    """Fetch the archive at `url` into `to`; with `expected` (e.g. a committed manifest) its arrays must match."""
    import pooch
    from tqdm.auto import tqdm

    url, to = url.rstrip("/"), Path(to)
    if to.exists() and not overwrite:
        raise DataError(f"{to} exists: pass --overwrite to replace it, or choose another --to")
    # Checked before the download, so a refused --to costs no transfer.
    store.refuse_foreign(to, "--to")
    partial = to.parent / f".{to.name}.download-{uuid.uuid4().hex[:8]}"
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch would log one line per file
    try:
        root = pooch.retrieve(f"{url}/{store.ROOT_META}", known_hash=None, fname=store.ROOT_META,
                              path=partial, progressbar=False)
        manifest = json.loads(Path(root).read_text()).get("attributes", {}).get("manifest")
        if manifest is None:
            raise DataError(f"{url}: the archive has no manifest (an interrupted generation?)")
        if expected is not None:
            diffs = differing_arrays(manifest, expected)
            if diffs:
                listed = ", ".join(f"{s}/{a}" for s, a in diffs[:5])
                raise ChecksumError(f"{url} is not the expected archive {expected.get('config_name')!r}: "
                                    f"{len(diffs)} arrays differ from its manifest ({listed})")
        for rel, digest in tqdm(manifest["files"].items(), desc=f"download {to.name}", unit="file",
                                disable=not progress):
            _fetch(pooch, url, _safe(rel), digest, partial)
        check(partial, expected or manifest)
        if to.exists():
            store.remove(to)
        partial.rename(to)
        write_json(sidecar_path(to), manifest)
    finally:
        logger.setLevel(level)
        shutil.rmtree(partial, ignore_errors=True)
    return to


def _safe(rel: str) -> PurePosixPath:
    """A relative path from a manifest, refusing absolute paths and `..` (the manifest is remote input)."""
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise DataError(f"manifest lists an unsafe file path {rel!r}")
    return path


def _fetch(pooch, url: str, rel: PurePosixPath, digest: str, folder: Path) -> None:
    """Download one file of the archive, refusing it if its SHA-256 differs from the manifest's."""
    try:
        pooch.retrieve(f"{url}/{rel}", known_hash=f"sha256:{digest}", fname=rel.name,
                       path=folder / rel.parent, progressbar=False)
    except ValueError as exc:
        where = f"system {rel.parts[0]}, array {rel.parts[1]}" if len(rel.parts) > 2 else f"system {rel.parts[0]}"
        raise ChecksumError(f"{url}/{rel} ({where}) is corrupted: its SHA-256 differs from the manifest's; "
                            f"nothing was written to the target") from exc
    except OSError as exc:
        raise DataError(f"cannot download {url}/{rel}: {exc}") from exc
