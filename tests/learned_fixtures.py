"""Shared by the tests of the learned forecasters: the built-in forecasters package and Lorenz-63 data in
the `lyapunov` layout with the median valid prediction time (no torch needed)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

import dysts_bench as db
from dysts_bench.evaluate.metrics import METRICS
from dysts_bench.forecast import as_context, as_series

FORECASTERS = Path(__file__).resolve().parents[1] / "forecasters"
LORENZ_LAMBDA = 0.9056   # literature value of Lorenz-63's largest Lyapunov exponent


def forecasters_module(name: str):
    """A module of the built-in forecasters package, imported from this repository unless installed from it."""
    package = "dysts_bench_forecasters"
    found = None if package in sys.modules else importlib.util.find_spec(package)
    # Another checkout's copy (an editable install made from a different worktree) would test other code.
    if package not in sys.modules and (found is None or Path(found.origin or "").parent != FORECASTERS):
        spec = importlib.util.spec_from_file_location(package, FORECASTERS / "__init__.py",
                                                      submodule_search_locations=[str(FORECASTERS)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        spec.loader.exec_module(module)
    return importlib.import_module(f"{package}.{name}")


@lru_cache(maxsize=1)
def lorenz_benchmark_data(seed: int = 0):
    """Lorenz-63 sampled as the `lyapunov` config: 30 points per Lyapunov time (dt ≈ 0.0368), 20 training
    trajectories of 2,048 points, 20 test starts with a 512-point context and a 300-point (10 τ) horizon."""
    system = db.get_system("Lorenz")
    dt = 1.0 / (30 * LORENZ_LAMBDA)
    rng = np.random.default_rng(seed)
    reference = db.integrate(system, t_end=2000.0, dt_out=dt, transient=50.0).y
    starts = reference[rng.choice(len(reference), 40, replace=False)]
    train = db.integrate(system, starts[:20], t_end=2047 * dt, dt_out=dt, transient=20.0).y
    test = db.integrate(system, starts[20:], t_end=811 * dt, dt_out=dt, transient=20.0).y
    return as_series(list(train)), test[:, :512], test[:, 512:], reference.std(axis=0), dt, reference


def median_vpt(model, contexts, futures, sigma, dt):
    """Median valid prediction time (ε = 0.5, in Lyapunov times) over the test starts."""
    forecasts = np.stack([model.predict(as_context(c), futures.shape[1]) for c in contexts])
    vpts = METRICS["vpt"](futures, forecasts, dt=dt, lyapunov_max=LORENZ_LAMBDA, sigma=sigma)
    return float(np.median(vpts))

