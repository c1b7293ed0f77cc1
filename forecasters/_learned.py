"""Helpers shared by the learned forecasters (esn, ngrc, plrnn, transformer): scaling, checks, the choice of
a ridge read-out's hyper-parameters on held-out data (esn, ngrc), seeding, files.

Saved torch models are one file written by `torch.save` and read back with `weights_only=True` (no pickled
code): a dict with the keys
- "format": "dysts-bench-forecaster/1",
- "class": the forecaster's class name,
- "params": the constructor arguments as a JSON string,
- "fitted": what `fit` learned besides the network, as a JSON string (dt, dimension, scaling, ...),
- "state_dict": the network's `state_dict()`.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import scipy.linalg
from tqdm.auto import tqdm

from dysts_bench.forecast.protocol import ForecasterError, get_params

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

TORCH_FORMAT = "dysts-bench-forecaster/1"

# The default ridge candidates: the best value on the `lyapunov` config ranges over this whole span (ESN).
RIDGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
VALID_ERROR = 0.5  # normalized error (in standard deviations) beyond which a forecast no longer counts
MAX_WINDOWS = 16  # held-out forecasts that score each candidate
MAX_WINDOW_HORIZON = 300

Candidate = TypeVar("Candidate")


@dataclass(frozen=True)
class Standardizer:
    """Per-coordinate affine scaling to zero mean and unit variance, learned from training series."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, series: list[np.ndarray]) -> Standardizer:
        """The mean and standard deviation of each coordinate over all series (std 1 where constant)."""
        data = np.concatenate([np.asarray(s, dtype=float) for s in series])
        std = data.std(axis=0)
        return cls(data.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardized values."""
        return (x - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Values in the original units."""
        return z * self.std + self.mean

    def as_dict(self) -> dict[str, list[float]]:
        """Plain lists, for JSON."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> Standardizer:
        """The inverse of `as_dict`."""
        return cls(np.asarray(d["mean"], dtype=float), np.asarray(d["std"], dtype=float))


def check_series(series: list[np.ndarray], who: str, min_length: int = 2, same_dim: bool = True) -> int:
    """The common dimension of the training series (or the first one's when `same_dim` is False)."""
    if not series:
        raise ForecasterError(f"{who}.fit got no training series; pass a list of (time, dim) arrays")
    dims = {np.shape(s)[1] for s in series if np.ndim(s) == 2}
    if any(np.ndim(s) != 2 for s in series) or (same_dim and len(dims) != 1):
        raise ForecasterError(f"{who}.fit: every series must be a (time, dim) array of one dimension, got "
                              f"shapes {sorted({np.shape(s) for s in series})}")
    if max(len(s) for s in series) < min_length:
        raise ForecasterError(f"{who}.fit: the longest series has {max(len(s) for s in series)} points; it "
                              f"needs at least {min_length} (shorten the model's windows or give more data)")
    return int(np.shape(series[0])[1])


def check_fitted(forecaster: Any, attribute: str) -> None:
    """Raise ForecasterError unless `fit` (or `load`) has set `attribute`."""
    if not hasattr(forecaster, attribute):
        raise ForecasterError(f"{type(forecaster).__name__} is not fitted; call fit(series, dt=...) or "
                              f"{type(forecaster).__name__}.load(path) before predict")


def check_context_dim(context: np.ndarray, dim: int, who: str) -> None:
    """Raise ForecasterError when the context's dimension is not the one fitted."""
    if context.ndim != 2 or context.shape[1] != dim or len(context) == 0:
        raise ForecasterError(f"{who} was fitted on {dim}-D series but got a context of shape "
                              f"{np.shape(context)}; forecast the system it was fitted on")


QUIET_ENV = "DYSTS_BENCH_QUIET"  # set to 1 by `dysts-bench evaluate --quiet`; worker processes inherit it


def progress_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A tqdm bar for a training loop, silent when `enabled` is False or $DYSTS_BENCH_QUIET is 1."""
    quiet = os.environ.get(QUIET_ENV) == "1"
    return tqdm(total=total, desc=desc, disable=quiet or not enabled, leave=False, dynamic_ncols=True)


def read_npz(path: str | Path, who: str,
             keys: set[str]) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """The arrays of a model saved as `.npz` by `who`.save, with its `params` and `fitted` JSON decoded;
    ForecasterError naming the file when it is not such a file or lacks one of `keys`."""
    try:
        with np.load(Path(path), allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise ForecasterError(f"{path}: cannot be read as a saved {who} ({exc}); write it with "
                              f"{who}.save(path)") from None
    missing = ({"params", "fitted"} | keys) - set(arrays)
    if missing:
        raise ForecasterError(f"{path}: not a saved {who} (missing {sorted(missing)})")
    return arrays, json.loads(str(arrays["params"])), json.loads(str(arrays["fitted"]))


# ------------------------------------------------------------------------ ridge read-outs (esn, ngrc)

def ridge_solve(gram: np.ndarray, cross: np.ndarray, ridge: float) -> np.ndarray:
    """W_out of the ridge problem (ΦᵀΦ + ridge·I) W_outᵀ = ΦᵀU."""
    with warnings.catch_warnings():
        # A tiny ridge leaves the Gram matrix ill-conditioned by design; the solve is still what we want.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return scipy.linalg.solve(gram + ridge * np.eye(len(gram)), cross, assume_a="pos").T


def holdout_split(data: list[np.ndarray], fraction: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Series to fit and held-out series to score on (the last `fraction` of them); a single series is cut
    in time instead."""
    if len(data) > 1:
        n_held = max(1, round(fraction * len(data)))
        return data[: len(data) - n_held], data[len(data) - n_held:]
    cut = round((1 - fraction) * len(data[0]))
    return [data[0][:cut]], [data[0][cut:]]


def validation_windows(data: list[np.ndarray], context: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Up to MAX_WINDOWS (context, future) pairs of equal lengths, spread evenly over the series."""
    horizon = min(MAX_WINDOW_HORIZON, max(len(u) for u in data) - context)
    usable = [u for u in data if len(u) >= context + horizon]
    if horizon < 2 or not usable:
        return [], []
    per_series = max(1, MAX_WINDOWS // len(usable))
    contexts, futures = [], []
    for u in usable[:MAX_WINDOWS]:
        for start in np.linspace(0, len(u) - context - horizon, per_series).astype(int):
            contexts.append(u[start: start + context])
            futures.append(u[start + context: start + context + horizon])
    return contexts, futures


def mean_valid_steps(forecast: np.ndarray, truth: np.ndarray) -> float:
    """The mean number of steps (B, T, dim) standardized forecasts stay within VALID_ERROR of the truth."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged forecast's error is inf or NaN: invalid
        error = np.sqrt(np.mean((forecast - truth) ** 2, axis=-1))  # (window, time), in std units
    invalid = ~(error <= VALID_ERROR)  # NaN counts as invalid
    return float(np.mean(np.where(invalid.any(axis=1), invalid.argmax(axis=1), truth.shape[1])))


def select_by_valid_time(candidates: Sequence[Candidate], forecast: Callable[[Candidate], np.ndarray],
                         truth: np.ndarray, who: str, label: Callable[[Candidate], str] = str,
                         within: float = 0.0) -> Candidate:
    """The candidate whose closed-loop forecasts of held-out windows stay valid longest on average;
    `forecast(candidate)` gives forecasts shaped like the (B, T, dim) `truth`. The first candidate scoring
    at least (1 − within) times the best wins: with candidates ordered simplest first, `within` trades a
    little held-out skill for parsimony (0: the best, the first one on ties)."""
    scores = []
    for candidate in candidates:
        try:
            scores.append(mean_valid_steps(forecast(candidate), truth))
        except np.linalg.LinAlgError:  # a read-out the solver rejects scores below every valid one
            scores.append(-1.0)
    logger.info("%s selection (mean valid steps): %s", who,
                ", ".join(f"{label(c)}: {s:.1f}" for c, s in zip(candidates, scores, strict=True)))
    best = max(scores)
    return candidates[next(i for i, s in enumerate(scores) if s >= best - within * abs(best))]


# --------------------------------------------------------------------------------------------------- torch

@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run torch with `n_threads` intra-op threads (unchanged if None), restoring the setting afterwards.

    Small models lose far more to thread synchronization than they gain, most of all on a busy machine.
    """
    import torch

    threads = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextmanager
def torch_session(seed: int, n_threads: int | None) -> Iterator[torch.Generator]:
    """Deterministic torch for one fit: a Generator seeded with `seed`, deterministic algorithms and
    `torch_threads(n_threads)`; torch's global settings are restored afterwards."""
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch_threads(n_threads):
            yield torch.Generator().manual_seed(int(seed))
    finally:
        torch.use_deterministic_algorithms(deterministic)


def torch_device(device: str | None) -> torch.device:
    """The device to train on: the one named, else CUDA when available, else the CPU."""
    import torch

    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def save_torch(forecaster: Any, path: str | Path, module: torch.nn.Module, fitted: dict[str, Any]) -> Path:
    """Write a fitted torch forecaster to one file (format in the module docstring); returns the path."""
    import torch

    path = Path(path)
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    torch.save({"format": TORCH_FORMAT, "class": type(forecaster).__name__,
                "params": json.dumps(get_params(forecaster)), "fitted": json.dumps(fitted),
                "state_dict": state}, path)
    logger.info("saved %s to %s", type(forecaster).__name__, path)
    return path


def load_torch(cls: type, path: str | Path) -> tuple[Any, dict[str, Any], dict[str, torch.Tensor]]:
    """An unfitted instance with the saved hyper-parameters, the saved `fitted` dict and state dict."""
    import torch

    try:
        saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise ForecasterError(f"{path}: cannot be read as a saved {cls.__name__} ({exc}); write it with "
                              f"{cls.__name__}.save(path)") from None
    ours = isinstance(saved, dict) and saved.get("format") == TORCH_FORMAT
    if not ours or saved.get("class") != cls.__name__:
        found = saved.get("class") if isinstance(saved, dict) else type(saved).__name__
        raise ForecasterError(f"{path}: not a saved {cls.__name__} (found {found!r}, format "
                              f"{saved.get('format') if isinstance(saved, dict) else None!r}); load it with "
                              "the class that saved it")
    return cls(**json.loads(saved["params"])), json.loads(saved["fitted"]), saved["state_dict"]
