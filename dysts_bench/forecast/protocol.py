"""The forecaster protocol: `fit(series, *, dt)` and `predict(context, horizon)`, plus capability tags.

A forecaster is any class with these two methods; no base class is needed. Scikit-learn conventions:
hyper-parameters are constructor arguments stored unchanged under their own names, attributes learned
by `fit` end in `_`, `fit` returns `self`, and randomness comes from a `seed` constructor argument.

`predict` must be a pure function of the fitted state, the context and the horizon: the same call gives
the same array whatever was predicted before (so that serial and distributed evaluations agree bit for
bit). A stochastic forecaster therefore draws from a generator seeded afresh in each call.

Optional hooks the harness calls when a forecaster defines them:
- `set_system(system)`: called with the true `System` before `fit`. Forecasters tagged `needs_system`
  (oracles such as the perturbed-truth reference) require it; others may use public metadata from it
  (e.g. the period hint) and must work without it.
- `get_params()`: the hyper-parameters, for classes whose constructor takes `**kwargs`.
- `fitted_params_`: set by `fit`, a flat dict of what it chose on held-out data (a ridge, a lookback);
  each record of the system carries it (`fitted_params` in the results file; see `fitted_params`).
- `identified_equations_`: set by `fit` of an equation learner, the polynomial vector field it forecasts
  with (a `dysts_bench.integrate.polynomial.PolynomialField`); the harness scores it against the system's
  true equations (evaluate/recovery.py) once it has checked that it reproduces the forecasts.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from ..errors import DystsBenchError
from ..integrate.polynomial import PolynomialField

if TYPE_CHECKING:
    from ..integrate.polynomial import PolynomialField
    from ..system import System


class ForecasterError(DystsBenchError):
    """A forecaster does not follow the protocol or cannot be loaded."""


@runtime_checkable
class Forecaster(Protocol):
    """What the harness calls: fit on training series, then forecast from a context."""

    def fit(self, series: list[np.ndarray], *, dt: float) -> Forecaster:
        """Learn from training series, each (time, dim) float64, sampled every `dt`; returns self."""
        ...

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """Forecast `horizon` steps after a read-only (n_ctx, dim) float64 context: (horizon, dim)."""
        ...


@runtime_checkable
class SystemAware(Protocol):
    """A forecaster that is told which system it forecasts (see the module docstring)."""

    def set_system(self, system: System) -> None:
        """Receive the true system before `fit`."""
        ...


@dataclass(frozen=True)
class ForecasterTags:
    """What a forecaster can do; the harness and the leaderboard read these."""

    multivariate: bool = True     # forecasts all coordinates jointly; False: the harness gives it one at a time
    global_model: bool = False    # fitted once on many systems (zero-shot) rather than once per system
    stochastic: bool = False      # results depend on the `seed` constructor argument
    requires_gpu: bool = False
    needs_system: bool = False    # uses the true equations through `set_system`: a reference, not a competitor

    def as_dict(self) -> dict[str, bool]:
        """The tags as a plain dict (for results files)."""
        return asdict(self)


_TAG_NAMES = {f.name for f in fields(ForecasterTags)}


def tags_of(forecaster: Any) -> ForecasterTags:
    """The forecaster's tags: its `tags` attribute (ForecasterTags or dict), defaults where absent."""
    tags = getattr(forecaster, "tags", None)
    if tags is None:
        return ForecasterTags()
    if isinstance(tags, ForecasterTags):
        return tags
    if isinstance(tags, dict):
        unknown = sorted(set(tags) - _TAG_NAMES)
        if unknown:
            raise ForecasterError(f"{type(forecaster).__name__}.tags: unknown tag(s) {unknown}; "
                                  f"the tags are {sorted(_TAG_NAMES)}")
        return ForecasterTags(**{k: bool(v) for k, v in tags.items()})
    raise ForecasterError(f"{type(forecaster).__name__}.tags must be a ForecasterTags or a dict, "
                          f"got {type(tags).__name__}")


def name_of(forecaster: Any) -> str:
    """The forecaster's display name: its `name` attribute, else its class name."""
    name = getattr(forecaster, "name", None)
    return name if isinstance(name, str) and name else type(forecaster).__name__


def get_params(forecaster: Any) -> dict[str, Any]:
    """The constructor arguments as stored on the instance (scikit-learn's `get_params`)."""
    if callable(getattr(forecaster, "get_params", None)):
        return dict(forecaster.get_params())
    params = {}
    for p in inspect.signature(type(forecaster).__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if not hasattr(forecaster, p.name):
            raise ForecasterError(
                f"{type(forecaster).__name__}: constructor argument {p.name!r} is not stored as "
                f"self.{p.name}; store hyper-parameters unchanged (or define get_params())"
            )
        params[p.name] = getattr(forecaster, p.name)
    return params


def clone(forecaster: Any) -> Any:
    """A new, unfitted instance with the same hyper-parameters."""
    return type(forecaster)(**get_params(forecaster))


def as_context(context: np.ndarray) -> np.ndarray:
    """What the harness hands to `predict`: a read-only float64 C-contiguous copy of the context."""
    return _read_only_copy(context, "a context", "(n_ctx, dim)")


def as_series(series: list[np.ndarray]) -> list[np.ndarray]:
    """What the harness hands to `fit`: read-only float64 copies of the training series."""
    return [_read_only_copy(s, "a training series", "(time, dim)") for s in series]


def _read_only_copy(array: np.ndarray, what: str, shape: str) -> np.ndarray:
    out = np.array(array, dtype=np.float64, order="C", copy=True)
    if out.ndim != 2:
        raise ForecasterError(f"{what} must have shape {shape}, got {out.shape}")
    out.setflags(write=False)
    return out


def check_prediction(prediction: Any, horizon: int, dim: int, who: str = "predict") -> np.ndarray:
    """The prediction as float64 (horizon, dim) if it has that shape and is finite; else ForecasterError."""
    arr = np.asarray(prediction)
    if arr.shape != (horizon, dim):
        raise ForecasterError(f"{who} returned shape {arr.shape}, expected (horizon, dim) = {(horizon, dim)}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ForecasterError(f"{who} returned dtype {arr.dtype}; return a floating array (float64)")
    if not np.all(np.isfinite(arr)):
        raise ForecasterError(f"{who} returned {int(np.sum(~np.isfinite(arr)))} non-finite values "
                              f"(NaN or inf) out of {arr.size}")
    return arr.astype(np.float64, copy=False)


MAX_FITTED_PARAMS = 32  # entries of `fitted_params_` kept per system; a results file stays small


def fitted_params(forecaster: Any) -> dict[str, bool | int | float | str | None]:
    """The forecaster's `fitted_params_` as JSON scalars ({} when it has none); anything else is refused."""
    raw = getattr(forecaster, "fitted_params_", None)
    if raw is None:
        return {}
    who = f"{type(forecaster).__name__}.fitted_params_"
    if not isinstance(raw, dict) or len(raw) > MAX_FITTED_PARAMS:
        raise ForecasterError(f"{who} must be a dict of at most {MAX_FITTED_PARAMS} entries, got a "
                              f"{type(raw).__name__}")
    out: dict[str, bool | int | float | str | None] = {}
    for key, value in raw.items():
        if isinstance(value, np.generic):
            value = value.item()
        short_text = isinstance(value, str) and len(value) <= 200
        scalar = value is None or isinstance(value, bool | int | float) or short_text
        if not isinstance(key, str) or len(key) > 64 or not scalar:
            raise ForecasterError(f"{who}[{key!r:.70}]: keys must be names of at most 64 characters and values "
                                  "numbers, booleans or short strings")
        out[key] = value
    return out


def identified_equations(forecaster: Any, dim: int) -> PolynomialField | None:
    """The forecaster's `identified_equations_` (None when it has none), checked to be a `dim`-D field."""
    raw = getattr(forecaster, "identified_equations_", None)
    if raw is None:
        return None
    who = f"{type(forecaster).__name__}.identified_equations_"
    if not isinstance(raw, PolynomialField) or raw.dim != dim:
        raise ForecasterError(f"{who} must be a {dim}-D dysts_bench.integrate.polynomial.PolynomialField, got "
                              f"{type(raw).__name__}")
    return raw
