"""`DartsForecaster`: any darts forecasting model (NLinear, DLinear, NBEATS, NHiTS, TCN, Transformer,
LinearRegression, ...) fitted on all coordinates of a system jointly.

The lookback (`input_chunk_length`) is fixed (`lookback=None` keeps the model's own or 32) or chosen per
system (`lookback="auto"`: the grid `LOOKBACKS`, or a list): each candidate is trained on the training
series less a held-out share (`validation_fraction`; a single series is cut in time), torch models stopping
early when the loss on the held-out series has not improved for `patience` epochs; the candidate whose
closed-loop forecasts of held-out windows stay within half a standard deviation longest is kept, as
trained (not refitted: the held-out series served its early stopping). `fitted_params_` records the choice
and the epochs trained; the results file carries it per system. The named entries (`nbeats`, `tide`, ...)
are in `darts_models.py`.

darts and torch are imported here only, when a DartsForecaster is fitted; install the `learn` extra.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from dysts_bench.forecast.protocol import ForecasterError, ForecasterTags

from ._learned import (
    Standardizer,
    check_context_dim,
    check_fitted,
    check_series,
    holdout_split,
    select_by_valid_time,
    torch_threads,
    validation_windows,
)

logger = logging.getLogger(__name__)

# Defaults for the arguments darts requires without defaults (input/output chunks, regression lags).
DEFAULT_CHUNKS = {"input_chunk_length": 32, "output_chunk_length": 8, "lags": 32}
# The lookbacks `lookback="auto"` chooses from (the grid of Zhang & Gilpin 2025).
LOOKBACKS = (5, 25, 50, 75, 100, 200)
# Quiet, CPU, no files: the harness runs many fits; pass pl_trainer_kwargs to change any of these.
DEFAULT_TRAINER = {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
                   "logger": False, "enable_checkpointing": False}
# Pinned memory only helps (and only works without a warning) with an accelerator.
_RUN_OPTIONS = {"verbose": False, "dataloader_kwargs": {"pin_memory": False}}


class DartsForecaster:
    """A darts model by class name, with its constructor arguments; inputs standardized per coordinate.

    `DartsForecaster(model="NLinear", n_epochs=20)` builds `darts.models.NLinearModel(n_epochs=20, ...)`,
    filling in `input_chunk_length=32`, `output_chunk_length=8` (torch models) or `lags=32` (regression
    models) when the model requires them and they are not given, and `random_state=seed`. darts' own
    `model` argument of the recurrent models (BlockRNN, RNN: "LSTM", "GRU") is given as `rnn`. Torch
    models run on `n_threads` intra-op threads (1: small models lose more to thread synchronization than
    they gain, and `evaluate --workers` then uses the cores; None leaves torch's setting).
    """

    name = "darts"
    tags = ForecasterTags(multivariate=True, global_model=False, stochastic=True, requires_gpu=False)

    def __init__(self, model: str = "NLinear", seed: int = 0, scale: bool = True,
                 lookback: int | list[int] | str | None = None, validation_fraction: float = 0.2,
                 patience: int = 5, max_samples_per_ts: int | None = None, n_threads: int | None = 1,
                 **model_kwargs: Any):
        self.model = model
        self.seed = seed
        self.scale = scale
        self.lookback = lookback
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.max_samples_per_ts = max_samples_per_ts
        self.n_threads = n_threads
        self.model_kwargs = model_kwargs

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, the darts model's own included."""
        return {"model": self.model, "seed": self.seed, "scale": self.scale, "lookback": self.lookback,
                "validation_fraction": self.validation_fraction, "patience": self.patience,
                "max_samples_per_ts": self.max_samples_per_ts, "n_threads": self.n_threads, **self.model_kwargs}

    @property
    def fitted_params_(self) -> dict[str, int]:
        """The lookback chosen (or given) and the epochs trained, recorded per system in results files."""
        return {"lookback": self.lookback_, **({"epochs": self.epochs_} if self.epochs_ is not None else {})}

    def fit(self, series: list[np.ndarray], *, dt: float) -> DartsForecaster:
        """Builds the darts model (choosing its lookback on held-out data if asked) and fits it."""
        cls, is_torch = _model_class(self.model)
        with torch_threads(self.n_threads if is_torch else None):
            return self._fit(cls, is_torch, series, dt)

    def _fit(self, cls: type, is_torch: bool, series: list[np.ndarray], dt: float) -> DartsForecaster:
        check_series(series, f"DartsForecaster({self.model})")
        self.scaler_ = Standardizer.fit(series) if self.scale else None
        data = [self._scaled(np.asarray(s, dtype=float)) for s in series]
        self.dt_, self.dim_ = float(dt), data[0].shape[1]
        if self.lookback is None:
            self.model_, self.epochs_ = self._train(cls, is_torch, self.model_kwargs, data)
            self.lookback_ = _lookback_of(self.model_)
            return self
        if not 0 < self.validation_fraction < 1:
            raise ForecasterError(f"DartsForecaster: need 0 < validation_fraction < 1, got {self.validation_fraction}")
        fit_part, held = holdout_split(data, self.validation_fraction)
        longest = min(max(len(u) for u in fit_part), max(len(u) for u in held))
        grid = [n for n in _grid(self.lookback) if n + _output_chunk(self.model_kwargs, n) < longest]
        if not grid:
            raise ForecasterError(f"DartsForecaster({self.model}): lookbacks {self.lookback!r} need longer series "
                                  f"than the {longest} points left after holding out a validation share; give "
                                  "smaller lookbacks or longer training series")
        models = {n: self._train(cls, is_torch, self._chunks(cls, n), fit_part, held) for n in grid}
        if len(grid) == 1:
            self.lookback_ = grid[0]
        else:
            contexts, futures = validation_windows(held, max(grid))
            if not contexts:
                raise ForecasterError(f"DartsForecaster({self.model}): the held-out series are too short to score "
                                      f"lookback {max(grid)}; give a single lookback or longer series")
            self.lookback_ = select_by_valid_time(
                grid, lambda n: self._forecast(models[n][0], contexts, len(futures[0])), np.stack(futures),
                f"DartsForecaster({self.model}) lookback")
        self.model_, self.epochs_ = models[self.lookback_]
        logger.info("DartsForecaster(%s) fitted: lookback %d", self.model, self.lookback_)
        return self

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """The darts model's forecast from the context, in the original units."""
        check_fitted(self, "model_")
        check_context_dim(context, self.dim_, f"DartsForecaster({self.model})")
        with torch_threads(self.n_threads if _model_class(self.model)[1] else None):
            forecast = self._forecast(self.model_, [self._scaled(context)], horizon)[0]
        return forecast if self.scaler_ is None else self.scaler_.inverse(forecast)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        return x if self.scaler_ is None else self.scaler_.transform(x)

    def _chunks(self, cls: type, lookback: int) -> dict[str, Any]:
        """The model arguments for one lookback: its input chunk, an output chunk shorter than it."""
        key = "lags" if "lags" in inspect.signature(cls.__init__).parameters else "input_chunk_length"
        chunks = {key: lookback}
        if key == "input_chunk_length":
            chunks["output_chunk_length"] = _output_chunk(self.model_kwargs, lookback)
        return {**self.model_kwargs, **chunks}

    def _train(self, cls: type, is_torch: bool, kwargs: dict[str, Any], data: list[np.ndarray],
               held: list[np.ndarray] | None = None) -> tuple[Any, int | None]:
        """A darts model built from `kwargs` and fitted on `data`, stopping early on `held` if given, and the
        epochs it trained (None for regression models)."""
        from darts import TimeSeries

        kwargs = self._model_arguments(cls, is_torch, kwargs)
        fit_options: dict[str, Any] = {**_RUN_OPTIONS, "max_samples_per_ts": self.max_samples_per_ts}
        if is_torch and held:
            from pytorch_lightning.callbacks import EarlyStopping

            stop = EarlyStopping(monitor="val_loss", patience=self.patience, mode="min")
            trainer = kwargs["pl_trainer_kwargs"]
            kwargs["pl_trainer_kwargs"] = {**trainer, "callbacks": [*trainer.get("callbacks", []), stop]}
            fit_options["val_series"] = [TimeSeries.from_values(u) for u in held]
        model = cls(**kwargs)
        with _quiet():
            model.fit([TimeSeries.from_values(u) for u in data], **_supported(model.fit, **fit_options))
        # Read now: a later predict attaches a new trainer, and darts then reports 0 epochs.
        return model, (int(model.epochs_trained) if is_torch else None)

    def _forecast(self, model: Any, contexts: list[np.ndarray], horizon: int) -> np.ndarray:
        """Standardized (B, horizon, dim) forecasts of one model from standardized contexts, in one batch."""
        from darts import TimeSeries

        history = [TimeSeries.from_values(c) for c in contexts]
        with _quiet():
            forecasts = model.predict(horizon, series=history,
                                      **_supported(model.predict, **_RUN_OPTIONS, random_state=self.seed))
        return np.stack([f.values(copy=True) for f in forecasts])

    def _model_arguments(self, cls: type, is_torch: bool, given: dict[str, Any]) -> dict[str, Any]:
        params = inspect.signature(cls.__init__).parameters
        kwargs = {k: v for k, v in DEFAULT_CHUNKS.items()
                  if k in params and (params[k].default is inspect.Parameter.empty or
                                      (k == "lags" and params[k].default is None))}
        kwargs.update(given)
        if "rnn" in kwargs:
            kwargs["model"] = kwargs.pop("rnn")
        if is_torch or "random_state" in params:
            kwargs.setdefault("random_state", self.seed)
        if is_torch:
            kwargs["pl_trainer_kwargs"] = {**DEFAULT_TRAINER, **kwargs.get("pl_trainer_kwargs", {})}
        return kwargs


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence Lightning's per-fit chatter (device banners, its own deprecation notices)."""
    # Lightning sets its logger to INFO when imported, so the level is lowered after import, every time.
    for logger_name in ("pytorch_lightning", "lightning.pytorch", "lightning"):
        logging.getLogger(logger_name).setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"(pytorch_)?lightning(\.|$)")
        yield


def _model_class(name: str) -> tuple[type, bool]:
    """The darts model class for "NLinear" or "NLinearModel", and whether it is a torch model."""
    try:
        import darts.models
        from darts.models.forecasting.forecasting_model import ForecastingModel
        from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel
    except ImportError as exc:
        raise ForecasterError(f"DartsForecaster needs darts and torch ({exc}); install the `learn` extra: "
                              "pip install 'dysts-bench[learn]'") from exc
    cls = getattr(darts.models, name, None) or getattr(darts.models, f"{name}Model", None)
    if not (isinstance(cls, type) and issubclass(cls, ForecastingModel)):
        known = sorted(n.removesuffix("Model") for n in dir(darts.models) if n.endswith("Model"))
        raise ForecasterError(f"DartsForecaster(model={name!r}): darts has no such forecasting model; "
                              f"choose one of {', '.join(known)}")
    return cls, issubclass(cls, TorchForecastingModel)


def _supported(method: Any, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments that `method` accepts."""
    params = inspect.signature(method).parameters
    return {k: v for k, v in kwargs.items() if k in params}


def _grid(lookback: int | list[int] | str) -> list[int]:
    """The candidate lookbacks, checked."""
    grid = sorted({int(n) for n in np.atleast_1d(LOOKBACKS if lookback == "auto" else lookback)})
    if not grid or grid[0] < 2:
        raise ForecasterError(f"DartsForecaster: lookback must be 'auto', an integer >= 2 or a list of them, "
                              f"got {lookback!r}")
    return grid


def _output_chunk(kwargs: dict[str, Any], lookback: int) -> int:
    """The output chunk for a lookback: the one asked for (or the default), shorter than the lookback."""
    return max(1, min(int(kwargs.get("output_chunk_length", DEFAULT_CHUNKS["output_chunk_length"])), lookback - 1))


def _lookback_of(model: Any) -> int:
    """The lookback a fitted darts model uses (its input chunk, or its largest target lag)."""
    chunk = getattr(model, "input_chunk_length", None)
    if chunk is None:
        lags = getattr(model, "lags", {}).get("target", [-1])
        chunk = -min(lags)
    return int(chunk)
