"""`check_forecaster`: the conformance suite for forecasters, like scikit-learn's `check_estimator`.

Each check fits fresh copies (`clone`) on short trajectories of registry systems and returns the problems
it found, one per line with its fix. From pytest, `parametrize_with_checks` runs every check as a test:

    @parametrize_with_checks([MyForecaster(), MyForecaster(seed=3)])
    def test_conformance(forecaster, check):
        check(forecaster)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import DystsBenchError
from ..forecast.protocol import (
    ForecasterError,
    ForecasterTags,
    as_context,
    as_series,
    check_prediction,
    clone,
    get_params,
    name_of,
    tags_of,
)
from ..integrate.solve import integrate
from ..system import System, get_system
from .systems import Problem

# A 3-D and a 6-D chaotic flow; their first coordinates make the univariate case.
CHECK_SYSTEMS = ("Lorenz", "LorenzCoupled")
POINTS_PER_PERIOD = 40
TRAIN_LENGTH, N_TRAIN, CONTEXT_LENGTH, HORIZON = 300, 2, 100, 30


class ForecasterCheckError(DystsBenchError, AssertionError):
    """A forecaster failed a conformance check (raised by the checks that pytest runs)."""


@dataclass(frozen=True)
class Case:
    """Data for one check: training series, a context, the true future after it, and its system."""

    label: str
    system: System | None        # None for data no single system produced (the univariate slice)
    train: tuple[np.ndarray, ...]
    context: np.ndarray
    future: np.ndarray
    dt: float

    @property
    def dim(self) -> int:
        """The state dimension of the case."""
        return self.context.shape[1]


@lru_cache(maxsize=4)
def check_cases(systems: tuple[str, ...] = CHECK_SYSTEMS) -> tuple[Case, ...]:
    """The check data: one case per system, plus the first system's first coordinate alone."""
    cases = []
    for name in systems:
        system = get_system(name)
        dt = system.timescale / POINTS_PER_PERIOD
        n = N_TRAIN * TRAIN_LENGTH + CONTEXT_LENGTH + HORIZON
        sol = integrate(system, t_end=(n - 1) * dt, dt_out=dt, transient=50 * system.timescale)
        if not sol.ok:
            raise DystsBenchError(f"check data: integrating {name} failed ({sol.status.name})")
        y = sol.y
        train = tuple(y[i * TRAIN_LENGTH:(i + 1) * TRAIN_LENGTH] for i in range(N_TRAIN))
        rest = y[N_TRAIN * TRAIN_LENGTH:]
        cases.append(Case(f"{name} ({system.dim}-D)", system, train, rest[:CONTEXT_LENGTH],
                          rest[CONTEXT_LENGTH:], dt))
    first = cases[0]
    cases.append(Case(f"{first.label.split()[0]} x (1-D)", None, tuple(s[:, :1] for s in first.train),
                      first.context[:, :1], first.future[:, :1], first.dt))
    return tuple(cases)


def _usable(tags: ForecasterTags, case: Case) -> bool:
    return (tags.multivariate or case.dim == 1) and (case.system is not None or not tags.needs_system)


def _fitted(forecaster: Any, case: Case) -> Any:
    """A fresh clone, told the system when it asks, fitted on read-only copies of the case's series."""
    model = clone(forecaster)
    if case.system is not None and callable(getattr(model, "set_system", None)):
        model.set_system(case.system)
    returned = model.fit(as_series(list(case.train)), dt=case.dt)
    if returned is not model:
        raise ForecasterError(f"fit returned {type(returned).__name__} instead of self; end fit with "
                              "`return self`")
    return model


def _forecast(model: Any, context: np.ndarray, horizon: int) -> np.ndarray:
    return check_prediction(model.predict(context, horizon), horizon, context.shape[1])


def _same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k] for k in a)


# -------------------------------------------------------------------------------------------- the checks

def check_protocol(forecaster: Any, cases: Sequence[Case]) -> list[str]:
    """Has fit and predict, valid tags and name, and hyper-parameters that clone faithfully."""
    problems = [f"has no {m}() method; a forecaster defines fit(series, *, dt) -> self and "
                "predict(context, horizon) -> (horizon, dim)"
                for m in ("fit", "predict") if not callable(getattr(forecaster, m, None))]
    tags_of(forecaster)
    name = getattr(forecaster, "name", None)
    if name is not None and not (isinstance(name, str) and name):
        problems.append(f"`name` must be a non-empty string, got {name!r}")
    params = get_params(forecaster)
    if not _same_params(get_params(clone(forecaster)), params):
        problems.append("a clone (type(f)(**get_params(f))) has different hyper-parameters; store each "
                        "constructor argument unchanged under its own name")
    if not any(_usable(tags_of(forecaster), c) for c in cases):
        problems.append("no check data suits its tags (univariate and needs_system?)")
    return problems


def check_fit(forecaster: Any, cases: Sequence[Case]) -> list[str]:
    """fit returns self, leaves the hyper-parameters as they were and accepts read-only series."""
    case = _cases_for(forecaster, cases)[0]
    before = get_params(forecaster)
    model = _fitted(forecaster, case)
    if not _same_params(get_params(model), before):
        return ["fit changed constructor arguments; keep hyper-parameters unchanged and store what fit "
                "learns in attributes ending in '_'"]
    return []


def check_predict_output(forecaster: Any, cases: Sequence[Case]) -> list[str]:
    """predict gives finite floats of shape (horizon, dim) for short and long horizons."""
    case = _cases_for(forecaster, cases)[0]
    model = _fitted(forecaster, case)
    for horizon in (1, HORIZON, 2 * CONTEXT_LENGTH + 1):
        _forecast(model, as_context(case.context), horizon)
    return []


def check_deterministic(forecaster: Any, cases: Sequence[Case]) -> list[str]:
    """Two fits with the same hyper-parameters (seed included) forecast bit for bit the same."""
    case = _cases_for(forecaster, cases)[0]
    first, second = (_forecast(_fitted(forecaster, case), as_context(case.context), HORIZON) for _ in "ab")
    if not np.array_equal(first, second):
        return [f"two fits with the same parameters gave forecasts differing by up to "
                f"{np.max(np.abs(first - second)):.3g}; draw every random number from a generator seeded by "
                "the `seed` constructor argument (and seed torch, if used)"]
    return []


def check_no_leakage(forecaster: Any, cases: Sequence[Case]) -> list[str]:
    """predict sees only its context: it does not write into it, read past it, or keep state between calls."""
    case = _cases_for(forecaster, cases)[0]
    model = _fitted(forecaster, case)
    problems = []
    context = as_context(case.context)
    try:
        reference = _forecast(model, context, HORIZON)
    except ValueError as exc:
        if "read-only" not in str(exc):
            raise
        return [f"predict writes into its context ({exc}); work on a copy: context = context.copy()"]
    if not np.array_equal(context, case.context):
        problems.append("predict modified its context in place; work on a copy: context = context.copy()")
    # The context as a view into a longer array: changing what lies beyond it must not change the forecast.
    views = []
    for future in (case.future, -3.0 * case.future[::-1] + 1.0):
        full = np.concatenate([case.context, future])
        view = full[:CONTEXT_LENGTH]
        view.setflags(write=False)
        views.append(_forecast(model, view, HORIZON))
    if not np.array_equal(views[0], views[1]):
        problems.append("the forecast changed when only data after the context changed: predict reads beyond "
                        "the context it is given (e.g. through context.base); use only the context's values")
    # Other calls in between, one of them with the true future in its context, must not matter.
    _forecast(model, as_context(np.concatenate([case.context, case.future])), HORIZON)
    _forecast(model, as_context(case.train[0][-CONTEXT_LENGTH:]), HORIZON)
    again = _forecast(model, as_context(case.context), HORIZON)
    if not np.array_equal(reference, again):
        problems.append("predict is not a pure function of its context: the same context gave a different "
                        "forecast after other predict calls; keep no state between calls, and seed any random "
                        "draws afresh in each call")
    return problems


def check_dimensions(forecaster: Any, cases: Sequence[Case]) -> list[str]:
    """fit and predict work for every state dimension the forecaster's tags allow (1, 3 and 6 here)."""
    for case in _cases_for(forecaster, cases):
        try:
            _forecast(_fitted(forecaster, case), as_context(case.context), HORIZON)
        except Exception as exc:
            return [f"on {case.label}: {_describe(exc)}"]
    return []


def _describe(exc: Exception) -> str:
    hint = "; the series and contexts are read-only: copy before modifying" if "read-only" in str(exc) else ""
    return f"{type(exc).__name__}: {exc}{hint}"


def _cases_for(forecaster: Any, cases: Sequence[Case]) -> list[Case]:
    tags = tags_of(forecaster)
    usable = [c for c in cases if _usable(tags, c)]
    if not usable:
        raise ForecasterError("no check data suits its tags")
    return usable


@dataclass(frozen=True)
class Check:
    """One conformance check; calling it on a forecaster raises ForecasterCheckError on any problem."""

    name: str
    fn: Callable[[Any, Sequence[Case]], list[str]]

    def problems(self, forecaster: Any, cases: Sequence[Case] | None = None) -> list[Problem]:
        """The problems this check finds (an exception inside the forecaster is one problem)."""
        cases = check_cases() if cases is None else cases
        try:
            messages = self.fn(forecaster, cases)
        except Exception as exc:  # a crashing forecaster is a finding, not a crash of the checker
            messages = [_describe(exc)]
        return [Problem(name_of(forecaster), self.name, m) for m in messages]

    def __call__(self, forecaster: Any) -> None:
        """Run the check; raise ForecasterCheckError listing the problems, if any."""
        problems = self.problems(forecaster)
        if problems:
            raise ForecasterCheckError("\n".join(map(str, problems)))


CHECKS = tuple(Check(fn.__name__.removeprefix("check_"), fn) for fn in (
    check_protocol, check_fit, check_predict_output, check_deterministic, check_no_leakage, check_dimensions,
))


def check_forecaster(forecaster: Any, *, cases: Sequence[Case] | None = None) -> list[Problem]:
    """Run every conformance check on a forecaster instance; [] means it conforms."""
    cases = check_cases() if cases is None else cases
    problems = CHECKS[0].problems(forecaster, cases)
    if any(not callable(getattr(forecaster, m, None)) for m in ("fit", "predict")):
        return problems
    return problems + [p for check in CHECKS[1:] for p in check.problems(forecaster, cases)]


def parametrize_with_checks(forecasters: Sequence[Any]) -> Any:
    """A pytest.mark.parametrize over ("forecaster", "check") pairs, one test per forecaster and check."""
    import pytest

    return pytest.mark.parametrize("forecaster, check", [
        pytest.param(f, check, id=f"{name_of(f)}-{check.name}") for f in forecasters for check in CHECKS
    ])
