"""The named darts entries (nbeats, nhits, tide, tcn, lstm, darts-transformer, nlinear, dlinear): conformance,
the lookback chosen on held-out data and recorded in results files, the entry points, quality on Lorenz."""

from __future__ import annotations

import numpy as np
import pytest

from dysts_bench.checks.forecasters import parametrize_with_checks
from dysts_bench.data.generate import generate
from dysts_bench.evaluate.harness import evaluate
from dysts_bench.forecast import ForecasterError, available_forecasters, load_forecaster

from .learned_fixtures import forecasters_module, lorenz_benchmark_data, median_vpt

pytest.importorskip("darts")
models = forecasters_module("darts_models")

# Small networks and one short epoch: what is checked is the plumbing, not the forecasts.
TINY = {"lookback": [8, 16], "n_epochs": 1, "max_samples_per_ts": 32, "output_chunk_length": 4}
SMALL_NETWORKS = {
    "nbeats": {"num_stacks": 2, "num_layers": 1, "layer_widths": 16},
    "nhits": {"num_stacks": 2, "num_layers": 1, "layer_widths": 16},
    "tide": {"hidden_size": 16, "decoder_output_dim": 4},
    "tcn": {"num_filters": 4, "kernel_size": 2},
    "lstm": {"hidden_dim": 8},
    "darts-transformer": {"d_model": 8, "nhead": 2, "num_encoder_layers": 1, "num_decoder_layers": 1,
                          "dim_feedforward": 16},
    "nlinear": {},
    "dlinear": {},
}
CLASSES = {cls.name: cls for cls in vars(models).values()
           if isinstance(cls, type) and issubclass(cls, models.DartsEntry) and cls is not models.DartsEntry}


def tiny(name: str, **overrides):
    return CLASSES[name](**{**TINY, **SMALL_NETWORKS[name], **overrides})


def test_every_entry_is_in_the_table_and_registered():
    assert set(CLASSES) == set(models.ENTRIES) == set(SMALL_NETWORKS)
    registered = available_forecasters()
    for name, cls in CLASSES.items():
        assert registered[name] == f"dysts_bench_forecasters.darts_models:{cls.__name__}"


@parametrize_with_checks([tiny("nlinear"), tiny("dlinear")])
def test_linear_entries_conform(forecaster, check):
    check(forecaster)


@pytest.mark.slow
@parametrize_with_checks([tiny(name) for name in SMALL_NETWORKS if name not in ("nlinear", "dlinear")])
def test_deep_entries_conform(forecaster, check):
    check(forecaster)


def _sine_series(n: int = 4, length: int = 400) -> list[np.ndarray]:
    t = 0.1 * np.arange(length)
    return [np.column_stack([np.sin(t + p), 2 * np.cos(t + p)]) for p in range(n)]


def test_lookback_is_chosen_and_recorded():
    f = tiny("nlinear", lookback=[4, 16, 32]).fit(_sine_series(), dt=0.1)
    assert f.fitted_params_["lookback"] in (4, 16, 32)
    assert f.fitted_params_["epochs"] == 1
    assert f.model_.input_chunk_length == f.fitted_params_["lookback"]
    assert f.model_.output_chunk_length == (4 if f.lookback_ > 4 else 3)   # always shorter than the lookback
    params = f.get_params()
    assert "model" not in params and params["lookback"] == [4, 16, 32]
    again = type(f)(**params)
    assert again.get_params() == params


def test_defaults_are_the_documented_budget():
    f = CLASSES["nbeats"]()
    assert f.get_params()["lookback"] == "auto"
    assert {k: f.get_params()[k] for k in models.BUDGET} == models.BUDGET
    assert CLASSES["lstm"]().model_kwargs["rnn"] == "LSTM"
    assert load_forecaster("tide").name == "tide"


def test_bad_lookbacks_are_clear_errors():
    with pytest.raises(ForecasterError, match="lookback"):
        tiny("nlinear", lookback=[1]).fit(_sine_series(), dt=0.1)
    with pytest.raises(ForecasterError, match="longer series"):
        tiny("nlinear", lookback=[500]).fit(_sine_series(), dt=0.1)
    with pytest.raises(ForecasterError, match="validation_fraction"):
        tiny("nlinear", validation_fraction=1.0).fit(_sine_series(), dt=0.1)


def test_chosen_lookback_reaches_the_results_file(tmp_path):
    generate("demo", tmp_path / "demo.zarr", systems=["Lorenz"], progress=False)
    results = evaluate(tiny("nlinear"), tmp_path / "demo.zarr", tmp_path / "r.json", max_ics=2, progress=False)
    records = [r for r in results.records if r.status == "ok"]
    assert records and all(r.fitted_params["lookback"] in (8, 16) for r in records)
    assert all(r.fitted_params == records[0].fitted_params for r in records)


@pytest.mark.slow
def test_nbeats_forecasts_lorenz_for_a_lyapunov_time():
    train, contexts, futures, sigma, dt, _ = lorenz_benchmark_data()
    model = CLASSES["nbeats"]().fit(train, dt=dt)
    assert median_vpt(model, contexts, futures, sigma, dt) >= 1.0
