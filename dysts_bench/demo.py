"""The main job end to end on the small `demo` config: dataset -> forecasts -> scores -> leaderboard."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .data.generate import generate
from .evaluate.harness import evaluate
from .forecast.registry import load_forecaster, load_forecaster_class
from .leaderboard import build_site
from .plots import plot_attractors
from .system import get_system

log = logging.getLogger(__name__)

ATTRACTOR_SYSTEMS = ["Lorenz", "Rossler", "Thomas", "Aizawa", "Halvorsen", "Duffing", "HenonHeiles", "MackeyGlass"]


def _registered(name: str, **params: Any) -> Callable[[], Any]:
    def make() -> Any:
        return load_forecaster(name, **params)

    return make


def _quick(name: str) -> Callable[[], Any]:
    def make() -> Any:
        return load_forecaster_class(name).quick()

    return make


# The demo's forecasters: result-file stem -> how to make it.
DEMO_FORECASTERS: dict[str, Callable[[], Any]] = {
    "last-value": _registered("last-value"),
    "mean": _registered("mean"),
    "periodic-naive": _registered("periodic-naive"),
    "darts-nlinear": _registered("darts", model="NLinear", input_chunk_length=32, output_chunk_length=16,
                                 n_epochs=5),
    "perturbed-truth": _registered("perturbed-truth"),
    "esn-quick": _quick("esn"),
    "plrnn-quick": _quick("plrnn"),
    "transformer-quick": _quick("transformer"),
}


def run_demo(out: str | Path = "out/demo", *, progress: bool = True) -> Path:
    """Generate the demo dataset, score the demo forecasters, build the site; returns its index page."""
    out = Path(out)
    plot_attractors([get_system(n) for n in ATTRACTOR_SYSTEMS], out / "attractors.png")
    archive = out / "demo.zarr"
    generate("demo", archive, progress=progress)
    results = out / "results"
    for stem, make in DEMO_FORECASTERS.items():
        path = results / f"{stem}.json"
        if path.exists():
            continue  # a rerun of the demo keeps what it already scored
        try:
            forecaster = make()
        except Exception as exc:  # an optional forecaster that cannot load must not stop the demo
            log.warning("skipping %s: %s", stem, exc)
            continue
        log.info("scoring %s", stem)
        evaluate(forecaster, archive, path, progress=progress, source=stem, command="dysts-bench demo")
    return build_site(results, out / "site", archives=[archive], progress=progress)
