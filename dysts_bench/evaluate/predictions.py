"""Scoring forecasts made elsewhere: a forecaster that replays the arrays written into a contexts store
(`dysts_bench.data.contexts`), so that `evaluate --predictions` scores them through the same harness,
metrics and results format as a live forecaster (mode `predictions`).

Each forecast is looked up by its context: the harness asks for the forecast of a context read from the
archive, and the replay answers only if the store holds that very context (bit for bit) with a forecast of
the right shape. A missing group or array, a wrong shape, NaN, or contexts from another archive give the
system's records a status and a message, as for a live forecaster.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..forecast.protocol import ForecasterError, ForecasterTags


class Predictions:
    """Replays the `forecast` and `long_forecast` arrays of one system's group of a contexts store."""

    tags = ForecasterTags(multivariate=True, global_model=False, stochastic=False, requires_gpu=False)

    def __init__(self, path: str, name: str = "predictions"):
        self.path = path
        self.name = name

    def get_params(self) -> dict[str, Any]:
        """The store's path and the name the results go under."""
        return {"path": self.path, "name": self.name}

    def set_system(self, system: Any) -> None:
        """Remember which system's group to read (the harness calls this before `fit`)."""
        self.system_ = system.name

    def fit(self, series: list[np.ndarray], *, dt: float) -> Predictions:
        """Open the system's group and check what it holds; nothing is learned."""
        import zarr

        where = f"{self.path}: group {self.system_!r}"
        try:
            root = zarr.open_group(str(self.path), mode="r")
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise ForecasterError(f"{self.path}: not a contexts store ({exc}); write one with `dysts-bench data "
                                  "contexts --data ARCHIVE --out CONTEXTS.zarr`") from None
        if self.system_ not in root.group_keys():
            raise ForecasterError(f"{where} is missing: the store was written for other systems; write it again "
                                  "with `dysts-bench data contexts` on this archive")
        group = root[self.system_]
        arrays = set(group.array_keys())
        if "context" not in arrays or "forecast" not in arrays:
            raise ForecasterError(f"{where} holds no `{'context' if 'context' not in arrays else 'forecast'}` "
                                  f"array; add `forecast` (ic, horizon, dim) next to its `context`")
        self.contexts_ = np.asarray(group["context"][...], dtype=np.float64)
        self.forecasts_ = {"forecast": group["forecast"]}
        if "long_forecast" in arrays:
            self.forecasts_["long_forecast"] = group["long_forecast"]
        self.horizon_, self.long_length_ = int(group.attrs["horizon"]), int(group.attrs.get("long_length", 0))
        self.where_ = where
        return self

    def predict(self, context: np.ndarray, horizon: int) -> np.ndarray:
        """The stored forecast of this context (its `horizon` picks `forecast` or `long_forecast`)."""
        matches = [i for i, c in enumerate(self.contexts_) if c.shape == context.shape and np.array_equal(c, context)]
        if not matches:
            raise ForecasterError(f"{self.where_} holds no context equal to the archive's: the store was written "
                                  "from another archive or its contexts were changed; write it again with "
                                  "`dysts-bench data contexts`")
        key = "forecast" if horizon == self.horizon_ else "long_forecast" if horizon == self.long_length_ else None
        if key is None:
            raise ForecasterError(f"{self.where_}: asked for {horizon} points, but the store's horizon is "
                                  f"{self.horizon_} (long runs {self.long_length_}); score it on the archive it "
                                  "was written from")
        if key not in self.forecasts_:
            raise ForecasterError(f"{self.where_} holds no `long_forecast` array: the long-term statistics need "
                                  f"one of shape (n_long, {self.long_length_}, dim)")
        array = self.forecasts_[key]
        ic = matches[0]
        if array.ndim != 3 or array.shape[0] <= ic or array.shape[1:] != (horizon, context.shape[1]):
            raise ForecasterError(f"{self.where_}/{key} has shape {array.shape}; it needs (ic, {horizon}, "
                                  f"{context.shape[1]}) with a row for context {ic}")
        return np.asarray(array[ic], dtype=np.float64)
