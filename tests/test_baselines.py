"""The built-in forecasters: conformance, what each forecasts, and the perturbed-truth oracle's VPT."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.checks.forecasters import parametrize_with_checks
from dysts_bench.evaluate.metrics import vpt
from dysts_bench.forecast import ForecasterError, as_context, as_series, load_forecaster, tags_of

FORECASTERS = Path(__file__).resolve().parents[1] / "forecasters"
LORENZ_LAMBDA = 0.9056   # literature value, until the invariants sidecars exist


def builtin(spec: str, **params):
    """A built-in forecaster loaded from its file (works before and after the package is installed)."""
    module, _, cls = spec.partition(":")
    return load_forecaster(f"{FORECASTERS / module}.py:{cls}", **params)


TINY_DARTS = {"input_chunk_length": 16, "output_chunk_length": 4, "n_epochs": 1, "batch_size": 64}
BUILTINS = [builtin("naive:LastValue"), builtin("naive:Mean"), builtin("naive:Mean", source="context"),
            builtin("naive:PeriodicNaive"), builtin("naive:PeriodicNaive", period=1.5),
            builtin("oracle:PerturbedTruth")]
DARTS = [builtin("darts_adapter:DartsForecaster", model="NLinear", **TINY_DARTS)]
DARTS_SLOW = [builtin("darts_adapter:DartsForecaster", model="LinearRegression", lags=8),
              builtin("darts_adapter:DartsForecaster", model="TCN", **TINY_DARTS)]


@parametrize_with_checks(BUILTINS)
def test_builtins_conform(forecaster, check):
    check(forecaster)


@parametrize_with_checks(DARTS)
def test_darts_adapter_conforms(forecaster, check):
    pytest.importorskip("darts")
    check(forecaster)


@pytest.mark.slow
@parametrize_with_checks(DARTS_SLOW)
def test_more_darts_models_conform(forecaster, check):
    pytest.importorskip("darts")
    check(forecaster)


# ---------------------------------------------------------------------------------------------- naive

def test_naive_forecasts():
    train = [np.array([[0.0, 10.0], [2.0, 14.0]])]
    context = as_context(np.array([[1.0, 5.0], [3.0, 7.0]]))
    last = builtin("naive:LastValue").fit(as_series(train), dt=0.1).predict(context, 3)
    np.testing.assert_array_equal(last, [[3.0, 7.0]] * 3)
    mean = builtin("naive:Mean").fit(as_series(train), dt=0.1).predict(context, 2)
    np.testing.assert_array_equal(mean, [[1.0, 12.0]] * 2)
    local = builtin("naive:Mean", source="context").fit(as_series(train), dt=0.1).predict(context, 1)
    np.testing.assert_array_equal(local, [[2.0, 6.0]])
    with pytest.raises(ForecasterError, match="source must be"):
        builtin("naive:Mean", source="future").fit(train, dt=0.1)
    with pytest.raises(ForecasterError, match="same system"):
        builtin("naive:Mean").fit(train, dt=0.1).predict(as_context(np.ones((2, 3))), 1)


def test_periodic_naive_repeats_the_period():
    dt, period = 0.05, 2.0
    t = dt * np.arange(400)
    wave = np.column_stack([np.sin(2 * np.pi * t / period), 0.5 * np.cos(4 * np.pi * t / period)])
    f = builtin("naive:PeriodicNaive").fit(as_series([wave[:300]]), dt=dt)
    assert f.period_ == pytest.approx(period, rel=0.01) and f.lag_ == 40
    np.testing.assert_allclose(f.predict(as_context(wave[:300]), 100), wave[300:], atol=1e-9)
    given = builtin("naive:PeriodicNaive", period=1.0).fit(as_series([wave]), dt=dt)
    assert given.lag_ == 20
    told = builtin("naive:PeriodicNaive")
    told.set_system(db.get_system("Lorenz"))
    assert told.fit(as_series([wave]), dt=dt).period_ == db.get_system("Lorenz").period
    short = given.predict(as_context(wave[:5]), 7)     # context shorter than the period: repeat it all
    np.testing.assert_array_equal(short, wave[[0, 1, 2, 3, 4, 0, 1]])


# --------------------------------------------------------------------------------------------- oracle

def test_perturbed_truth_vpt_on_lorenz():
    """Its VPT ≈ ln(ε·σ/δ) τ (≈ 20 τ for Lorenz): a check of the VPT metric and the Lyapunov exponent."""
    lorenz, dt = db.get_system("Lorenz"), 0.01
    reference = db.integrate(lorenz, t_end=500.0, dt_out=dt, transient=50.0).y
    sigma = reference.std(axis=0)
    expected = math.log(0.5 * np.linalg.norm(sigma) / 1e-8)
    assert 19.5 < expected < 21.0
    oracle = builtin("oracle:PerturbedTruth")
    oracle.set_system(lorenz)
    oracle.fit(as_series([reference[:1000]]), dt=dt)
    horizon, vpts = int(35 / LORENZ_LAMBDA / dt), []
    for start in (2000, 9000, 16000, 23000):
        truth = db.integrate(lorenz, reference[start], t_end=(100 + horizon) * dt, dt_out=dt,
                             rtol=1e-12, atol=1e-12).y
        forecast = oracle.predict(as_context(truth[:101]), horizon)
        vpts.append(vpt(truth[101:], forecast, dt=dt, lyapunov_max=LORENZ_LAMBDA, sigma=sigma))
    assert all(14.0 < v < 27.0 for v in vpts), vpts
    assert 15.0 < np.mean(vpts) < 25.0, vpts


def test_perturbed_truth_needs_its_system():
    oracle = builtin("oracle:PerturbedTruth")
    assert tags_of(oracle).needs_system
    with pytest.raises(ForecasterError, match="needs the true system"):
        oracle.fit([np.ones((3, 3))], dt=0.1)
    named = builtin("oracle:PerturbedTruth", system="Lorenz", delta=0.0).fit([np.ones((3, 3))], dt=0.01)
    x0 = db.get_system("Lorenz").initial_condition
    expected = db.integrate(db.get_system("Lorenz"), x0, t_end=0.05, dt_out=0.01, rtol=1e-12, atol=1e-12).y[1:]
    np.testing.assert_allclose(named.predict(as_context(x0[None]), 5), expected, rtol=1e-12)
    with pytest.raises(ForecasterError, match="3-D"):
        named.predict(as_context(np.ones((2, 4))), 5)


# ---------------------------------------------------------------------------------------------- darts

def test_darts_adapter_forecasts_a_sine():
    pytest.importorskip("darts")
    t = 0.1 * np.arange(600)
    wave = np.column_stack([np.sin(t), np.cos(t)]) * 5.0 + 3.0
    f = builtin("darts_adapter:DartsForecaster", model="LinearRegressionModel", lags=10)
    forecast = f.fit(as_series([wave[:500]]), dt=0.1).predict(as_context(wave[400:500]), 100)
    np.testing.assert_allclose(forecast, wave[500:], atol=1e-3)
    assert f.get_params() == {"model": "LinearRegressionModel", "seed": 0, "scale": True, "lookback": None,
                              "validation_fraction": 0.2, "patience": 5, "max_samples_per_ts": None, "n_threads": 1,
                              "lags": 10}
    assert f.fitted_params_ == {"lookback": 10}


def test_darts_adapter_errors():
    pytest.importorskip("darts")
    with pytest.raises(ForecasterError, match=r"no such forecasting model.*NLinear"):
        builtin("darts_adapter:DartsForecaster", model="Nope").fit([np.ones((50, 2))], dt=0.1)
    f = builtin("darts_adapter:DartsForecaster", model="LinearRegression", lags=4)
    f.fit(as_series([np.random.default_rng(0).standard_normal((60, 2))]), dt=0.1)
    with pytest.raises(ForecasterError, match="fitted on 2-D"):
        f.predict(as_context(np.ones((10, 3))), 2)


def test_heavy_libraries_load_only_when_used():
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(FORECASTERS.parent)!r})\n"
        "import dysts_bench.forecast, dysts_bench.checks.forecasters, dysts_bench.evaluate.metrics\n"
        "from dysts_bench.forecast import load_forecaster\n"
        f"load_forecaster({str(FORECASTERS / 'darts_adapter.py')!r} + ':DartsForecaster')\n"
        f"load_forecaster({str(FORECASTERS / 'naive.py')!r} + ':LastValue')\n"
        "heavy = sorted(m for m in ('torch', 'darts', 'pytorch_lightning') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
