"""The next-generation reservoir computer (NG-RC / NVAR): conformance, exact recovery of linear and
quadratic maps, the automatic choice of taps and ridge, bounded divergence and (slow) quality on Lorenz-63."""

from __future__ import annotations

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.checks.forecasters import check_cases, check_forecaster, parametrize_with_checks
from dysts_bench.forecast import ForecasterError, as_context, as_series, clone, get_params

from .learned_fixtures import forecasters_module, lorenz_benchmark_data, median_vpt

ngrc = forecasters_module("ngrc")
NGRC = ngrc.NGRC


@parametrize_with_checks([NGRC(), NGRC.quick(), NGRC(k=2, skip=2, degree=3, ridge=[1e-6, 1e-4])])
def test_conforms(forecaster, check):
    check(forecaster)


def test_check_forecaster_finds_no_problems():
    assert check_forecaster(NGRC(k=2, ridge=1e-6)) == []


def henon_delay_series(n: int, start: tuple[float, float] = (0.1, 0.0)) -> np.ndarray:
    """x_{t+1} = 1 − 1.4 x_t² + 0.3 x_{t−1} (the Hénon map in delay form): exactly quadratic in two taps."""
    x = np.empty(n)
    x[:2] = start
    for t in range(1, n - 1):
        x[t + 1] = 1 - 1.4 * x[t] ** 2 + 0.3 * x[t - 1]
    return x[:, None]


def test_recovers_a_quadratic_map_exactly():
    series = henon_delay_series(1500)
    train, context, future = series[:1000], series[1000:1200], series[1200:1215]
    model = NGRC(k=2, ridge=1e-12).fit(as_series([train]), dt=1.0)
    # The map is chaotic (λ ≈ 0.42 per step): a fit error of 1e-10 would grow to about 1e-7 in 15 steps.
    np.testing.assert_allclose(model.predict(as_context(context), 15), future, atol=1e-6)


def test_recovers_linear_systems_exactly():
    theta = 0.3
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    states = [np.array([1.0, 0.5])]
    for _ in range(599):
        states.append(0.999 * rotation @ states[-1])
    spiral = np.array(states)
    model = NGRC(k=1, degree=1, ridge=1e-12).fit(as_series([spiral[:400]]), dt=0.1)
    np.testing.assert_allclose(model.predict(as_context(spiral[:450]), 150), spiral[450:], atol=1e-9)
    # One sinusoid obeys x_{t+1} = a·x_t + b·x_{t−2}: two taps two steps apart are exact.
    wave = np.cos(0.2 * np.arange(800) + 0.4)[:, None]
    model = NGRC(k=2, skip=2, degree=1, ridge=1e-12).fit(as_series([wave[:500]]), dt=0.1)
    np.testing.assert_allclose(model.predict(as_context(wave[:600]), 200), wave[600:], atol=1e-8)


def test_auto_choice_keeps_an_exact_model_exact():
    series = henon_delay_series(1500)
    model = NGRC().fit(as_series([series[:1000], series[1000:1300]]), dt=1.0)
    assert model.k_ in ngrc.KS and model.ridge_ in ngrc.RIDGES
    np.testing.assert_allclose(model.predict(as_context(series[1300:1400]), 5), series[1400:1405], atol=1e-3)


def _lorenz_case():
    case = check_cases()[0]
    return as_series(list(case.train)), as_context(case.context), case.future, case.dt


def test_fit_returns_self_and_keeps_the_hyper_parameters():
    train, _, _, dt = _lorenz_case()
    model = NGRC(k=[2, 3], ridge=[1e-6, 1e-4])
    params = get_params(model)
    assert model.fit(train, dt=dt) is model
    assert get_params(model) == params == get_params(clone(model))
    assert model.k_ in (2, 3) and model.ridge_ in (1e-6, 1e-4)
    assert not hasattr(clone(model), "W_out_")


def test_deterministic():
    train, context, _, dt = _lorenz_case()
    first, second = (NGRC().fit(train, dt=dt) for _ in "ab")
    assert (first.k_, first.ridge_) == (second.k_, second.ridge_)
    np.testing.assert_array_equal(first.W_out_, second.W_out_)
    np.testing.assert_array_equal(first.predict(context, 100), second.predict(context, 100))


def test_short_lorenz_series():
    """One 2,000-point series (cut in time for the held-out part) forecasts Lorenz-63 for a while."""
    system = db.get_system("Lorenz")
    dt = 0.02
    y = db.integrate(system, t_end=2999 * dt, dt_out=dt, transient=20.0).y
    model = NGRC().fit(as_series([y[:2000]]), dt=dt)
    sigma = y.std(axis=0)
    contexts = np.stack([y[s - 50: s] for s in range(2050, 2900, 170)])
    futures = np.stack([y[s: s + 100] for s in range(2050, 2900, 170)])
    vpt = median_vpt(model, contexts, futures, sigma, dt)
    assert vpt >= 1.0, f"median VPT {vpt:.2f} Lyapunov times"


def test_a_diverging_forecast_stays_finite_and_bounded():
    train, context, _, dt = _lorenz_case()
    model = NGRC(k=2, ridge=1e-6).fit(train, dt=dt)
    far = as_context(np.asarray(context) * 50.0)  # far outside the attractor: the quadratic map blows up
    forecast = model.predict(far, 500)
    assert forecast.shape == (500, 3) and np.all(np.isfinite(forecast))
    low, high = model.scaler_.inverse(model.lower_), model.scaler_.inverse(model.upper_)
    assert np.all(forecast >= low - 1e-9) and np.all(forecast <= high + 1e-9)


def test_save_and_load_predict_identically(tmp_path):
    train, context, _, dt = _lorenz_case()
    model = NGRC(k=[2, 3]).fit(train, dt=dt)
    loaded = NGRC.load(model.save(tmp_path / "ngrc.npz"))
    assert get_params(loaded) == get_params(model) and (loaded.k_, loaded.ridge_) == (model.k_, model.ridge_)
    np.testing.assert_array_equal(loaded.predict(context, 50), model.predict(context, 50))
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ForecasterError, match="NGRC"):
        NGRC.load(tmp_path / "junk.npz")


def test_errors_name_the_fix():
    train, context, _, dt = _lorenz_case()
    with pytest.raises(ForecasterError, match="not fitted"):
        NGRC().predict(context, 5)
    model = NGRC(k=4, ridge=1e-6).fit(train, dt=dt)
    with pytest.raises(ForecasterError, match="at least 4 points"):
        model.predict(context[:3], 5)
    with pytest.raises(ForecasterError, match="3-D"):
        model.predict(as_context(np.zeros((10, 2))), 5)
    for bad in ({"k": 0}, {"skip": 1.5}, {"degree": 4}, {"ridge": -1.0}, {"validation_fraction": 1.0}):
        with pytest.raises(ForecasterError, match="NGRC: need"):
            NGRC(**bad).fit(train, dt=dt)
    with pytest.raises(ForecasterError, match="features"):
        NGRC(k=4, degree=3).fit(as_series([np.random.default_rng(0).standard_normal((100, 20))]), dt=1.0)


# ---------------------------------------------------------------------------- quality on Lorenz-63 (slow)

@pytest.mark.slow
def test_ngrc_lorenz_vpt():
    train, contexts, futures, sigma, dt, _ = lorenz_benchmark_data()
    model = NGRC().fit(train, dt=dt)
    vpt = median_vpt(model, contexts, futures, sigma, dt)
    cubic = NGRC(degree=3).fit(train, dt=dt)
    vpt_cubic = median_vpt(cubic, contexts, futures, sigma, dt)
    print(f"NG-RC default on Lorenz (dt={dt:.4f}): k {model.k_}, ridge {model.ridge_:g}, median VPT {vpt:.2f} "
          f"Lyapunov times (eps = 0.5); degree 3: k {cubic.k_}, ridge {cubic.ridge_:g}, {vpt_cubic:.2f}")
    assert vpt >= 3.0
    assert vpt_cubic >= 6.0
