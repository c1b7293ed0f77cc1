"""Scoring submitted predictions: `data contexts` writes the test contexts, forecasts written back with numpy
are scored by `evaluate --predictions` exactly as a live forecaster, and every kind of bad submission gets a
status and a message per system."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from dysts_bench.cli import main
from dysts_bench.data.contexts import write_contexts
from dysts_bench.data.errors import DataError
from dysts_bench.data.generate import generate
from dysts_bench.evaluate.harness import EvaluationError, evaluate, score_predictions
from dysts_bench.forecast import load_forecaster

SYSTEMS = ["Lorenz", "Rossler"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("predictions") / "demo.zarr"
    generate("demo", path, systems=SYSTEMS, progress=False)
    return path


def last_value_store(archive, path, long=True):
    """A contexts store with last-value forecasts written by numpy."""
    write_contexts(archive, path)
    root = zarr.open_group(str(path), mode="r+")
    for name in root.group_keys():
        group = root[name]
        context, horizon = group["context"][...], group.attrs["horizon"]
        group.create_array("forecast", data=np.repeat(context[:, -1:], horizon, axis=1))
        if long:
            n, length = group.attrs["n_long"], group.attrs["long_length"]
            group.create_array("long_forecast", data=np.repeat(context[:n, -1:], length, axis=1))
    return root


def test_numpy_last_value_forecasts_score_as_the_live_forecaster(archive, tmp_path):
    last_value_store(archive, tmp_path / "ctx.zarr")
    replayed = score_predictions(tmp_path / "ctx.zarr", archive, tmp_path / "p.json", name="numpy-last-value",
                                 progress=False)
    live = evaluate(load_forecaster("last-value"), archive, tmp_path / "l.json", progress=False)
    assert replayed.mode == "predictions" and replayed.forecaster.name == "numpy-last-value"
    assert [r.metrics for r in replayed.records] == [r.metrics for r in live.records]
    assert [r.long_status for r in replayed.records] == [r.long_status for r in live.records]
    assert replayed.summary.median == live.summary.median


def test_the_store_holds_the_contexts_and_says_what_to_write(archive, tmp_path):
    root = zarr.open_group(str(write_contexts(archive, tmp_path / "ctx.zarr", systems=["Lorenz"])), mode="r")
    assert list(root.group_keys()) == ["Lorenz"] and "forecast" in root.attrs["how"]
    group = root["Lorenz"]
    assert group["context"].shape[1:] == (150, 3)
    assert {"dt", "horizon", "long_length", "n_long", "version"} <= set(group.attrs)
    with pytest.raises(DataError, match="exists"):
        write_contexts(archive, tmp_path / "ctx.zarr")
    with pytest.raises(DataError, match="no system"):
        write_contexts(archive, tmp_path / "other.zarr", systems=["Nope"])


def test_bad_submissions_get_a_status_and_message_per_system(archive, tmp_path):
    root = last_value_store(archive, tmp_path / "ctx.zarr", long=False)
    lorenz = root["Lorenz"]
    forecast = lorenz["forecast"][...]
    forecast[1, 3, 0] = np.nan
    lorenz.create_array("forecast", data=forecast, overwrite=True)
    del root["Rossler"]["forecast"]
    results = score_predictions(tmp_path / "ctx.zarr", archive, tmp_path / "p.json", name="bad", progress=False)
    by = {(r.system, r.ic): r for r in results.records}
    assert by["Lorenz", 0].status == "ok" and by["Lorenz", 1].status == "invalid"
    assert "non-finite" in by["Lorenz", 1].message
    assert by["Lorenz", 0].long_status == "invalid" and "long_forecast" in by["Lorenz", 0].long_message
    assert {by["Rossler", ic].status for ic in (0, 1)} == {"error"}
    assert "holds no `forecast` array" in by["Rossler", 0].message


def test_wrong_shapes_other_contexts_and_missing_groups(archive, tmp_path):
    root = last_value_store(archive, tmp_path / "ctx.zarr")
    root["Lorenz"].create_array("forecast", data=np.zeros((2, 7, 3)), overwrite=True)
    context = root["Rossler"]["context"][...]
    root["Rossler"].create_array("context", data=context + 1e-9, overwrite=True)
    results = score_predictions(tmp_path / "ctx.zarr", archive, tmp_path / "p.json", name="bad", progress=False)
    lorenz = [r for r in results.records if r.system == "Lorenz"]
    assert {r.status for r in lorenz} == {"invalid"} and "has shape (2, 7, 3)" in lorenz[0].message
    rossler = [r for r in results.records if r.system == "Rossler"]
    assert {r.status for r in rossler} == {"invalid"} and "no context equal" in rossler[0].message
    del root["Rossler"]
    results = score_predictions(tmp_path / "ctx.zarr", archive, tmp_path / "q.json", name="bad", progress=False)
    assert "group 'Rossler' is missing" in next(r.message for r in results.records if r.system == "Rossler")
    with pytest.raises(EvaluationError, match="no such contexts store"):
        score_predictions(tmp_path / "none.zarr", archive, tmp_path / "r.json", name="x", progress=False)


def test_the_command_line_round_trip(archive, tmp_path, capsys):
    store = tmp_path / "ctx.zarr"
    assert main(["data", "contexts", "--data", str(archive), "--out", str(store)]) == 0
    assert "evaluate --predictions" in capsys.readouterr().out
    root = zarr.open_group(str(store), mode="r+")
    for name in root.group_keys():
        c, h = root[name]["context"][...], root[name].attrs["horizon"]
        root[name].create_array("forecast", data=np.repeat(c[:, -1:], h, axis=1))
    out = tmp_path / "r.json"
    assert main(["evaluate", "--predictions", str(store), "--data", str(archive), "--name", "mine",
                 "--out", str(out), "--quiet"]) == 0
    assert main(["leaderboard", "check", str(out)]) in (0, 1)  # the demo subset is not the released archive
    assert main(["evaluate", "last-value", "--predictions", str(store), "--data", str(archive), "--name", "x",
                 "--out", str(tmp_path / "s.json")]) == 2
    assert main(["evaluate", "--data", str(archive), "--out", str(tmp_path / "s.json")]) == 2
    assert "name a FORECASTER" in capsys.readouterr().err
