"""Named subsets of a released dataset's systems, committed as data (`data/subsets/<name>.yaml`).

The `core` subset is where the expensive models are compared like with like. It is chosen by a rule,
not by hand: among the systems the released `lyapunov` manifest holds (and whose sidecar has every
feature below), greedy maximin (farthest-point) selection in the space of five invariants, each
rank-scaled to [0, 1] so that no unit dominates: log dimension, log λ_max, Kaplan–Yorke dimension,
permutation entropy and statistical complexity. It starts from Lorenz (the field's common reference,
so that published numbers can be set beside ours) and adds, one at a time, the system farthest from
those chosen (ties broken by name), so the subset spans dimension, chaos and the complexity–entropy
plane. `dysts-bench data subset core --write`
re-makes the file from the committed manifest and sidecars; a test checks that it still follows.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from ..files import write_atomic
from ..system import get_system
from .errors import DataError
from .manifest import MANIFEST_DIR, ok_systems, read_json

SUBSET_DIR = Path(__file__).resolve().parents[1] / "_data" / "subsets"
FEATURES = ("log_dimension", "log_lyapunov_max", "kaplan_yorke_dimension", "permutation_entropy",
            "statistical_complexity")
CORE_SIZE = 30
CORE_CONFIG = "lyapunov"
CORE_START = "Lorenz"


def system_features(name: str) -> list[float] | None:
    """The five invariants of the core rule for one registry system (None if any is missing)."""
    system = get_system(name)
    value = system.invariants.scalar
    lam, ky = value("lyapunov_max"), value("kaplan_yorke_dimension")
    h, c = value("permutation_entropy"), value("statistical_complexity")
    if None in (lam, ky, h, c) or lam <= 0:
        return None
    return [math.log(system.dim), math.log(lam), ky, h, c]


def select_core(n: int = CORE_SIZE, config: str = CORE_CONFIG) -> tuple[list[str], list[str]]:
    """(chosen systems in the order picked, eligible systems left out for a missing feature) by the core rule."""
    held = ok_systems(read_json(MANIFEST_DIR / f"{config}.json"))
    features = {name: f for name in held if (f := system_features(name)) is not None}
    names = sorted(features)
    if len(names) < n:
        raise DataError(f"only {len(names)} systems of {config!r} have every feature; cannot choose {n}")
    x = np.array([features[name] for name in names])
    ranks = np.argsort(np.argsort(x, axis=0, kind="stable"), axis=0, kind="stable") / (len(names) - 1)
    first = names.index(CORE_START)
    chosen = [first]
    distance = np.linalg.norm(ranks - ranks[first], axis=1)
    while len(chosen) < n:
        nxt = int(np.argmax(distance))  # the first maximum: names are sorted, so ties go by name
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(ranks - ranks[nxt], axis=1))
    return [names[i] for i in chosen], sorted(set(held) - set(features))


def write_core(path: Path | None = None) -> Path:
    """Write `data/subsets/core.yaml` from the committed manifest and sidecars; returns its path."""
    chosen, left_out = select_core()
    path = path or SUBSET_DIR / "core.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "\n".join(f"# {line}".rstrip() for line in (__doc__ or "").strip().splitlines()[2:])
    body = {"name": "core", "config": CORE_CONFIG, "size": CORE_SIZE, "features": list(FEATURES),
            "made_by": "dysts-bench data subset core --write", "systems": sorted(chosen),
            "picked_in_order": chosen, "left_out_for_missing_features": left_out}
    return write_atomic(path, header + "\n" + yaml.safe_dump(body, sort_keys=False, width=100))


def load_subset(name: str) -> list[str]:
    """The systems of a committed subset, sorted."""
    path = SUBSET_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in SUBSET_DIR.glob("*.yaml"))
        raise DataError(f"no subset {name!r} in {SUBSET_DIR}; the committed ones: {', '.join(known) or 'none'}")
    return list(yaml.safe_load(path.read_text())["systems"])


def system_names(text: str) -> list[str]:
    """Comma-separated system names, with @NAME expanded to a committed subset's systems."""
    names = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        names += load_subset(item[1:]) if item.startswith("@") else [item]
    return names
