"""What the dataset page says about each released config: its settings, its committed manifest, how to get it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..data.config import DatasetConfig, config_path, load_config, released_configs
from ..data.manifest import MANIFEST_DIR, manifest_file_hash, ok_systems, read_json
from ..errors import DystsBenchError


@dataclass
class ManifestInfo:
    """A committed manifest, summarized."""

    file: str
    file_hash: str
    content_hash: str = ""
    config_hash: str = ""
    package_version: str = ""
    n_ok: int = 0
    n_failed: int = 0
    files: dict[str, str] = field(default_factory=dict)
    error: str = ""


@dataclass
class DatasetEntry:
    """A released config as the dataset page shows it."""

    name: str
    text: str                               # the YAML as committed
    config: DatasetConfig | None = None
    error: str = ""                         # why the config did not load
    manifest: ManifestInfo | None = None

    @property
    def stale(self) -> bool:
        """Whether the committed manifest was made from other settings than the config."""
        return bool(self.config and self.manifest and self.manifest.config_hash
                    and self.manifest.config_hash != self.config.hash)


def manifest_info(path: Path) -> ManifestInfo:
    """The summary of one manifest file (its error if it cannot be read)."""
    info = ManifestInfo(path.name, manifest_file_hash(path))
    try:
        manifest = read_json(path)
        ok = ok_systems(manifest)
        info.content_hash = str(manifest.get("content_hash", ""))
        info.config_hash = str(manifest.get("config_hash", ""))
        info.package_version = str(manifest.get("package_version", ""))
        info.n_ok, info.n_failed = len(ok), len(manifest["systems"]) - len(ok)
        info.files = {str(k): str(v) for k, v in manifest.get("files", {}).items()}
    except (DystsBenchError, KeyError, TypeError, AttributeError) as exc:
        info.error = f"not a readable manifest: {exc}"
    return info


def dataset_entries(manifests: str | Path = MANIFEST_DIR) -> list[DatasetEntry]:
    """Every released config with its committed manifest (None where not committed yet)."""
    entries = []
    for name in released_configs():
        entry = DatasetEntry(name, config_path(name).read_text())
        try:
            entry.config = load_config(name)
        except DystsBenchError as exc:
            entry.error = str(exc)
        path = Path(manifests) / f"{name}.json"
        if path.is_file():
            entry.manifest = manifest_info(path)
        entries.append(entry)
    return entries
