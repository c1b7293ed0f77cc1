"""Equation recovery: polynomial fields integrated by our kernel, the true equations of a spec as monomials,
precision/recall/coefficient errors, and the scores in results files, recomputed by `leaderboard check`."""

from __future__ import annotations

import numpy as np
import pytest

import dysts_bench as db
from dysts_bench.data.generate import generate
from dysts_bench.errors import DystsBenchError
from dysts_bench.evaluate.harness import evaluate
from dysts_bench.evaluate.recovery import NotPolynomialError, compare_fields, recovery, true_field
from dysts_bench.integrate.polynomial import PolynomialField
from dysts_bench.leaderboard.check import results_problems

from .learned_fixtures import forecasters_module

LORENZ_EXPONENTS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1]])


def lorenz_field(sigma=10.0, rho=28.0, beta=2.667, spurious=0.0) -> PolynomialField:
    exponents = np.vstack([LORENZ_EXPONENTS, [[0, 0, 0]]])
    coefficients = np.array([[-sigma, sigma, 0, 0, 0, spurious], [rho, -1, 0, 0, -1, 0], [0, 0, -beta, 1, 0, 0]])
    return PolynomialField(exponents, coefficients)


def test_a_polynomial_field_integrates_as_the_registry_system():
    system = db.get_system("Lorenz")
    y0 = system.initial_condition
    ours = db.integrate(lorenz_field(), y0, t_end=2.0, dt_out=0.01)
    reference = db.integrate(system, y0, t_end=2.0, dt_out=0.01)
    np.testing.assert_allclose(ours.y, reference.y, rtol=1e-7, atol=1e-7)
    read_only = np.array(y0)
    read_only.flags.writeable = False
    np.testing.assert_array_equal(db.integrate(lorenz_field(), read_only, t_end=2.0, dt_out=0.01).y, ours.y)
    np.testing.assert_allclose(lorenz_field().rhs(y0), system.rhs(y0), rtol=1e-14)


def test_a_polynomial_field_checks_its_arrays_and_keeps_only_used_monomials():
    assert len(lorenz_field().exponents) == 5  # the unused constant is dropped
    assert len(lorenz_field(spurious=0.5).exponents) == 6
    with pytest.raises(DystsBenchError, match="coefficients"):
        PolynomialField(LORENZ_EXPONENTS, np.zeros((3, 4)))
    with pytest.raises(DystsBenchError, match="integers"):
        PolynomialField(LORENZ_EXPONENTS * 0.5, np.zeros((3, 5)))
    with pytest.raises(DystsBenchError, match="non-finite"):
        PolynomialField(LORENZ_EXPONENTS, np.full((3, 5), np.nan))


def test_true_fields_of_polynomial_and_other_systems():
    rossler = true_field(db.get_system("Rossler"))
    x = np.array([0.3, -1.2, 0.7])
    np.testing.assert_allclose(rossler.rhs(x), db.get_system("Rossler").rhs(x), rtol=1e-14)
    for name, reason in [("MackeyGlass", "delay"), ("Torus", "time"), ("Chua", "not a polynomial")]:
        with pytest.raises(NotPolynomialError, match=reason):
            true_field(db.get_system(name))
    guess = PolynomialField(np.eye(3, dtype=int), np.eye(3))
    assert recovery(db.get_system("Chua"), guess)["status"] == "not_polynomial"


def test_scores_count_terms_and_coefficient_errors():
    true = lorenz_field()
    exact = compare_fields(true, true)
    assert exact | {"status": "ok"} == {"status": "ok", "message": "", "n_true": 7, "n_identified": 7,
                                        "n_correct": 7, "precision": 1.0, "recall": 1.0,
                                        "coefficient_error": 0.0, "max_term_error": 0.0}
    off = compare_fields(lorenz_field(sigma=10.5, spurious=2.0), true)
    assert off["precision"] == 7 / 8 and off["recall"] == 1.0
    assert off["max_term_error"] == pytest.approx(0.05)
    norm = np.sqrt(2 * 10**2 + 28**2 + 3 + 2.667**2)
    assert off["coefficient_error"] == pytest.approx(np.sqrt(2 * 0.5**2 + 2.0**2) / norm)
    missing = PolynomialField(LORENZ_EXPONENTS, np.array([[-10, 10, 0, 0, 0], [28, -1, 0, 0, 0], [0, 0, -2.667, 1, 0]]))
    assert compare_fields(missing, true)["recall"] == 6 / 7
    assert compare_fields(missing, true)["max_term_error"] == 1.0


@pytest.fixture(scope="module")
def demo_archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("recovery") / "demo.zarr"
    generate("demo", path, systems=["Lorenz"], progress=False)
    return path


@pytest.fixture(scope="module")
def sindy_results(demo_archive):
    pytest.importorskip("pysindy")
    sindy = forecasters_module("sindy").SINDy.quick()
    return evaluate(sindy, demo_archive, demo_archive.parent / "results" / "sindy.json", max_ics=2, progress=False)


def test_results_carry_equations_and_a_recovery_that_check_recomputes(sindy_results):
    results = sindy_results
    ok = [r for r in results.records if r.status == "ok"]
    assert ok and all(r.recovery.status == "ok" and r.equations for r in ok)
    assert ok[0].recovery.n_true == 7 and ok[0].recovery.n_correct >= 5
    assert not [p for p in results_problems(results) if "recovery" in p]
    forged = results.model_copy(deep=True)
    forged.records[0].recovery.precision = 1.0
    forged.records[0].recovery.coefficient_error = 0.0
    forged.records[0].equations[0].coefficient *= 1.5
    problems = [p for p in results_problems(forged) if "recovery" in p]
    assert problems and "the equations give" in problems[0]
    stripped = results.model_copy(deep=True)
    stripped.records[0].equations = None
    assert any("without the identified equations" in p for p in results_problems(stripped))
    renamed = results.model_copy(deep=True)
    renamed.records[0].system = "NoSuchSystem"
    assert any("not in the registry" in p for p in results_problems(renamed))  # reported, not a crash


class ClaimsTheTruth:
    """Forecasts the last value but claims Lorenz-63's equations: its recovery must not count."""

    name = "claims-the-truth"

    def fit(self, series, *, dt):
        self.identified_equations_ = lorenz_field()
        return self

    def predict(self, context, horizon):
        return np.repeat(np.asarray(context)[-1:], horizon, axis=0)


def test_equations_that_do_not_reproduce_the_forecast_are_not_scored(demo_archive, tmp_path):
    results = evaluate(ClaimsTheTruth(), demo_archive, tmp_path / "r.json", max_ics=2, progress=False)
    assert {r.recovery.status for r in results.records if r.status == "ok"} == {"mismatch"}


def test_the_site_shows_the_recovery_track(sindy_results, demo_archive, tmp_path):
    from dysts_bench.leaderboard.build import build_site

    build_site(demo_archive.parent / "results", tmp_path / "site", progress=False)
    page = (tmp_path / "site" / "recovery.html").read_text()
    assert "Equation recovery" in page and "Lorenz" in page and "sindy" in page
    system = (tmp_path / "site" / "systems" / "Lorenz.html").read_text()
    assert "Equation recovery" in system and "dx/dt = " in system


def test_the_comparison_table_summarizes_results_over_the_systems_given(sindy_results, demo_archive, capsys):
    from dysts_bench.cli import main
    from dysts_bench.leaderboard.compare import compare

    path = demo_archive.parent / "results" / "sindy.json"
    rows, floors = compare([path], ["Lorenz", "Rossler"])
    assert [(r.forecaster, r.covered, r.failed) for r in rows] == [("sindy", 1, 0)]
    assert rows[0].medians["vpt"] == sindy_results.systems["Lorenz"].metrics["vpt"] == rows[0].vpt_failed_zero
    failing = sindy_results.model_copy(deep=True)
    for r in failing.records:
        r.status = "invalid"
    failing_path = demo_archive.parent / "failing.json"
    failing_path.write_text(failing.model_dump_json())
    assert compare([failing_path])[0][0].vpt_failed_zero == 0.0
    assert floors["d_stsp"] == sindy_results.systems["Lorenz"].floors["d_stsp"]
    assert main(["leaderboard", "table", "--results", str(path), "--systems", "Lorenz,Rossler"]) == 0
    out = capsys.readouterr().out
    assert "| `sindy` | per-system | 1 of 2 |" in out and "truth vs truth" in out


def test_the_bootstrap_interval_of_a_median_is_deterministic_and_brackets_it():
    from dysts_bench.leaderboard.compare import bootstrap_median

    values = [0.5, 1.0, 2.0, 3.0, 8.0, None]
    low, high = bootstrap_median(values)
    assert low <= 2.5 <= high and (low, high) == bootstrap_median(values)
    assert bootstrap_median([1.0, None]) is None
