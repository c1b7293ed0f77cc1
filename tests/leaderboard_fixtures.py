"""Synthetic results files and invariants for the leaderboard tests (no forecaster is run)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dysts_bench.data.config import load_config
from dysts_bench.evaluate.results import (
    PROTOCOL,
    DatasetInfo,
    Environment,
    ForecasterInfo,
    Packed,
    Record,
    Results,
    SystemSummary,
    Trace,
    save_results,
)
from dysts_bench.evaluate.traces import MAX_ERROR_POINTS, MAX_LONG_POINTS, stride_for
from dysts_bench.leaderboard.check import manifest_file_hash, summarize_records

SYSTEMS = ("Lorenz", "Rossler", "Thomas")
LYAPUNOV = {"Lorenz": 0.9056, "Rossler": 0.0714, "Thomas": 0.0349}
N_IC = 3
HORIZON = 300
LONG_TERM = {"n_ic": 1, "length": 2000, "discard": 400}


def fake_trace(skill: float, rng: np.random.Generator) -> Trace:
    """A trace of the shapes evaluate writes: error growing at a rate set by `skill`, a noisy Lorenz-like curve."""
    stride = stride_for(HORIZON, MAX_ERROR_POINTS)
    t = np.arange(0, HORIZON, stride) / 30.0
    median = np.minimum(1e-4 * np.exp(t * 4.0 / skill), 50.0)
    steps = np.arange(HORIZON)[:, None] * 0.05 + np.arange(3)
    forecast = np.sin(steps) * [8.0, 9.0, 8.5] + [0.0, 0.0, 23.5] + rng.normal(scale=0.1, size=(HORIZON, 3))
    long_stride = stride_for(LONG_TERM["length"] - LONG_TERM["discard"], MAX_LONG_POINTS)
    n_long = -(-(LONG_TERM["length"] - LONG_TERM["discard"]) // long_stride)
    angle = rng.uniform(0, 2 * np.pi, n_long)
    run = np.stack([8 * np.cos(angle), 9 * np.sin(angle), 23.5 + 8 * np.sin(2 * angle)], axis=1)
    return Trace(error_stride=stride, error=Packed.of(np.stack([median / 2, median, median * 2]), "float32"),
                 ic=0, forecast=Packed.of(forecast, "float32"), long_ic=0, long_stride=long_stride,
                 long_run=Packed.of(run, "float16", centre=True))


def write_manifest(directory: Path, config: str = "demo") -> str:
    """A small committed-style manifest for `config` in `directory`; returns its manifest hash."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"format": 1, "config_name": config, "config_hash": load_config(config).hash,
                "config": {}, "package_version": "0.1.0", "content_hash": "c" * 64,
                "systems": {s: {"status": "ok", "version": 1, "arrays": {},
                                "timescale": {"lyapunov_time": 1 / LYAPUNOV[s]}} for s in SYSTEMS},
                "files": {}}
    path = directory / f"{config}.json"
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest_file_hash(path)


def make_results(name: str, skill: float, manifest_hash: str, *, seed: int, fail: tuple[str, ...] = (),
                 mode: str = "per-system", systems: tuple[str, ...] = SYSTEMS) -> Results:
    """A consistent results file: `skill` scales the VPTs; systems in `fail` have only failed forecasts."""
    rng = np.random.default_rng(seed)
    records = []
    for system in systems:
        for ic in range(N_IC):
            if system in fail:
                records.append(Record(system=system, ic=ic, status="error",
                                      message="forecast diverged: NaN at step 12"))
                continue
            vpt = skill * float(rng.uniform(0.5, 1.5))
            records.append(Record(system=system, ic=ic, status="ok", fit_seconds=0.5, predict_seconds=0.01,
                                  long_status="ok", long_seconds=0.2,
                                  metrics={"vpt": vpt, "vpt_smape30": 1.3 * vpt,
                                           "d_stsp": float(rng.uniform(0.2, 2.0)) / skill,
                                           "d_h": float(rng.uniform(0.05, 0.4)) / skill,
                                           "smape": float(rng.uniform(20, 120)) / skill,
                                           "mse": float(rng.uniform(0.1, 5.0))}))
    totals, summary = summarize_records(records)
    systems = {n: SystemSummary(system=n, version=1, lyapunov_time=1 / LYAPUNOV[n], n_ok=t.n_ok,
                                n_failed=t.n_failed, metrics=t.metrics, censored=t.censored,
                                floors={"d_stsp": 0.08, "d_h": 0.02},
                                trace=fake_trace(skill, rng) if t.n_ok else None)
               for n, t in totals.items()}
    config = load_config("demo")
    return Results(
        protocol=PROTOCOL, mode=mode,
        forecaster=ForecasterInfo(name=name, version="1.0", params={"lags": 3, "ridge": 1e-6},
                                  source=f"dysts_bench_forecasters.{name}:Model"),
        dataset=DatasetInfo(config="demo", config_hash=config.hash, manifest_hash=manifest_hash,
                            context=512, horizon=HORIZON, splits={"fit": "train", "score": "test"},
                            long_term=LONG_TERM),
        environment=Environment(package_version="0.1.0", python="3.11.2", platform="Linux-x86_64",
                                date="2026-11-24T12:00:00Z", command=f"dysts-bench evaluate {name}"),
        records=records, systems=systems, summary=summary)


def write_results(directory: Path, manifest_hash: str) -> list[Path]:
    """Three results files: a good forecaster, a weak one, and one that fails on Thomas."""
    specs = [("reservoir", 4.0, ()), ("persistence", 0.4, ()), ("nvar", 2.5, ("Thomas",))]
    return [save_results(make_results(name, skill, manifest_hash, seed=i, fail=fail), directory / f"{name}.json")
            for i, (name, skill, fail) in enumerate(specs)]


def fake_invariants() -> dict[str, dict]:
    """Invariants sidecars for the registry: Lorenz complete, Rossler partial, Thomas none, others (H, C)."""
    from dysts_bench.system import list_systems

    rng = np.random.default_rng(7)
    out: dict[str, dict] = {}
    for name in list_systems():
        h = float(rng.uniform(0.4, 0.95))
        out[name] = {"permutation_entropy": {"value": h, "stderr": 0.002, "method": "ordinal patterns"},
                     "statistical_complexity": {"value": float(4 * h * (1 - h) * rng.uniform(0.25, 0.4)),
                                                "stderr": 0.003, "method": "ordinal patterns"}}
    out["Lorenz"].update({
        "lyapunov_max": {"value": 0.9053, "stderr": 0.0011, "method": "benettin-qr", "settings": {}},
        "lyapunov_spectrum": {"value": [0.9053, 0.0001, -14.572], "stderr": [0.0011, 0.0004, 0.002],
                              "method": "benettin-qr", "settings": {}},
        "kaplan_yorke_dimension": {"value": 2.0621, "stderr": 0.0001, "method": "from the spectrum"},
        "correlation_dimension": {"value": 2.05, "stderr": 0.01, "method": "grassberger-procaccia"},
        "period": {"value": 0.75, "stderr": None, "method": "power spectrum peak"},
        "spec_hash": "0" * 64,
    })
    out["Rossler"] = {"lyapunov_max": {"value": 0.0714, "stderr": 0.0004, "method": "benettin-qr"}}
    out["Thomas"] = {}
    return out


def use_fake_invariants(monkeypatch) -> None:
    """Make every System read its invariants from `fake_invariants` instead of the registry's sidecars."""
    from dysts_bench.specs.invariants import Invariants
    from dysts_bench.system import System

    invariants = {name: Invariants.model_validate(data) for name, data in fake_invariants().items()}
    monkeypatch.setattr(System, "invariants", property(lambda self: invariants.get(self.name, Invariants())))


def build_test_site(base: Path) -> Path:
    """Write a manifest and three results files under `base`, build the site with the CLI; returns the site."""
    import pytest

    from dysts_bench.cli import main

    manifest_hash = write_manifest(base / "manifests")
    write_results(base / "results", manifest_hash)
    site = base / "site"
    with pytest.MonkeyPatch.context() as mp:
        use_fake_invariants(mp)
        code = main(["leaderboard", "build", "--results", str(base / "results"), "--out", str(site),
                     "--manifests", str(base / "manifests")])
    assert code == 0
    return site
