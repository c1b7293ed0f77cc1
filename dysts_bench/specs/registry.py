"""The registry on disk: systems/<Name>/<version>.yaml, the latest version, and the lock of released files."""

from __future__ import annotations

import difflib
import json
import logging
import os
from functools import cache
from pathlib import Path

from ..errors import RegistryLockError, UnknownSystemError
from ..files import write_atomic
from .loader import spec_hash

LOCK_FILE = "registry.lock"
log = logging.getLogger(__name__)


def registry_root() -> Path:
    """The systems folder: $DYSTS_BENCH_SYSTEMS, else the one shipped with the package."""
    env = os.environ.get("DYSTS_BENCH_SYSTEMS")
    return Path(env) if env else (Path(__file__).resolve().parents[1] / "_systems").resolve()


@cache
def _versions(root: Path) -> dict[str, tuple[int, ...]]:
    table: dict[str, tuple[int, ...]] = {}
    if not root.is_dir():
        return table
    for folder in sorted(root.iterdir()):
        if folder.is_dir():
            versions = sorted(int(p.stem) for p in folder.glob("*.yaml") if p.stem.isdigit())
            if versions:
                table[folder.name] = tuple(versions)
    return table


def versions(root: Path | None = None) -> dict[str, tuple[int, ...]]:
    """Every system name with its released versions, ascending."""
    return _versions(root or registry_root())


def refresh() -> None:
    """Forget cached listings (after files were added to the registry)."""
    _versions.cache_clear()


def parse_id(text: str) -> tuple[str, int | None]:
    """A system id "Name" or "Name@version" as (name, version or None); UnknownSystemError if malformed."""
    name, at, version = str(text).partition("@")
    if not at:
        return name, None
    if not version.isdigit() or not name:
        raise UnknownSystemError(f"bad system id {text!r}: write a name, or a name and a version, e.g. Lorenz "
                                 "or Lorenz@1")
    return name, int(version)


def spec_path(name: str, version: int | None = None, root: Path | None = None) -> Path:
    """The file of a system version (latest if None); UnknownSystemError with close matches if absent.

    An outdated version (one with a later release) is found, with a warning naming the latest.
    """
    root = root or registry_root()
    table = versions(root)
    if name not in table:
        folded = {n.lower(): n for n in table}
        close = difflib.get_close_matches(name.lower(), list(folded), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(folded[c] for c in close)}?" if close else ""
        raise UnknownSystemError(
            f"unknown system {name!r}{hint} (`dysts-bench systems list` shows all {len(table)})"
        )
    if version is None:
        version = table[name][-1]
    if version not in table[name]:
        raise UnknownSystemError(
            f"system {name!r} has no version {version}; released versions: {list(table[name])}"
        )
    if version < table[name][-1]:
        _warn_outdated(name, version, table[name][-1])
    return root / name / f"{version}.yaml"


@cache
def _warn_outdated(name: str, version: int, latest: int) -> None:
    # Once per process: results of older archives look their versions up many times.
    log.warning("%s@%d is outdated: the latest version is %s@%d", name, version, name, latest)


def read_lock(root: Path | None = None) -> dict[str, str]:
    """The lock file: 'Name/version' -> SHA-256 of the released spec file."""
    path = (root or registry_root()) / LOCK_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def write_lock(root: Path | None = None) -> dict[str, str]:
    """Record the hash of every spec file not yet locked (released files keep their hash)."""
    root = root or registry_root()
    lock = read_lock(root)
    for name, vs in versions(root).items():
        for v in vs:
            lock.setdefault(f"{name}/{v}", spec_hash(root / name / f"{v}.yaml"))
    write_atomic(root / LOCK_FILE, json.dumps(dict(sorted(lock.items())), indent=1) + "\n")
    return lock


def check_lock(path: Path, root: Path | None = None) -> None:
    """Raise RegistryLockError if a released spec file differs from its locked hash."""
    key = f"{path.parent.name}/{path.stem}"
    locked = read_lock(root or path.parent.parent).get(key)
    if locked is not None and locked != spec_hash(path):
        raise RegistryLockError(
            f"{path}: this released version was edited (its hash differs from {LOCK_FILE}); "
            f"revert the edit and add a new version instead, e.g. {path.parent / f'{int(path.stem) + 1}.yaml'}"
        )
