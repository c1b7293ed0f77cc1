"""The forecaster protocol, loading by name/module/file, and check_forecaster catching broken forecasters."""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint
from typing import ClassVar

import numpy as np
import pytest

from dysts_bench.checks.forecasters import (
    CHECKS,
    ForecasterCheckError,
    check_cases,
    check_forecaster,
    parametrize_with_checks,
)
from dysts_bench.forecast import (
    ForecasterError,
    ForecasterTags,
    UnknownForecasterError,
    as_context,
    as_series,
    available_forecasters,
    check_prediction,
    clone,
    get_params,
    load_forecaster,
    load_forecaster_class,
    name_of,
    parse_params,
    registry,
    tags_of,
)


class Drift:
    """A well-behaved forecaster: the last state plus the mean step of the training series."""

    name = "drift"
    tags = ForecasterTags(multivariate=True)

    def __init__(self, damping: float = 1.0):
        self.damping = damping

    def fit(self, series, *, dt):
        self.step_ = np.mean(np.concatenate([np.diff(s, axis=0) for s in series]), axis=0) * self.damping
        return self

    def predict(self, context, horizon):
        return context[-1] + np.outer(np.arange(1, horizon + 1), self.step_)


class Noisy(Drift):
    """Stochastic done right: the seed is a constructor argument and each call seeds afresh."""

    tags: ClassVar = {"stochastic": True}    # tags may also be a plain dict

    def __init__(self, seed: int = 0):
        self.seed = seed

    def fit(self, series, *, dt):
        self.step_ = np.zeros(series[0].shape[1])
        return self

    def predict(self, context, horizon):
        rng = np.random.default_rng(self.seed)
        return super().predict(context, horizon) + rng.standard_normal((horizon, context.shape[1]))


# --------------------------------------------------------------------------------- broken forecasters

class PeeksAtBase(Drift):
    """Reads the data after the context through the view's base array."""

    def predict(self, context, horizon):
        full = context.base if context.base is not None else context
        return np.asarray(full, dtype=float)[-horizon:].copy() if len(full) >= horizon + len(context) else \
            super().predict(context, horizon)


class Remembers(Drift):
    """Keeps every context it was shown and answers from a longer one that continues it."""

    def fit(self, series, *, dt):
        self.seen_ = []
        return super().fit(series, dt=dt)

    def predict(self, context, horizon):
        for old in self.seen_:
            if len(old) > len(context) and np.array_equal(old[:len(context)], context):
                rest = old[len(context):len(context) + horizon]
                return np.vstack([rest, np.repeat(rest[-1:], horizon - len(rest), axis=0)])
        self.seen_.append(np.array(context))
        return super().predict(context, horizon)


class Normalizes(Drift):
    """Standardizes its context in place."""

    def predict(self, context, horizon):
        context -= context.mean(axis=0)
        return super().predict(context, horizon)


class SneakyNormalizes(Drift):
    """Makes its (owned) context writable again and changes it."""

    def predict(self, context, horizon):
        context.setflags(write=True)
        context[-1] += 1.0
        return super().predict(context, horizon)


class WrongShape(Drift):
    def predict(self, context, horizon):
        return super().predict(context, horizon)[:, :1]


class ReturnsNaN(Drift):
    def predict(self, context, horizon):
        out = super().predict(context, horizon)
        out[-1] = np.nan
        return out


class Unseeded(Drift):
    def fit(self, series, *, dt):
        super().fit(series, dt=dt)
        self.step_ = self.step_ + np.random.default_rng().standard_normal(self.step_.shape)
        return self


class ReturnsNone(Drift):
    def fit(self, series, *, dt):
        super().fit(series, dt=dt)


class ChangesParams(Drift):
    def fit(self, series, *, dt):
        self.damping = 0.5
        return super().fit(series, dt=dt)


class ForgetsParam(Drift):
    def __init__(self, damping: float = 1.0):
        self.factor = damping


class UnivariateOnly(Drift):
    tags = ForecasterTags(multivariate=False)

    def fit(self, series, *, dt):
        if series[0].shape[1] != 1:
            raise ValueError("univariate only")
        return super().fit(series, dt=dt)


class OnlyThreeD(Drift):
    def fit(self, series, *, dt):
        if series[0].shape[1] != 3:
            raise ValueError("3-D only")
        return super().fit(series, dt=dt)


def _checks_failed(forecaster) -> set[str]:
    return {p.check for p in check_forecaster(forecaster)}


@pytest.mark.parametrize(("forecaster", "failing"), [
    (PeeksAtBase(), {"no_leakage"}),
    (Remembers(), {"no_leakage"}),
    (Normalizes(), {"predict_output", "deterministic", "no_leakage", "dimensions"}),  # read-only everywhere
    (SneakyNormalizes(), {"no_leakage"}),
    (WrongShape(), {"predict_output", "deterministic", "no_leakage", "dimensions"}),
    (ReturnsNaN(), {"predict_output", "deterministic", "no_leakage", "dimensions"}),
    (Unseeded(), {"deterministic"}),
    (ReturnsNone(), {"fit", "predict_output", "deterministic", "no_leakage", "dimensions"}),
    (ChangesParams(), {"fit"}),
    (ForgetsParam(), {"protocol", "fit", "predict_output", "deterministic", "no_leakage", "dimensions"}),
    (OnlyThreeD(), {"dimensions"}),
])
def test_check_forecaster_catches(forecaster, failing):
    assert _checks_failed(forecaster) == failing


def test_messages_name_the_forecaster_and_the_fix():
    problems = check_forecaster(PeeksAtBase())
    assert problems and all(p.where == "drift" for p in problems)
    assert "reads beyond the context" in str(problems[0])
    assert all("copy" in p.message for p in check_forecaster(Normalizes()))
    (problem,) = check_forecaster(Unseeded())
    assert "seed" in problem.message


def test_good_forecasters_pass():
    assert check_forecaster(Drift()) == []
    assert check_forecaster(Noisy(seed=3)) == []
    assert check_forecaster(UnivariateOnly()) == []    # checked on univariate data only


def test_not_a_forecaster():
    problems = check_forecaster(object())
    assert [p.check for p in problems] == ["protocol", "protocol"]


def test_check_raises_for_pytest():
    check = next(c for c in CHECKS if c.name == "no_leakage")
    check(Drift())
    with pytest.raises(ForecasterCheckError, match="no_leakage"):
        check(Remembers())


@parametrize_with_checks([Drift(), Noisy()])
def test_parametrize_with_checks(forecaster, check):
    check(forecaster)


def test_check_cases():
    cases = check_cases()
    assert [c.dim for c in cases] == [3, 6, 1]
    assert cases[2].system is None and cases[0].system.name == "Lorenz"
    for case in cases:
        assert np.all(np.isfinite(case.context)) and case.future.shape[1] == case.dim


# ------------------------------------------------------------------------------------------ protocol

def test_tags():
    assert tags_of(Drift()) == ForecasterTags()
    assert tags_of(Noisy()).stochastic
    assert tags_of(object()) == ForecasterTags()
    assert ForecasterTags(requires_gpu=True).as_dict()["requires_gpu"] is True
    bad = Drift()
    bad.tags = {"gpu": True}
    with pytest.raises(ForecasterError, match="unknown tag"):
        tags_of(bad)


def test_params_and_clone():
    f = Drift(damping=0.3)
    assert name_of(f) == "drift" and name_of(Noisy()) == "drift" and name_of(object()) == "object"
    assert get_params(f) == {"damping": 0.3}
    copy = clone(f.fit([np.ones((5, 2))], dt=0.1))
    assert copy is not f and get_params(copy) == {"damping": 0.3} and not hasattr(copy, "step_")
    with pytest.raises(ForecasterError, match=r"self\.damping"):
        get_params(ForgetsParam())


def test_contexts_are_read_only_copies():
    data = np.arange(6.0).reshape(3, 2)
    context = as_context(data)
    assert context is not data and not context.flags.writeable and context.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        context[0, 0] = 1.0
    (series,) = as_series([data])
    assert not series.flags.writeable
    with pytest.raises(ForecasterError, match="n_ctx, dim"):
        as_context(np.ones(3))


def test_check_prediction():
    assert check_prediction(np.ones((2, 3), dtype=np.float32), 2, 3).dtype == np.float64
    with pytest.raises(ForecasterError, match=r"expected \(horizon, dim\)"):
        check_prediction(np.ones((3, 3)), 2, 3)
    with pytest.raises(ForecasterError, match="non-finite"):
        check_prediction(np.full((2, 3), np.inf), 2, 3)
    with pytest.raises(ForecasterError, match="floating"):
        check_prediction(np.ones((2, 3), dtype=int), 2, 3)


# ------------------------------------------------------------------------------------------- loading

@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A module `toy_plugin` on sys.path with a forecaster class, and its file."""
    path = tmp_path / "toy_plugin.py"
    path.write_text(textwrap.dedent("""
        import numpy as np

        class Toy:
            name = "toy"

            def __init__(self, level=0.0):
                self.level = level

            def fit(self, series, *, dt):
                return self

            def predict(self, context, horizon):
                return np.full((horizon, context.shape[1]), self.level)

        NOT_A_CLASS = 3

        class NoPredict:
            def fit(self, series, *, dt):
                return self
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return path


def test_load_by_module_and_by_file(plugin):
    assert load_forecaster("toy_plugin:Toy", level=2.0).level == 2.0
    f = load_forecaster(f"{plugin}:Toy", level=1.0)
    assert f.level == 1.0 and check_forecaster(f) == []
    assert load_forecaster_class(f"{plugin}:Toy") is load_forecaster_class(f"{plugin}:Toy")


@pytest.mark.parametrize(("spec", "match"), [
    ("toy_plugin:Missing", "no attribute 'Missing'"),
    ("no_such_module_xyz:Toy", "no module named"),
    ("toy_plugin:NOT_A_CLASS", "not a class"),
    ("toy_plugin:NoPredict", "lacks predict"),
    ("nowhere/file.py:Toy", "no such file"),
])
def test_load_errors(plugin, spec, match):
    with pytest.raises(ForecasterError, match=match):
        load_forecaster(spec)


def test_load_file_in_a_package_with_relative_imports(tmp_path):
    folder = tmp_path / "my_models"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "_shared.py").write_text("LEVEL = 7.0\n")
    (folder / "model.py").write_text(textwrap.dedent("""
        import numpy as np
        from ._shared import LEVEL

        class Flat:
            def fit(self, series, *, dt):
                return self

            def predict(self, context, horizon):
                return np.full((horizon, context.shape[1]), LEVEL)
    """))
    f = load_forecaster(f"{folder / 'model.py'}:Flat").fit([], dt=1.0)
    assert f.predict(np.ones((2, 2)), 1).tolist() == [[7.0, 7.0]]


def test_load_file_errors(plugin):
    with pytest.raises(ForecasterError, match="defines no 'Missing'"):
        load_forecaster(f"{plugin}:Missing")
    with pytest.raises(ForecasterError, match="cannot construct Toy"):
        load_forecaster(f"{plugin}:Toy", colour="red")


def test_entry_points(plugin, monkeypatch):
    group = registry.ENTRY_POINT_GROUP
    fake = [EntryPoint("toy", "toy_plugin:Toy", group), EntryPoint("broken", "toy_plugin:Gone", group)]
    monkeypatch.setattr(registry, "entry_points", lambda group: fake)
    assert available_forecasters() == {"broken": "toy_plugin:Gone", "toy": "toy_plugin:Toy"}
    assert load_forecaster("toy", level=4.0).level == 4.0
    with pytest.raises(UnknownForecasterError, match="did you mean toy"):
        load_forecaster("tyo")
    with pytest.raises(ForecasterError, match="failed to load"):
        load_forecaster("broken")


def test_installed_entry_points_are_loadable():
    # Whatever is installed under the group must load (the built-ins once the package is installed).
    for name in available_forecasters():
        assert callable(load_forecaster_class(name).predict)


def test_parse_params_reads_exponent_notation_as_numbers():
    assert parse_params(["ridge=1e-6", "lr=3E+2", "grid=[1e-8, 1.5e-2]", "tag=e5", "v=1.0.2"]) == {
        "ridge": 1e-6, "lr": 300.0, "grid": [1e-8, 0.015], "tag": "e5", "v": "1.0.2"}


def test_parse_params():
    assert parse_params(["n_epochs=3", "model=NLinear", "scale=false", "lags=[1, 2]", "name="]) == {
        "n_epochs": 3, "model": "NLinear", "scale": False, "lags": [1, 2], "name": ""}
    with pytest.raises(ForecasterError, match="NAME=VALUE"):
        parse_params(["oops"])


def test_fitted_params_are_json_scalars_or_refused():
    from dysts_bench.forecast.protocol import fitted_params

    class Chose:
        def __init__(self, chosen):
            self.fitted_params_ = chosen

    good = {"ridge": np.float64(1e-6), "k": 2, "note": "ok", "none": None}
    assert fitted_params(Chose(good)) == {"ridge": 1e-6, "k": 2, "note": "ok", "none": None}
    assert fitted_params(object()) == {}
    for bad in ({"x": [1, 2]}, {"x": "y" * 500}, {1: 2}, [("k", 1)], {f"k{i}": i for i in range(100)}):
        with pytest.raises(ForecasterError, match="fitted_params_"):
            fitted_params(Chose(bad))
