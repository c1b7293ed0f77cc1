"""Metrics against independent implementations (darts, scipy, scikit-learn) and hand-computed cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import dysts_bench as db
from dysts_bench.evaluate import metrics as M


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A positive 3-D truth, a noisy forecast of it, and a context before it."""
    rng = np.random.default_rng(1)
    truth = rng.uniform(1.0, 3.0, (60, 3))
    return truth, truth + 0.3 * rng.standard_normal(truth.shape), rng.uniform(1.0, 3.0, (40, 3))


# ------------------------------------------------------------------------------------------- vs darts

DARTS_NAMES = {"mse": "mse", "mae": "mae", "rmse": "rmse", "marre": "marre", "r2": "r2_score",
               "rmsle": "rmsle", "smape": "smape", "mape": "mape", "wape": "wmape",
               "coefficient_of_variation": "coefficient_of_variation", "ope": "ope", "dtw": "dtw_metric"}


@pytest.mark.parametrize("name", sorted(DARTS_NAMES))
def test_matches_darts(name, pair):
    darts_metrics = pytest.importorskip("darts.metrics")
    from darts import TimeSeries

    truth, forecast, _ = pair
    expected = getattr(darts_metrics, DARTS_NAMES[name])(TimeSeries.from_values(truth),
                                                        TimeSeries.from_values(forecast))
    assert M.METRICS[name](truth, forecast) == pytest.approx(expected, rel=1e-10)


def test_mase_matches_darts(pair):
    darts_metrics = pytest.importorskip("darts.metrics")
    from darts import TimeSeries

    truth, forecast, context = pair
    whole = TimeSeries.from_values(np.vstack([context, truth]))
    actual = whole[len(context):]
    predicted = actual.with_values(forecast)
    expected = darts_metrics.mase(actual, predicted, insample=whole[:len(context)])
    assert M.mase(truth, forecast, context=context) == pytest.approx(expected, rel=1e-10)


def test_dtw_matches_darts_on_shifted_series():
    darts_metrics = pytest.importorskip("darts.metrics")
    from darts import TimeSeries

    rng = np.random.default_rng(2)
    a = rng.standard_normal((120, 2))
    b = np.sin(0.1 * np.arange(120)[:, None] + [0.0, 1.0])
    for x, y in ((a, b), (b, np.roll(b, 7, axis=0))):
        expected = darts_metrics.dtw_metric(TimeSeries.from_values(x), TimeSeries.from_values(y))
        assert M.dtw(x, y) == pytest.approx(expected, rel=1e-10)


# ---------------------------------------------------------------------------- vs scipy and scikit-learn

@pytest.mark.parametrize(("name", "reference"), [("pearson", stats.pearsonr), ("spearman", stats.spearmanr),
                                                 ("kendall", stats.kendalltau)])
@pytest.mark.parametrize("ties", [False, True])
def test_correlations_match_scipy(name, reference, ties, pair):
    truth, forecast, _ = pair
    if ties:
        truth, forecast = np.round(truth, 1), np.round(forecast, 1)
    expected = np.mean([reference(truth[:, i], forecast[:, i])[0] for i in range(truth.shape[1])])
    assert M.METRICS[name](truth, forecast) == pytest.approx(expected, rel=1e-10)


def test_kendall_of_a_batch_equals_each_forecast(pair):
    truth, forecast, _ = pair
    batch = M.kendall(np.stack([truth, truth]), np.stack([forecast, truth]))
    assert batch == pytest.approx([M.kendall(truth, forecast), 1.0], rel=1e-12)


def test_mutual_information_matches_scikit_learn(pair):
    feature_selection = pytest.importorskip("sklearn.feature_selection")
    truth, forecast, _ = pair
    expected = np.mean([feature_selection.mutual_info_regression(truth[:, [i]], forecast[:, i],
                                                                 random_state=0)[0] for i in range(3)])
    assert M.mutual_information(truth, forecast) == pytest.approx(expected, rel=1e-6)


def test_mutual_information_of_a_gaussian_pair():
    # For correlation rho the mutual information is -ln(1 - rho^2) / 2 nats.
    rng = np.random.default_rng(3)
    x = rng.standard_normal(3000)
    y = 0.8 * x + 0.6 * rng.standard_normal(3000)
    assert M.mutual_information(x, y) == pytest.approx(-0.5 * math.log(1 - 0.8**2), abs=0.05)
    assert M.mutual_information(x, rng.standard_normal(3000)) < 0.03


# ------------------------------------------------------------------------------------------ hand cases

def test_errors_by_hand():
    y, f = np.zeros((2, 1)), np.array([[1.0], [3.0]])
    assert M.mse(y, f) == 5.0
    assert M.mae(y, f) == 2.0
    assert M.rmse(y, f) == pytest.approx(math.sqrt(5.0))
    alternating = np.array([1.0, -1.0, 1.0, -1.0])
    assert M.nrmse(alternating, np.zeros(4)) == pytest.approx(1.0)
    assert M.marre(np.array([0.0, 10.0]), np.array([1.0, 10.0])) == pytest.approx(5.0)
    assert M.ope(np.array([1.0, 3.0]), np.array([2.0, 3.0])) == pytest.approx(25.0)
    assert M.wape(np.array([1.0, -3.0]), np.array([2.0, -3.0])) == pytest.approx(25.0)
    assert M.coefficient_of_variation(np.array([2.0, 2.0]), np.array([3.0, 1.0])) == pytest.approx(50.0)


def test_percentage_errors_at_zero():
    assert M.smape(np.zeros(3), np.zeros(3)) == 0.0                 # 0/0 is a perfect forecast
    assert M.smape(np.array([1.0]), np.array([-1.0])) == 200.0      # the top of the 0-200 scale
    assert M.smape(np.array([1.0]), np.array([3.0])) == pytest.approx(100.0)
    assert M.mape(np.array([0.0, 1.0]), np.array([1.0, 1.0])) == math.inf


def test_r2_and_correlations_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert M.r2(y, y) == 1.0
    assert M.r2(y, np.full(4, y.mean())) == pytest.approx(0.0)
    assert M.pearson(y, -y) == pytest.approx(-1.0)
    assert M.spearman(y, y**3) == pytest.approx(1.0)
    assert M.kendall(y, y[::-1]) == pytest.approx(-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(M.pearson(y, np.ones(4)))    # undefined for a constant forecast, silently


def test_rmsle_shifts_negative_values_but_keeps_offsets():
    y = np.array([-1.0, 1.0])
    assert M.rmsle(y, y) == 0.0
    assert M.rmsle(y, y + 1.0) > 0.1
    assert np.isfinite(M.rmsle(-5.0 * np.ones(3), np.zeros(3)))


def test_mase_by_hand():
    context = np.array([0.0, 1.0, 2.0, 3.0])                  # naive one-step error 1
    assert M.mase(np.array([5.0, 6.0]), np.array([5.5, 7.0]), context=context) == pytest.approx(0.75)
    with pytest.raises(M.MetricError, match="context"):
        M.mase(np.ones(2), np.ones(2), context=np.ones(1))


def test_dtw_by_hand():
    a = np.array([0.0, 1.0, 2.0, 3.0])
    # Path (0,0) (0,1) (1,2) (2,3) (3,3): only the last pair differs, by 1, over 5 pairs.
    assert M.dtw(a, np.array([0.0, 0.0, 1.0, 2.0])) == pytest.approx(0.2)
    assert M.dtw(a, a) == 0.0
    b = np.sin(0.2 * np.arange(200))
    assert M.dtw(b, np.roll(b, 5)) < 0.2 * M.mae(b, np.roll(b, 5))


def test_batches_and_shapes(pair):
    truth, forecast, context = pair
    batch_t, batch_f = np.stack([truth, forecast, truth]), np.stack([forecast, truth, truth])
    for name in M.SHORT_TERM:
        kwargs = {"context": np.stack([context] * 3)} if name == "mase" else {}
        values = M.METRICS[name](batch_t, batch_f, **kwargs)
        assert values.shape == (3,), name
        single = M.METRICS[name](truth, forecast, **({"context": context} if name == "mase" else {}))
        assert values[0] == pytest.approx(single, rel=1e-12), name
    assert isinstance(M.mse(truth, forecast), float)
    with pytest.raises(M.MetricError, match="same shape"):
        M.mse(truth, forecast[:-1])


def test_nan_forecasts_give_nan(pair):
    truth, forecast, context = pair
    bad = forecast.copy()
    bad[5, 1] = np.nan
    for name in (*M.SHORT_TERM, "d_stsp", "d_h"):
        kwargs = {"context": context} if name == "mase" else {}
        assert math.isnan(M.METRICS[name](truth, bad, **kwargs)), name


# ----------------------------------------------------------------------------- valid prediction times

def test_vpt_by_hand():
    truth = np.zeros((20, 1))
    forecast = 0.1 * np.arange(20.0)[:, None]       # e = 0.1 k: above 0.5 first at k = 6, valid 6 steps
    assert M.vpt(truth, forecast, dt=0.1, lyapunov_max=2.0, sigma=[1.0]) == pytest.approx(1.2)
    # The error is normalized by sqrt(sum sigma_i^2) = 5.
    two = np.column_stack([forecast[:, 0] * 3.0, forecast[:, 0] * 4.0])
    assert M.vpt(np.zeros((20, 2)), two, dt=0.1, lyapunov_max=2.0, sigma=[3.0, 4.0]) == pytest.approx(1.2)
    # Never above the threshold: the horizon (a lower bound); NaN counts as above.
    assert M.vpt(truth, truth, dt=0.1, lyapunov_max=2.0, sigma=[1.0]) == pytest.approx(4.0)
    nan_at_3 = np.zeros((20, 1))
    nan_at_3[3] = np.nan
    assert M.vpt(truth, nan_at_3, dt=0.1, lyapunov_max=2.0, sigma=[1.0]) == pytest.approx(0.6)
    # A crossing at the last step is not the same as none.
    last = np.zeros((20, 1))
    last[-1] = 1.0
    assert M.vpt(truth, last, dt=0.1, lyapunov_max=2.0, sigma=[1.0]) == pytest.approx(3.8)
    with pytest.raises(M.MetricError, match="lyapunov_max"):
        M.vpt(truth, truth, dt=0.1, lyapunov_max=0.0, sigma=[1.0])
    with pytest.raises(M.MetricError, match="sigma"):
        M.vpt(truth, truth, dt=0.1, lyapunov_max=1.0, sigma=[1.0, 2.0])


def test_vpt_smape30_by_hand():
    truth = np.ones((5, 1))
    forecast = np.array([[1.0], [1.0], [3.0], [1.0], [1.0]])   # sMAPE 0, 0, 100: running mean 33 at index 2
    assert M.vpt_smape30(truth, forecast, dt=0.5, lyapunov_max=1.0) == pytest.approx(1.0)
    assert M.vpt_smape30(truth, truth, dt=0.5, lyapunov_max=1.0) == pytest.approx(2.5)


def test_vpt_batches():
    truth = np.zeros((2, 20, 1))
    forecast = np.stack([0.1 * np.arange(20.0), 0.2 * np.arange(20.0)])[..., None]
    np.testing.assert_allclose(M.vpt(truth, forecast, dt=1.0, lyapunov_max=1.0, sigma=1.0), [6.0, 3.0])


# ------------------------------------------------------------------------------------- long-term (Hess)

def test_d_stsp_by_hand():
    # Two bins over [0 - 0.1 sd, 1 + 0.1 sd]: truth (1/2, 1/2), forecast (3/4, 1/4).
    truth, forecast = np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.0, 1.0])
    expected = 0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    assert M.d_stsp(truth, forecast, n_bins=2) == pytest.approx(expected, rel=1e-4)
    assert M.d_stsp(truth, truth, n_bins=2) == 0.0
    # No forecast point inside the box: all the mass is in the overflow bin, a large but finite divergence.
    assert M.d_stsp(truth, truth + 10.0, n_bins=2) > M.d_stsp(truth, forecast, n_bins=2) > 0.0


def test_d_stsp_matches_dense_histograms():
    rng = np.random.default_rng(4)
    truth, forecast = rng.standard_normal((2000, 2)), 1.3 * rng.standard_normal((1500, 2)) + 0.2
    n_bins, alpha = 30, 1e-5
    sd = truth.std(axis=0, ddof=1)
    edges = [np.linspace(lo, hi, n_bins + 1) for lo, hi in zip(truth.min(0) - 0.1 * sd, truth.max(0) + 0.1 * sd,
                                                               strict=True)]
    # The box's bins plus one overflow bin for the points outside it.
    p, q = (np.append(h.ravel(), len(z) - h.sum()) for z in (truth, forecast)
            for h in [np.histogramdd(z, bins=edges)[0]])
    assert q[-1] > 0    # some forecast points lie outside the box
    p, q = ((h + alpha) / (h.sum() + alpha * h.size) for h in (p, q))
    assert M.d_stsp(truth, forecast) == pytest.approx(stats.entropy(p, q), rel=1e-9)


def test_d_stsp_gaussian_mixture_in_six_dimensions():
    # One point each: the mixtures are two Gaussians of unit variance, KL = |shift|^2 / 2 = 3.
    truth, forecast = np.zeros((1, 6)), np.ones((1, 6))
    assert M.d_stsp(truth, forecast) == pytest.approx(3.0, abs=0.3)
    rng = np.random.default_rng(5)
    cloud = rng.standard_normal((400, 6))
    assert M.d_stsp(cloud, cloud) == 0.0
    assert M.d_stsp(cloud, cloud, seed=1) == 0.0
    assert M.d_stsp(cloud, cloud + 1.0) > M.d_stsp(cloud, cloud + 0.2) > 0.0


def test_d_h_by_hand():
    n = 512
    t = np.arange(n)
    slow, fast = np.sin(2 * np.pi * 8 * t / n), np.sin(2 * np.pi * 100 * t / n)
    assert M.d_h(slow, slow) == 0.0
    assert M.d_h(slow, fast, smoothing=0) == pytest.approx(1.0)          # disjoint spectra
    assert M.d_h(slow, 3.0 * slow + 7.0) == pytest.approx(0.0, abs=1e-12)  # scale and offset do not matter
    nearby = np.sin(2 * np.pi * 10 * t / n)
    assert M.d_h(slow, nearby) < M.d_h(slow, nearby, smoothing=0) == pytest.approx(1.0)
    assert M.d_h(np.ones(n), np.full(n, 2.0)) == 0.0
    assert M.d_h(slow, np.full(n, 0.1)) == 1.0


# --------------------------------------------------------------------------------------- floor and table

def test_truth_floor_is_below_a_wrong_attractor():
    lorenz = db.get_system("Lorenz")
    floor = M.truth_floor(lorenz, n_steps=3000, dt=0.02, transient=40.0, n_pairs=2)
    assert floor == M.truth_floor(lorenz, n_steps=3000, dt=0.02, transient=40.0, n_pairs=2)
    truths = M.independent_truths(lorenz, n_steps=3000, dt=0.02, transient=40.0)
    assert truths.shape == (2, 1, 3000, 3)
    assert not np.allclose(truths[0], truths[1])
    rossler = M.independent_truths(db.get_system("Rossler"), n_steps=3000, dt=0.02, transient=40.0)[0, 0]
    assert 0 < floor["d_stsp"] < M.d_stsp(truths[0, 0], rossler)
    assert 0 < floor["d_h"] < M.d_h(truths[0, 0], rossler)


def test_compute_metrics(pair):
    truth, forecast, context = pair
    assert len(M.SHORT_TERM) == 18 and set(M.SHORT_TERM) | {"vpt", "vpt_smape30", *M.LONG_TERM} == set(M.METRICS)
    values = M.compute_metrics(truth, forecast, context=context, dt=0.01, lyapunov_max=0.9,
                               sigma=np.ones(3))
    assert list(values) == list(M.METRICS)
    assert values["mse"] == M.mse(truth, forecast)
    assert M.compute_metrics(truth, forecast, ["smape"]) == {"smape": M.smape(truth, forecast)}
    with pytest.raises(M.MetricError, match="needs context"):
        M.compute_metrics(truth, forecast, ["mase"])
    with pytest.raises(M.MetricError, match="unknown metric"):
        M.compute_metrics(truth, forecast, ["nope"])


# ------------------------------------------------------------------- protocol 2: conventions and gaming

def _zhang_gilpin_vpt_smape(x: np.ndarray, xhat: np.ndarray, threshold: float = 30.0) -> int:
    """Their definition, written from the paper's code: the first index i at which the sMAPE (0-200) of
    x[:i + 1] against xhat[:i + 1], pooled over time and coordinates, exceeds the threshold; else len."""
    for i in range(len(x)):
        a, b = x[: i + 1], xhat[: i + 1]
        if 200.0 * np.mean(np.abs(a - b) / (np.abs(a) + np.abs(b))) > threshold:
            return i
    return len(x)


@pytest.mark.parametrize("case", ["early", "late", "last", "never", "first"])
def test_vpt_smape30_equals_the_zhang_gilpin_definition(case):
    rng = np.random.default_rng(11)
    truth = 1.0 + rng.random((40, 3))
    forecast = truth.copy()
    start = {"early": 5, "late": 30, "last": 39, "never": None, "first": 0}[case]
    if start is not None:
        forecast[start:] *= 9.0
    if case == "last":    # sMAPE 29 at every step but the last: the running mean crosses 30 only there
        forecast = truth * (229.0 / 171.0)
        forecast[-1] = -truth[-1]
    index = _zhang_gilpin_vpt_smape(truth, forecast)
    assert M.vpt_smape30(truth, forecast, dt=0.25, lyapunov_max=0.5) == pytest.approx(index * 0.25 * 0.5)
    if case == "last":
        assert index == 39 < len(truth)    # crossed at the last step: not the horizon


def test_leaving_the_attractor_never_pays():
    lorenz = db.get_system("Lorenz")
    truths = M.independent_truths(lorenz, n_steps=2000, dt=0.03, transient=30.0)
    truth, other = truths[0, 0], truths[1, 0]
    replayed = other.copy()
    # 99% of the points far away, 1% on the attractor: the reference code scored this better than truth.
    gamed = np.full_like(other, 1e6)
    gamed[::100] = other[::100]
    floor = M.d_stsp(truth, other)
    assert M.d_stsp(truth, gamed) > M.d_stsp(truth, replayed) == floor
    assert M.d_stsp(truth, gamed) > floor + math.log(50)


def test_leaving_the_attractor_never_pays_in_six_dimensions():
    rng = np.random.default_rng(3)
    truth, other = rng.standard_normal((2, 1500, 6))
    gamed = np.full_like(other, 1e6)
    gamed[::100] = other[::100]
    assert M.d_stsp(truth, gamed) > M.d_stsp(truth, other)


@settings(max_examples=30, deadline=None)
@given(fraction=st.floats(0.01, 0.99), far=st.floats(1e2, 1e12), seed=st.integers(0, 2**16))
def test_no_forecast_beats_the_floor_by_leaving_the_box(fraction, far, seed):
    rng = np.random.default_rng(seed)
    truth, other = rng.standard_normal((2, 3000, 3))
    moved = other.copy()
    which = rng.random(len(moved)) < fraction
    moved[which] = far * np.sign(rng.standard_normal((int(which.sum()), 3)))
    assert M.d_stsp(truth, moved) > M.d_stsp(truth, other)


def test_a_valid_time_at_the_horizon_is_censored():
    from dysts_bench.evaluate.results import Conventions, Record
    from dysts_bench.evaluate.scoring import censored
    from dysts_bench.evaluate.summary import summarize_records
    from dysts_bench.leaderboard.columns import headline_columns
    from dysts_bench.leaderboard.tables import metric_cell

    truth = np.zeros((20, 1))
    held = M.vpt(truth, truth, dt=0.1, lyapunov_max=2.0, sigma=[1.0])
    last = truth.copy()
    last[-1] = 1.0
    crossed = M.vpt(truth, last, dt=0.1, lyapunov_max=2.0, sigma=[1.0])
    horizon = 20 * 0.1 * 2.0
    assert censored({"vpt": held, "vpt_smape30": None}, horizon) == ["vpt"]
    assert censored({"vpt": crossed}, horizon) == []
    records = [Record(system="Lorenz", ic=i, status="ok", metrics={"vpt": v}, censored=c)
               for i, (v, c) in enumerate([(held, ["vpt"]), (held, ["vpt"]), (crossed, [])])]
    totals, _ = summarize_records(records)
    assert totals["Lorenz"].censored == ["vpt"]
    assert summarize_records(records[1:])[0]["Lorenz"].censored == ["vpt"]    # half: a lower bound
    assert summarize_records(records[2:])[0]["Lorenz"].censored == []
    column = headline_columns(Conventions())[0]
    assert metric_cell(column, held, censored=True).text.startswith("≥ ")
    assert not metric_cell(column, crossed).text.startswith("≥")
