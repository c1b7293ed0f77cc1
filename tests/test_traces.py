"""What the system pages draw, kept with the results: packing, the builder, the harness and the check."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import xarray as xr
from pydantic import ValidationError

from dysts_bench.data.generate import generate
from dysts_bench.evaluate.harness import evaluate
from dysts_bench.evaluate.metrics import normalized_error
from dysts_bench.evaluate.results import Packed, Trace
from dysts_bench.evaluate.traces import MAX_ERROR, MAX_LONG_POINTS, TraceBuilder
from dysts_bench.forecast.registry import load_forecaster
from dysts_bench.leaderboard import check_file


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "demo.zarr"
    generate("demo", out, progress=False)
    return out


@pytest.fixture(scope="module")
def scored(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "last-value.json"
    return evaluate(load_forecaster("last-value"), demo, out, progress=False), out


def test_packed_arrays_round_trip():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 3)) * [1.0, 1e3, 1e-3] + [0.0, 5e3, -2.0]
    assert np.array_equal(Packed.of(values, "float32").array(), values.astype(np.float32))
    # Centred float16 keeps three digits of each coordinate's spread, whatever its units.
    centred = Packed.of(values, "float16", centre=True).array()
    assert np.all(np.abs(centred - values) <= 2e-3 * values.std(axis=0) * 4)
    packed = Packed.model_validate_json(Packed.of(values, "float16", centre=True).model_dump_json())
    assert packed.array().shape == (50, 3)


@pytest.mark.parametrize("change, message", [
    ({"data": "not base64!"}, "not base64"),
    ({"shape": [5, 4]}, "bytes, not the 20 float32 values"),
    ({"shape": [0, 3]}, "each size must be positive"),
    ({"offset": [0.0, 1.0]}, "offset must hold 3 finite numbers"),
    ({"scale": [1.0, float("inf"), 1.0]}, "scale must hold 3 finite numbers"),
])
def test_a_malformed_packed_array_is_refused(change, message):
    good = Packed.of(np.ones((5, 3)), "float32").model_dump()
    with pytest.raises(ValidationError, match=message):
        Packed.model_validate({**good, **change})


def test_a_packed_array_with_nan_is_refused():
    good = Packed.of(np.ones((5, 3)), "float32").model_dump()
    raw = np.full((5, 3), np.nan, dtype="<f4")
    with pytest.raises(ValidationError, match="NaN or infinite"):
        Packed.model_validate({**good, "data": base64.b64encode(raw.tobytes()).decode()})


def test_the_builder_keeps_quartiles_the_first_forecast_and_one_long_run():
    rng = np.random.default_rng(1)
    sigma = np.array([1.0, 2.0, 3.0])
    builder = TraceBuilder(sigma, long_discard=100)
    truth = rng.normal(size=(300, 3))
    forecasts = [truth + rng.normal(scale=s, size=truth.shape) for s in (0.1, 0.2, 0.3, 0.4)]
    builder.add(2, truth, np.full_like(truth, 1e39))    # beyond float32: its error is kept, not the forecast
    for ic, f in enumerate(forecasts, start=3):
        builder.add(ic, truth, f)
    trace = Trace.model_validate(builder.short_event()["trace"])
    errors = np.stack([np.minimum(normalized_error(truth, f, sigma), MAX_ERROR)
                       for f in [np.full_like(truth, 1e39), *forecasts]])
    assert trace.error_stride == 4 and trace.error.shape == [3, 75]
    assert np.allclose(trace.error.array(), np.percentile(errors[:, ::4], [25, 50, 75], axis=0), rtol=1e-6)
    assert trace.ic == 3 and np.array_equal(trace.forecast.array(), forecasts[0].astype(np.float32))
    run = np.cumsum(rng.normal(size=(8100, 3)), axis=0)
    assert builder.long_event(0, np.full((8100, 3), 1e200)) is None     # no finite spread: the next one is kept
    event = builder.long_event(1, run)["trace"]
    assert event["long_ic"] == 1 and event["long_stride"] == 27
    kept = Packed.model_validate(event["long_run"]).array()
    assert kept.shape == (297, 3) and len(kept) <= MAX_LONG_POINTS   # 8000 points every 27th
    assert np.allclose(kept, run[100::27], atol=2e-3 * run[100::27].std(axis=0).max() * 4)
    assert builder.long_event(2, run) is None


def test_no_successful_forecast_gives_no_trace():
    assert TraceBuilder(np.ones(3)).short_event() is None


def test_the_traces_of_a_full_board_stay_under_a_megabyte():
    """The lyapunov config: horizon 300, long runs of 10,000 points (2,000 discarded), 106 systems, 342 coordinates."""
    def size(dim: int) -> int:
        rng = np.random.default_rng(dim)
        builder = TraceBuilder(np.ones(dim), long_discard=2000)
        truth = rng.normal(size=(300, dim))
        for ic in range(20):
            builder.add(ic, truth, truth + rng.normal(size=truth.shape))
        trace = builder.short_event()["trace"] | builder.long_event(0, rng.normal(size=(10000, dim)))["trace"]
        return len(Trace.model_validate(trace).model_dump_json())

    per_coordinate = size(4) - size(3)
    per_system = size(3) - 3 * per_coordinate
    assert 106 * per_system + 342 * per_coordinate < 2**20


def test_evaluate_keeps_a_trace_per_system_that_the_check_accepts(demo, scored):
    results, out = scored
    horizon, long_term = results.dataset.horizon, results.dataset.long_term
    for name, summary in results.systems.items():
        trace = summary.trace
        dim = trace.forecast.shape[1]
        assert trace.error.shape == [3, -(-horizon // trace.error_stride)]
        assert trace.forecast.shape == [horizon, dim] and trace.ic == 0
        assert trace.long_ic == 0 and trace.long_run.shape[0] <= MAX_LONG_POINTS
        assert trace.long_run.shape[0] == -(-(long_term["length"] - long_term["discard"]) // trace.long_stride)
        # The last-value forecast is the context's last state, repeated.
        state = xr.open_zarr(demo, group=name)["test"].values[0, results.dataset.context - 1]
        assert np.allclose(trace.forecast.array(), state, rtol=1e-6)
    assert check_file(out, data=demo)[1] == []


def _edit(out, tmp_path, change):
    data = json.loads(out.read_text())
    change(data)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    return edited


def test_the_check_rescores_the_kept_forecast_against_the_archive(demo, scored, tmp_path):
    _, out = scored

    def forge(data):
        trace = data["systems"]["Lorenz"]["trace"]
        packed = Packed.model_validate(trace["forecast"])
        trace["forecast"] = Packed.of(packed.array() + 5.0, "float32").model_dump()

    edited = _edit(out, tmp_path, forge)
    assert check_file(edited)[1] == []   # without the archive the shapes are all it can see
    problems = check_file(edited, data=demo)[1]
    assert problems and all("records['Lorenz', ic 0].metrics." in p and "kept forecast scores" in p for p in problems)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.update(ic=7), "trace.ic = 7 is not a successful record"),
    (lambda t: t.update(forecast=None), "trace.ic: an initial condition and its array come together"),
    (lambda t: t.update(error_stride=2), "trace.error has shape"),
    (lambda t: t.update(error=Packed.of(np.ones((3, 75))[::-1] * [[3], [2], [1]], "float32").model_dump()),
     "the 25th, 50th and 75th percentiles"),
    (lambda t: t.update(long_run=Packed.of(np.ones((10, 3)), "float16").model_dump()), "trace.long_run has shape"),
    (lambda t: t.update(error=None), "trace.error is missing although the system has successful forecasts"),
])
def test_the_check_refuses_a_trace_evaluate_would_not_write(scored, tmp_path, change, message):
    _, out = scored
    edited = _edit(out, tmp_path, lambda data: change(data["systems"]["Lorenz"]["trace"]))
    problems = check_file(edited)[1]
    assert any(message in p for p in problems), problems


def test_files_made_before_traces_were_kept_still_load(scored, tmp_path):
    _, out = scored

    def strip(data):
        for summary in data["systems"].values():
            del summary["trace"]

    assert check_file(_edit(out, tmp_path, strip))[1] == []


def _system_page(site, name="Lorenz"):
    return (site / "systems" / f"{name}.html").read_text()


def test_system_pages_draw_error_growth_forecasts_and_long_runs_with_the_archive_s_truth(demo, scored, tmp_path):
    from dysts_bench.leaderboard.build import build_site
    from dysts_bench.leaderboard.forecasts import Truths, system_forecasts

    _, out = scored
    results = tmp_path / "results"
    results.mkdir()
    (results / "last-value.json").write_bytes(out.read_bytes())
    site = tmp_path / "site"
    build_site(results, site, archives=[demo], progress=False)
    html = _system_page(site)
    figures = sorted(p.name for p in (site / "figures" / "forecasts").iterdir() if p.name.startswith("Lorenz-"))
    assert [f.rsplit("-", 1)[1] for f in figures] == ["error.svg", "forecast.png", "long.png"]
    assert all(f"figures/forecasts/{f}" in html for f in figures)
    assert "The truth is not drawn" not in html and "against the truth" in html
    # The truth is the archive's: the kept initial condition's true future and long continuation.
    from dysts_bench.leaderboard.boards import group_boards, load_entries
    from dysts_bench.leaderboard.check import known_manifests

    known = known_manifests()
    boards = group_boards(load_entries(results, known))
    (sf,) = system_forecasts("Lorenz", boards, known, Truths([demo]))
    test = xr.open_zarr(demo, group="Lorenz")["test"].values
    context, horizon = boards[0].dataset.context, boards[0].dataset.horizon
    assert np.array_equal(sf.truth[0], test[0, context: context + horizon])
    assert sf.step is not None and sf.step > 0 and [s.name for s in sf.shown] == ["last-value"]
    # Without the archive the forecasts are drawn alone, and the page says how to add the truth.
    bare = tmp_path / "bare"
    build_site(results, bare, progress=False)
    assert "The truth is not drawn: build the site with <code>--data ARCHIVE</code>" in _system_page(bare)


def test_the_rescoring_allows_for_the_float32_rounding_of_large_values():
    """A phase that grows to thousands rounds by 1e-4 in float32: more than a relative tolerance of the error."""
    from dysts_bench.evaluate.metrics import mae, rmse
    from dysts_bench.leaderboard.check import _rounding_bounds

    rng = np.random.default_rng(1)
    truth = np.column_stack([rng.normal(size=300), np.linspace(5000.0, 5600.0, 300)])
    forecast = truth + rng.normal(scale=1e-3, size=truth.shape)
    kept = forecast.astype(np.float32).astype(float)
    low, high = _rounding_bounds(truth, kept)
    for metric in (mae, rmse):
        assert abs(metric(truth, kept) - metric(truth, forecast)) > 1e-4 * metric(truth, forecast)
        assert metric(truth, low) <= metric(truth, forecast) <= metric(truth, high)
