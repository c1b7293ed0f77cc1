"""SINDy through pysindy: conformance, exact recovery of polynomial systems, the choice of degree and
threshold on held-out data, a diverging model reported as invalid, save/load, and quality on Lorenz-63
(all 7 terms within 1%, median VPT ≥ 5 τ)."""

from __future__ import annotations

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.checks.forecasters import check_cases, check_forecaster, parametrize_with_checks
from dysts_bench.evaluate.recovery import recovery, true_field
from dysts_bench.forecast import ForecasterError, as_context, as_series, clone, get_params
from dysts_bench.integrate.polynomial import PolynomialField

from .learned_fixtures import forecasters_module, lorenz_benchmark_data, median_vpt

pytest.importorskip("pysindy")
SINDy = forecasters_module("sindy").SINDy


@parametrize_with_checks([SINDy(), SINDy.quick(), SINDy(degree=[1, 2], threshold=[0.1, 0.01], fd_order=4)])
def test_conforms(forecaster, check):
    check(forecaster)


def test_check_forecaster_finds_no_problems():
    assert check_forecaster(SINDy.quick()) == []


def _lorenz_case():
    case = check_cases()[0]
    return as_series(list(case.train)), as_context(case.context), case.future, case.dt


def test_lorenz_equations_and_forecasts():
    """All 7 terms of Lorenz-63 within 1%, no spurious term, and a median VPT of at least 5 Lyapunov times in
    the `lyapunov` layout (30 points per Lyapunov time, 20 series of 2,048 points)."""
    train, contexts, futures, sigma, dt, _ = lorenz_benchmark_data()
    model = SINDy().fit(train, dt=dt)
    score = recovery(db.get_system("Lorenz"), model.identified_equations_)
    vpt = median_vpt(model, contexts, futures, sigma, dt)
    print(f"SINDy on Lorenz (dt={dt:.4f}): degree {model.degree_}, threshold {model.threshold_}, {score}, "
          f"median VPT {vpt:.2f} Lyapunov times (eps = 0.5)")
    assert (score["n_true"], score["n_correct"], score["n_identified"]) == (7, 7, 7)
    assert score["max_term_error"] < 0.01
    assert vpt >= 5.0


def test_recovers_a_polynomial_system_from_its_trajectories():
    """Rössler at a fine step: the identified field is the true one to high accuracy."""
    system = db.get_system("Rossler")
    dt = 0.05
    starts = db.integrate(system, t_end=500.0, dt_out=25.0, transient=100.0).y[:6]
    series = db.integrate(system, starts, t_end=1500 * dt, dt_out=dt).y
    model = SINDy(degree=2, threshold=0.01).fit(as_series(list(series)), dt=dt)
    score = recovery(system, model.identified_equations_)
    assert score["recall"] == 1.0 and score["precision"] == 1.0
    assert score["coefficient_error"] < 1e-3


def test_fit_returns_self_keeps_the_hyper_parameters_and_records_the_choice():
    train, _, _, dt = _lorenz_case()
    model = SINDy(degree=[1, 2], threshold=[0.1, 0.01])
    params = get_params(model)
    assert model.fit(train, dt=dt) is model
    assert get_params(model) == params == get_params(clone(model))
    assert model.fitted_params_["degree"] in (1, 2) and model.fitted_params_["threshold"] in (0.1, 0.01)
    assert model.fitted_params_["n_terms"] == int(np.sum(model.identified_equations_.coefficients != 0))
    assert not hasattr(clone(model), "field_")


def test_deterministic():
    train, context, _, dt = _lorenz_case()
    first, second = (SINDy().fit(train, dt=dt) for _ in "ab")
    np.testing.assert_array_equal(first.identified_equations_.coefficients, second.identified_equations_.coefficients)
    np.testing.assert_array_equal(first.predict(context, 100), second.predict(context, 100))


def test_a_diverging_model_is_a_forecaster_error_naming_the_cause():
    model = SINDy.quick().fit(_lorenz_case()[0], dt=_lorenz_case()[3])
    model.field_ = PolynomialField(np.array([[2, 0, 0], [0, 2, 0], [0, 0, 2]]), np.eye(3))  # ẋ = x²: blows up
    with pytest.raises(ForecasterError, match="diverges"):
        model.predict(as_context(np.ones((5, 3))), 300)


def test_save_and_load_predict_identically(tmp_path):
    train, context, _, dt = _lorenz_case()
    model = SINDy(degree=[1, 2]).fit(train, dt=dt)
    loaded = SINDy.load(model.save(tmp_path / "sindy.npz"))
    assert get_params(loaded) == get_params(model) and loaded.fitted_params_ == model.fitted_params_
    np.testing.assert_array_equal(loaded.predict(context, 50), model.predict(context, 50))
    (tmp_path / "junk.npz").write_bytes(b"not a model")
    with pytest.raises(ForecasterError, match="SINDy"):
        SINDy.load(tmp_path / "junk.npz")


def test_errors_name_the_fix():
    train, context, _, dt = _lorenz_case()
    with pytest.raises(ForecasterError, match="not fitted"):
        SINDy().predict(context, 5)
    model = SINDy.quick().fit(train, dt=dt)
    with pytest.raises(ForecasterError, match="3-D"):
        model.predict(as_context(np.zeros((10, 2))), 5)
    for bad in ({"degree": 0}, {"threshold": -1.0}, {"validation_fraction": 1.0}, {"fd_order": 0}):
        with pytest.raises(ForecasterError, match="SINDy: "):
            SINDy(**bad).fit(train, dt=dt)
    with pytest.raises(ForecasterError, match="degree=1"):
        SINDy(degree=3).fit(as_series([np.random.default_rng(0).standard_normal((100, 20))]), dt=1.0)


def test_true_field_of_lorenz():
    field = true_field(db.get_system("Lorenz"))
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(field.rhs(x), db.get_system("Lorenz").rhs(x), rtol=1e-15)
    assert int(np.sum(field.coefficients != 0)) == 7
