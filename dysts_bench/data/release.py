"""Released configs by name: a verified local copy, else the mirror, else regeneration checked bit for bit.

Each released config has its manifest committed in `data/manifests/<config>.json`. Regenerating
gives the same bits on the platform the manifest was made on; elsewhere floating point may differ
in the last bit and chaos amplifies that, so an archive whose checksums differ is accepted only if
every differing system samples the same attractor (its per-coordinate mean and standard deviation
within the tolerances of `manifest.statistics_agree`), and that is recorded in its manifest under
`reference_check` and logged as a warning.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from . import store
from .config import load_config
from .download import download
from .errors import ChecksumError, DataError
from .generate import generate
from .manifest import MEAN_TOL, STD_TOL, committed_manifest, differing_arrays, statistics_agree
from .verify import verify

log = logging.getLogger(__name__)

DATA_ENV = "DYSTS_BENCH_DATA"
MIRROR_ENV = "DYSTS_BENCH_MIRROR"


def data_home() -> Path:
    """Where released archives are kept: $DYSTS_BENCH_DATA, else ~/.cache/dysts-bench/data."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else Path.home() / ".cache" / "dysts-bench" / "data"


def mirror_url(config_name: str) -> str | None:
    """The base URL archives are published under: $DYSTS_BENCH_MIRROR, else the config's `mirror`."""
    return os.environ.get(MIRROR_ENV) or load_config(config_name).mirror


def fetch_release(name: str, *, home: str | Path | None = None, progress: bool = True) -> Path:
    """A local archive of a released config that matches its committed manifest."""
    reference = committed_manifest(name)
    if reference is None:
        raise DataError(f"config {name!r} has no committed manifest (data/manifests/{name}.json): generate it "
                        f"with `dysts-bench data generate --config {name} --out PATH` and load the PATH")
    config = load_config(name)
    if reference["config_hash"] != config.hash:
        raise DataError(f"data/manifests/{name}.json was made from other settings than data/configs/{name}.yaml "
                        "(config hashes differ): regenerate the manifest or restore the config")
    local = Path(home or data_home()) / f"{name}.zarr"
    if local.exists():
        if _usable(local, reference):
            return local
        store.refuse_foreign(local, f"${DATA_ENV}")
        log.warning("%s fails verification against the committed manifest: fetching it again", local)
        store.remove(local)
    local.parent.mkdir(parents=True, exist_ok=True)
    mirror = mirror_url(name)
    if mirror:
        return download(f"{mirror.rstrip('/')}/{name}.zarr", local, expected=reference, progress=progress)
    return regenerate(name, local, reference, progress=progress)


def _usable(path: Path, reference: dict) -> bool:
    """Whether a local copy verifies: bit for bit against the reference, or within the recorded tolerance."""
    manifest = store.read_root(path).get("manifest") if store.is_archive(path) else None
    if manifest is None:
        return False
    recorded = manifest.get("reference_check", {})
    if recorded.get("reference_content_hash") == reference["content_hash"] and recorded.get("status") in (
            "identical", "within_tolerance"):
        return not verify(path, manifest)
    return not verify(path, reference)


def regenerate(name: str, target: Path, reference: dict, *, progress: bool = True) -> Path:
    """Generate a released config into `target` and check it against its committed manifest."""
    log.info("generating %s locally into %s (no verified copy and no mirror)", name, target)
    partial = target.parent / f".{target.name}.regenerate-{uuid.uuid4().hex[:8]}"
    try:
        manifest = generate(name, partial, progress=progress)
        manifest["reference_check"] = reference_check(manifest, reference)
        partial.rename(target)
        store.finalize(target, manifest)
    finally:
        store.remove(partial)
    return target


def reference_check(manifest: dict, reference: dict) -> dict:
    """How a regenerated archive compares with the reference: identical, or within tolerance (else raise)."""
    diffs = differing_arrays(manifest, reference)
    check = {"reference_content_hash": reference["content_hash"], "status": "identical"}
    if not diffs:
        return check
    systems = sorted({s for s, _ in diffs})
    off = [s for s in systems if not statistics_agree(manifest["systems"].get(s, {}),
                                                      reference["systems"].get(s, {}))]
    if off:
        raise ChecksumError(
            f"regenerated {manifest['config_name']!r} differs from the committed manifest beyond tolerance for "
            f"{len(off)} systems ({', '.join(off[:8])}): not the reference dataset; report this platform "
            "(numpy, numba, CPU) or use a mirror")
    log.warning("regenerated %r is not bit-identical to the committed checksums: this platform's floating "
                "point differs in %d arrays of %d systems (%s); their statistics agree within tolerance, "
                "recorded under reference_check in the manifest", manifest["config_name"], len(diffs),
                len(systems), ", ".join(systems[:8]))
    return {**check, "status": "within_tolerance", "differing_systems": systems,
            "tolerance": f"per coordinate: |mean - ref| <= {MEAN_TOL} ref std, |std - ref| <= {STD_TOL} ref std"}
