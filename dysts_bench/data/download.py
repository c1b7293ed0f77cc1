"""`download`: fetch a published archive file by file with pooch, each checked against the manifest.

The manifest (from the archive's root metadata) lists every file's SHA-256; each file is checked as
it arrives, then every array's content checksum is recomputed, and only then is the folder renamed
into place: a corrupted or interrupted download leaves nothing at the target.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from . import store
from .errors import ChecksumError, DataError
from .manifest import differing_arrays, sidecar_path, write_json
from .verify import check

log = logging.getLogger(__name__)


def download(url: str, to: str | Path, *, expected: dict | None = None, overwrite: bool = False,
             progress: bool = True) -> Path:
    """Fetch the archive at `url` into `to`; with `expected` (e.g. a committed manifest) its arrays must match."""
    import pooch
    from tqdm.auto import tqdm

    url, to = url.rstrip("/"), Path(to)
    if urlsplit(url).scheme not in ("http", "https"):
        raise DataError(f"{url}: not an http(s) URL of an archive; a local archive needs no download: give its "
                        "path to `--data` (or copy the folder)")
    _remove_leftovers(to)
    if to.exists() and not overwrite:
        raise DataError(f"{to} exists: pass --overwrite to replace it, or choose another --to")
    # Checked before the download, so a refused --to costs no transfer.
    store.refuse_foreign(to, "--to")
    partial = to.parent / f".{to.name}.download-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)  # pooch would log one line per file
    try:
        root = pooch.retrieve(f"{url}/{store.ROOT_META}", known_hash=None, fname=store.ROOT_META,
                              path=partial, progressbar=False)
        manifest = _manifest_of(Path(root), url)
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


def _manifest_of(root: Path, url: str) -> dict:
    """The manifest in a downloaded root metadata file, checked for the fields a download uses."""
    try:
        manifest = json.loads(root.read_text()).get("attributes", {}).get("manifest")
    except (ValueError, AttributeError) as exc:
        raise DataError(f"{url}/{store.ROOT_META}: not the root metadata of an archive ({exc}); check the URL") \
            from None
    if manifest is None:
        raise DataError(f"{url}: the archive has no manifest (an interrupted generation?)")
    if not (isinstance(manifest, dict) and isinstance(manifest.get("files"), dict)
            and isinstance(manifest.get("systems"), dict)):
        raise DataError(f"{url}: the archive's manifest is malformed (no files or systems table); check the URL")
    return manifest


def _remove_leftovers(to: Path) -> None:
    """Staging folders of earlier downloads to `to` whose process is gone (killed before it cleaned up)."""
    for stale in to.parent.glob(f".{to.name}.download-*"):
        pid = stale.name.rsplit(".download-", 1)[1].split("-")[0]
        if stale.is_dir() and not (pid.isdigit() and _alive(int(pid))):
            log.info("removing %s, left by an interrupted download", stale)
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
