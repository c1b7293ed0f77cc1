"""The committed core subset follows its rule and spans the invariants it is chosen over."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from dysts_bench.cli.evaluate import _split
from dysts_bench.data import DataError
from dysts_bench.data.manifest import MANIFEST_DIR, ok_systems, read_json
from dysts_bench.data.subsets import CORE_SIZE, SUBSET_DIR, load_subset, select_core, system_features


def test_committed_core_follows_its_rule():
    committed = yaml.safe_load((SUBSET_DIR / "core.yaml").read_text())
    chosen, left_out = select_core()
    assert committed["picked_in_order"] == chosen, "re-make it: dysts-bench data subset core --write"
    assert committed["systems"] == sorted(chosen) == load_subset("core")
    assert committed["left_out_for_missing_features"] == left_out
    assert len(chosen) == CORE_SIZE == len(set(chosen)) and chosen[0] == "Lorenz"
    assert set(chosen) <= set(ok_systems(read_json(MANIFEST_DIR / "lyapunov.json")))


def test_core_spans_every_feature():
    held = ok_systems(read_json(MANIFEST_DIR / "lyapunov.json"))
    every = np.array([f for n in held if (f := system_features(n)) is not None])
    core = np.array([system_features(n) for n in load_subset("core")])
    spread = (core.max(axis=0) - core.min(axis=0)) / (every.max(axis=0) - every.min(axis=0))
    assert np.all(spread >= 0.5), spread  # at least half of every feature's range


def test_systems_option_expands_a_subset():
    assert _split("@core,Rossler") == [*load_subset("core"), "Rossler"]
    with pytest.raises(DataError, match=r"no subset 'nope'.*core"):
        _split("@nope")
